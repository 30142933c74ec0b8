"""The faces data set: shapes, disjoint stratified splits, the cached folder tree."""

import numpy as np
import pytest

from tutorial_lib import lfw_faces


def test_load_lfw_subset_has_two_balanced_classes():
    full = lfw_faces.load_lfw_subset()
    assert full.x.shape == (200, 25, 25) and full.x.dtype == np.float32
    assert 0.0 <= full.x.min() and full.x.max() <= 1.0
    assert np.bincount(full.y).tolist() == [100, 100]


def test_splits_are_disjoint_stratified_and_cover_the_set():
    splits = lfw_faces.lfw_faces_splits(validation_per_class=10, test_per_class=50, seed=0)
    counts = {name: np.bincount(split.y).tolist() for name, split in splits.items()}
    assert counts == {"train": [40, 40], "validation": [10, 10], "test": [50, 50]}
    flat = [image.tobytes() for split in splits.values() for image in split.x]
    assert len(set(flat)) == len(flat) == 200  # no image in two splits


def test_splits_depend_on_the_seed_only():
    first = lfw_faces.lfw_faces_splits(seed=1)["test"].x
    assert np.array_equal(first, lfw_faces.lfw_faces_splits(seed=1)["test"].x)
    assert not np.array_equal(first, lfw_faces.lfw_faces_splits(seed=2)["test"].x)


@pytest.mark.parametrize("arguments", [{"validation_per_class": 0}, {"test_per_class": -1},
                                       {"validation_per_class": 50, "test_per_class": 50}])
def test_bad_split_sizes_are_refused(arguments):
    with pytest.raises(ValueError, match="per_class"):
        lfw_faces.lfw_faces_splits(**arguments)


def test_split_sizes_must_be_ints():
    with pytest.raises(TypeError, match="int"):
        lfw_faces.lfw_faces_splits(test_per_class=2.5)


def test_folders_hold_one_png_per_image(tmp_cache):
    root = lfw_faces.lfw_faces_folders(validation_per_class=5, test_per_class=20)
    for split, per_class in (("train", 75), ("validation", 5), ("test", 20)):
        for name in lfw_faces.CLASS_NAMES:
            assert len(list((root / split / name).glob("*.png"))) == per_class
