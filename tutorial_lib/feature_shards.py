"""Features of a frozen base written to disk in shards, and read back as a ``tf.data`` stream.

The fast path of the VGG16 chapter (features computed once, a head trained on them) for data
sets larger than memory:

* :func:`write_feature_shards` streams image batches through a frozen base and writes the
  features with their labels to TFRecord files of ``images_per_shard`` rows each;
* :func:`shard_dataset` reads the shards back with ``tf.data``: several files interleaved,
  a shuffle buffer, batches, prefetching; only a buffer's worth of rows is ever in memory;
* :func:`normalised_head` builds a softmax head that standardises its inputs with the mean and
  variance of a stream, measured in one pass;
* :func:`train_head_on_stream` trains a head on such a stream with the same Adam step as
  :func:`tutorial_lib.features.train_head` uses on arrays held in memory;
* :func:`read_shards` loads every row into NumPy arrays (for data that does fit in memory).

Taught in: *Scaling up*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tutorial_lib import features, models
from tutorial_lib.checks import check_int

#: File name pattern of the shards: ``shard-00000.tfrecord``, ``shard-00001.tfrecord``, ...
SHARD_PATTERN = "shard-*.tfrecord"


def _example(feature: np.ndarray, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        "features": tf.train.Feature(float_list=tf.train.FloatList(value=feature)),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def write_feature_shards(
    base: keras.Model,
    batches: Iterable[tuple[np.ndarray | tf.Tensor, np.ndarray | tf.Tensor]],
    folder: str | Path,
    *,
    images_per_shard: int = 256,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Push image batches through a frozen ``base`` once and write the features in shards.

    Each batch ``(images, labels)`` (e.g. from a ``tf.data.Dataset``) goes through
    ``preprocess`` and then ``base(images, training=False)``; the output of each image is
    flattened to one vector and written with its integer label as a ``tf.train.Example`` to
    ``folder/shard-00000.tfrecord``, ``shard-00001.tfrecord``, ..., ``images_per_shard``
    rows per file (the last one may hold fewer). Only one shard's rows are held in memory.
    ``base`` is not changed.

    Parameters
    ----------
    base
        The frozen feature extractor (e.g. :func:`tutorial_lib.pretrained.vgg16_base`).
    batches
        An iterable of ``(images, labels)`` batches; labels are integers.
    folder
        Where the shards go (created if needed).
    images_per_shard
        Rows per shard file.
    preprocess
        Applied to each batch of images (as a NumPy array) before the base, e.g. a wrapper of
        :func:`tutorial_lib.pretrained.preprocess`; ``None`` feeds the images as they are.
    overwrite
        Remove shards already in ``folder`` first; without it, existing shards are an error.

    Returns
    -------
    list of Path
        The shard files, in order.

    Raises
    ------
    TypeError
        If ``base`` is not a Keras model or ``images_per_shard`` is not an int.
    ValueError
        If ``images_per_shard`` is not positive, a batch does not have one label per image,
        or ``batches`` holds no image.
    FileExistsError
        If ``folder`` already holds shards and ``overwrite`` is false.
    """
    if not isinstance(base, keras.Model):
        raise TypeError(f"base must be a keras.Model, got {type(base).__name__}")
    images_per_shard = check_int("images_per_shard", images_per_shard)
    folder = Path(folder)
    old = sorted(folder.glob(SHARD_PATTERN))
    if old and not overwrite:
        raise FileExistsError(f"{folder} already holds {len(old)} shards; pass overwrite=True "
                              "to replace them")
    for path in old:
        path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rows: list[tuple[np.ndarray, int]] = []

    def flush() -> None:
        path = folder / f"shard-{len(paths):05d}.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for feature, label in rows:
                writer.write(_example(feature, label))
        paths.append(path)
        rows.clear()

    for images, labels in batches:
        images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"each batch must hold one integer label per image, got images "
                             f"{images.shape} and labels {labels.shape}")
        if preprocess is not None:
            images = preprocess(images)
        outputs = np.asarray(base(images, training=False)).reshape(len(images), -1)
        for feature, label in zip(outputs, labels, strict=True):
            rows.append((feature, int(label)))
            if len(rows) == images_per_shard:
                flush()
    if rows:
        flush()
    if not paths:
        raise ValueError("batches held no image: nothing to write")
    return paths


def _check_paths(paths: Sequence[str | Path]) -> list[str]:
    if isinstance(paths, (str, Path)):
        raise TypeError("paths must be a list of shard files, got a single path; wrap it in a list")
    paths = [str(path) for path in paths]
    if not paths:
        raise ValueError("paths must name at least one shard file, got none")
    missing = [path for path in paths if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"shard files not found: {missing}")
    return paths


def feature_size(path: str | Path) -> int:
    """The length of the feature vectors in a shard (read from its first row).

    Raises
    ------
    ValueError
        If the shard holds no row.
    """
    for record in tf.data.TFRecordDataset(str(path)).take(1):
        example = tf.train.Example.FromString(record.numpy())
        return len(example.features.feature["features"].float_list.value)
    raise ValueError(f"{path} holds no feature rows")


def shard_dataset(
    paths: Sequence[str | Path],
    *,
    batch_size: int = 32,
    shuffle_buffer: int = 0,
    seed: int = 0,
    cycle_length: int = 2,
) -> tf.data.Dataset:
    """A ``tf.data`` stream of ``(features, labels)`` batches read from feature shards.

    The shard names are a dataset themselves (shuffled with ``seed`` when ``shuffle_buffer``
    is positive); ``interleave`` reads ``cycle_length`` files at a time, row by row in turn;
    ``shuffle`` mixes rows within a buffer of ``shuffle_buffer`` rows (0: no shuffling, file
    order); ``batch`` groups them, and each batch of records is parsed at once into float32
    vectors and int64 labels; ``prefetch`` prepares the next batch while one is used. Memory
    holds at most the buffer and a few batches, whatever the number of shards. Each pass over
    the dataset reshuffles (deterministically for a given ``seed``).

    Raises
    ------
    TypeError
        If ``paths`` is a single path, or a count is not an int.
    ValueError
        If ``paths`` is empty, ``batch_size``/``cycle_length`` is not positive, or
        ``shuffle_buffer`` is negative.
    FileNotFoundError
        If a shard file does not exist.
    """
    paths = _check_paths(paths)
    batch_size = check_int("batch_size", batch_size)
    cycle_length = check_int("cycle_length", cycle_length)
    shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer, minimum=0)
    size = feature_size(paths[0])
    spec = {"features": tf.io.FixedLenFeature([size], tf.float32),
            "label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(records: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        rows = tf.io.parse_example(records, spec)  # a whole batch of records at once
        return rows["features"], rows["label"]

    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle_buffer:
        files = files.shuffle(len(paths), seed=seed)
    rows = files.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if shuffle_buffer:
        rows = rows.shuffle(shuffle_buffer, seed=seed)
    return (rows.batch(batch_size)
            .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def read_shards(paths: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Every row of the shards in memory, in file order: ``(features, labels)`` arrays.

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        As :func:`shard_dataset` for ``paths``.
    """
    batches = list(shard_dataset(paths, batch_size=1024, cycle_length=1).as_numpy_iterator())
    return (np.concatenate([x for x, _ in batches]).astype(np.float32),
            np.concatenate([y for _, y in batches]))


def normalised_head(batches: tf.data.Dataset, num_classes: int, *, seed: int = 0) -> keras.Sequential:
    """A linear softmax head whose first layer standardises features with the stream's statistics.

    One pass over ``batches`` (``(features, labels)`` batches, e.g. :func:`shard_dataset`)
    sums the features and their squares in float64, batch by batch, so the data never has to
    fit in memory. The head is ``Normalization(mean, variance)`` (fixed, not trained) followed
    by :func:`tutorial_lib.models.linear_head`. Raw VGG16 features range over tens of units;
    standardised, Adam's steps have the same effect on every feature.

    Raises
    ------
    TypeError
        If ``batches`` is not a ``tf.data.Dataset`` or ``num_classes`` is not an int.
    ValueError
        If the stream is empty or its features are not vectors.
    """
    if not isinstance(batches, tf.data.Dataset):
        raise TypeError(f"batches must be a tf.data.Dataset, got {type(batches).__name__}")
    total, squares, count = 0.0, 0.0, 0
    for x, _ in batches.as_numpy_iterator():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"the stream must hold feature vectors (batch, d), got a batch {x.shape}")
        total, squares, count = total + x.sum(axis=0), squares + (x**2).sum(axis=0), count + len(x)
    if not count:
        raise ValueError("the stream holds no rows")
    mean = total / count
    variance = np.maximum(squares / count - mean**2, 0.0)
    linear = models.linear_head(len(mean), num_classes, seed=seed)
    return keras.Sequential([keras.Input((len(mean),)),
                             keras.layers.Normalization(mean=mean, variance=variance), *linear.layers],
                            name="normalised_head")


def train_head_on_stream(
    head: keras.Sequential, batches: tf.data.Dataset, *, epochs: int, learning_rate: float = 1e-3,
) -> keras.Sequential:
    """A trained copy of ``head``: Adam on categorical cross-entropy over ``epochs`` passes of a stream.

    ``batches`` yields ``(features, integer labels)`` batches, e.g. :func:`shard_dataset`; each
    pass reads it again (and a shuffling stream reshuffles). Every batch is one step of
    :func:`tutorial_lib.features.train_step`, the step :func:`tutorial_lib.features.train_head`
    takes on arrays, so the two differ only in where the rows come from. ``head`` is not changed.

    Raises
    ------
    TypeError
        If ``batches`` is not a ``tf.data.Dataset`` or ``epochs`` is not an int.
    ValueError
        If ``epochs`` or ``learning_rate`` is not positive, or the stream's feature vectors do
        not match the head's input.
    """
    if not isinstance(batches, tf.data.Dataset):
        raise TypeError(f"batches must be a tf.data.Dataset, got {type(batches).__name__}")
    epochs = check_int("epochs", epochs)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    width = batches.element_spec[0].shape[-1]
    if width != head.input_shape[-1]:
        raise ValueError(f"the stream's feature vectors have length {width}, the head expects "
                         f"{head.input_shape[-1]}")
    model = keras.models.clone_model(head)
    model.set_weights(head.get_weights())
    step = features.train_step(model, keras.optimizers.Adam(learning_rate=learning_rate))
    num_classes = model.output_shape[-1]
    for _ in range(epochs):
        for x, y in batches:
            step(x, tf.one_hot(y, num_classes))
    return model
