"""Model builders: a small CNN, a dense network, new heads for new tasks, and freezing helpers.

Models here are built, never trained (that is :mod:`tutorial_lib.training`).

Taught in: *What is transfer learning?* and *Parameter sharing vs feature sharing*.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tutorial_lib.checks import check_int


def _glorot(seed: int | None, offset: int) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 100 + offset)


def small_cnn(
    num_classes: int,
    input_shape: Sequence[int] = (24, 24, 1),
    *,
    filters: Sequence[int] = (16, 32, 64),
    dense_units: int = 64,
    seed: int | None = 0,
) -> keras.Sequential:
    """The book's small CNN: three convolutions, global average pooling, a dense layer, a head.

    Layer names are fixed so that chapters can refer to them: ``conv1``, ``conv2``, ``conv3``,
    ``dense`` and ``head`` carry weights; ``pool1``, ``pool2`` and ``gap`` do not. Global
    average pooling makes the features independent of where a pattern sits in the image.

    Parameters
    ----------
    num_classes
        Number of outputs of the softmax head (at least 2).
    input_shape
        ``(height, width, channels)`` of the images.
    filters
        Filters of the three convolution layers.
    dense_units
        Width of the dense layer whose output is the model's feature vector.
    seed
        Seed of the weight initialisers (``None`` draws from Keras' global generator).
    """
    check_int("num_classes", num_classes, minimum=2)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}")
    if len(filters) != 3:
        raise ValueError(f"filters must name three layer widths, got {tuple(filters)}")
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(tuple(input_shape)),
            layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="conv1",
                          kernel_initializer=_glorot(seed, 1)),
            layers.MaxPooling2D(name="pool1"),
            layers.Conv2D(filters[1], 3, padding="same", activation="relu", name="conv2",
                          kernel_initializer=_glorot(seed, 2)),
            layers.MaxPooling2D(name="pool2"),
            layers.Conv2D(filters[2], 3, padding="same", activation="relu", name="conv3",
                          kernel_initializer=_glorot(seed, 3)),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(dense_units, activation="relu", name="dense",
                         kernel_initializer=_glorot(seed, 4)),
            layers.Dense(num_classes, activation="softmax", name="head",
                         kernel_initializer=_glorot(seed, 5)),
        ],
        name="small_cnn",
    )


def dense_network(
    num_classes: int,
    input_shape: Sequence[int] = (49, 32),
    *,
    hidden_units: Sequence[int] = (128, 128),
    seed: int | None = 0,
) -> keras.Sequential:
    """A plain dense network (DNN) on a whole spectrogram: stack the frames, then dense layers.

    ``Flatten`` (named ``stack``) puts the frames of a ``(frames, bins)`` spectrogram end to end
    in one vector, the "stacked frames" input of the DNN acoustic models of the early 2010s; the
    hidden layers are ``hidden1``, ``hidden2``, ... and the softmax layer is ``head``.

    Parameters
    ----------
    num_classes
        Number of outputs of the softmax head (at least 2).
    input_shape
        Shape of one input, e.g. ``(frames, mel_bins)``.
    hidden_units
        Width of each hidden ReLU layer (at least one layer).
    seed
        Seed of the weight initialisers (``None`` draws from Keras' global generator).
    """
    check_int("num_classes", num_classes, minimum=2)
    if len(input_shape) < 1 or any(int(size) < 1 for size in input_shape):
        raise ValueError(f"input_shape must hold positive sizes, got {tuple(input_shape)}")
    if len(hidden_units) < 1 or any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden_units must name at least one positive width, got {tuple(hidden_units)}")
    hidden = [keras.layers.Dense(int(units), activation="relu", name=f"hidden{index}",
                                 kernel_initializer=_glorot(seed, 10 + index))
              for index, units in enumerate(hidden_units, start=1)]
    return keras.Sequential(
        [keras.Input(tuple(int(size) for size in input_shape)), keras.layers.Flatten(name="stack"),
         *hidden,
         keras.layers.Dense(num_classes, activation="softmax", name="head",
                            kernel_initializer=_glorot(seed, 5))],
        name="dense_network",
    )


def weight_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of ``model`` that carry weights, in order (the head last)."""
    return [layer for layer in model.layers if layer.weights]


def with_new_head(model: keras.Sequential, num_classes: int, *, seed: int | None = 0) -> keras.Sequential:
    """A copy of ``model`` whose last layer is replaced by a fresh softmax head.

    The copy has its own weights (a copy of ``model``'s), so training it leaves ``model``
    unchanged. The trainable flags of the copied layers are kept.

    Parameters
    ----------
    model
        A ``keras.Sequential`` model whose last layer is its classification head.
    num_classes
        Outputs of the new head.
    seed
        Seed of the new head's initialiser.
    """
    check_int("num_classes", num_classes, minimum=2)
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"with_new_head expects a keras.Sequential model, got {type(model).__name__}")
    body = keras.models.clone_model(model)
    body.set_weights(model.get_weights())
    head = keras.layers.Dense(num_classes, activation="softmax", name="head",
                              kernel_initializer=_glorot(seed, 5))
    return keras.Sequential([keras.Input(model.input_shape[1:]), *body.layers[:-1], head],
                            name=f"{model.name}_new_head")


def freeze(model: keras.Model, n_layers: int | None = None) -> keras.Model:
    """Freeze the first ``n_layers`` weight-carrying layers (all but the head if ``None``).

    Freezing sets ``trainable = False``; compile (or train) the model *after* freezing, or
    Keras keeps training the layers. Returns ``model`` itself, for chaining.

    Raises
    ------
    ValueError
        If ``n_layers`` is negative or larger than the number of weight-carrying layers.
    """
    carriers = weight_layers(model)
    if n_layers is None:
        n_layers = len(carriers) - 1
    if not 0 <= n_layers <= len(carriers):
        raise ValueError(f"n_layers must be between 0 and {len(carriers)}, got {n_layers}")
    for index, layer in enumerate(carriers):
        layer.trainable = index >= n_layers
    return model


def feature_extractor(model: keras.Sequential, layer_name: str | None = None) -> keras.Sequential:
    """A model that maps images to the output of ``layer_name`` (default: the layer before the head).

    The extractor shares its layers, and so its weights, with ``model``.

    Raises
    ------
    ValueError
        If ``layer_name`` is not a layer of ``model``.
    """
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"feature_extractor expects a keras.Sequential model, got {type(model).__name__}")
    names = [layer.name for layer in model.layers]
    if layer_name is None:
        stop = len(model.layers) - 1
    elif layer_name in names:
        stop = names.index(layer_name) + 1
    else:
        raise ValueError(f"unknown layer {layer_name!r}; the model has {names}")
    return keras.Sequential([keras.Input(model.input_shape[1:]), *model.layers[:stop]],
                            name=f"{model.name}_features")


def linear_head(num_features: int, num_classes: int, *, seed: int | None = 0) -> keras.Sequential:
    """A softmax classifier on feature vectors of length ``num_features``."""
    check_int("num_classes", num_classes, minimum=2)
    return keras.Sequential(
        [keras.Input((num_features,)),
         keras.layers.Dense(num_classes, activation="softmax", name="head",
                            kernel_initializer=_glorot(seed, 5))],
        name="linear_head",
    )
