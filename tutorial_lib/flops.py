"""Counting a network's arithmetic from its layer shapes, and what it costs at scale.

A convolution with a ``k x k`` kernel, ``c_in`` input and ``c_out`` output channels does
``k * k * c_in * c_out`` multiply-adds at each of its ``h x w`` output positions; a dense layer
``n_in * n_out``. One multiply-add is two floating-point operations (FLOPs). Pooling and
activations are left out: they are a fraction of a percent of VGG16's work.

Taught in: *Scaling up*.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from tutorial_lib.checks import check_int

#: Published peak dense throughput of some accelerators, in FLOP/s: (precision, rate, source).
#: Peak rates from the vendors' data sheets, never reached by real training; not measured here.
PEAK_FLOPS = {
    "NVIDIA A100 (FP32)": ("FP32", 19.5e12, "NVIDIA A100 Tensor Core GPU data sheet"),
    "NVIDIA A100 (BF16 tensor cores)": ("BF16", 312e12, "NVIDIA A100 Tensor Core GPU data sheet"),
    "NVIDIA H100 SXM (BF16 tensor cores)": ("BF16", 989e12, "NVIDIA H100 Tensor Core GPU data sheet"),
    "Google Cloud TPU v4 (BF16)": ("BF16", 275e12, "Google Cloud TPU v4 documentation"),
}

#: Training images of ImageNet-1k (ILSVRC 2012).
IMAGENET_TRAIN_IMAGES = 1_281_167


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward FLOPs of one layer for one input (2 per multiply-add; 0 for layers without weights).

    Raises
    ------
    TypeError
        If ``layer`` carries weights but is neither ``Conv2D`` nor ``Dense``.
    """
    if isinstance(layer, keras.layers.Conv2D):
        height, width, c_out = layer.output.shape[1:]
        k_h, k_w, c_in, _ = layer.kernel.shape
        return 2 * height * width * k_h * k_w * c_in * c_out
    if isinstance(layer, keras.layers.Dense):
        n_in, n_out = layer.kernel.shape
        return 2 * n_in * n_out
    if layer.weights:
        raise TypeError(f"cannot count the FLOPs of a {type(layer).__name__} layer ({layer.name})")
    return 0


def forward_flops(model: keras.Model) -> int:
    """Forward FLOPs of ``model`` for one input: the sum of :func:`layer_flops` over its layers."""
    return sum(layer_flops(layer) for layer in model.layers)


def measured_rate(model: keras.Model, inputs: np.ndarray, *, repeats: int = 3) -> float:
    """FLOP/s of ``model``'s forward pass on ``inputs`` on this machine, measured.

    One untimed call first (it sets up the kernels for this input shape), then ``repeats`` timed
    calls; the fastest gives the rate: :func:`forward_flops` times the number of inputs, divided
    by its seconds. The fastest call is the one least disturbed by the rest of the machine.

    Raises
    ------
    ValueError
        If ``inputs`` is not a batch of the model's input shape.
    TypeError, ValueError
        If ``repeats`` is not a positive int.
    """
    repeats = check_int("repeats", repeats)
    inputs = np.asarray(inputs, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if inputs.ndim != len(expected) + 1 or tuple(inputs.shape[1:]) != expected or not len(inputs):
        raise ValueError(f"inputs must be a batch of shape (n, {', '.join(map(str, expected))}), "
                         f"got {inputs.shape}")
    model(inputs)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(inputs)
        seconds.append(time.perf_counter() - start)
    return forward_flops(model) * len(inputs) / min(seconds)
