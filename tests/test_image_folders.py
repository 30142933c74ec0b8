"""Class folders: written as Keras reads them, verified on reuse, read back unchanged."""

import numpy as np
import pytest

from tutorial_lib import image_folders


@pytest.fixture
def grey_images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (6, 8, 8)).astype(np.float32), np.array([0, 1, 0, 1, 1, 0])


def test_written_folders_read_back_with_their_labels(tmp_path, grey_images):
    images, labels = grey_images
    image_folders.write_class_folders(tmp_path, images, labels, ("a", "b"))
    dataset = image_folders.folder_dataset(tmp_path, image_size=(8, 8), batch_size=4)
    assert dataset.class_names == ("a", "b")
    back = image_folders.dataset_arrays(dataset)
    assert back.x.shape == (6, 8, 8, 3)
    # Files are read folder by folder: class a (indices 0, 2, 5), then class b.
    order = np.concatenate([np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)])
    assert back.y.tolist() == labels[order].tolist()
    np.testing.assert_allclose(back.x[..., 0], images[order], atol=1 / 255)
    np.testing.assert_array_equal(back.x[..., 0], back.x[..., 2])  # grey: three equal channels


@pytest.mark.parametrize("names, message", [(("b", "a"), "sorted"), (("a",), "class names"),
                                            (("a", "a"), "sorted|distinct"), (("a", "x/y"), "folder")])
def test_bad_class_names_are_refused(tmp_path, grey_images, names, message):
    with pytest.raises(ValueError, match=message):
        image_folders.write_class_folders(tmp_path, *grey_images, names)


def test_images_outside_0_1_are_refused(tmp_path, grey_images):
    images, labels = grey_images
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        image_folders.write_class_folders(tmp_path, images * 255, labels, ("a", "b"))
    with pytest.raises(ValueError, match="shape"):
        image_folders.write_class_folders(tmp_path, images[0], labels, ("a", "b"))


def test_cached_folders_are_reused_and_rewritten_when_altered(tmp_cache, grey_images):
    splits = {"train": grey_images}
    root = image_folders.cached_class_folders("toy", {"v": 1}, splits, ("a", "b"))
    first = next((root / "train" / "a").glob("*.png"))
    stamp = first.stat().st_mtime_ns
    assert image_folders.cached_class_folders("toy", {"v": 1}, splits, ("a", "b")) == root
    assert first.stat().st_mtime_ns == stamp  # reused, not rewritten
    first.write_bytes(b"not a png")
    image_folders.cached_class_folders("toy", {"v": 1}, splits, ("a", "b"))
    assert first.read_bytes()[:4] == b"\x89PNG"  # the altered file was written again


def test_cached_folders_need_a_split(tmp_cache):
    with pytest.raises(ValueError, match="split"):
        image_folders.cached_class_folders("toy", {}, {}, ("a", "b"))


def test_missing_folder_and_empty_dataset_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        image_folders.folder_dataset(tmp_path / "missing")
    import tensorflow as tf

    empty = tf.data.Dataset.from_tensor_slices((np.zeros((0, 2)), np.zeros(0))).batch(2)
    with pytest.raises(ValueError, match="empty"):
        image_folders.dataset_arrays(empty)
