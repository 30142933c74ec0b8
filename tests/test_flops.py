import keras
import numpy as np
import pytest

from tutorial_lib import flops


def test_a_convolution_counts_two_flops_per_multiply_add():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(5)])
    conv = 2 * 8 * 8 * 3 * 3 * 3 * 4
    dense = 2 * (4 * 4 * 4) * 5
    assert flops.forward_flops(model) == conv + dense


def test_vgg16_at_224_pixels_is_about_15_billion_multiply_adds():
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    assert flops.forward_flops(base) / 2 == pytest.approx(15.35e9, rel=0.01)


def test_layers_it_cannot_count_are_refused():
    layer = keras.layers.BatchNormalization()
    keras.Sequential([keras.Input((4,)), layer])
    with pytest.raises(TypeError, match="BatchNormalization"):
        flops.layer_flops(layer)


def test_measured_rate_divides_the_work_by_the_fastest_timed_call(monkeypatch):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same")])
    calls = []
    model_call = model.__call__
    monkeypatch.setattr(type(model), "__call__", lambda self, x: calls.append(len(x)) or model_call(x))
    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # three timed calls: 3 s, 1 s and 2 s
    monkeypatch.setattr(flops.time, "perf_counter", lambda: next(clock))
    rate = flops.measured_rate(model, np.zeros((5, 8, 8, 3)))
    assert calls == [5, 5, 5, 5]  # one untimed call first, then three timed ones
    assert rate == flops.forward_flops(model) * 5 / 1.0


def test_measured_rate_refuses_inputs_of_another_shape():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match=r"batch of shape \(n, 8, 8, 3\)"):
        flops.measured_rate(model, np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="batch of shape"):
        flops.measured_rate(model, np.zeros((0, 8, 8, 3)))
    with pytest.raises(TypeError, match="repeats"):
        flops.measured_rate(model, np.zeros((1, 8, 8, 3)), repeats=1.5)
