"""Knowledge distillation (Hinton, Vinyals & Dean, 2015): a small student learns from a teacher's
softened outputs as well as from the labels.

The teacher's probabilities :math:`p` are softened at a temperature :math:`T`,
:math:`p_T \\propto p^{1/T}` (the softmax of the logits divided by :math:`T`); the student
minimises :math:`\\alpha\\,\\mathrm{CE}(y, q) + (1-\\alpha)\\,T^2\\,\\mathrm{CE}(p_T, q_T)`, where
:math:`q` is its own output and :math:`q_T` the same softened at :math:`T` (the :math:`T^2` keeps
the gradients of the soft part comparable across temperatures).

Taught in: *Trends and challenges*.
"""

from __future__ import annotations

import keras
import numpy as np

from tutorial_lib.data import check_images, check_labels
from tutorial_lib.training import fit_in_steps

_EPSILON = 1e-7


def soften(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities softened at ``temperature``: :math:`p_i^{1/T} / \\sum_j p_j^{1/T}`.

    ``T = 1`` returns the probabilities; a larger ``T`` spreads the mass over the wrong classes,
    whose relative sizes are what the student can learn from ("dark knowledge").

    Raises
    ------
    ValueError
        If ``temperature`` is not positive or ``probabilities`` is not ``(n, classes)``.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must have shape (n, classes), got {probabilities.shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = np.log(np.clip(probabilities, _EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)


def distillation_loss(temperature: float, alpha: float):
    """A Keras loss for students with a softmax output.

    ``y_true`` packs, per image, the one-hot label and the teacher's softened probabilities side
    by side (see :func:`pack_targets`); ``y_pred`` is the student's softmax output.

    Raises
    ------
    ValueError
        If ``temperature`` is not positive or ``alpha`` is outside [0, 1].
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    ops = keras.ops

    def loss(y_true, y_pred):
        n_classes = ops.shape(y_pred)[-1]
        hard, soft = y_true[:, :n_classes], y_true[:, n_classes:]
        log_q = ops.log(ops.clip(y_pred, _EPSILON, 1.0))
        log_q_t = ops.log_softmax(log_q / temperature, axis=-1)
        hard_part = -ops.sum(hard * log_q, axis=-1)
        soft_part = -ops.sum(soft * log_q_t, axis=-1) * temperature**2
        return alpha * hard_part + (1.0 - alpha) * soft_part

    return loss


def pack_targets(labels: np.ndarray, teacher_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``[one_hot(labels), soften(teacher_probabilities, T)]`` side by side, shape ``(n, 2 * classes)``.

    Raises
    ------
    ValueError
        If the number of labels and of teacher rows differ, or a label is out of range.
    """
    soft = soften(teacher_probabilities, temperature)
    labels = check_labels(labels, len(soft))
    if labels.size and labels.max() >= soft.shape[1]:
        raise ValueError(f"label {labels.max()} is out of range for {soft.shape[1]} classes")
    return np.concatenate([np.eye(soft.shape[1], dtype=np.float32)[labels], soft], axis=1)


def train_student(
    student: keras.Model, x: np.ndarray, y: np.ndarray, teacher_probabilities: np.ndarray, *,
    temperature: float = 4.0, alpha: float = 0.1, steps: int = 300, learning_rate: float = 3e-3,
    batch_size: int = 32, seed: int = 0,
) -> keras.Model:
    """Train ``student`` in place on labels and the teacher's soft targets; return it.

    ``alpha = 1`` is training on the labels alone (the baseline), whatever the temperature.
    The batch order is drawn from ``seed``; Keras' global generator is left alone.

    Parameters
    ----------
    student
        A model with a softmax output of as many classes as the teacher's.
    x, y
        Training images and their integer labels.
    teacher_probabilities
        The teacher's softmax output on ``x``, shape ``(n, classes)``.

    Raises
    ------
    ValueError
        If ``teacher_probabilities`` is not ``(len(x), classes)``.
    """
    x, y = check_images(x), check_labels(y, len(x))
    if np.shape(teacher_probabilities) != (len(x), student.output_shape[-1]):
        raise ValueError(f"teacher_probabilities must have shape ({len(x)}, {student.output_shape[-1]}), "
                         f"got {np.shape(teacher_probabilities)}")
    targets = pack_targets(y, teacher_probabilities, temperature)
    return fit_in_steps(student, x, targets, steps=steps, loss=distillation_loss(temperature, alpha),
                        learning_rate=learning_rate, batch_size=batch_size, seed=seed)
