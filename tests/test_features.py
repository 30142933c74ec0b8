import keras
import numpy as np
import pytest
import tensorflow as tf

from tutorial_lib import features, pretrained, vgg16_heads


def test_layer_outputs_gives_every_named_layer_in_one_pass():
    base = pretrained.vgg16_base(None, input_shape=(32, 32, 3), verbose=False)
    outputs = features.layer_outputs(base, ("block3_pool", "block5_pool"))(np.zeros((2, 32, 32, 3)))
    assert [tuple(o.shape) for o in outputs] == [(2, 4, 4, 256), (2, 1, 1, 512)]
    with pytest.raises(ValueError, match="unknown"):
        features.layer_outputs(base, ("block6_pool",))
    with pytest.raises(ValueError, match="none given"):
        features.layer_outputs(base, ())


def test_features_shapes_and_cache(tmp_cache):
    x = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype(np.float32)
    base = pretrained.vgg16_base(None, (32, 32, 3), verbose=False)
    maps = features.compute_features(base, pretrained.preprocess(x), ("block3_pool", "block5_pool"),
                                     batch_size=2)
    assert maps["block3_pool"].shape == (3, 4, 4, 256) and maps["block5_pool"].shape == (3, 1, 1, 512)
    first = features.cached_features(x, images_key="t", weights=None, layer_names=("block5_pool",))
    second = features.cached_features(x, images_key="t", weights=None, layer_names=("block5_pool",))
    np.testing.assert_array_equal(first["block5_pool"], second["block5_pool"])
    np.testing.assert_allclose(first["block5_pool"], maps["block5_pool"], rtol=1e-5, atol=1e-5)
    assert len(list(tmp_cache.glob("vgg16-features-*.npz"))) == 1
    with pytest.raises(ValueError, match="unknown"):
        features.compute_features(base, x, ("block9_pool",))
    with pytest.raises(ValueError, match="shape"):
        features.compute_features(base, x[..., :1])
    with pytest.raises(ValueError, match="batch_size"):
        features.compute_features(base, x, batch_size=0)


@pytest.fixture
def separable():
    """Vectors of 3 classes around 3 distant centres, split into training, validation, test."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 6)) * 4

    def draw(n):
        y = np.repeat(np.arange(3), n)
        return (centres[y] + rng.normal(size=(len(y), 6))).astype(np.float32), y

    return draw(10), draw(5), draw(8)


@pytest.mark.parametrize("head", ["logistic", "linear"])
def test_probes_learn_separable_features(separable, head):
    train, validation, test = separable
    result = features.probe_accuracy(train, {"validation": validation, "test": test},
                                     labels_per_class=3, seeds=(0, 1), head=head, steps=60)
    assert set(result) == {"validation", "test"} and all(len(v) == 2 for v in result.values())
    assert min(result["test"]) > 0.9 and min(result["validation"]) > 0.9


def test_probes_on_feature_maps_and_chance_on_noise():
    rng = np.random.default_rng(1)
    maps, y = rng.normal(size=(60, 2, 2, 4)).astype(np.float32), np.repeat(np.arange(3), 20)
    noise = features.probe_accuracy((maps, y), {"test": (maps[::-1], y)}, labels_per_class=5,
                                    seeds=(0,), head="logistic")
    assert noise["test"][0] < 0.8  # labels unrelated to the features: far from perfect
    maps[..., 0] += 4 * y[:, None, None]  # now one channel tells the classes apart
    for head in ("gap", "flatten"):
        result = features.probe_accuracy((maps, y), {"test": (maps, y)}, labels_per_class=5,
                                         seeds=(0,), head=head, steps=100, learning_rate=0.02)
        assert result["test"][0] > 0.6, head  # chance is 1/3


def test_probe_accuracy_checks_its_arguments():
    vectors, labels = np.zeros((10, 4), dtype=np.float32), np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match="head must be"):
        features.probe_accuracy((vectors, labels), {"t": (vectors, labels)}, labels_per_class=1,
                                head="svm")
    with pytest.raises(ValueError, match="feature maps"):
        features.probe_accuracy((vectors, labels), {"t": (vectors, labels)}, labels_per_class=1,
                                head="gap")
    with pytest.raises(ValueError, match="at least one"):
        features.probe_accuracy((vectors, labels), {}, labels_per_class=1)
    with pytest.raises(ValueError, match="like the training features"):
        features.probe_accuracy((vectors, labels), {"t": (vectors[:, :3], labels)}, labels_per_class=1)
    with pytest.raises(ValueError):
        features.probe_accuracy((vectors, labels[:4]), {"t": (vectors, labels)}, labels_per_class=1)
    with pytest.raises(ValueError):
        features.probe_accuracy((vectors, labels), {"t": (vectors, labels)}, labels_per_class=9)


def test_train_head_trains_a_copy_and_counts_its_steps():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 12)
    x = (rng.normal(size=(36, 2, 2, 4)) + 3 * y[:, None, None, None]).astype(np.float32)
    one_hot = np.eye(3, dtype=np.float32)[y]
    head = vgg16_heads.gap_head((2, 2, 4), 3, seed=0)
    before = [w.copy() for w in head.get_weights()]
    trained, history = features.train_head(head, x, one_hot, epochs=10, batch_size=16,
                                           validation=(x, one_hot), learning_rate=0.1)
    assert history["steps"] == list(range(3, 31, 3)) and len(history["seconds"]) == 10
    assert history["loss"][-1] < history["loss"][0] and history["val_accuracy"][-1] > 0.6
    for old, new in zip(before, head.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # the head passed in is unchanged
    graph, graph_history = features.train_head(head, x, one_hot, epochs=10, batch_size=16,
                                               validation=(x, one_hot), learning_rate=0.1,
                                               run_eagerly=False)
    np.testing.assert_allclose(graph_history["loss"], history["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(graph.get_weights()[0], trained.get_weights()[0], rtol=1e-4, atol=1e-5)


def test_train_head_rejects_bad_inputs():
    head = vgg16_heads.gap_head((2, 2, 4), 3, seed=0)
    x, one_hot = np.zeros((6, 2, 2, 4)), np.eye(3)[np.arange(6) % 3]
    with pytest.raises(ValueError, match="x must have shape"):
        features.train_head(head, x[..., :3], one_hot, epochs=1)
    with pytest.raises(ValueError, match="one-hot"):
        features.train_head(head, x, np.arange(6) % 3, epochs=1)
    for bad, error in ((0, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="epochs"):
            features.train_head(head, x, one_hot, epochs=bad)
    with pytest.raises(ValueError, match="batch_size"):
        features.train_head(head, x, one_hot, epochs=1, batch_size=0)


def test_train_step_compiled_once_matches_eager():
    x = np.random.default_rng(1).normal(size=(7, 2, 2, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(7) % 3]
    results = []
    for compiled in (True, False):
        model = vgg16_heads.gap_head((2, 2, 4), 3, seed=0)
        before = model.get_weights()[0].copy()
        optimizer = keras.optimizers.Adam(0.1)
        step = features.train_step(model, optimizer, compiled=compiled)
        losses = [float(step(tf.constant(x[:4]), tf.constant(y[:4]))),
                  float(step(tf.constant(x[4:]), tf.constant(y[4:])))]  # two batch sizes
        assert not np.allclose(model.get_weights()[0], before)  # the step trains the model
        if compiled:
            assert step.experimental_get_tracing_count() == 1  # one graph, both batch sizes
        results.append((losses, model.get_weights()[0]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)
