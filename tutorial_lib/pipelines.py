"""Images on disk, read two ways: a plain Python loop, and a ``tf.data`` pipeline.

:func:`write_image_folder` writes images as PNG files in one folder per class (the layout of
``keras.utils.image_dataset_from_directory``). :func:`python_batches` reads them back one file
at a time into NumPy batches; :func:`tf_batches` builds a ``tf.data`` pipeline that decodes in
parallel, caches the decoded images in memory and prefetches the next batch.

Taught in: *Scaling up*.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from tutorial_lib.checks import check_int


def write_image_folder(images: np.ndarray, labels: np.ndarray, folder: str | Path) -> list[Path]:
    """Write grey or RGB images with values in [0, 1] as ``folder/class_<label>/<index>.png``.

    Returns
    -------
    list of Path
        The files, in the order of ``images``.

    Raises
    ------
    ValueError
        If the images are not ``(n, height, width)`` or ``(n, height, width, channels)`` in
        [0, 1], or there is not one label per image.
    """
    from PIL import Image

    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim not in (3, 4) or len(images) != len(labels):
        raise ValueError(f"expected (n, height, width[, channels]) images with one label each, "
                         f"got shapes {images.shape} and {labels.shape}")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError("image values must lie in [0, 1]")
    pixels = np.round(images * 255).astype(np.uint8)
    if pixels.ndim == 4 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    paths = []
    for index, (picture, label) in enumerate(zip(pixels, labels, strict=True)):
        path = Path(folder) / f"class_{int(label)}" / f"{index:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(path)
        paths.append(path)
    return paths


def _files_and_labels(folder: str | Path) -> tuple[list[str], np.ndarray]:
    files = sorted(Path(folder).glob("class_*/*.png"))
    if not files:
        raise ValueError(f"no class_*/*.png files under {folder}")
    labels = np.array([int(path.parent.name.removeprefix("class_")) for path in files])
    return [str(path) for path in files], labels


def python_batches(folder: str | Path, batch_size: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``(images, labels)`` read file by file with PIL in a Python loop (float32 in [0, 1])."""
    from PIL import Image

    batch_size = check_int("batch_size", batch_size)
    files, labels = _files_and_labels(folder)
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        images = np.stack([np.asarray(Image.open(path), dtype=np.float32) / 255.0 for path in chunk])
        yield images[..., None], labels[start : start + batch_size]


def tf_batches(folder: str | Path, batch_size: int = 64) -> tf.data.Dataset:
    """A ``tf.data`` pipeline over the same files: parallel decode, ``cache``, ``batch``, ``prefetch``."""
    batch_size = check_int("batch_size", batch_size)
    files, labels = _files_and_labels(folder)

    def decode(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_png(tf.io.read_file(path), channels=1)
        return tf.cast(image, tf.float32) / 255.0, label

    return (tf.data.Dataset.from_tensor_slices((files, labels))
            .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
            .cache()  # decoded once; later epochs read memory
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))


def epoch_seconds(make_batches, epochs: int = 3) -> tuple[list[float], int]:
    """Time ``epochs`` passes over ``make_batches()`` (anything that yields ``(images, labels)``).

    Returns
    -------
    (seconds, images)
        The wall time of each pass, and the number of images in one pass.
    """
    import time

    epochs = check_int("epochs", epochs)
    seconds, count = [], 0
    for _ in range(epochs):
        start, count = time.perf_counter(), 0
        for images, _labels in make_batches():
            count += len(images)
        seconds.append(time.perf_counter() - start)
    return seconds, count
