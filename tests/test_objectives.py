import keras
import numpy as np
import pytest

from tutorial_lib import models, objectives, training


def test_cross_entropy_matches_keras():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 4))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, 16)
    expected = float(keras.losses.SparseCategoricalCrossentropy()(labels, probabilities))
    assert objectives.cross_entropy(probabilities, labels) == pytest.approx(expected, rel=1e-5)
    assert objectives.cross_entropy(np.eye(3), [0, 1, 2]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("probabilities, labels, message", [
    (np.ones((2, 3)) / 3, [0, 3], "out of range"),
    (np.ones((2, 3)), [0, 1], "sum to 1"),
    (np.ones(3) / 3, [0], "shape"),
    (np.ones((2, 3)) / 3, np.eye(2), "one-hot"),
])
def test_cross_entropy_rejects_bad_input(probabilities, labels, message):
    with pytest.raises(ValueError, match=message):
        objectives.cross_entropy(probabilities, labels)


def test_frozen_weights_have_a_gradient_but_fit_does_not_move_them(tiny_images):
    model = models.freeze(models.small_cnn(2, seed=0), 2)
    norms = objectives.gradient_norms(model, *tiny_images)
    assert list(norms) == [w.path for w in model.weights]
    by_layer = {path.split("/")[-2]: norm for path, norm in norms.items()}
    assert by_layer["conv1"] > 0.0 and by_layer["conv2"] > 0.0  # the loss depends on them
    assert by_layer["conv3"] > 0.0 and by_layer["head"] > 0.0
    before = model.get_layer("conv1").get_weights()[0].copy()
    training.train(model, *tiny_images, steps=3)
    np.testing.assert_array_equal(before, model.get_layer("conv1").get_weights()[0])


def test_gradient_norms_rejects_bad_labels(tiny_images):
    model = models.small_cnn(2, seed=0)
    with pytest.raises(ValueError, match="one-hot"):
        objectives.gradient_norms(model, tiny_images[0], np.eye(2)[tiny_images[1]])


def test_l2sp_is_zero_at_the_start_and_pulls_back():
    model = models.small_cnn(3, seed=0)
    objectives.add_penalty(model, "l2sp", alpha=0.5, beta=0.0)
    assert objectives.penalty_value(model) == pytest.approx(0.0, abs=1e-9)
    kernel = model.get_layer("conv2").kernel
    start = kernel.numpy().copy()
    delta = np.zeros_like(start)
    delta[0, 0, 0, 0] = 0.2
    kernel.assign(start + delta)
    assert objectives.penalty_value(model) == pytest.approx(0.5 * 0.5 * 0.2**2, rel=1e-4)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        value = objectives.L2SP(0.5, start)(kernel)
    gradient = tape.gradient(value, kernel.value).numpy()
    np.testing.assert_allclose(gradient, 0.5 * delta, atol=1e-7)  # points back towards start


def test_l2_penalty_and_bad_arguments():
    model = models.small_cnn(3, seed=0)
    objectives.add_penalty(model, "l2", alpha=0.1, beta=0.2)
    expected = sum((0.1 if w.path.split("/")[-2] != "head" else 0.2) * 0.5 * float(np.sum(w.numpy() ** 2))
                   for w in model.weights)
    assert objectives.penalty_value(model) == pytest.approx(expected, rel=1e-4)
    objectives.add_penalty(model, "none")
    assert objectives.penalty_value(model) == 0.0
    with pytest.raises(ValueError, match="penalty must be one of"):
        objectives.add_penalty(model, "l1")
    with pytest.raises(ValueError, match="not in the model"):
        objectives.add_penalty(model, "l2sp", shared_layers=("conv9",))
    with pytest.raises(ValueError, match="alpha"):
        objectives.L2SP(-1.0, np.zeros(2))


def test_fine_tune_with_l2sp_stays_closer_to_the_source(task, source):
    x, y = task.few_labels(3, seed=0)
    reference = source.model.get_layer("conv2").get_weights()[0]
    distances = {}
    for penalty, alpha in (("none", 0.0), ("l2sp", 1.0)):
        model = objectives.fine_tune_with_penalty(source.model, x, y, 5, penalty=penalty, alpha=alpha,
                                                  steps=60, learning_rate=3e-3)
        distances[penalty] = np.linalg.norm(model.get_layer("conv2").get_weights()[0] - reference)
    assert distances["l2sp"] < 0.8 * distances["none"]


def test_l2_regularizer_value_and_config():
    weight = np.array([[1.0, -2.0], [0.5, 0.0]], dtype=np.float32)
    penalty = objectives.L2(0.3)
    assert float(penalty(weight)) == pytest.approx(0.5 * 0.3 * (1 + 4 + 0.25))
    assert penalty.get_config() == {"beta": 0.3}
    with pytest.raises(ValueError, match="beta"):
        objectives.L2(-0.1)


def test_checkpoints_record_the_path_of_fit_and_losses_at_evaluates_it(tiny_images):
    model = models.small_cnn(2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    saver = training.WeightCheckpoints(every=2)
    start = model.get_weights()
    model.fit(*tiny_images, batch_size=20, epochs=3, shuffle=False, verbose=0, callbacks=[saver])
    assert saver.steps == [0, 2, 4, 6]  # 2 batches per epoch, 3 epochs
    np.testing.assert_array_equal(saver.weights[0][0], start[0])
    np.testing.assert_array_equal(saver.weights[-1][0], model.get_weights()[0])
    losses = objectives.losses_at(model, saver.weights, *tiny_images)
    assert losses.shape == (4,) and losses[-1] < losses[0]
    expected = objectives.cross_entropy(training.predict_proba(model, tiny_images[0]), tiny_images[1])
    assert losses[-1] == pytest.approx(expected, rel=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], saver.weights[-1][0])  # restored


def test_checkpoints_and_losses_at_reject_bad_input(tiny_images):
    with pytest.raises(ValueError, match="at least 1"):
        training.WeightCheckpoints(every=0)
    with pytest.raises(TypeError, match="int"):
        training.WeightCheckpoints(every=2.5)
    model = models.small_cnn(2, seed=0)
    with pytest.raises(ValueError, match="at least one"):
        objectives.losses_at(model, [], *tiny_images)


def test_compare_penalties_runs_every_penalty_and_seed_and_measures_the_drift(task, source):
    before = [w.copy() for w in source.model.get_weights()]
    rows = objectives.compare_penalties(task, source.model, 2, seeds=(0, 1), penalties=("none", "l2sp"),
                                        alpha=10.0, steps=40, learning_rate=3e-3)
    assert [(r["method"], r["seed"]) for r in rows] == [("none", 0), ("l2sp", 0), ("none", 1), ("l2sp", 1)]
    assert all(r["labels_per_class"] == 2 and 0.0 <= r["accuracy"] <= 1.0 for r in rows)
    drift = {(r["method"], r["seed"]): r["drift"] for r in rows}
    assert all(drift[("l2sp", s)] < drift[("none", s)] for s in (0, 1)) and drift[("none", 0)] > 0, drift
    assert all(np.array_equal(a, b) for a, b in zip(before, source.model.get_weights(), strict=True))
    with pytest.raises(ValueError, match="unknown penalties"):
        objectives.compare_penalties(task, source.model, 2, penalties=("l1",))
