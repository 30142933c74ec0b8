import numpy as np
import pytest

from tutorial_lib import backbones, batchnorm, data


def test_describe_reads_the_preprocessing():
    model = backbones.build("MobileNetV2", image_size=32)
    row = backbones.describe("MobileNetV2", model)
    assert row["parameters"] == model.count_params() > 1_000_000
    assert row["preprocess_input"] == "black -> [-1.0, -1.0, -1.0], red -> [1.0, -1.0, -1.0]"
    assert row["rescales inside"] is False and row["default input"] == "224x224x3"


def test_vgg_preprocessing_is_bgr_minus_means():
    red = backbones.preprocess("VGG16", np.array([[[[1.0, 0.0, 0.0]]]]))
    np.testing.assert_allclose(red.ravel(), [-103.939, -116.779, 255 - 123.68], atol=1e-3)
    np.testing.assert_allclose(backbones.preprocess("EfficientNetB0", np.full((1, 2, 2, 3), 0.5)), 127.5)


@pytest.mark.parametrize("name, size, error", [("ResNet9000", None, ValueError), ("VGG16", 16, ValueError),
                                               ("VGG16", 64.0, TypeError)])
def test_build_rejects_bad_arguments(name, size, error):
    with pytest.raises(error):
        backbones.build(name, size)


def test_preprocess_rejects_grey_images():
    with pytest.raises(ValueError, match="n, height, width, 3"):
        backbones.preprocess("VGG16", np.zeros((2, 8, 8, 1)))


def test_images_per_second_is_positive():
    model = backbones.build("MobileNetV2", image_size=32)
    assert backbones.images_per_second(model, batch_size=2, batches=1) > 0
    with pytest.raises(ValueError):
        backbones.images_per_second(model, batch_size=0)


def test_markdown_table():
    text = backbones.markdown_table([{"a": 1000, "b": "x"}, {"a": 2, "b": True}])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1,000 | x |", "| 2 | True |"]
    with pytest.raises(ValueError):
        backbones.markdown_table([])
    with pytest.raises(ValueError):
        backbones.markdown_table([{"a": 1}, {"b": 2}])


def test_bn_cnn_layers_and_bad_classes():
    model = batchnorm.bn_cnn(3)
    assert [layer.name for layer in model.layers][:3] == ["conv1", "bn1", "relu1"]
    assert model.output_shape == (None, 3)
    for bad, error in ((1, ValueError), (True, TypeError), (2.5, TypeError)):
        with pytest.raises(error, match="num_classes"):
            batchnorm.bn_cnn(bad)


@pytest.mark.parametrize("bn_training", [False, True])
def test_fine_tune_modes_and_source_unchanged(tiny_images, bn_training):
    x, y = tiny_images
    source = batchnorm.bn_cnn(2, seed=0)
    before = [w.copy() for w in source.get_weights()]
    model = batchnorm.fine_tune(source, x, y, 2, bn_training=bn_training, steps=5)
    moving_mean = model.get_layer("bn1").moving_mean.numpy()
    source_mean = source.get_layer("bn1").moving_mean.numpy()
    # Inference mode keeps the source statistics; training mode updates them.
    assert np.array_equal(moving_mean, source_mean) != bn_training
    for old, new in zip(before, source.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_train_bn_source_model_needs_a_recipe(task):
    bare = data.TransferTask(task.source_train, task.source_test, task.target_pool, task.target_test,
                             task.source_classes, task.target_classes)
    with pytest.raises(ValueError, match="recipe"):
        batchnorm.train_bn_source_model(bare)


def test_training_false_is_overridden_by_fit():
    # Keras 3.15 behaviour; if a future Keras keeps training=False, this test says so.
    assert batchnorm.training_false_is_overridden() is True
