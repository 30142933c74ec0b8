"""Transfer learning itself: a source model, and three ways to learn a target task.

* :func:`train_source_model` trains (once, then from the cache) the source model M.
* :func:`parameter_sharing` starts the target model from M's weights and trains it
  (fine-tuning), optionally keeping the first layers frozen.
* :func:`feature_sharing` keeps M frozen as a feature extractor and trains only a new
  classifier on its features.
* :func:`from_scratch` trains the same architecture from a random start: the baseline.

Training uses :func:`tutorial_lib.training.train` (Keras ``fit``).

Taught in: *What is transfer learning?* and *Parameter sharing vs feature sharing*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tutorial_lib import cache, models, training
from tutorial_lib.checks import check_known
from tutorial_lib.data import TransferTask

METHODS = ("from scratch", "parameter sharing", "feature sharing")
# The architectures a source or scratch model can have: name -> builder(num_classes, input_shape, seed=).
ARCHITECTURES = {"small_cnn": models.small_cnn, "dense_network": models.dense_network}


def _builder(architecture: str):
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose from {list(ARCHITECTURES)}")
    return ARCHITECTURES[architecture]

#: Adam's learning rate of each method when none is given (the rates of the book's first runs;
#: :func:`tutorial_lib.selection.choose_learning_rate` chooses them on validation data instead).
DEFAULT_LEARNING_RATES = {"from scratch": 1e-3, "parameter sharing": 1e-3, "feature sharing": 1e-2}


@dataclass
class SourceModel:
    """A trained source model, its training history and whether it came from the cache."""

    model: keras.Sequential
    history: dict[str, list[float]]
    from_cache: bool


def train_source_model(
    task: TransferTask,
    *,
    steps: int = 2000,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    eval_every: int = 100,
    seed: int = 0,
    architecture: str = "small_cnn",
) -> SourceModel:
    """Step 1 of transfer: train the source model M on the source task, or load it from the cache.

    The cache key is a hash of the task's recipe, every argument here, the Keras version and
    :func:`tutorial_lib.cache.code_hash` of this function (which covers the model, the training
    loop and everything else it calls), so a change to any of them trains a new model; a
    corrupt cached file is retrained.

    Parameters
    ----------
    architecture
        A key of :data:`ARCHITECTURES`: the book's ``small_cnn`` for images, ``dense_network``
        for spectrograms.

    Returns
    -------
    SourceModel
        The model (``architecture`` with one output per source class) and its history:
        ``step``, ``loss`` and ``val_accuracy`` on the source test set.
    """
    recipe = {
        "task": {k: v for k, v in task.recipe.items() if k != "target_classes"},
        "architecture": architecture,
        "code": cache.code_hash(train_source_model),
        "steps": steps, "learning_rate": learning_rate, "batch_size": batch_size,
        "eval_every": eval_every, "seed": seed, "keras": keras.__version__,
    }
    if not task.recipe:
        raise ValueError("the task has no recipe to key the cache with; build it with "
                         "tutorial_lib.data.shifted_digits_task or another task builder")
    build_model = _builder(architecture)

    def build(path: Path) -> dict:
        model = build_model(task.n_source_classes, task.source_train.x.shape[1:], seed=seed)
        history = training.train(
            model, *task.source_train, steps=steps, learning_rate=learning_rate,
            batch_size=batch_size, seed=seed, validation=task.source_test, eval_every=eval_every,
        )
        model.save_weights(path)
        return {"history": history}

    def load(path: Path) -> keras.Sequential:
        model = build_model(task.n_source_classes, task.source_train.x.shape[1:], seed=seed)
        model.load_weights(path)
        return model

    model, meta = cache.cached("source-model", recipe, build, load, ".weights.h5")
    return SourceModel(model, meta["extra"]["history"], from_cache=not meta["rebuilt"])


def from_scratch(
    x: np.ndarray, y: np.ndarray, num_classes: int, *, steps: int = 200,
    learning_rate: float = 1e-3, seed: int = 0, architecture: str = "small_cnn",
) -> keras.Sequential:
    """Train the book's small CNN (or another of :data:`ARCHITECTURES`) on ``(x, y)`` from a random
    start (the baseline)."""
    model = _builder(architecture)(num_classes, np.shape(x)[1:], seed=seed)
    training.train(model, x, y, steps=steps, learning_rate=learning_rate, seed=seed)
    return model


def parameter_sharing(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *,
    steps: int = 200, learning_rate: float = 1e-3, frozen_layers: int = 0, seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
) -> keras.Sequential:
    """Start from the source model's weights, put on a new head, and train (fine-tune).

    Parameters
    ----------
    source
        The trained source model; it is not changed.
    frozen_layers
        How many of the first weight-carrying layers keep the source weights (0: all move).
    strategy
        Optional ``tf.distribute.Strategy`` to train under (see :func:`tutorial_lib.training.train`).
    """
    model = models.freeze(models.with_new_head(source, num_classes, seed=seed), frozen_layers)
    training.train(model, x, y, steps=steps, learning_rate=learning_rate, seed=seed,
                   strategy=strategy)
    return model


def feature_sharing(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *,
    steps: int = 200, learning_rate: float = 1e-2, layer_name: str | None = "gap", seed: int = 0,
) -> keras.Sequential:
    """Use the frozen source model as a feature extractor and train only a new classifier.

    The features of ``x`` are computed once; the classifier is trained on them, which is
    much cheaper than pushing images through the network at every step.

    The source model is not changed: the returned model holds a frozen copy of its layers.

    Parameters
    ----------
    layer_name
        The layer whose output are the features; ``"gap"`` (the pooled convolution features)
        by default, ``None`` for the layer just before the head.

    Returns
    -------
    keras.Sequential
        Extractor and classifier chained: a model from images to class probabilities.
    """
    extractor = models.feature_extractor(source, layer_name)
    features = training.predict_proba(extractor, x)
    head = models.linear_head(features.shape[1], num_classes, seed=seed)
    training.train(head, features, y, steps=steps, learning_rate=learning_rate, seed=seed)
    # A copy of the extractor: freezing the combined model must not freeze the source's layers.
    frozen = keras.models.clone_model(extractor)
    frozen.set_weights(extractor.get_weights())
    combined = keras.Sequential([keras.Input(source.input_shape[1:]), *frozen.layers,
                                 *head.layers], name="feature_sharing")
    return models.freeze(combined)


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Step 3 of transfer: accuracy on a held-out set that no training step has touched."""
    return training.accuracy(model, x, y)


def train_method(
    method: str, source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *,
    learning_rate: float | None = None, steps: int = 200, seed: int = 0,
    architecture: str = "small_cnn", feature_layer: str | None = "gap",
) -> keras.Sequential:
    """Train a target model on ``(x, y)`` with one of :data:`METHODS`, by its name.

    ``learning_rate=None`` uses the method's entry of :data:`DEFAULT_LEARNING_RATES`;
    ``source`` is not used by ``"from scratch"``, which builds ``architecture`` (that of
    ``source``); ``feature_layer`` is the layer whose output feature sharing reads (``None``:
    the layer before the head).

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`METHODS`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
    rate = DEFAULT_LEARNING_RATES[method] if learning_rate is None else learning_rate
    if method == "from scratch":
        return from_scratch(x, y, num_classes, steps=steps, learning_rate=rate, seed=seed,
                            architecture=architecture)
    if method == "parameter sharing":
        return parameter_sharing(source, x, y, num_classes, steps=steps, learning_rate=rate, seed=seed)
    return feature_sharing(source, x, y, num_classes, steps=steps, learning_rate=rate,
                           layer_name=feature_layer, seed=seed)


def method_trainer(
    method: str, source: keras.Sequential, num_classes: int, *, steps: int = 200,
) -> Callable[[np.ndarray, np.ndarray, float, int], keras.Sequential]:
    """``train(x, y, learning_rate, seed)`` for one method, as
    :func:`tutorial_lib.selection.choose_learning_rate` expects it.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`METHODS`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")

    def train(x: np.ndarray, y: np.ndarray, learning_rate: float, seed: int) -> keras.Sequential:
        return train_method(method, source, x, y, num_classes, learning_rate=learning_rate,
                            steps=steps, seed=seed)

    return train


def compare_methods(
    task: TransferTask,
    source: keras.Sequential,
    labels_per_class: Iterable[int],
    seeds: Iterable[int] = (0, 1, 2),
    methods: Sequence[str] = METHODS,
    *,
    steps: int = 200,
    learning_rates: Mapping[str, float] | None = None,
    architecture: str = "small_cnn",
    feature_layer: str | None = "gap",
) -> list[dict]:
    """Accuracy of each method on the target test set, for each label budget and seed.

    For every ``(labels_per_class, seed)`` the same labelled images are given to every method.
    ``architecture`` is the scratch model's (that of ``source``); ``feature_layer`` is the layer
    whose output feature sharing reads (``None``: the layer before the head).

    Parameters
    ----------
    learning_rates
        Adam's learning rate per method name; methods left out use
        :data:`DEFAULT_LEARNING_RATES`.

    Returns
    -------
    list of dict
        One row per run: ``method``, ``labels_per_class``, ``seed``, ``accuracy``.

    Raises
    ------
    ValueError
        If a method (of ``methods`` or of ``learning_rates``) is not one of :data:`METHODS`.
    """
    _builder(architecture)
    rates = dict(learning_rates or {})
    check_known("methods", [*methods, *rates], METHODS)
    rows = []
    for k in labels_per_class:
        for seed in seeds:
            x, y = task.few_labels(k, seed=seed)
            for method in methods:
                model = train_method(method, source, x, y, task.n_target_classes,
                                     learning_rate=rates.get(method), steps=steps, seed=seed,
                                     architecture=architecture, feature_layer=feature_layer)
                rows.append({"method": method, "labels_per_class": int(k), "seed": int(seed),
                             "accuracy": evaluate(model, *task.target_test)})
    return rows


def transfer_first_layers(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, n_layers: int, *,
    freeze: bool, steps: int = 200, learning_rate: float = 1e-3, seed: int = 0,
) -> keras.Sequential:
    """Copy the first ``n_layers`` weight-carrying layers of ``source``, start the rest afresh, train.

    ``n_layers = 0`` is training from scratch; ``freeze=True`` keeps the copied layers fixed
    (they are then feature sharing for the layers above), ``freeze=False`` fine-tunes them.

    Raises
    ------
    ValueError
        If ``n_layers`` is negative or reaches the head.
    """
    fresh = models.small_cnn(num_classes, source.input_shape[1:], seed=seed)
    carriers = models.weight_layers(source)
    if not 0 <= n_layers < len(carriers):
        raise ValueError(f"n_layers must be between 0 and {len(carriers) - 1} (the head is always new), "
                         f"got {n_layers}")
    for layer in carriers[:n_layers]:
        fresh.get_layer(layer.name).set_weights(layer.get_weights())
    models.freeze(fresh, n_layers if freeze else 0)
    training.train(fresh, x, y, steps=steps, learning_rate=learning_rate, seed=seed)
    return fresh


def layer_transfer_curve(
    task: TransferTask, source: keras.Sequential, labels_per_class: int,
    seeds: Iterable[int] = (0, 1), *, steps: int = 200,
) -> list[dict]:
    """Target accuracy when the first k layers come from the source, for every k, frozen or not.

    Returns
    -------
    list of dict
        Rows with ``n_layers``, ``mode`` (``"frozen"`` or ``"fine-tuned"``), ``seed`` and
        ``accuracy``. ``n_layers = 0`` (from scratch) is run once and reported under both modes.
    """
    n_transferable = len(models.weight_layers(source)) - 1
    rows = []
    for seed in seeds:
        x, y = task.few_labels(labels_per_class, seed=seed)
        for n_layers in range(n_transferable + 1):
            for mode in ("frozen", "fine-tuned"):
                if n_layers == 0 and mode == "fine-tuned":
                    rows.append({**rows[-1], "mode": mode})
                    continue
                model = transfer_first_layers(source, x, y, task.n_target_classes, n_layers,
                                              freeze=mode == "frozen", steps=steps, seed=seed)
                rows.append({"n_layers": n_layers, "mode": mode, "seed": int(seed),
                             "accuracy": evaluate(model, *task.target_test)})
    return rows
