import keras
import numpy as np
import pytest

from tutorial_lib import models


def test_small_cnn_shapes_names_and_parameter_count():
    model = models.small_cnn(5)
    assert model.output_shape == (None, 5)
    assert [layer.name for layer in models.weight_layers(model)] == [
        "conv1", "conv2", "conv3", "dense", "head"]
    # 3x3 convolutions 1->16->32->64, dense 64->64, head 64->5 (weights + biases).
    expected = (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 64 + 64) + (64 * 64 + 64) + (64 * 5 + 5)
    assert model.count_params() == expected == 27_781


def test_small_cnn_is_seeded():
    a, b, c = models.small_cnn(3, seed=1), models.small_cnn(3, seed=1), models.small_cnn(3, seed=2)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


@pytest.mark.parametrize("num_classes, error", [(1, ValueError), (2.5, TypeError)])
def test_small_cnn_rejects_bad_class_count(num_classes, error):
    with pytest.raises(error):
        models.small_cnn(num_classes)


def test_with_new_head_copies_the_body_and_leaves_the_source_alone():
    source = models.small_cnn(5, seed=0)
    before = [w.copy() for w in source.get_weights()]
    target = models.with_new_head(source, 3, seed=9)
    assert target.output_shape == (None, 3)
    for ws, wt in zip(source.get_weights()[:-2], target.get_weights()[:-2], strict=True):
        np.testing.assert_array_equal(ws, wt)
    target.layers[0].kernel.assign(np.zeros(target.layers[0].kernel.shape))
    for wb, wa in zip(before, source.get_weights(), strict=True):
        np.testing.assert_array_equal(wb, wa)


def test_with_new_head_rejects_non_sequential_models():
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(TypeError, match="Sequential"):
        models.with_new_head(functional, 2)


def test_freeze_sets_trainable_flags():
    model = models.freeze(models.small_cnn(5), 2)
    assert [layer.trainable for layer in models.weight_layers(model)] == [False, False, True, True, True]
    assert models.freeze(model).trainable_weights == model.get_layer("head").trainable_weights
    with pytest.raises(ValueError, match="between 0 and 5"):
        models.freeze(model, 6)


def test_feature_extractor_outputs_and_shares_weights():
    model = models.small_cnn(5)
    extractor = models.feature_extractor(model, "gap")
    assert extractor.output_shape == (None, 64)
    assert models.feature_extractor(model).output_shape == (None, 64)  # the dense layer
    assert extractor.get_layer("conv1") is model.get_layer("conv1")
    with pytest.raises(ValueError, match="unknown layer"):
        models.feature_extractor(model, "conv9")


def test_linear_head_shape():
    head = models.linear_head(64, 5)
    assert head.output_shape == (None, 5) and head.count_params() == 64 * 5 + 5


def test_dense_network_stacks_frames_and_names_its_layers():
    model = models.dense_network(10, (49, 32), hidden_units=(64, 32), seed=3)
    assert model.output_shape == (None, 10) and model.get_layer("stack").output.shape == (None, 49 * 32)
    assert [layer.name for layer in models.weight_layers(model)] == ["hidden1", "hidden2", "head"]
    assert model.count_params() == (49 * 32 * 64 + 64) + (64 * 32 + 32) + (32 * 10 + 10)
    again = models.dense_network(10, (49, 32), hidden_units=(64, 32), seed=3)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("arguments", "error"), [
    ({"num_classes": 1}, ValueError),
    ({"num_classes": 2.5}, TypeError),
    ({"hidden_units": ()}, ValueError),
    ({"hidden_units": (64, 0)}, ValueError),
    ({"input_shape": (49, 0)}, ValueError),
])
def test_dense_network_rejects_bad_arguments(arguments, error):
    with pytest.raises(error):
        models.dense_network(**{"num_classes": 10, **arguments})
