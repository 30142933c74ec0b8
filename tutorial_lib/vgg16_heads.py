"""What goes on top of a VGG16 convolutional base: heads, the stacked model, the last block.

* :func:`flatten_head` is the classic recipe's head (``Flatten``, ``Dense(1024)``, softmax);
  :func:`gap_head` the light alternative (global average pooling, softmax).
* :func:`on_top` stacks a head (trained on precomputed features) on the base.
* :func:`tail` copies the base's last layers as a trainable model, to fine-tune the last block
  on the features of the block before it.

Models here are built, never trained. The base itself comes from :mod:`tutorial_lib.pretrained`,
its features from :mod:`tutorial_lib.features`.

Taught in: *The VGG16 example*.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tutorial_lib.checks import check_int


def _check_feature_shape(feature_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(feature_shape)
    if len(shape) != 3 or not all(isinstance(side, int) and side >= 1 for side in shape):
        raise ValueError(f"feature_shape must be (height, width, channels) of positive ints, "
                         f"got {shape}")
    return shape  # type: ignore[return-value]


def _initializer(seed: int | None, offset: int) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 100 + offset)


def flatten_head(
    feature_shape: Sequence[int], num_classes: int = 10, *, units: int = 1024, seed: int | None = 0
) -> keras.Sequential:
    """The classic head of the VGG16 recipe: ``Flatten``, ``Dense(units, relu)``, ``Dense(softmax)``.

    It reads the feature maps of a convolutional base (``feature_shape``, e.g. ``(7, 7, 512)``
    for VGG16 at 224 pixels), so it can be trained on precomputed features and then put on top
    of the base with :func:`on_top`.

    Parameters
    ----------
    feature_shape
        ``(height, width, channels)`` of the feature maps the head reads.
    num_classes
        Outputs of the softmax layer (at least 2).
    units
        Width of the hidden ``Dense`` layer (named ``dense_1024`` when it is 1024).
    seed
        Seed of the initialisers (``None`` draws from Keras' global generator).

    Raises
    ------
    ValueError, TypeError
        If ``feature_shape`` is not three positive ints, or ``num_classes``/``units`` are not
        ints of at least 2 and 1.
    """
    shape = _check_feature_shape(feature_shape)
    check_int("num_classes", num_classes, minimum=2)
    check_int("units", units, minimum=1)
    return keras.Sequential(
        [keras.Input(shape),
         keras.layers.Flatten(name="flatten"),
         keras.layers.Dense(units, activation="relu", name="dense_1024" if units == 1024 else "dense",
                            kernel_initializer=_initializer(seed, 6)),
         keras.layers.Dense(num_classes, activation="softmax", name="head",
                            kernel_initializer=_initializer(seed, 7))],
        name="flatten_head",
    )


def gap_head(
    feature_shape: Sequence[int], num_classes: int = 10, *, seed: int | None = 0
) -> keras.Sequential:
    """A light head: ``GlobalAveragePooling2D`` then one softmax layer; any map size fits.

    Raises
    ------
    ValueError, TypeError
        If ``feature_shape`` is not three positive ints or ``num_classes`` is not an int >= 2.
    """
    shape = _check_feature_shape(feature_shape)
    check_int("num_classes", num_classes, minimum=2)
    return keras.Sequential(
        [keras.Input(shape),
         keras.layers.GlobalAveragePooling2D(name="gap"),
         keras.layers.Dense(num_classes, activation="softmax", name="head",
                            kernel_initializer=_initializer(seed, 7))],
        name="gap_head",
    )


def on_top(base: keras.Model, head: keras.Sequential) -> keras.Sequential:
    """``base`` followed by a copy of ``head`` (same weights), as one model from images to classes.

    The head passed in is not changed; the base is shared (not copied), so its trainable flags
    carry over.

    Raises
    ------
    TypeError
        If ``head`` is not a ``keras.Sequential`` model.
    ValueError
        If the head does not read the base's output shape.
    """
    if not isinstance(head, keras.Sequential):
        raise TypeError(f"head must be a keras.Sequential model, got {type(head).__name__}")
    if tuple(head.input_shape[1:]) != tuple(base.output_shape[1:]):
        raise ValueError(f"the head reads {head.input_shape[1:]} but the base gives "
                         f"{base.output_shape[1:]}")
    copy = keras.models.clone_model(head)
    copy.set_weights(head.get_weights())
    return keras.Sequential([keras.Input(base.input_shape[1:]), base, *copy.layers],
                            name=f"{base.name}_{head.name}")


def tail(base: keras.Model, first_layer: str = "block5_conv1") -> keras.Sequential:
    """A trainable copy of the base's layers from ``first_layer`` to the end, with their weights.

    Fine-tuning the last block on features of the block before it is exactly fine-tuning it in
    the whole network (VGG16 has no batch normalisation or dropout), at a fraction of the cost.
    The base is not changed.

    Raises
    ------
    ValueError
        If ``first_layer`` is not a layer of ``base`` (or is its input layer).
    """
    names = [layer.name for layer in base.layers]
    if first_layer not in names or isinstance(base.get_layer(first_layer), keras.layers.InputLayer):
        raise ValueError(f"unknown layer {first_layer!r}; the base has {names[1:]}")
    start = names.index(first_layer)
    input_shape = base.layers[start].input.shape[1:]
    copies = []
    for layer in base.layers[start:]:
        copy = layer.__class__.from_config(layer.get_config())
        copy.trainable = True
        copies.append(copy)
    model = keras.Sequential([keras.Input(tuple(input_shape)), *copies], name=f"from_{first_layer}")
    for copy, layer in zip(copies, base.layers[start:], strict=True):
        copy.set_weights(layer.get_weights())
    return model
