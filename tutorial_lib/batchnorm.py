"""A source model with BatchNorm, and fine-tuning it with BatchNorm in inference or training mode.

BatchNorm layers normalise with the statistics of the current batch while training and with
their stored moving averages at inference. When a pretrained model is fine-tuned on a few labels,
training mode makes them normalise with, and average into their stored statistics, the
statistics of tiny target batches. The Keras transfer-learning guide therefore calls the base
model with ``training=False``: the BatchNorm layers keep their source statistics while every
weight still trains.

Taught in: *Frequently asked questions*.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from tutorial_lib import cache, training
from tutorial_lib.data import TransferTask


def bn_cnn(num_classes: int, input_shape: Sequence[int] = (24, 24, 1), *, seed: int = 0) -> keras.Sequential:
    """The book's small CNN with a ``BatchNormalization`` layer after each convolution.

    Layer names: ``conv1``/``bn1``, ``conv2``/``bn2``, ``conv3``/``bn3``, ``gap``, ``dense``, ``head``.

    Raises
    ------
    ValueError
        If ``num_classes`` is below 2.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int of at least 2, got {num_classes!r}")
    layers = keras.layers

    def glorot(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed * 100 + offset)

    stack: list[keras.layers.Layer] = [keras.Input(tuple(input_shape))]
    for index, filters in enumerate((16, 32, 64), start=1):
        stack += [layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{index}",
                                kernel_initializer=glorot(index)),
                  layers.BatchNormalization(name=f"bn{index}"),
                  layers.Activation("relu", name=f"relu{index}")]
        if index < 3:
            stack.append(layers.MaxPooling2D(name=f"pool{index}"))
    stack += [layers.GlobalAveragePooling2D(name="gap"),
              layers.Dense(64, activation="relu", name="dense", kernel_initializer=glorot(4)),
              layers.Dense(num_classes, activation="softmax", name="head", kernel_initializer=glorot(5))]
    return keras.Sequential(stack, name="bn_cnn")


def train_bn_source_model(task: TransferTask, *, steps: int = 600, seed: int = 0) -> keras.Sequential:
    """Train :func:`bn_cnn` on the source task (once, then from the cache) and return it.

    Raises
    ------
    ValueError
        If the task has no recipe to key the cache with.
    """
    if not task.recipe:
        raise ValueError("the task has no recipe to key the cache with; build it with "
                         "tutorial_lib.data.shifted_digits_task")
    recipe = {"task": {k: v for k, v in task.recipe.items() if k != "target_classes"},
              "architecture": "bn_cnn-v1", "steps": steps, "seed": seed, "keras": keras.__version__}
    shape = task.source_train.x.shape[1:]

    def build(path: Path) -> None:
        model = bn_cnn(task.n_source_classes, shape, seed=seed)
        training.train(model, *task.source_train, steps=steps, seed=seed)
        model.save_weights(path)

    def load(path: Path) -> keras.Sequential:
        model = bn_cnn(task.n_source_classes, shape, seed=seed)
        model.load_weights(path)
        return model

    model, _ = cache.cached("bn-source-model", recipe, build, load, ".weights.h5")
    return model


def fine_tune(
    source: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int, *, bn_training: bool,
    steps: int = 150, learning_rate: float = 1e-3, seed: int = 0,
) -> keras.Model:
    """Fine-tune every weight of a copy of ``source`` under a new head.

    ``bn_training=False`` calls the copied body with ``training=False`` (the Keras guide's
    recipe: BatchNorm keeps its source statistics); ``True`` lets ``fit`` run it in training
    mode (batch statistics, moving averages updated). ``source`` is not changed.
    """
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    body = keras.Sequential([keras.Input(source.input_shape[1:]), *copy.layers[:-1]], name="body")
    inputs = keras.Input(source.input_shape[1:])
    features = body(inputs, training=None if bn_training else False)
    head = keras.layers.Dense(num_classes, activation="softmax", name="head",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
    model = keras.Model(inputs, head(features), name="bn_training" if bn_training else "bn_inference")
    return training.fit_in_steps(model, x, np.asarray(y), steps=steps, loss="sparse_categorical_crossentropy",
                                 learning_rate=learning_rate, seed=seed)
