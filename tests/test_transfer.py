import numpy as np
import pytest

from tutorial_lib import data, models, results, transfer


def test_compare_methods_rejects_unknown_methods(task, source):
    with pytest.raises(ValueError, match="unknown methods"):
        transfer.compare_methods(task, source.model, [1], methods=["magic"])


def test_compare_methods_rows(task, source):
    rows = transfer.compare_methods(task, source.model, [2], seeds=(0,), steps=5)
    assert [(r["method"], r["labels_per_class"], r["seed"]) for r in rows] == [
        (m, 2, 0) for m in transfer.METHODS]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)


def test_source_model_learns_the_source_task(task, source):
    assert source.model.output_shape == (None, 5)
    assert transfer.evaluate(source.model, *task.source_test) > 0.85


def test_feature_sharing_keeps_the_source_weights(task, source):
    before = source.model.get_layer("conv3").get_weights()[0].copy()
    model = transfer.feature_sharing(source.model, *task.few_labels(2, seed=0), 5, steps=20)
    assert model.output_shape == (None, 5)
    assert [layer.name for layer in models.weight_layers(model)] == ["conv1", "conv2", "conv3", "head"]
    np.testing.assert_array_equal(before, model.get_layer("conv3").get_weights()[0])
    np.testing.assert_array_equal(before, source.model.get_layer("conv3").get_weights()[0])
    # The source stays trainable: a copy of it with a new head trains every layer.
    assert all(layer.trainable for layer in source.model.layers)
    assert models.with_new_head(source.model, 5).count_params() == sum(
        int(np.prod(w.shape)) for w in models.with_new_head(source.model, 5).trainable_weights)


def test_parameter_sharing_moves_the_copy_not_the_source(task, source):
    before = source.model.get_layer("conv1").get_weights()[0].copy()
    model = transfer.parameter_sharing(source.model, *task.few_labels(2, seed=0), 5, steps=20)
    assert not np.array_equal(before, model.get_layer("conv1").get_weights()[0])
    np.testing.assert_array_equal(before, source.model.get_layer("conv1").get_weights()[0])


def test_transfer_beats_scratch_with_few_labels(task, source):
    """The book's central claim, with a margin: at 1 and 5 labels per class, both ways of
    transferring beat training from scratch by at least 8 points (mean of 3 seeds)."""
    stats = results.summarize(transfer.compare_methods(task, source.model, [1, 5]))
    for k in (1, 5):
        scratch = stats[("from scratch", k)][0]
        for method in ("parameter sharing", "feature sharing"):
            assert stats[(method, k)][0] >= scratch + 0.08, (method, k, stats)
    assert stats[("feature sharing", 5)][0] > 0.4


def test_transfer_first_layers_copies_and_freezes(task, source):
    x, y = task.few_labels(2, seed=0)
    model = transfer.transfer_first_layers(source.model, x, y, 5, 2, freeze=True, steps=10)
    for name in ("conv1", "conv2"):
        np.testing.assert_array_equal(model.get_layer(name).get_weights()[0],
                                      source.model.get_layer(name).get_weights()[0])
    assert not np.array_equal(model.get_layer("conv3").get_weights()[0],
                              source.model.get_layer("conv3").get_weights()[0])
    with pytest.raises(ValueError, match="between 0 and 4"):
        transfer.transfer_first_layers(source.model, x, y, 5, 5, freeze=True)


def test_layer_transfer_curve_rows(task, source):
    rows = transfer.layer_transfer_curve(task, source.model, 2, seeds=(0,), steps=5)
    assert [(r["n_layers"], r["mode"]) for r in rows] == [
        (k, mode) for k in range(5) for mode in ("frozen", "fine-tuned")]
    assert rows[0]["accuracy"] == rows[1]["accuracy"]  # k = 0 is scratch, run once


def test_scrambled_source_keeps_pixels_and_target(task):
    scrambled = data.scrambled_source(task, seed=1)
    assert scrambled.recipe["scrambled_source"] == 1 and scrambled.target_test is task.target_test
    original, shuffled = task.source_train.x[0].ravel(), scrambled.source_train.x[0].ravel()
    np.testing.assert_array_equal(np.sort(original), np.sort(shuffled))
    assert not np.array_equal(original, shuffled)


def test_from_scratch_is_deterministic_and_checks_its_labels(task):
    x, y = task.few_labels(2, seed=0)
    first = transfer.from_scratch(x, y, task.n_target_classes, steps=5, seed=1)
    second = transfer.from_scratch(x, y, task.n_target_classes, steps=5, seed=1)
    assert first.output_shape == (None, task.n_target_classes)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        transfer.from_scratch(x, y[:-1], task.n_target_classes, steps=5)


def test_from_scratch_builds_the_asked_architecture():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 6, 4)).astype(np.float32), np.repeat([0, 1], 10)
    model = transfer.from_scratch(x, y, 2, steps=3, architecture="dense_network")
    assert model.name == "dense_network" and model.output_shape == (None, 2)
    with pytest.raises(ValueError, match="unknown architecture"):
        transfer.from_scratch(x, y, 2, steps=3, architecture="transformer")


def test_train_source_model_builds_and_caches_a_dense_network(tmp_cache):
    rng = np.random.default_rng(0)
    split = data.Split(rng.standard_normal((20, 6, 4)).astype(np.float32), np.repeat([0, 1], 10))
    task = data.TransferTask(split, split, split, split, (0, 1), (0, 1), recipe={"name": "noise"})
    first = transfer.train_source_model(task, steps=3, eval_every=3, architecture="dense_network")
    again = transfer.train_source_model(task, steps=3, eval_every=3, architecture="dense_network")
    assert first.model.name == "dense_network" and not first.from_cache and again.from_cache
    with pytest.raises(ValueError, match="unknown architecture"):
        transfer.train_source_model(task, steps=3, architecture="rnn")


def test_train_method_and_method_trainer_run_each_method(task, source):
    chosen = data.sample_per_class(task.target_pool.y, 2, seed=0)
    x, y = task.target_pool.x[chosen], task.target_pool.y[chosen]
    for method in transfer.METHODS:
        model = transfer.method_trainer(method, source.model, 5, steps=3)(x, y, 1e-3, 0)
        assert model.output_shape == (None, 5)
    with pytest.raises(ValueError, match="unknown method"):
        transfer.train_method("magic", source.model, x, y, 5)
    with pytest.raises(ValueError, match="unknown method"):
        transfer.method_trainer("magic", source.model, 5)


def test_compare_methods_uses_the_given_learning_rates(task, source):
    with pytest.raises(ValueError, match="unknown methods"):
        transfer.compare_methods(task, source.model, [1], learning_rates={"magic": 1e-3})
    rows = transfer.compare_methods(task, source.model, [2], seeds=(0,), methods=["feature sharing"],
                                    steps=5, learning_rates={"feature sharing": 0.5})
    chosen = data.sample_per_class(task.target_pool.y, 2, seed=0)
    model = transfer.train_method("feature sharing", source.model, task.target_pool.x[chosen],
                                  task.target_pool.y[chosen], 5, learning_rate=0.5, steps=5)
    assert transfer.evaluate(model, *task.target_test) == pytest.approx(rows[0]["accuracy"], abs=1e-9)
