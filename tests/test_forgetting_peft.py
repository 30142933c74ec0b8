import keras
import numpy as np
import pytest

from tutorial_lib import forgetting, models, peft, training


@pytest.fixture
def trained(tiny_images):
    x, y = tiny_images
    model = models.small_cnn(2, seed=0)
    training.train(model, x, y, steps=30, learning_rate=1e-2)
    return model


def test_reattach_head_reuses_the_source_head(trained, tiny_images):
    x, _ = tiny_images
    other = models.with_new_head(trained, 3, seed=1)
    again = forgetting.reattach_head(other, trained)
    np.testing.assert_allclose(again(x), trained(x), atol=1e-5)
    assert trained.layers[-1] not in again.layers


def test_reattach_head_rejects_bad_models(trained):
    with pytest.raises(TypeError):
        forgetting.reattach_head("model", trained)
    small = models.small_cnn(2, dense_units=8, seed=0)
    with pytest.raises(ValueError, match="do not fit"):
        forgetting.reattach_head(small, trained)


def test_learning_without_forgetting_keeps_the_source(trained, tiny_images):
    x, y = tiny_images
    before = [w.copy() for w in trained.get_weights()]
    result = forgetting.learning_without_forgetting(trained, x, 1 - y, 2, weight=1.0, steps=20)
    assert result.target.output_shape[-1] == 2 and result.source.output_shape[-1] == 2
    for old, new in zip(before, trained.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="weight"):
        forgetting.learning_without_forgetting(trained, x, y, 2, weight=-1.0)


def test_parameter_count(trained):
    total = sum(int(np.prod(w.shape)) for w in trained.weights)
    assert peft.parameter_count(trained) == total
    frozen = models.freeze(models.with_new_head(trained, 2))
    assert peft.parameter_count(frozen, trainable_only=True) == 64 * 2 + 2
    with pytest.raises(TypeError):
        peft.parameter_count([1, 2])


def test_lora_model_trains_only_adapters_and_head(trained, tiny_images):
    model = peft.lora_model(trained, 3, rank=2, layers=("dense",))
    assert peft.parameter_count(model, trainable_only=True) == 2 * (64 + 64) + 64 * 3 + 3
    x, _ = tiny_images
    # B starts at zero: the body computes what the source body computes.
    body = keras.Sequential(model.layers[:-1])
    source_body = keras.Sequential(trained.layers[:-1])
    np.testing.assert_allclose(body(x[:4]), source_body(x[:4]), atol=1e-5)


@pytest.mark.parametrize("rank, layers, error", [(0, ("dense",), ValueError), (2, ("nope",), ValueError),
                                                (2, ("pool1",), ValueError), (True, ("dense",), TypeError)])
def test_lora_model_rejects_bad_arguments(trained, rank, layers, error):
    with pytest.raises(error):
        peft.lora_model(trained, 2, rank=rank, layers=layers)


def test_fine_tune_lora_moves_only_adapters(trained, tiny_images):
    x, y = tiny_images
    model = peft.fine_tune_lora(trained, x, y, 2, rank=2, layers=("dense",), steps=10)
    for name in ("conv1", "dense"):
        stored = {w.path.split("/")[-1]: w.numpy() for w in model.get_layer(name).weights}
        source = {w.path.split("/")[-1]: w.numpy() for w in trained.get_layer(name).weights}
        for key in source:
            np.testing.assert_array_equal(stored[key], source[key])
    assert np.abs(model.get_layer("dense").lora_kernel_b.numpy()).max() > 0


def test_fit_in_steps_rejects_bad_inputs(trained, tiny_images):
    x, y = tiny_images
    with pytest.raises(ValueError, match="one target per image"):
        training.fit_in_steps(trained, x, y[:3], steps=1, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="learning_rate"):
        training.fit_in_steps(trained, x, y, steps=1, loss="sparse_categorical_crossentropy", learning_rate=0)
    with pytest.raises(TypeError):
        training.fit_in_steps(trained, x, y, steps=1.5, loss="sparse_categorical_crossentropy")


def test_lora_adapters_train_even_on_a_frozen_source(trained):
    frozen_source = models.freeze(models.with_new_head(trained, 2), 5)
    model = peft.lora_model(frozen_source, 3, rank=2, layers=("dense",))
    assert peft.parameter_count(model, trainable_only=True) == 2 * (64 + 64) + 64 * 3 + 3
    assert all(not layer.trainable for layer in frozen_source.layers if layer.weights)
