import keras
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
