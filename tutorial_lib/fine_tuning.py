"""Fine-tuning a pretrained base the way practitioners do: augmentation, early stopping, two phases.

* :func:`augmentation` is a small stack of Keras preprocessing layers (flip, rotate, zoom) that
  changes every training image every epoch and does nothing at inference.
* :func:`fit_with_early_stopping` trains with Keras ``fit`` and stops when the validation loss
  stops improving, keeping the best weights (``EarlyStopping(restore_best_weights=True)``,
  optionally also saved to a ``ModelCheckpoint`` file).
* :func:`top_block_classifier`, :func:`two_phase` and :func:`at_once` fine-tune the top block of a
  VGG16 base on the cached features of the block below it.

Taught in: *Applications: images*.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tutorial_lib import vgg16_heads
from tutorial_lib.checks import check_int
from tutorial_lib.data import check_labels


def augmentation(seed: int = 0, *, rotation: float = 0.05, zoom: float = 0.1) -> keras.Sequential:
    """Random horizontal flips, rotations (``rotation`` of a full turn) and zooms (``zoom`` = ±10 %).

    The layers only act when called with ``training=True`` (inside ``fit``); at prediction and
    evaluation they pass the images through unchanged.

    Raises
    ------
    ValueError
        If ``rotation`` or ``zoom`` is negative or not below 1.
    """
    for name, value in (("rotation", rotation), ("zoom", zoom)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    layers = keras.layers
    return keras.Sequential([layers.RandomFlip("horizontal", seed=seed),
                             layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
                             layers.RandomZoom(zoom, fill_mode="reflect", seed=seed + 2)],
                            name="augmentation")


@dataclass
class FitResult:
    """What :func:`fit_with_early_stopping` did.

    Attributes
    ----------
    history
        Keras' per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
    best_epoch
        The epoch (counted from 1) whose weights the model ends with.
    seconds
        Wall time of ``fit``.
    epoch_seconds
        Wall time of each epoch (the first includes building the training graph).
    """

    history: dict[str, list[float]]
    best_epoch: int
    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        """How many epochs ran before early stopping (or the epoch limit)."""
        return len(self.history["loss"])


class _EpochTimes(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _check_split(name: str, split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, tuple) or len(split) != 2:
        raise TypeError(f"{name} must be a pair (x, y), got {type(split).__name__}")
    x = np.asarray(split[0], dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} images must have shape (n, ...), got {x.shape}")
    return x, check_labels(split[1], len(x))


def fit_with_early_stopping(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    *,
    learning_rate: float = 1e-3,
    epochs: int = 10,
    patience: int = 3,
    batch_size: int = 4,
    steps_per_epoch: int = 5,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
) -> FitResult:
    """Compile ``model`` (Adam, sparse cross-entropy) and train it until validation loss stalls.

    The model is trained in place and ends with the weights of its best epoch (lowest validation
    loss). Trainable flags are read at this ``compile``: freeze or unfreeze layers *before*
    calling it.

    Parameters
    ----------
    model
        A Keras model with a softmax output.
    train, validation
        ``(x, y)`` pairs with integer labels; ``validation`` decides when to stop.
    learning_rate
        Adam's learning rate.
    epochs
        The most epochs to run.
    patience
        Epochs without a lower validation loss before stopping.
    batch_size
        Images per step.
    steps_per_epoch
        Gradient steps between two validations. The training set is repeated (reshuffled each
        pass), so that an epoch means the same amount of training whether there are 4 labelled
        images or 400.
    seed
        Seeds the shuffling of the training set between epochs (no global generator is reseeded).
    checkpoint
        If given, a ``.weights.h5`` path where ``ModelCheckpoint`` keeps the best weights.

    Raises
    ------
    ValueError
        If a count is below 1, the learning rate is not positive, or the checkpoint path does
        not end in ``.weights.h5``.
    TypeError
        If a count is not an integer.
    """
    train, validation = _check_split("train", train), _check_split("validation", validation)
    for name, value in (("epochs", epochs), ("patience", patience), ("batch_size", batch_size),
                        ("steps_per_epoch", steps_per_epoch)):
        check_int(name, value)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                            restore_best_weights=True)
    timer = _EpochTimes()
    callbacks: list[keras.callbacks.Callback] = [stopper, timer]
    if checkpoint is not None:
        if not str(checkpoint).endswith(".weights.h5"):
            raise ValueError(f"checkpoint must end in .weights.h5, got {checkpoint}")
        callbacks.append(keras.callbacks.ModelCheckpoint(
            checkpoint, monitor="val_loss", save_best_only=True, save_weights_only=True))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # A seeded tf.data shuffle orders the batches, without reseeding any global generator.
    batches = (tf.data.Dataset.from_tensor_slices(train)
               .shuffle(len(train[0]), seed=seed, reshuffle_each_iteration=True)
               .repeat().batch(batch_size))
    start = time.perf_counter()
    result = model.fit(batches, validation_data=validation, epochs=epochs,
                       steps_per_epoch=steps_per_epoch, callbacks=callbacks, shuffle=False,
                       verbose=0)
    seconds = time.perf_counter() - start
    history = {key: [float(v) for v in values] for key, values in result.history.items()}
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    return FitResult(history, best_epoch, seconds, timer.seconds)


def top_block_classifier(
    base: keras.Model, num_classes: int, *, first_layer: str = "block4_conv1", seed: int = 0
) -> keras.Sequential:
    """A copy of the base's top block (``first_layer`` to the end) with a new softmax head.

    It reads the output of the layer before ``first_layer`` (e.g. cached ``block3_pool``
    features for ``"block4_conv1"``), so training it costs a fraction of training the whole
    network. The block runs to the end of ``base``: to stop after block 4, pass
    ``features.layer_outputs(vgg16, ("block4_pool",))``. The head is
    ``GlobalAveragePooling2D`` then ``Dense(num_classes, softmax)``. ``base`` is not changed.
    """
    check_int("num_classes", num_classes, minimum=2)
    block = vgg16_heads.tail(base, first_layer)
    head = [keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(num_classes, activation="softmax", name="head",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed))]
    return keras.Sequential([keras.Input(block.input_shape[1:]), *block.layers, *head],
                            name=f"{first_layer.split('_')[0]}_classifier")


def set_top_block_trainable(model: keras.Sequential, trainable: bool) -> keras.Sequential:
    """Freeze (``False``) or unfreeze (``True``) every layer of ``model`` but its head.

    Returns ``model``. Compile again afterwards (:func:`fit_with_early_stopping` does).
    """
    for layer in model.layers:
        if layer.name != "head":
            layer.trainable = trainable
    return model


@dataclass
class FineTuned:
    """A fine-tuned classifier, the :class:`FitResult` of each phase, in order, and (for
    :func:`two_phase`) a copy of the model as it was after phase 1: the frozen block's head."""

    model: keras.Sequential
    phases: dict[str, FitResult]
    after_head: keras.Sequential | None = None


def _copy(model: keras.Sequential) -> keras.Sequential:
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def two_phase(
    base: keras.Model, train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray], num_classes: int, *,
    head_rate: float = 1e-3, tune_rate: float = 1e-4, first_layer: str = "block4_conv1",
    seed: int = 0, **fit_options,
) -> FineTuned:
    """Phase 1: train the head on the frozen top block. Phase 2: unfreeze it, recompile, tune slowly.

    ``train`` and ``validation`` hold the features of the layer before ``first_layer``.
    ``fit_options`` go to :func:`fit_with_early_stopping` (``epochs``, ``patience``, ...).
    """
    if not 0 < tune_rate <= head_rate:
        raise ValueError(f"tune_rate must be positive and at most head_rate, got {tune_rate}")
    model = top_block_classifier(base, num_classes, first_layer=first_layer, seed=seed)
    set_top_block_trainable(model, False)
    head = fit_with_early_stopping(model, train, validation, learning_rate=head_rate, seed=seed,
                                   **fit_options)
    after_head = _copy(model)
    set_top_block_trainable(model, True)  # the next compile sees the new flags
    tuned = fit_with_early_stopping(model, train, validation, learning_rate=tune_rate, seed=seed,
                                    **fit_options)
    return FineTuned(model, {"head": head, "top block": tuned}, after_head)


def at_once(
    base: keras.Model, train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray], num_classes: int, *,
    learning_rate: float = 1e-3, first_layer: str = "block4_conv1", seed: int = 0,
    **fit_options,
) -> FineTuned:
    """The shortcut: the top block and a random new head trained together at the head's rate."""
    model = top_block_classifier(base, num_classes, first_layer=first_layer, seed=seed)
    result = fit_with_early_stopping(model, train, validation, learning_rate=learning_rate,
                                     seed=seed, **fit_options)
    return FineTuned(model, {"all": result})


def augmented_classifier(
    base: keras.Model, num_classes: int, *, seed: int = 0, **augmentation_options
) -> keras.Model:
    """Images in, classes out: :func:`augmentation`, a frozen copy of ``base``, a new head.

    Every epoch sees new versions of the training images, so the base must run on them every
    epoch: the features cannot be computed once. ``base`` itself is not changed.
    """
    check_int("num_classes", num_classes, minimum=2)
    frozen = _copy(base)
    frozen.trainable = False
    images = keras.Input(base.input_shape[1:])
    maps = frozen(augmentation(seed, **augmentation_options)(images), training=False)
    if isinstance(maps, (list, tuple)):  # a base made by features.layer_outputs
        maps = maps[0]
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(maps)
    classes = keras.layers.Dense(num_classes, activation="softmax", name="head",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(pooled)
    return keras.Model(images, classes, name="augmented_classifier")
