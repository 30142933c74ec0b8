import numpy as np
import pytest
from skimage.color import rgb2gray

from tutorial_lib import data, images


def test_every_listed_picture_loads_as_grey_values_in_0_1():
    for name in images.available_pictures():
        picture = images.load_picture(name)
        assert picture.ndim == 2 and picture.dtype == np.float32, name
        assert 0.0 <= picture.min() and picture.max() <= 1.0, name
    with pytest.raises(ValueError, match="unknown picture"):
        images.load_picture("mona_lisa")


def test_colour_pictures_are_turned_grey_by_scikit_image():
    import skimage.data

    expected = rgb2gray(skimage.data.astronaut() / 255.0)
    np.testing.assert_allclose(images.load_picture("astronaut"), expected, atol=1e-6)


def test_picture_task_has_disjoint_train_and_test_regions():
    task = images.picture_crops_task(train_per_class=4, test_per_class=3, crop_size=32)
    assert task.train.x.shape == (40, 32, 32, 3) and task.test.x.shape == (30, 32, 32, 3)
    assert len(task.validation.y) == 0 and task.validation.x.shape[1:] == (32, 32, 3)
    assert 0.0 <= task.train.x.min() and task.train.x.max() <= 1.0
    for label, split in enumerate(task.split_columns):
        train_boxes = task.train_boxes[task.train.y == label]
        test_boxes = task.test_boxes[task.test.y == label]
        assert np.all(train_boxes[:, 1] + train_boxes[:, 3] <= split)
        assert np.all(test_boxes[:, 1] >= split)


def test_validation_crops_come_from_their_own_region():
    task = images.picture_crops_task(train_per_class=4, validation_per_class=2, test_per_class=3,
                                     crop_size=32, train_fraction=0.45, validation_fraction=0.25)
    assert len(task.validation.y) == 20 and np.bincount(task.validation.y).tolist() == [2] * 10
    for label, (split, test_start) in enumerate(zip(task.split_columns, task.test_columns, strict=True)):
        assert split < test_start
        train = task.train_boxes[task.train.y == label]
        validation = task.validation_boxes[task.validation.y == label]
        test = task.test_boxes[task.test.y == label]
        assert np.all(train[:, 1] + train[:, 3] <= split)
        assert np.all(validation[:, 1] >= split)
        assert np.all(validation[:, 1] + validation[:, 3] <= test_start)
        assert np.all(test[:, 1] >= test_start)


def test_picture_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="distinct"):
        images.picture_crops_task(["brick", "brick"])
    with pytest.raises(ValueError, match="cannot hold"):
        images.picture_crops_task(["brick", "grass"], crop_size=250)
    with pytest.raises(ValueError, match="validation region"):
        images.picture_crops_task(["brick", "grass"], validation_per_class=2)
    with pytest.raises(ValueError, match="validation region"):
        images.picture_crops_task(["brick", "grass"], validation_fraction=0.2)
    with pytest.raises(ValueError, match="validation_fraction"):
        images.picture_crops_task(["brick", "grass"], train_fraction=0.8, validation_fraction=0.3)
    with pytest.raises(ValueError, match="at least 1"):
        images.picture_crops_task(["brick", "grass"], test_per_class=0)
    with pytest.raises(TypeError, match="int"):
        images.picture_crops_task(["brick", "grass"], train_per_class=2.5)



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
