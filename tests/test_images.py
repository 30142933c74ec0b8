import numpy as np
import pytest

from tutorial_lib import data, images


def test_picture_source_replaces_the_source_and_keeps_the_target(task):
    pictures = images.picture_source(task, train_per_class=4, test_per_class=2)
    assert pictures.source_train.x.shape == (4 * 5, 24, 24, 1)
    assert pictures.source_test.x.shape == (2 * 5, 24, 24, 1)
    assert sorted(np.unique(pictures.source_train.y)) == [0, 1, 2, 3, 4]
    assert pictures.n_source_classes == 5 and pictures.target_classes == task.target_classes
    assert pictures.target_pool is task.target_pool and pictures.target_test is task.target_test
    assert pictures.recipe["picture_source"]["pictures"] == list(images.SOURCE_PICTURES)
    assert 0.0 <= pictures.source_train.x.min() and pictures.source_train.x.max() <= 1.0
    # The recipe keys the cache: other pictures, another key.
    other = images.picture_source(task, ("brick", "grass"), train_per_class=4, test_per_class=2)
    assert other.recipe != pictures.recipe and other.n_source_classes == 2


def test_picture_source_rejects_bad_input(task):
    with pytest.raises(ValueError, match="unknown picture"):
        images.picture_source(task, ("brick", "nothing"), train_per_class=2, test_per_class=1)
    with pytest.raises(ValueError, match="at least 1"):
        images.picture_source(task, train_per_class=0)
    colour = data.TransferTask(task.source_train, task.source_test, task.target_pool,
                               data.Split(np.zeros((2, 24, 24, 3), np.float32), np.array([0, 1])),
                               task.source_classes, task.target_classes, task.recipe)
    with pytest.raises(ValueError, match="square and grey"):
        images.picture_source(colour)
