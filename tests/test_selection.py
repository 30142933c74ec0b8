import keras
import numpy as np
import pytest

from tutorial_lib import models, selection, training


def _trainer(calls):
    def train(x, y, learning_rate, seed):
        calls.append((len(x), learning_rate, seed))
        model = models.small_cnn(2, seed=seed)
        training.train(model, x, y, steps=5, learning_rate=learning_rate, seed=seed)
        return model
    return train


def test_choose_learning_rate_scores_every_rate_on_held_out_images(tiny_images):
    calls = []
    best, scores = selection.choose_learning_rate(_trainer(calls), *tiny_images, [1e-3, 1e-2],
                                                  validation_fraction=0.25, seeds=(0, 1))
    assert list(scores) == [1e-3, 1e-2] and best in scores
    assert scores[best] == max(scores.values())
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    # 2 seeds x 2 rates, each trained on the 30 images left after holding out 5 per class.
    assert calls == [(30, 1e-3, 0), (30, 1e-2, 0), (30, 1e-3, 1), (30, 1e-2, 1)]


def test_a_tie_goes_to_the_first_rate(tiny_images):
    def always_class_0(x, y, learning_rate, seed):
        model = models.linear_head(24 * 24, 2, seed=0)
        model.set_weights([np.zeros((24 * 24, 2)), np.array([1.0, 0.0])])
        return keras.Sequential([keras.Input((24, 24, 1)), keras.layers.Flatten(), model])

    best, scores = selection.choose_learning_rate(always_class_0, *tiny_images, [0.1, 0.01])
    assert scores[0.1] == scores[0.01] and best == 0.1


@pytest.mark.parametrize("rates, seeds, error, message", [
    ([], (0,), ValueError, "at least one learning rate"),
    ([0.0], (0,), ValueError, "positive"),
    (["fast"], (0,), TypeError, "numbers"),
    ([1e-3], (), ValueError, "at least one seed"),
])
def test_choose_learning_rate_rejects_bad_input(tiny_images, rates, seeds, error, message):
    with pytest.raises(error, match=message):
        selection.choose_learning_rate(_trainer([]), *tiny_images, rates, seeds=seeds)


def test_choose_learning_rate_needs_a_callable_and_two_images_per_class(tiny_images):
    with pytest.raises(TypeError, match="callable"):
        selection.choose_learning_rate("train", *tiny_images, [1e-3])
    x, y = tiny_images
    with pytest.raises(ValueError, match="at least 2"):
        selection.choose_learning_rate(_trainer([]), x[[0, 20, 21]], y[[0, 20, 21]], [1e-3])
