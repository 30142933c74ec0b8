"""Catastrophic forgetting: what fine-tuning on the target task does to the source task, and
learning without forgetting (Li & Hoiem, 2016), which keeps the old head and its answers.

After fine-tuning, the network body has moved; :func:`reattach_head` puts the source model's own
head back on the moved body, so that its accuracy on the *source* task can be measured.
:func:`learning_without_forgetting` trains the body, the old head and a new head together: the
new head on the target labels, the old head to keep giving, on the target images, the answers the
source model gave before training (its own outputs are the targets, so no source data is needed).

Taught in: *Trends and challenges*.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from tutorial_lib import models
from tutorial_lib.data import check_images, check_labels
from tutorial_lib.training import fit_in_steps, predict_proba

_EPSILON = 1e-7


def _copy_layer(layer: keras.layers.Dense, name: str | None = None) -> keras.layers.Dense:
    config = layer.get_config()
    if name is not None:
        config["name"] = name
    copy = type(layer).from_config(config)
    copy.build((None, layer.kernel.shape[0]))
    copy.set_weights(layer.get_weights())
    return copy


def reattach_head(fine_tuned: keras.Sequential, source: keras.Sequential) -> keras.Sequential:
    """The body of ``fine_tuned`` (all layers but its head) under a copy of ``source``'s head.

    Neither model is changed; the result shares the body's layers with ``fine_tuned``.

    Raises
    ------
    ValueError
        If the two models' bodies do not produce features of the same size.
    TypeError
        If either model is not a ``keras.Sequential``.
    """
    for model in (fine_tuned, source):
        if not isinstance(model, keras.Sequential):
            raise TypeError(f"expected keras.Sequential models, got {type(model).__name__}")
    if fine_tuned.layers[-2].output.shape[-1] != source.layers[-2].output.shape[-1]:
        raise ValueError("the fine-tuned body and the source head do not fit: features of size "
                         f"{fine_tuned.layers[-2].output.shape[-1]} vs {source.layers[-2].output.shape[-1]}")
    head = _copy_layer(source.layers[-1], name="source_head")
    return keras.Sequential([keras.Input(fine_tuned.input_shape[1:]), *fine_tuned.layers[:-1], head],
                            name=f"{fine_tuned.name}_source_head")


class LwFModels(NamedTuple):
    """The two views of one network trained with learning without forgetting."""

    target: keras.Sequential  # the shared body under the new head
    source: keras.Sequential  # the same body under the (updated) old head


def _packed_loss(num_new: int, weight: float):
    ops = keras.ops

    def loss(y_true, y_pred):
        new_true, old_true = y_true[:, :num_new], y_true[:, num_new:]
        new_pred = ops.clip(y_pred[:, :num_new], _EPSILON, 1.0)
        old_pred = ops.clip(y_pred[:, num_new:], _EPSILON, 1.0)
        return (-ops.sum(new_true * ops.log(new_pred), axis=-1)
                - weight * ops.sum(old_true * ops.log(old_pred), axis=-1))

    return loss


def learning_without_forgetting(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *,
    weight: float = 1.0, steps: int = 200, learning_rate: float = 1e-3, seed: int = 0,
) -> LwFModels:
    """Fine-tune a copy of ``source`` on ``(x, y)`` while its old head keeps its old answers on ``x``.

    The loss is the cross-entropy of the new head on the labels plus ``weight`` times the
    cross-entropy between the old head's outputs and those the source model gave on ``x``
    before training. ``weight = 0`` is plain fine-tuning with the old head carried along.

    Raises
    ------
    ValueError
        If ``weight`` is negative.
    """
    if not weight >= 0:
        raise ValueError(f"weight must be non-negative, got {weight}")
    x, y = check_images(x), check_labels(y, len(x))
    recorded = predict_proba(source, x)
    target = models.with_new_head(source, num_classes, seed=seed)
    old_head = _copy_layer(source.layers[-1], name="source_head")
    inputs = keras.Input(source.input_shape[1:])
    features = inputs
    for layer in target.layers[:-1]:
        features = layer(features)
    both = keras.layers.Concatenate(name="both_heads")([target.layers[-1](features), old_head(features)])
    joint = keras.Model(inputs, both, name="lwf")
    packed = np.concatenate([np.eye(num_classes, dtype=np.float32)[y], recorded], axis=1)
    fit_in_steps(joint, x, packed, steps=steps, loss=_packed_loss(num_classes, float(weight)),
                 learning_rate=learning_rate, seed=seed)
    view = keras.Sequential([keras.Input(source.input_shape[1:]), *target.layers[:-1], old_head],
                            name="lwf_source_view")
    return LwFModels(target=target, source=view)
