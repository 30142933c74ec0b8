"""The math of transfer: the training objective, gradients of frozen weights, L2-SP, and the
loss along training (at saved checkpoints) or along a straight line in weight space.

Taught in: *The math of transfer*.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from tutorial_lib import models, training
from tutorial_lib.checks import check_known
from tutorial_lib.data import TransferTask, check_labels
from tutorial_lib.training import check_inputs, predict_proba

PENALTIES = ("none", "l2", "l2sp")


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray, epsilon: float = 1e-7) -> float:
    """Mean cross-entropy :math:`-\\frac1N\\sum_i \\log p_{y_i}(x_i)`, computed with NumPy.

    Probabilities are clipped to ``[epsilon, 1 - epsilon]`` as Keras does.

    Raises
    ------
    ValueError
        If ``probabilities`` is not ``(n, classes)`` with rows that sum to one, or a label is
        out of range.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must have shape (n, classes), got {probabilities.shape}")
    labels = check_labels(labels, len(probabilities))
    if labels.size and labels.max() >= probabilities.shape[1]:
        raise ValueError(f"label {labels.max()} is out of range for {probabilities.shape[1]} classes")
    if not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probabilities must sum to 1 (pass softmax outputs, not logits)")
    clipped = np.clip(probabilities, epsilon, 1.0 - epsilon)
    return float(-np.mean(np.log(clipped[np.arange(len(labels)), labels])))


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Norm of the gradient of the loss with respect to *every* weight of ``model``.

    The gradient is taken with a ``tf.GradientTape`` over ``model.weights``, frozen weights
    included: freezing a layer does not make the loss independent of its weights, so their
    gradient is in general not zero. What freezing changes is the update: ``fit`` hands the
    optimizer only ``model.trainable_weights``, so a frozen weight is never moved.

    Parameters
    ----------
    model
        A Keras model with a softmax output.
    x, y
        A batch of inputs and integer labels.

    Returns
    -------
    dict
        ``{weight path: norm}`` in the order of ``model.weights`` (0.0 for a weight the loss
        does not depend on).
    """
    import tensorflow as tf

    x, y = check_inputs(model, x, y)
    loss_function = keras.losses.SparseCategoricalCrossentropy()
    variables = [weight.value for weight in model.weights]
    with tf.GradientTape() as tape:
        tape.watch(variables)
        loss = loss_function(y, model(x, training=True))
    gradients = tape.gradient(loss, variables)
    return {weight.path: 0.0 if gradient is None else float(np.linalg.norm(gradient))
            for weight, gradient in zip(model.weights, gradients, strict=True)}


class L2SP(keras.regularizers.Regularizer):
    """:math:`\\frac{\\alpha}{2}\\lVert w - w^0\\rVert^2`: pull a weight towards its starting value
    ``w0`` instead of towards zero (Li, Grandvalet & Davoine, 2018)."""

    def __init__(self, alpha: float, reference: np.ndarray) -> None:
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        self.alpha = float(alpha)
        self.reference = np.asarray(reference, dtype=np.float32)

    def __call__(self, weight):
        if tuple(weight.shape) != self.reference.shape:
            raise ValueError(f"weight of shape {tuple(weight.shape)} does not match the reference "
                             f"{self.reference.shape}")
        return 0.5 * self.alpha * keras.ops.sum(keras.ops.square(weight - self.reference))

    def get_config(self) -> dict:
        return {"alpha": self.alpha, "reference": self.reference.tolist()}


class L2(keras.regularizers.Regularizer):
    """:math:`\\frac{\\beta}{2}\\lVert w\\rVert^2` (weight decay written as a penalty)."""

    def __init__(self, beta: float) -> None:
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got {beta}")
        self.beta = float(beta)

    def __call__(self, weight):
        return 0.5 * self.beta * keras.ops.sum(keras.ops.square(weight))

    def get_config(self) -> dict:
        return {"beta": self.beta}


def add_penalty(model: keras.Sequential, penalty: str, *, alpha: float = 0.01, beta: float = 0.01,
                shared_layers: Sequence[str] = ("conv1", "conv2", "conv3", "dense")) -> keras.Sequential:
    """Attach a penalty to the weights of ``model`` (in place) and return it.

    ``"none"``: no penalty. ``"l2"``: :math:`\\frac{\\alpha}{2}\\lVert\\theta_s\\rVert^2 +
    \\frac{\\beta}{2}\\lVert\\theta_{new}\\rVert^2` (weight decay towards zero). ``"l2sp"``:
    :math:`\\frac{\\alpha}{2}\\lVert\\theta_s-\\theta_s^0\\rVert^2 +
    \\frac{\\beta}{2}\\lVert\\theta_{new}\\rVert^2`, where :math:`\\theta_s^0` are the weights of
    ``shared_layers`` at the moment of the call (the source weights) and :math:`\\theta_{new}`
    the other layers' weights (the new head). Penalties are added to the loss by ``fit``.

    Raises
    ------
    ValueError
        If ``penalty`` is unknown or a shared layer is not in the model.
    """
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {list(PENALTIES)}, got {penalty!r}")
    names = [layer.name for layer in model.layers]
    missing = [name for name in shared_layers if name not in names]
    if missing:
        raise ValueError(f"shared layers {missing} are not in the model {names}")
    for layer in model.layers:
        for weight in layer.weights:
            if penalty == "none":
                weight.regularizer = None
            elif layer.name in shared_layers:
                weight.regularizer = (L2(alpha) if penalty == "l2"
                                      else L2SP(alpha, keras.ops.convert_to_numpy(weight)))
            else:
                weight.regularizer = L2(beta)
    return model


def penalty_value(model: keras.Model) -> float:
    """The sum of the penalties attached to ``model``'s weights at their current values."""
    return float(sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses))


def fine_tune_with_penalty(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *,
    penalty: str = "l2sp", alpha: float = 0.01, beta: float = 0.01, steps: int = 300,
    learning_rate: float = 1e-3, batch_size: int = 32, seed: int = 0,
) -> keras.Sequential:
    """Parameter sharing (a copy of ``source`` with a new head) trained with a penalty.

    The copy gets the penalty with :func:`add_penalty` and is trained by
    :func:`tutorial_lib.training.train`, which adds the penalty to every step's loss.
    ``source`` is not changed.
    """
    model = add_penalty(models.with_new_head(source, num_classes, seed=seed), penalty,
                        alpha=alpha, beta=beta)
    training.train(model, x, y, steps=steps, learning_rate=learning_rate, batch_size=batch_size,
                   seed=seed)
    return model


def compare_penalties(
    task: TransferTask, source: keras.Sequential, labels_per_class: int,
    seeds: Sequence[int] = (0, 1, 2), penalties: Sequence[str] = PENALTIES, **options,
) -> list[dict]:
    """:func:`fine_tune_with_penalty` with each penalty, on the same few labels for each seed.

    ``options`` go to :func:`fine_tune_with_penalty` (``alpha``, ``steps``, ...); ``source`` is
    not changed.

    Returns
    -------
    list of dict
        One row per run: ``method`` (the penalty), ``labels_per_class``, ``seed``, ``accuracy``
        on the target test set, and ``drift``: the largest change of a single weight in the
        shared layers' kernels (``conv1`` to ``dense``), how far the penalty let them move.

    Raises
    ------
    ValueError
        If a penalty is not one of :data:`PENALTIES`.
    """
    check_known("penalties", penalties, PENALTIES)
    shared = ("conv1", "conv2", "conv3", "dense")
    rows = []
    for seed in seeds:
        x, y = task.few_labels(labels_per_class, seed=seed)
        for penalty in penalties:
            tuned = fine_tune_with_penalty(source, x, y, task.n_target_classes, penalty=penalty,
                                           seed=int(seed), **options)
            drift = max(float(np.abs(tuned.get_layer(name).kernel.numpy()
                                     - source.get_layer(name).kernel.numpy()).max()) for name in shared)
            rows.append({"method": penalty, "labels_per_class": int(labels_per_class), "seed": int(seed),
                         "accuracy": training.accuracy(tuned, *task.target_test), "drift": drift})
    return rows


def losses_at(model: keras.Model, weight_lists: Sequence[Sequence[np.ndarray]], x: np.ndarray,
              y: np.ndarray) -> np.ndarray:
    """Cross-entropy of ``model`` on ``(x, y)`` with each of ``weight_lists`` loaded in turn.

    Use it with the weights that :class:`tutorial_lib.training.WeightCheckpoints` saved during
    ``fit``: the result is the loss along the path training took. The model's own weights are
    restored afterwards.

    Raises
    ------
    ValueError
        If ``weight_lists`` is empty, or a list does not fit the model.
    """
    if len(weight_lists) == 0:
        raise ValueError("weight_lists must hold at least one list of weights")
    x, y = check_inputs(model, x, y)
    saved = model.get_weights()
    losses = []
    try:
        for weights in weight_lists:
            model.set_weights(list(weights))
            losses.append(cross_entropy(predict_proba(model, x), y))
    finally:
        model.set_weights(saved)
    return np.asarray(losses)
