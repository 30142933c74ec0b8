"""Augmentation, early stopping with the best weights, and the two fine-tuning schedules."""

import keras
import numpy as np
import pytest

from tutorial_lib import features as vgg_features
from tutorial_lib import fine_tuning, pretrained


@pytest.fixture(scope="module")
def base():
    full = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    return vgg_features.layer_outputs(full, ("block4_pool",))


@pytest.fixture
def features():
    """block3_pool-shaped features of 2 classes that differ in their mean."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 6)
    x = rng.normal(0, 1, (12, 4, 4, 256)).astype(np.float32) + 2.0 * y[:, None, None, None]
    return np.maximum(x, 0), y


def test_augmentation_changes_images_only_in_training():
    images = np.random.default_rng(0).uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    layers = fine_tuning.augmentation(seed=0)
    np.testing.assert_array_equal(np.asarray(layers(images, training=False)), images)
    assert np.abs(np.asarray(layers(images, training=True)) - images).max() > 0.01


@pytest.mark.parametrize("arguments", [{"rotation": -0.1}, {"zoom": 1.0}])
def test_augmentation_refuses_bad_ranges(arguments):
    with pytest.raises(ValueError, match="rotation|zoom"):
        fine_tuning.augmentation(**arguments)


def test_early_stopping_keeps_the_best_epoch(tiny_images, tmp_path):
    x, y = tiny_images
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "best.weights.h5"
    result = fine_tuning.fit_with_early_stopping(model, (x[::2], y[::2]), (x[1::2], y[1::2]),
                                                 learning_rate=0.05, epochs=30, patience=3,
                                                 checkpoint=path)
    losses = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.epochs_run <= 30 and len(result.epoch_seconds) == result.epochs_run
    # The model ends with the best epoch's weights, the same ones the checkpoint saved.
    final = model.evaluate(x[1::2], y[1::2], verbose=0)[0]
    assert final == pytest.approx(min(losses), rel=1e-4)
    saved = keras.models.clone_model(model)
    saved.load_weights(path)
    for a, b in zip(saved.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b)


def test_same_seed_same_run(tiny_images):
    x, y = tiny_images

    def run():
        model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(),
                                  keras.layers.Dense(2, activation="softmax",
                                                     kernel_initializer=keras.initializers.GlorotUniform(1))])
        return fine_tuning.fit_with_early_stopping(model, (x, y), (x, y), epochs=3).history["loss"]

    assert run() == run()


@pytest.mark.parametrize("arguments, error, message", [
    ({"epochs": 0}, ValueError, "epochs"), ({"patience": 1.5}, TypeError, "patience"),
    ({"learning_rate": 0}, ValueError, "learning_rate"),
    ({"checkpoint": "best.h5"}, ValueError, "weights.h5")])
def test_fit_refuses_bad_arguments(tiny_images, arguments, error, message):
    x, y = tiny_images
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(error, match=message):
        fine_tuning.fit_with_early_stopping(model, (x, y), (x, y), **arguments)


def test_fit_refuses_bad_splits(tiny_images):
    x, y = tiny_images
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(TypeError, match="pair"):
        fine_tuning.fit_with_early_stopping(model, x, (x, y))
    with pytest.raises(ValueError, match="labels"):
        fine_tuning.fit_with_early_stopping(model, (x, y[:3]), (x, y))


def test_top_block_classifier_copies_the_block_and_leaves_the_base_alone(base):
    flags = [layer.trainable for layer in base.layers]
    model = fine_tuning.top_block_classifier(base, 2)
    assert model.input_shape[1:] == base.get_layer("block3_pool").output.shape[1:]
    np.testing.assert_array_equal(model.get_layer("block4_conv1").get_weights()[0],
                                  base.get_layer("block4_conv1").get_weights()[0])
    fine_tuning.set_top_block_trainable(model, False)
    assert [layer.name for layer in model.layers if layer.trainable] == ["head"]
    assert [layer.trainable for layer in base.layers] == flags
    with pytest.raises(ValueError, match="num_classes"):
        fine_tuning.top_block_classifier(base, 1)


def test_two_phase_moves_the_block_only_in_phase_two(base, features):
    x, y = features
    before = base.get_layer("block4_conv3").get_weights()[0].copy()
    result = fine_tuning.two_phase(base, (x, y), (x, y), 2, epochs=2, patience=2)
    assert list(result.phases) == ["head", "top block"]
    tuned = result.model.get_layer("block4_conv3").get_weights()[0]
    assert not np.array_equal(tuned, before)  # phase 2 trained the block
    np.testing.assert_array_equal(base.get_layer("block4_conv3").get_weights()[0], before)
    assert all(layer.trainable for layer in result.model.layers)


def test_two_phase_refuses_a_larger_tuning_rate(base, features):
    with pytest.raises(ValueError, match="tune_rate"):
        fine_tuning.two_phase(base, features, features, 2, head_rate=1e-4, tune_rate=1e-3)


def test_at_once_trains_block_and_head_together(base, features):
    result = fine_tuning.at_once(base, features, features, 2, epochs=2, patience=2)
    assert list(result.phases) == ["all"] and result.phases["all"].epochs_run >= 1


def test_two_phase_keeps_the_phase_one_model(base, features):
    x, y = features
    result = fine_tuning.two_phase(base, (x, y), (x, y), 2, epochs=1, patience=1)
    np.testing.assert_array_equal(result.after_head.get_layer("block4_conv1").get_weights()[0],
                                  base.get_layer("block4_conv1").get_weights()[0])
    assert not np.array_equal(result.after_head.get_layer("head").get_weights()[0],
                              result.model.get_layer("head").get_weights()[0])


def test_augmented_classifier_freezes_a_copy_of_the_base(base):
    model = fine_tuning.augmented_classifier(base, 2, seed=0)
    assert base.trainable
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 512 * 2 + 2
    images = np.zeros((1, 32, 32, 3), dtype=np.float32)
    assert model(images, training=False).shape == (1, 2)
    with pytest.raises(ValueError, match="num_classes"):
        fine_tuning.augmented_classifier(base, 0)
