import numpy as np
import pytest

from tutorial_lib import pipelines


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (10, 12, 12)).astype(np.float32)
    labels = np.arange(10) % 3
    pipelines.write_image_folder(images, labels, tmp_path)
    return tmp_path, images, labels


def test_both_readers_give_back_the_written_images(folder):
    path, images, labels = folder
    loop = list(pipelines.python_batches(path, batch_size=4))
    assert [len(x) for x, _ in loop] == [4, 4, 2]
    pipeline = list(pipelines.tf_batches(path, batch_size=4).as_numpy_iterator())
    for (x_loop, y_loop), (x_tf, y_tf) in zip(loop, pipeline, strict=True):
        np.testing.assert_allclose(x_loop, x_tf, atol=1e-6)
        np.testing.assert_array_equal(y_loop, y_tf)
    # Files are read class by class; the pixels round-trip within PNG's 8-bit precision.
    order = np.argsort(labels, kind="stable")
    got = np.concatenate([x for x, _ in loop])[..., 0]
    np.testing.assert_allclose(got, images[order], atol=0.5 / 255 + 1e-6)
    assert sorted(np.concatenate([y for _, y in loop])) == sorted(labels)


def test_epoch_seconds_counts_one_pass(folder):
    path, images, _ = folder
    seconds, count = pipelines.epoch_seconds(lambda: pipelines.python_batches(path), epochs=2)
    assert count == len(images) and len(seconds) == 2 and min(seconds) > 0


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="one label each"):
        pipelines.write_image_folder(np.zeros((3, 4, 4)), [0, 1], tmp_path)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pipelines.write_image_folder(np.full((2, 4, 4), 2.0), [0, 1], tmp_path)
    with pytest.raises(ValueError, match="no class_"):
        pipelines.tf_batches(tmp_path / "empty")
