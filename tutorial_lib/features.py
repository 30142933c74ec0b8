"""Features of a frozen convolutional base: computed once, cached on disk, and probed.

* :func:`layer_outputs` and :func:`compute_features` push images through a base once and keep
  the outputs of the layers you name.
* :func:`cached_features` does the same for VGG16 through the on-disk cache.
* :func:`train_head` trains a head on features with the same Adam steps as ``fit``, through
  one ``tf.function`` step traced once and reused (or eagerly), without ``fit``'s machinery.
* :func:`probe_accuracy` measures what features are worth: a classifier trained on the
  features of a few labelled images per class, scored on held-out images.

The base and its weights come from :mod:`tutorial_lib.pretrained`; heads for feature maps from
:mod:`tutorial_lib.vgg16_heads`.

Taught in: *The VGG16 example*.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping

import keras
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from tutorial_lib import cache, models, pretrained, training, vgg16_heads
from tutorial_lib.checks import check_int
from tutorial_lib.data import check_labels, sample_per_class

#: The classifiers :func:`probe_accuracy` can train on features.
PROBE_HEADS = ("logistic", "linear", "gap", "flatten")


def layer_outputs(base: keras.Model, layer_names: Iterable[str]) -> keras.Model:
    """A model from the base's input to the outputs of ``layer_names`` (one pass gives them all).

    Raises
    ------
    ValueError
        If no layer is named, or a name is not a layer of ``base``.
    """
    layer_names = tuple(layer_names)
    names = [layer.name for layer in base.layers]
    unknown = [name for name in layer_names if name not in names]
    if not layer_names or unknown:
        raise ValueError(f"layer_names must name layers of the base; unknown {unknown or 'none given'}; "
                         f"the base has {names}")
    return keras.Model(base.input, [base.get_layer(name).output for name in layer_names])


def compute_features(
    base: keras.Model, images: np.ndarray, layer_names: Iterable[str] = ("block5_pool",),
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """Outputs of ``layer_names`` for already preprocessed ``images``, batch by batch.

    Raises
    ------
    ValueError
        If ``images`` does not match the base's input shape, ``batch_size`` is below 1, or
        a layer is unknown.
    """
    layer_names = tuple(layer_names)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(base.input_shape[1:]):
        raise ValueError(f"images must have shape (n, {', '.join(map(str, base.input_shape[1:]))}), "
                         f"got {images.shape}")
    check_int("batch_size", batch_size)
    extractor = layer_outputs(base, layer_names)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in layer_names}
    for start in range(0, len(images), batch_size):
        outputs = extractor(images[start : start + batch_size], training=False)
        if len(layer_names) == 1:
            outputs = [outputs]
        for name, output in zip(layer_names, outputs, strict=True):
            parts[name].append(np.asarray(output))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def cached_features(
    images: np.ndarray, *, images_key: str, weights: str | None, preprocessing: str = "vgg16",
    layer_names: Iterable[str] = ("block3_pool", "block4_pool", "block5_pool"),
) -> dict[str, np.ndarray]:
    """VGG16 features of ``images`` (values in [0, 1]) through the on-disk cache.

    ``images_key`` names the images (e.g. the recipe of the task that made them); together with
    the weights, the preprocessing, the layers, the input size and a checksum of the images it
    forms the cache key.
    """
    layer_names = tuple(layer_names)
    choice = pretrained.resolve_weights(weights)
    checksum = hashlib.sha256(np.ascontiguousarray(images, dtype=np.float32).tobytes()).hexdigest()
    recipe = {"images": images_key, "checksum": cache.recipe_hash({"bytes": checksum}),
              "weights": choice, "preprocessing": preprocessing, "layers": list(layer_names),
              "shape": list(np.shape(images)), "keras": keras.__version__,
              "code": cache.code_hash(cached_features)}

    def compute() -> dict[str, np.ndarray]:
        base = pretrained.vgg16_base(choice, tuple(np.shape(images)[1:]), verbose=False)
        return compute_features(base, pretrained.preprocess(images, preprocessing), layer_names)

    return cache.cached_arrays("vgg16-features", recipe, compute)


def train_step(
    model: keras.Sequential, optimizer: keras.optimizers.Optimizer, *, compiled: bool = True
) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """A training step of ``optimizer`` on a mini-batch, for ``model`` (categorical cross-entropy).

    With ``compiled`` the step is a ``tf.function`` with a fixed input signature: traced once,
    one graph for every batch size. The returned function takes ``(x, y_one_hot)`` tensors and
    returns the mini-batch loss; it updates ``model``'s weights in place.
    """
    loss_fn = keras.losses.CategoricalCrossentropy()
    if not optimizer.built:
        optimizer.build(model.trainable_variables)  # variables made now, not while tracing

    def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    if not compiled:
        return step
    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32),
                 tf.TensorSpec((None, model.output_shape[-1]), tf.float32)]
    return tf.function(step, input_signature=signature)


def train_head(
    head: keras.Sequential,
    x: np.ndarray,
    y_one_hot: np.ndarray,
    *,
    epochs: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    run_eagerly: bool = False,
    seed: int = 0,
) -> tuple[keras.Sequential, dict[str, list[float]]]:
    """A trained copy of ``head``: Adam on categorical cross-entropy, mini-batch by mini-batch.

    The same steps as ``fit``: each epoch shuffles ``x`` (seeded), takes one Adam step per
    ``batch_size`` rows, then scores ``validation`` once. The step is a plain
    ``tf.GradientTape`` step. By default it is compiled with ``tf.function`` once (one graph
    for every batch size) and reused across all epochs; ``run_eagerly=True`` runs it as plain
    Python instead. Both skip ``fit``'s per-call machinery (data adapter, callbacks, metrics),
    which on a head this small costs more than the arithmetic. ``head`` itself is not changed.

    Returns
    -------
    keras.Sequential, dict
        The trained copy and its history: ``loss`` (mean over the epoch's steps), ``steps``
        (gradient steps so far), ``seconds`` (wall time of each epoch, the first one including
        the tracing of the step), and with validation ``val_loss`` and ``val_accuracy``.

    Raises
    ------
    ValueError
        If ``x`` does not match the head's input, ``y_one_hot`` is not one row per example with
        one column per output, or ``epochs``/``batch_size`` are below 1.
    TypeError
        If ``epochs`` or ``batch_size`` is not an integer.
    """
    x = np.asarray(x, dtype=np.float32)
    y_one_hot = np.asarray(y_one_hot, dtype=np.float32)
    if x.ndim < 2 or tuple(x.shape[1:]) != tuple(head.input_shape[1:]):
        raise ValueError(f"x must have shape (n, {', '.join(map(str, head.input_shape[1:]))}), "
                         f"got {x.shape}")
    if y_one_hot.shape != (len(x), head.output_shape[-1]):
        raise ValueError(f"y_one_hot must be one-hot labels of shape ({len(x)}, "
                         f"{head.output_shape[-1]}), got {y_one_hot.shape}")
    epochs, batch_size = check_int("epochs", epochs), check_int("batch_size", batch_size)
    model = keras.models.clone_model(head)
    model.set_weights(head.get_weights())
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    step = train_step(model, optimizer, compiled=not run_eagerly)
    loss_fn = keras.losses.CategoricalCrossentropy()
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "steps": [], "seconds": []}
    if validation is not None:
        history.update(val_loss=[], val_accuracy=[])
        x_val = tf.constant(np.asarray(validation[0], dtype=np.float32))
        y_val = np.asarray(validation[1], dtype=np.float32)
    steps = 0
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(x))
        losses = []
        for first in range(0, len(x), batch_size):
            batch = order[first : first + batch_size]
            losses.append(float(step(tf.constant(x[batch]), tf.constant(y_one_hot[batch]))))
            steps += 1
        if validation is not None:
            probabilities = model(x_val, training=False)
            history["val_loss"].append(float(loss_fn(y_val, probabilities)))
            history["val_accuracy"].append(
                float(np.mean(np.argmax(probabilities, axis=-1) == np.argmax(y_val, axis=-1))))
        history["loss"].append(float(np.mean(losses)))
        history["steps"].append(steps)
        history["seconds"].append(time.perf_counter() - start)
    return model, history


def _pooled(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(1, 2)) if x.ndim == 4 else x


def _unchanged(x: np.ndarray) -> np.ndarray:
    return x


def _standardiser(vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    mean, std = vectors.mean(axis=0), vectors.std(axis=0) + 1e-6
    return lambda x: (_pooled(x) - mean) / std


def _logistic_probe(x: np.ndarray, y: np.ndarray) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)


def probe_accuracy(
    train: tuple[np.ndarray, np.ndarray],
    evaluate_on: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    labels_per_class: int,
    seeds: Iterable[int] = (0, 1, 2),
    head: str = "logistic",
    steps: int = 150,
    learning_rate: float | None = None,
) -> dict[str, list[float]]:
    """Accuracy of a classifier trained on the features of a few labelled examples per class.

    For each seed, ``labels_per_class`` examples per class are drawn from ``train``, a head is
    trained on their features, and its accuracy is measured on every set of ``evaluate_on``
    (e.g. ``{"validation": ..., "test": ...}``: choose on one, report the other).

    Parameters
    ----------
    train
        ``(features, labels)``; features are vectors ``(n, d)`` or feature maps ``(n, h, w, c)``.
    evaluate_on
        Named ``(features, labels)`` sets, with features shaped like ``train``'s.
    head
        ``"logistic"``: scikit-learn's logistic regression on standardised vectors (feature
        maps are averaged over space first), solved to convergence, no Keras involved;
        ``"linear"``: the same model as one Keras softmax layer, trained with Adam for
        ``steps`` steps; ``"gap"`` and ``"flatten"``: :func:`~tutorial_lib.vgg16_heads.gap_head`
        and :func:`~tutorial_lib.vgg16_heads.flatten_head` on the raw maps, trained with Adam.
    steps, learning_rate
        Adam's budget and rate for the Keras heads; the rate defaults to 0.01 for ``"linear"``
        and 0.001 for the others. Ignored by ``"logistic"``.

    Returns
    -------
    dict
        ``{name: [accuracy for each seed]}`` for each name of ``evaluate_on``.

    Raises
    ------
    ValueError
        If ``head`` is unknown, ``"gap"``/``"flatten"`` is asked of vectors, ``evaluate_on`` is
        empty, or a set's features do not match ``train``'s shape.
    """
    x_train, y_train = np.asarray(train[0], dtype=np.float32), train[1]
    y_train = check_labels(y_train, len(x_train))
    if head not in PROBE_HEADS:
        raise ValueError(f"head must be one of {list(PROBE_HEADS)}, got {head!r}")
    if x_train.ndim not in (2, 4):
        raise ValueError(f"features must be vectors (n, d) or maps (n, h, w, c), got {x_train.shape}")
    if head in ("gap", "flatten") and x_train.ndim != 4:
        raise ValueError(f"the {head!r} head needs feature maps (n, h, w, c), got {x_train.shape}")
    if not evaluate_on:
        raise ValueError("evaluate_on must name at least one (features, labels) set")
    sets = {}
    for name, (x, y) in evaluate_on.items():
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != x_train.shape[1:]:
            raise ValueError(f"{name!r} features have shape {x.shape}, expected (n, "
                             f"{', '.join(map(str, x_train.shape[1:]))}) like the training features")
        sets[name] = (x, check_labels(y, len(x)))
    num_classes = int(np.max(y_train)) + 1
    results: dict[str, list[float]] = {name: [] for name in sets}
    for seed in seeds:
        chosen = sample_per_class(y_train, labels_per_class, seed=seed)
        if head == "logistic":
            probe = _logistic_probe(_pooled(x_train[chosen]), y_train[chosen])
            for name, (x, y) in sets.items():
                results[name].append(float(probe.score(_pooled(x), y)))
            continue
        x_chosen = x_train[chosen]
        prepare = _standardiser(_pooled(x_chosen)) if head == "linear" else _unchanged
        if head == "linear":
            model = models.linear_head(x_chosen.shape[-1], num_classes, seed=seed)
        elif head == "gap":
            model = vgg16_heads.gap_head(x_chosen.shape[1:], num_classes, seed=seed)
        else:
            model = vgg16_heads.flatten_head(x_chosen.shape[1:], num_classes, seed=seed)
        rate = learning_rate or (1e-2 if head == "linear" else 1e-3)
        training.train(model, prepare(x_chosen), y_train[chosen], steps=steps, learning_rate=rate,
                       seed=seed)
        for name, (x, y) in sets.items():
            results[name].append(training.accuracy(model, prepare(x), y))
    return results
