import numpy as np
import pytest

from tutorial_lib import data, models, shift


def test_shift_images_kinds(tiny_images):
    x, _ = tiny_images
    noisy = shift.shift_images(x, "noise", 0.3, seed=1)
    assert noisy.shape == x.shape and noisy.min() >= 0 and noisy.max() <= 1
    assert not np.allclose(noisy, x)
    np.testing.assert_array_equal(noisy, shift.shift_images(x, "noise", 0.3, seed=1))
    fog = shift.shift_images(x, "fog", 0.5)
    assert fog.std() < x.std()
    np.testing.assert_allclose(shift.shift_images(x, "invert"), 1 - x, atol=1e-6)
    np.testing.assert_allclose(shift.shift_images(x, "fog", 0.0), x, atol=1e-6)


@pytest.mark.parametrize("kind, strength", [("blur", 0.5), ("noise", -1.0), ("fog", 1.5),
                                            ("noise", float("nan"))])
def test_shift_images_rejects_bad_arguments(tiny_images, kind, strength):
    with pytest.raises(ValueError):
        shift.shift_images(tiny_images[0], kind, strength)


def test_shift_images_rejects_bad_shapes():
    with pytest.raises(ValueError, match="images must have shape"):
        shift.shift_images(np.zeros((3, 8, 8)), "noise")


def test_coral_align_matches_the_reference_moments():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(500, 3)) @ np.array([[2.0, 0.5, 0], [0, 1.0, 0], [0, 0.3, 0.5]]) + 3
    features = rng.normal(size=(400, 3)) * 0.2 - 1
    aligned = shift.coral_align(features, reference, regularization=0.0)
    np.testing.assert_allclose(aligned.mean(axis=0), reference.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(np.cov(aligned, rowvar=False), np.cov(reference, rowvar=False), atol=1e-3)


@pytest.mark.parametrize("features, reference, regularization", [
    (np.zeros((5, 3)), np.zeros((5, 4)), 1.0),
    (np.zeros((1, 3)), np.zeros((5, 3)), 1.0),
    (np.zeros(5), np.zeros(5), 1.0),
    (np.ones((5, 3)), np.ones((5, 3)), -1.0),
])
def test_coral_align_rejects_bad_inputs(features, reference, regularization):
    with pytest.raises(ValueError):
        shift.coral_align(features, reference, regularization=regularization)


def test_split_at_composes_to_the_model(tiny_images):
    model = models.small_cnn(2, seed=0)
    bottom, top = shift.split_at(model, "gap")
    x = tiny_images[0][:5]
    np.testing.assert_allclose(top(bottom(x)), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="layer_name"):
        shift.split_at(model, "head")
    with pytest.raises(TypeError):
        shift.split_at("not a model", "gap")


def test_coral_predict_gives_probabilities(tiny_images):
    model = models.small_cnn(2, seed=0)
    x = tiny_images[0]
    probabilities = shift.coral_predict(model, shift.shift_images(x, "fog", 0.5), x, regularization=1.0)
    assert probabilities.shape == (len(x), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_shifted_target_moves_only_the_target(task):
    inverted = shift.shifted_target(task, "invert")
    np.testing.assert_array_equal(inverted.source_train.x, task.source_train.x)
    np.testing.assert_allclose(inverted.target_test.x, 1 - task.target_test.x, atol=1e-6)
    assert inverted.recipe != task.recipe
    with pytest.raises(TypeError):
        shift.shifted_target(data.load_digits(), "invert")
