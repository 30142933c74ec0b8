import numpy as np
import pytest

from tutorial_lib import data


def test_load_digits_shapes_and_range():
    digits = data.load_digits()
    assert digits.x.shape == (1797, 8, 8) and digits.x.dtype == np.float32
    assert digits.y.shape == (1797,) and set(np.unique(digits.y)) == set(range(10))
    assert 0.0 <= digits.x.min() and digits.x.max() <= 1.0


def test_place_on_canvas_shape_range_and_determinism():
    images = data.load_digits().x[:20]
    a = data.place_on_canvas(images, seed=3)
    b = data.place_on_canvas(images, seed=3)
    c = data.place_on_canvas(images, seed=4)
    assert a.shape == (20, 24, 24, 1) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_place_on_canvas_keeps_the_digit_when_clean():
    images = data.load_digits().x[:5]
    clean = data.place_on_canvas(images, noise=0.0, clutter=0, scale=2)
    # Each pixel becomes a 2x2 block, so the ink quadruples.
    np.testing.assert_allclose(clean.sum(axis=(1, 2, 3)), 4 * images.sum(axis=(1, 2)), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{"canvas_size": 12}, {"noise": -0.1}, {"scale": 0},
                                    {"clutter": -1}])
def test_place_on_canvas_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        data.place_on_canvas(data.load_digits().x[:2], **kwargs)


def test_place_on_canvas_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        data.place_on_canvas(np.zeros((2, 8, 8, 1)))


def test_select_classes_relabels_in_given_order():
    x = np.arange(6)
    y = np.array([3, 5, 3, 7, 5, 9])
    picked = data.select_classes(x, y, [5, 3])
    np.testing.assert_array_equal(picked.x, [0, 1, 2, 4])
    np.testing.assert_array_equal(picked.y, [1, 0, 1, 0])


@pytest.mark.parametrize("classes", [[], [3, 3], [3, 4]])
def test_select_classes_rejects_bad_classes(classes):
    with pytest.raises(ValueError):
        data.select_classes(np.arange(3), np.array([3, 5, 3]), classes)


def test_check_labels_rejects_one_hot_with_a_hint():
    with pytest.raises(ValueError, match="argmax"):
        data.check_labels(np.eye(3))


@pytest.mark.parametrize("labels", [np.array([0.5, 1.0]), np.array([-1, 2])])
def test_check_labels_rejects_non_class_indices(labels):
    with pytest.raises(ValueError):
        data.check_labels(labels)


def test_check_labels_checks_the_count():
    with pytest.raises(ValueError, match="expected 3 labels"):
        data.check_labels(np.array([0, 1]), n_samples=3)


def test_stratified_split_is_disjoint_complete_and_stratified():
    y = np.repeat([0, 1, 2], [10, 20, 30])
    train, test = data.stratified_split(y, 0.5, seed=1)
    assert set(train).isdisjoint(test)
    assert sorted(np.concatenate([train, test])) == list(range(60))
    np.testing.assert_array_equal(np.bincount(y[test]), [5, 10, 15])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2])
def test_stratified_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        data.stratified_split(np.array([0, 0, 1, 1]), fraction)


def test_sample_per_class_draws_k_of_each_class_reproducibly():
    y = np.repeat([0, 1, 2], 10)
    first = data.sample_per_class(y, 4, seed=7)
    np.testing.assert_array_equal(np.bincount(y[first]), [4, 4, 4])
    np.testing.assert_array_equal(first, data.sample_per_class(y, 4, seed=7))
    assert not np.array_equal(first, data.sample_per_class(y, 4, seed=8))


def test_sample_per_class_rejects_k_larger_than_a_class():
    with pytest.raises(ValueError, match="only 2 samples"):
        data.sample_per_class(np.array([0, 0, 1, 1, 1]), 3)


@pytest.mark.parametrize("k, error", [(0, ValueError), (2.0, TypeError), (True, TypeError)])
def test_sample_per_class_rejects_bad_k(k, error):
    with pytest.raises(error):
        data.sample_per_class(np.array([0, 0, 1, 1]), k)


def test_shifted_digits_task_shapes_and_no_leakage(task):
    assert task.source_classes == (0, 1, 2, 3, 4) and task.target_classes == (5, 6, 7, 8, 9)
    for split in (task.source_train, task.source_test, task.target_pool, task.target_test):
        assert split.x.shape[1:] == (24, 24, 1) and len(split.x) == len(split.y)
        assert set(np.unique(split.y)) == set(range(5))
    # Four renderings of 80 % of the ~900 source digits; the target digits split in half.
    assert 2800 < len(task.source_train.y) < 3000
    assert abs(len(task.target_pool.y) - len(task.target_test.y)) <= 5
    pool = {image.tobytes() for image in task.target_pool.x}
    assert not any(image.tobytes() in pool for image in task.target_test.x)


def test_shifted_digits_task_rejects_overlapping_classes():
    with pytest.raises(ValueError, match="overlap"):
        data.shifted_digits_task(source_classes=(0, 1, 2), target_classes=(2, 3))


def test_check_images_converts_and_rejects_bad_arrays():
    x = data.check_images(np.zeros((2, 8, 8, 1), dtype=np.float64))
    assert x.dtype == np.float32 and x.shape == (2, 8, 8, 1)
    with pytest.raises(ValueError, match=r"\(n, height, width, channels\)"):
        data.check_images(np.zeros((8, 8, 1)))
    with pytest.raises(ValueError, match="empty"):
        data.check_images(np.zeros((0, 8, 8, 1)))
    with pytest.raises(ValueError, match="NaN"):
        data.check_images(np.full((1, 8, 8, 1), np.nan))


def test_few_labels_draws_k_labelled_target_images_of_every_class(task):
    few = task.few_labels(3, seed=2)
    assert isinstance(few, data.Split) and few.x.shape == (15, 24, 24, 1)
    np.testing.assert_array_equal(np.bincount(few.y), [3] * 5)
    chosen = data.sample_per_class(task.target_pool.y, 3, seed=2)
    np.testing.assert_array_equal(few.x, task.target_pool.x[chosen])
    with pytest.raises(ValueError, match="labels_per_class"):
        task.few_labels(0)


def test_task_recipe_holds_a_hash_of_the_code_that_made_it(task):
    from tutorial_lib import cache

    assert task.recipe["code"] == cache.code_hash(data.shifted_digits_task)
    assert "tutorial_lib.data.place_on_canvas" in cache.code_dependencies(data.shifted_digits_task)
