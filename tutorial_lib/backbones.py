"""``keras.applications`` backbones described offline: size, depth, input, preprocessing, speed.

Every model here is built with ``weights=None`` (nothing is downloaded): the architecture, and so
the parameter count and depth, do not depend on the weights. What each backbone expects as input
is read from its own ``preprocess_input`` and from the layers of the model itself.

Taught in: *Tools and resources*.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from tutorial_lib.checks import check_int

#: Backbone name: (constructor in ``keras.applications``, its module, default input side in pixels).
BACKBONES = {
    "VGG16": ("VGG16", "vgg16", 224),
    "MobileNetV2": ("MobileNetV2", "mobilenet_v2", 224),
    "EfficientNetB0": ("EfficientNetB0", "efficientnet", 224),
}


def _check_name(name: str) -> tuple[str, str, int]:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {list(BACKBONES)}")
    return BACKBONES[name]


def build(name: str, image_size: int | None = None) -> keras.Model:
    """The backbone's convolutional base (``include_top=False``) with random weights.

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``image_size`` is below 32.
    TypeError
        If ``image_size`` is not an integer.
    """
    constructor, _, default = _check_name(name)
    size = default if image_size is None else image_size
    size = check_int("image_size", size, minimum=32)
    return getattr(keras.applications, constructor)(weights=None, include_top=False,
                                                   input_shape=(size, size, 3))


def preprocess(name: str, images: np.ndarray) -> np.ndarray:
    """The backbone's own ``preprocess_input`` applied to RGB ``images`` with values in [0, 1].

    Raises
    ------
    ValueError
        If ``name`` is unknown or the images are not ``(n, height, width, 3)``.
    """
    _, module, _ = _check_name(name)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (n, height, width, 3), got {images.shape}")
    function = getattr(keras.applications, module).preprocess_input
    return np.asarray(function(images.copy() * 255.0))


def _rounded(pixel: np.ndarray) -> list[float]:
    return [round(float(value), 1) for value in np.ravel(pixel)]


def describe(name: str, model: keras.Model | None = None) -> dict:
    """One row of the backbone table.

    Returns
    -------
    dict
        ``backbone``, ``parameters`` (of the base without its classifier), ``layers`` (Keras
        layers with weights), ``default input``, ``preprocess_input`` (what it does to a black
        and to a pure red pixel given as 0-255 RGB) and ``rescales inside`` (whether the model
        itself starts with a ``Rescaling`` or ``Normalization`` layer).
    """
    _, _, default = _check_name(name)
    model = build(name) if model is None else model
    black, red = preprocess(name, np.array([[[[0.0, 0.0, 0.0]]], [[[1.0, 0.0, 0.0]]]], dtype=np.float32))
    inside = any(isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
                 for layer in model.layers)
    return {
        "backbone": name,
        "parameters": int(model.count_params()),
        "layers": sum(1 for layer in model.layers if layer.weights),
        "default input": f"{default}x{default}x3",
        "preprocess_input": f"black -> {_rounded(black)}, red -> {_rounded(red)}",
        "rescales inside": inside,
    }


def images_per_second(model: keras.Model, *, batch_size: int = 8, batches: int = 3, seed: int = 0) -> float:
    """Forward-pass throughput of ``model`` on random images, measured after one warm-up batch.

    The number depends on the machine, the load and the input size: measure on your own
    hardware, in one run, to compare backbones.

    Raises
    ------
    ValueError
        If ``batch_size`` or ``batches`` is below 1.
    """
    if batch_size < 1 or batches < 1:
        raise ValueError(f"batch_size and batches must be at least 1, got {batch_size} and {batches}")
    shape = (batch_size, *model.input_shape[1:])
    images = np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)
    model(images, training=False)  # warm-up: the first call builds the graph
    start = time.perf_counter()
    for _ in range(batches):
        model(images, training=False)
    return batch_size * batches / (time.perf_counter() - start)


def markdown_table(rows: list[dict]) -> str:
    """Rows of equal keys as a Markdown table (the keys are the header).

    Raises
    ------
    ValueError
        If there are no rows or the rows do not share the same keys.
    """
    if not rows:
        raise ValueError("need at least one row")
    header = list(rows[0])
    if any(list(row) != header for row in rows):
        raise ValueError("every row must have the same keys, in the same order")

    def cell(value: object) -> str:
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[key]) for key in header) + " |" for row in rows]
    return "\n".join(lines)
