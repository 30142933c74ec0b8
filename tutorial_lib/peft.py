"""Parameter-efficient fine-tuning: LoRA adapters on the source model's layers (Keras 3).

LoRA (Hu et al., 2021) freezes a layer's kernel :math:`W` and learns a low-rank change
:math:`\\Delta W = \\frac{\\alpha}{r} A B` (:math:`A` is ``inputs x r``, :math:`B` is
``r x outputs``, and :math:`B` starts at zero, so training starts exactly at the source model).
Keras 3 builds it into ``Dense``, ``EinsumDense``, ``Embedding`` and the convolution layers:
``layer.enable_lora(rank)``.

Taught in: *Trends and challenges*.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from tutorial_lib import models
from tutorial_lib.checks import check_int
from tutorial_lib.training import fit_in_steps


def parameter_count(model: keras.Model, *, trainable_only: bool = False) -> int:
    """Number of scalar weights of ``model`` (only those an optimizer moves if ``trainable_only``)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(int(np.prod(weight.shape)) for weight in weights))


def lora_model(
    source: keras.Sequential, num_classes: int, *, rank: int = 4,
    layers: Sequence[str] = ("conv2", "conv3", "dense"), seed: int = 0,
) -> keras.Sequential:
    """A copy of ``source`` with a new head, LoRA adapters on ``layers`` and everything else frozen.

    Trainable: the adapters (``lora_kernel_a``/``lora_kernel_b``) of ``layers`` and the new head.
    Frozen: every kernel and bias of the copied layers. ``source`` is not changed.

    Raises
    ------
    ValueError
        If ``rank`` is below 1, or a layer is unknown, has no kernel, or is the head.
    TypeError
        If ``rank`` is not an integer.
    """
    rank = check_int("rank", rank)
    model = models.with_new_head(source, num_classes, seed=seed)
    names = [layer.name for layer in model.layers[:-1]]
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise ValueError(f"layers {unknown} are not body layers of the model; choose from {names}")
    for index, layer in enumerate(model.layers[:-1]):
        if layer.name in layers:
            if not hasattr(layer, "enable_lora"):
                raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) does not support LoRA")
            # The copy keeps the source's trainable flags; the adapters must train whatever they were.
            layer.trainable = True
            initializer = keras.initializers.HeUniform(seed=seed * 100 + index)
            layer.enable_lora(int(rank), a_initializer=initializer)
            for weight in layer.weights:
                if not weight.path.endswith(("lora_kernel_a", "lora_kernel_b")):
                    weight.trainable = False
        else:
            layer.trainable = False
    return model


def fine_tune_lora(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *, rank: int = 4,
    layers: Sequence[str] = ("conv2", "conv3", "dense"), steps: int = 200,
    learning_rate: float = 3e-3, seed: int = 0,
) -> keras.Sequential:
    """Build :func:`lora_model` and train its adapters and head on ``(x, y)``."""
    model = lora_model(source, num_classes, rank=rank, layers=layers, seed=seed)
    return fit_in_steps(model, x, np.asarray(y), steps=steps, loss="sparse_categorical_crossentropy",
                        learning_rate=learning_rate, seed=seed)
