"""Training with a fixed budget of gradient steps, and fast evaluation.

Every model in the book's small experiments is trained by :func:`train`: Adam, sparse
categorical cross-entropy, Keras ``fit``, a fixed number of steps. A fixed step budget makes
runs with 5 or 250 labelled images comparable, and it makes the time of a chapter predictable.

Speed: building Keras' training graph costs about a second on a laptop CPU, far more than the
training itself. :func:`train` therefore keeps one compiled copy per architecture (and per
set of frozen layers and batch size), loads the caller's weights into it, resets the
optimizer, sets its learning rate (a variable the graph reads at every step), trains, and
writes the weights back. The result is the same as compiling a fresh model (a unit test
checks this); only faster.

Penalties: a model whose weights carry penalties (``weight.regularizer``, as set by
:func:`tutorial_lib.objectives.add_penalty`) is trained on a compiled copy that carries the
same penalties, so the penalty is part of every step's loss; a copy that would silently drop
them is refused with an error. A penalty's numbers are traced into the graph, so such copies
are shared only between models whose penalties are equal (same kind, strength and reference).

Strategies: with ``strategy=`` (a ``tf.distribute.Strategy``) the copy is built and compiled
in the strategy's scope, so ``fit`` splits each batch among the replicas and all-reduces the
gradients (taught in *Scaling up*); it is kept for later runs under the same strategy, as above.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tutorial_lib.checks import check_int
from tutorial_lib.data import check_labels

# Several steps per call into the graph: the same numbers, less Python overhead per step.
_STEPS_PER_EXECUTION = 10
_COMPILED: dict[str, tuple[keras.Model, list[np.ndarray]]] = {}
# The same, for copies built under a tf.distribute strategy (which is kept to check identity).
_COMPILED_UNDER: dict[str, tuple[tf.distribute.Strategy, keras.Model, list[np.ndarray]]] = {}


def _architecture_key(model: keras.Model, batch_size: int) -> str:
    layers = []
    for layer in model.layers:
        # Names and initialisers do not change the training graph; leaving them out lets
        # models built with different seeds share one compiled copy.
        config = {key: value for key, value in layer.get_config().items()
                  if key != "name" and not key.endswith("initializer")}
        layers.append((type(layer).__name__, layer.trainable, config))
    return json.dumps([list(model.input_shape), layers, batch_size], sort_keys=True, default=str)


def _penalty_key(model: keras.Model) -> str:
    """A digest of every weight's penalty: its class and configuration (reference values included)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        regularizer = weight.regularizer
        config = None if regularizer is None else [type(regularizer).__name__, regularizer.get_config()]
        digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _compile(twin: keras.Model, learning_rate: float, steps_per_execution: int = _STEPS_PER_EXECUTION
             ) -> list[np.ndarray]:
    twin.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                 loss="sparse_categorical_crossentropy", jit_compile=False,
                 steps_per_execution=steps_per_execution)
    twin.optimizer.build(twin.trainable_variables)
    return [variable.numpy() for variable in twin.optimizer.variables]


def _penalised_copy(model: keras.Model, learning_rate: float,
                    steps_per_execution: int = _STEPS_PER_EXECUTION) -> keras.Model:
    """A freshly compiled copy that carries the penalties attached to ``model``'s weights."""
    twin = keras.models.clone_model(model)
    for ours, theirs in zip(model.weights, twin.weights, strict=True):
        if ours.regularizer is not None:
            theirs.regularizer = ours.regularizer
    twin.set_weights(model.get_weights())
    wanted = sum(weight.regularizer is not None for weight in model.trainable_weights)
    carried = len(twin.losses)
    if carried != wanted:
        raise RuntimeError(f"the training copy carries {carried} penalty terms instead of the model's "
                           f"{wanted}; refusing to train without them")
    _compile(twin, learning_rate, steps_per_execution)
    return twin


def _compiled_copy(model: keras.Model, learning_rate: float, batch_size: int,
                   strategy: tf.distribute.Strategy | None = None) -> keras.Model:
    key = _architecture_key(model, batch_size)
    if strategy is not None:
        # Variables created in the strategy's scope are mirrored on its replicas: a copy (with
        # the model's penalties, if any) built and compiled there, kept for later runs under
        # the same strategy. One step per call: Keras 3.15's multi-step loop fails under
        # MirroredStrategy with two replicas.
        key = f"{id(strategy)}:{key}{_penalty_key(model)}"
        held = _COMPILED_UNDER.get(key)
        if held is None or held[0] is not strategy:
            with strategy.scope():
                twin = _penalised_copy(model, learning_rate, steps_per_execution=1)
            held = _COMPILED_UNDER[key] = (strategy, twin, [v.numpy() for v in twin.optimizer.variables])
        _, twin, fresh_state = held
        with strategy.scope():
            _reset(twin, fresh_state, learning_rate, model)
        return twin
    if any(weight.regularizer is not None for weight in model.weights):
        # A penalty's numbers (L2-SP's reference weights) are traced into the training graph:
        # a penalised model shares a copy only with models that carry the same penalties.
        key += _penalty_key(model)
        if key not in _COMPILED:
            twin = _penalised_copy(model, learning_rate)
            _COMPILED[key] = (twin, [variable.numpy() for variable in twin.optimizer.variables])
    elif key not in _COMPILED:
        twin = keras.models.clone_model(model)
        _COMPILED[key] = (twin, _compile(twin, learning_rate))
    twin, fresh_state = _COMPILED[key]
    _reset(twin, fresh_state, learning_rate, model)
    return twin


def _reset(twin: keras.Model, fresh_state: list[np.ndarray], learning_rate: float,
           model: keras.Model) -> None:
    """A kept copy made ready for a new run: a fresh optimizer, the rate, ``model``'s weights."""
    for variable, value in zip(twin.optimizer.variables, fresh_state, strict=True):
        variable.assign(value)
    twin.optimizer.learning_rate.assign(learning_rate)
    twin.set_weights(model.get_weights())


def clear_compiled_models() -> None:
    """Forget the compiled copies that :func:`train` keeps (frees their memory)."""
    _COMPILED.clear()
    _COMPILED_UNDER.clear()


def check_inputs(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` as float32 inputs and int64 labels that fit ``model``, or raise.

    Raises
    ------
    ValueError
        If ``x`` does not have the model's input shape or holds NaN or infinite values, or the
        labels are not class indices (one per input) that the model's outputs can represent.
    """
    x = np.asarray(x, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if x.ndim == 0 or tuple(x.shape[1:]) != expected:
        raise ValueError(f"the model expects inputs of shape (n, {', '.join(map(str, expected))}), "
                         f"got {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int((~np.isfinite(x)).reshape(len(x), -1).any(axis=1).sum())
        raise ValueError(f"the inputs contain NaN or infinite values ({bad} of {len(x)} samples); "
                         "training on them would make every weight NaN")
    y = check_labels(y, len(x))
    n_outputs = model.output_shape[-1]
    if y.size and y.max() >= n_outputs:
        raise ValueError(f"label {y.max()} does not fit a model with {n_outputs} outputs")
    return x, y



def batch_order(n_samples: int, *, steps: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """The indices of ``steps`` mini-batches of ``batch_size``: seeded shuffles, epoch after epoch.

    Both :func:`train` and :func:`fit_in_steps` feed ``fit`` the data in this order (one epoch
    over the concatenated batches, ``shuffle=False``), so a fixed step budget means the same
    images in the same order whichever of the two trains.

    Raises
    ------
    TypeError, ValueError
        If a count is not a positive int.
    """
    n_samples = check_int("n_samples", n_samples)
    steps, batch_size = check_int("steps", steps), check_int("batch_size", batch_size)
    rng = np.random.default_rng(seed)
    n_epochs = -(-steps * batch_size // n_samples)
    return np.concatenate([rng.permutation(n_samples) for _ in range(n_epochs)])[: steps * batch_size]

def train(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    eval_every: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` in place for ``steps`` Adam steps on sparse categorical cross-entropy.

    Mini-batches are drawn by shuffling the data (seeded), epoch after epoch, until ``steps``
    batches have been used; layers with ``trainable = False`` do not move.

    Parameters
    ----------
    model
        A Keras model with a softmax output; it need not be compiled.
    x, y
        Inputs and integer labels (not one-hot).
    steps
        Number of gradient steps.
    learning_rate
        Adam's learning rate.
    batch_size
        Images per step (fewer if the data set is smaller).
    seed
        Seed of the batch order.
    validation
        Optional ``(x, y)`` whose accuracy is recorded every ``eval_every`` steps.
    eval_every
        How often to record the training loss (and validation accuracy); default: once, at the end.
    strategy
        A ``tf.distribute.Strategy`` (e.g. ``MirroredStrategy``): the training copy is built and
        compiled in its scope, and each step's ``batch_size`` images (the global batch) are split
        among its replicas. Default: none (one device).

    Returns
    -------
    dict
        ``step``, ``loss`` (mean training loss since the last record) and, with validation,
        ``val_accuracy``: lists with one entry per record.
    """
    x, y = check_inputs(model, x, y)
    steps = check_int("steps", steps)
    batch_size = check_int("batch_size", batch_size)
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    eval_every = steps if eval_every is None else check_int("eval_every", eval_every)
    batch_size = min(batch_size, len(x))

    order = batch_order(len(x), steps=steps, batch_size=batch_size, seed=seed)

    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy or None, got {type(strategy).__name__}")
    twin = _compiled_copy(model, learning_rate, batch_size, strategy)
    history: dict[str, list[float]] = {"step": [], "loss": []}
    if validation is not None:
        history["val_accuracy"] = []
    done = 0
    while done < steps:
        chunk = min(eval_every, steps - done)
        batch = order[done * batch_size : (done + chunk) * batch_size]
        result = twin.fit(x[batch], y[batch], batch_size=batch_size, epochs=1,
                          shuffle=False, verbose=0)
        done += chunk
        history["step"].append(done)
        history["loss"].append(float(result.history["loss"][-1]))
        if validation is not None:
            history["val_accuracy"].append(accuracy(twin, *validation))
    model.set_weights(twin.get_weights())
    return history


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities of ``model`` for ``x``, computed batch by batch without tracing a graph."""
    x = np.asarray(x, dtype=np.float32)
    batch_size = check_int("batch_size", batch_size)
    parts = [np.asarray(model(x[i : i + batch_size], training=False))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` that ``model`` classifies as ``y`` (integer labels)."""
    x, y = check_inputs(model, x, y)
    return float(np.mean(predict_proba(model, x).argmax(axis=1) == y))


def confusion_matrix(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Counts ``C[true, predicted]`` of ``model`` on ``(x, y)``; shape ``(classes, classes)``."""
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    x, y = check_inputs(model, x, y)
    predicted = predict_proba(model, x).argmax(axis=1)
    return sklearn_confusion_matrix(y, predicted, labels=np.arange(model.output_shape[-1]))


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Share of each true class classified correctly, from a confusion matrix (NaN for empty rows)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {matrix.shape}")
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)


class EpochTimes(keras.callbacks.Callback):
    """A Keras callback that records the wall time of every epoch of ``fit``, in seconds.

    The first epoch includes the one-off cost of building the training graph; the later epochs
    show what one more pass over the data costs. Pass it in ``fit(..., callbacks=[timer])`` and
    read ``timer.seconds`` afterwards (one float per epoch, validation included).
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)

    def steady(self) -> float:
        """Median time of the epochs after the first (the cost of one more epoch)."""
        if len(self.seconds) < 2:
            raise ValueError(f"need at least 2 timed epochs, got {len(self.seconds)}")
        return float(np.median(self.seconds[1:]))


class WeightCheckpoints(keras.callbacks.Callback):
    """A Keras callback that keeps copies of the model's weights along training, in memory.

    It records the weights before the first step and after every ``every``-th gradient step
    (counted across epochs), so the loss can be evaluated along the path training really took.
    Pass it in ``fit(..., callbacks=[saver])``; afterwards ``saver.steps[i]`` is the number of
    steps taken when ``saver.weights[i]`` was recorded. With ``steps_per_execution > 1`` Keras
    reports batches in groups, so record every multiple of that.

    Raises
    ------
    TypeError, ValueError
        If ``every`` is not a positive int.
    """

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = check_int("every", every)
        self.steps: list[int] = []
        self.weights: list[list[np.ndarray]] = []
        self._done = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._done = 0
        self.steps, self.weights = [0], [self.model.get_weights()]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._done += 1
        if self._done % self.every == 0:
            self.steps.append(self._done)
            self.weights.append(self.model.get_weights())


def fit_in_steps(
    model: keras.Model, x: np.ndarray, targets: np.ndarray, *, steps: int, loss: Any,
    learning_rate: float = 1e-3, batch_size: int = 32, seed: int = 0,
) -> keras.Model:
    """Compile ``model`` itself with Adam and ``loss`` and fit it for ``steps`` seeded mini-batches.

    Unlike :func:`train`, the model is not cloned: what only the model knows (a weight's own
    ``trainable`` flag, LoRA adapters, a custom loss with packed targets) is kept. Slower to start
    (one graph per call), the same seeded batch order as :func:`train`. Returns ``model``.

    Raises
    ------
    ValueError
        If ``targets`` has not one row per image or ``learning_rate`` is not positive.
    """
    steps = check_int("steps", steps)
    x = np.asarray(x, dtype=np.float32)
    if len(targets) != len(x):
        raise ValueError(f"expected one target per image ({len(x)}), got {len(targets)}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    batch_size = min(check_int("batch_size", batch_size), len(x))
    order = batch_order(len(x), steps=steps, batch_size=batch_size, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss,
                  jit_compile=False, steps_per_execution=_STEPS_PER_EXECUTION)
    model.fit(x[order], np.asarray(targets)[order], batch_size=batch_size, epochs=1, shuffle=False,
              verbose=0)
    return model
