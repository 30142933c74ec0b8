import numpy as np
import pytest

from tutorial_lib import features, pretrained, vgg16_heads


def test_the_classic_model_has_the_published_parameter_counts():
    base = pretrained.vgg16_base(None, (224, 224, 3), verbose=False)
    model = vgg16_heads.on_top(base, vgg16_heads.flatten_head(base.output_shape[1:]))
    assert base.count_params() == 14_714_688
    assert model.get_layer("dense_1024").count_params() == 25_691_136
    assert vgg16_heads.gap_head(base.output_shape[1:]).count_params() == 5_130


def test_head_on_features_equals_head_on_top_of_the_base():
    base = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    head = vgg16_heads.flatten_head(base.output_shape[1:], units=16, seed=2)
    before = [w.copy() for w in head.get_weights()]
    x = np.random.default_rng(2).normal(size=(4, 32, 32, 3)).astype(np.float32) * 50
    maps = features.compute_features(base, x)["block5_pool"]
    np.testing.assert_allclose(np.asarray(vgg16_heads.on_top(base, head)(x)), np.asarray(head(maps)),
                               rtol=1e-5, atol=1e-6)
    for old, new in zip(before, head.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="the head reads"):
        vgg16_heads.on_top(base, vgg16_heads.flatten_head((7, 7, 512)))
    with pytest.raises(TypeError, match="Sequential"):
        vgg16_heads.on_top(base, base)


def test_tail_on_block4_features_equals_the_whole_base_and_leaves_it_alone():
    base = pretrained.vgg16_base(None, (64, 64, 3), verbose=False)
    base.trainable = False
    x = np.random.default_rng(1).normal(size=(2, 64, 64, 3)).astype(np.float32) * 50
    maps = features.compute_features(base, x, ("block4_pool", "block5_pool"))
    block5 = vgg16_heads.tail(base)
    np.testing.assert_allclose(np.asarray(block5(maps["block4_pool"])), maps["block5_pool"],
                               rtol=1e-4, atol=1e-4)
    assert len(block5.trainable_weights) == 6 and base.trainable is False
    assert not any(layer.trainable for layer in base.layers)
    for bad in ("block9_conv1", "input_layer"):
        with pytest.raises(ValueError, match="unknown layer"):
            vgg16_heads.tail(base, bad)


@pytest.mark.parametrize("build", [vgg16_heads.flatten_head, vgg16_heads.gap_head])
def test_heads_reject_bad_shapes_and_class_counts(build):
    with pytest.raises(ValueError, match="feature_shape"):
        build((2, 512))
    with pytest.raises(ValueError, match="feature_shape"):
        build((2, 0, 512))
    with pytest.raises(ValueError, match="at least 2"):
        build((2, 2, 512), 1)
    with pytest.raises(TypeError, match="int"):
        build((2, 2, 512), 10.0)


def test_heads_with_the_same_seed_are_the_same():
    first = vgg16_heads.gap_head((2, 2, 8), 3, seed=4).get_weights()
    second = vgg16_heads.gap_head((2, 2, 8), 3, seed=4).get_weights()
    other = vgg16_heads.gap_head((2, 2, 8), 3, seed=5).get_weights()
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.allclose(first[0], other[0])
