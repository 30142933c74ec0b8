"""A source model with BatchNorm, and fine-tuning it with BatchNorm in inference or training mode.

BatchNorm layers normalise with the statistics of the current batch while training and with
their stored moving averages at inference. When a pretrained model is fine-tuned on a few labels,
training mode makes them normalise with, and average into their stored statistics, the
statistics of tiny target batches. The Keras transfer-learning guide therefore keeps them in
inference mode. Its recipe, calling the base with ``training=False``, is overridden by ``fit``
in Keras 3 (:func:`training_false_is_overridden`); setting ``trainable = False`` on the
BatchNorm layers themselves is what keeps them in inference mode (:func:`fine_tune`).

Taught in: *Frequently asked questions*.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from tutorial_lib import cache, training
from tutorial_lib.checks import check_int
from tutorial_lib.data import TransferTask


def bn_cnn(num_classes: int, input_shape: Sequence[int] = (24, 24, 1), *, seed: int = 0) -> keras.Sequential:
    """The book's small CNN with a ``BatchNormalization`` layer after each convolution.

    Layer names: ``conv1``/``bn1``, ``conv2``/``bn2``, ``conv3``/``bn3``, ``gap``, ``dense``, ``head``.

    Raises
    ------
    ValueError
        If ``num_classes`` is below 2.
    TypeError
        If ``num_classes`` is not an integer.
    """
    check_int("num_classes", num_classes, minimum=2)
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
) -> keras.Sequential:
    """Fine-tune a copy of ``source`` under a new head; ``source`` is not changed.

    ``bn_training=False`` sets ``trainable = False`` on the copied BatchNorm layers, which in
    Keras 3 runs them in inference mode (source statistics kept, ``gamma``/``beta`` fixed) while
    every other layer trains. ``True`` leaves them in training mode during ``fit`` (batch
    statistics, moving averages overwritten by the target batches).
    """
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    for layer in copy.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = bn_training
    head = keras.layers.Dense(num_classes, activation="softmax", name="head",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
    model = keras.Sequential([keras.Input(source.input_shape[1:]), *copy.layers[:-1], head],
                             name="bn_training" if bn_training else "bn_inference")
    return training.fit_in_steps(model, x, np.asarray(y), steps=steps, loss="sparse_categorical_crossentropy",
                                 learning_rate=learning_rate, seed=seed)


def training_false_is_overridden(seed: int = 0) -> bool:
    """Whether ``fit`` updates BatchNorm statistics of a base called with ``training=False``.

    A two-layer demonstration of Keras 3 behaviour (keras-team/keras#20285): a functional model
    passes its own ``training`` flag to every layer it runs, so inside ``fit`` (``training=True``)
    the ``training=False`` written at ``base(inputs, training=False)`` is replaced, and the base's
    BatchNorm layers update their moving statistics.
    """
    rng = np.random.default_rng(seed)
    base = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="bn")], name="base")
    inputs = keras.Input((4,))
    head = keras.layers.Dense(2, activation="softmax",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
    model = keras.Model(inputs, head(base(inputs, training=False)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.normal(3.0, 1.0, (16, 4)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, 16), batch_size=16, epochs=1, verbose=0)
    return bool(np.any(base.get_layer("bn").moving_mean.numpy() != 0.0))
