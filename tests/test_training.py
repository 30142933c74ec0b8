import subprocess
import sys

import numpy as np
import pytest

from tutorial_lib import models, objectives, training


def test_train_learns_an_easy_task(tiny_images):
    x, y = tiny_images
    model = models.small_cnn(2, seed=0)
    history = training.train(model, x, y, steps=60, learning_rate=3e-3, eval_every=20,
                             validation=(x, y))
    assert history["step"] == [20, 40, 60]
    assert history["loss"][-1] < history["loss"][0]
    assert training.accuracy(model, x, y) >= 0.95


def test_train_is_deterministic_with_and_without_a_compiled_copy(tiny_images):
    x, y = tiny_images
    results = []
    for clear in (True, False, False):
        if clear:
            training.clear_compiled_models()
        model = models.small_cnn(2, seed=3)
        training.train(model, x, y, steps=15, seed=5)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_frozen_layers_do_not_move(tiny_images):
    x, y = tiny_images
    model = models.freeze(models.small_cnn(2, seed=0), 3)
    before = model.get_layer("conv2").get_weights()[0].copy()
    head_before = model.get_layer("head").get_weights()[0].copy()
    training.train(model, x, y, steps=10)
    np.testing.assert_array_equal(before, model.get_layer("conv2").get_weights()[0])
    assert not np.array_equal(head_before, model.get_layer("head").get_weights()[0])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x, y: (x[..., 0], y), "expects inputs of shape"),
        (lambda x, y: (x, np.eye(2)[y]), "one-hot"),
        (lambda x, y: (x, y + 5), "does not fit"),
        (lambda x, y: (x, y[:-1]), "expected 40 labels"),
        (lambda x, y: (np.where(x > 0.9, np.nan, x), y), "NaN or infinite"),
        (lambda x, y: (np.full_like(x, np.inf), y), "40 of 40 samples"),
    ],
)
def test_train_rejects_bad_inputs(tiny_images, change, message):
    x, y = change(*tiny_images)
    with pytest.raises(ValueError, match=message):
        training.train(models.small_cnn(2), x, y, steps=1)


def test_train_rejects_bad_budgets(tiny_images):
    with pytest.raises(ValueError, match="steps"):
        training.train(models.small_cnn(2), *tiny_images, steps=0)
    with pytest.raises(TypeError, match="steps"):
        training.train(models.small_cnn(2), *tiny_images, steps=1.5)
    with pytest.raises(ValueError, match="learning_rate"):
        training.train(models.small_cnn(2), *tiny_images, steps=1, learning_rate=0)


def test_predict_proba_rows_sum_to_one(tiny_images):
    probabilities = training.predict_proba(models.small_cnn(2), tiny_images[0], batch_size=7)
    assert probabilities.shape == (40, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_confusion_matrix_and_per_class_accuracy(tiny_images):
    x, y = tiny_images
    model = models.small_cnn(2, seed=0)
    training.train(model, x, y, steps=60, learning_rate=3e-3)
    matrix = training.confusion_matrix(model, x, y)
    assert matrix.shape == (2, 2) and matrix.sum() == 40
    np.testing.assert_array_equal(matrix.sum(axis=1), [20, 20])
    assert training.per_class_accuracy(matrix) == pytest.approx(np.diag(matrix) / 20)
    assert np.isnan(training.per_class_accuracy(np.array([[0, 0], [1, 1]]))[0])
    with pytest.raises(ValueError, match="square"):
        training.per_class_accuracy(np.zeros((2, 3)))


def test_epoch_times_records_one_time_per_epoch(tiny_images):
    x, y = tiny_images
    model = models.small_cnn(2, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    timer = training.EpochTimes()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 3
    assert all(0 < seconds < 60 for seconds in timer.seconds)
    assert timer.steady() == pytest.approx(np.median(timer.seconds[1:]))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[timer])  # a new fit starts a new record
    assert len(timer.seconds) == 2


def test_epoch_times_needs_two_epochs_for_a_steady_time():
    timer = training.EpochTimes()
    with pytest.raises(ValueError, match="at least 2"):
        timer.steady()


def test_train_adds_the_models_penalties_to_the_loss(tiny_images):
    x, y = tiny_images
    plain = models.small_cnn(2, seed=0)
    penalised = objectives.add_penalty(models.small_cnn(2, seed=0), "l2", alpha=0.5, beta=0.5)
    penalty = objectives.penalty_value(penalised)
    assert penalty > 0.1
    # One step: the loss reported is that of the starting weights, penalty included.
    plain_loss = training.train(plain, x, y, steps=1)["loss"][0]
    penalised_loss = training.train(penalised, x, y, steps=1)["loss"][0]
    assert penalised_loss - plain_loss == pytest.approx(penalty, rel=1e-3)


def test_l2sp_in_train_holds_the_weights_near_their_start(tiny_images):
    x, y = tiny_images
    distances = {}
    for penalty in ("none", "l2sp"):
        model = objectives.add_penalty(models.small_cnn(2, seed=0), penalty, alpha=1000.0, beta=0.0)
        start = model.get_layer("conv2").get_weights()[0].copy()
        training.train(model, x, y, steps=30, learning_rate=1e-2)
        distances[penalty] = np.linalg.norm(model.get_layer("conv2").get_weights()[0] - start)
        assert len(model.losses) == (10 if penalty == "l2sp" else 0)  # penalties still attached
    assert distances["l2sp"] < 0.5 * distances["none"], distances


def test_a_penalised_model_does_not_poison_the_shared_compiled_copy(tiny_images):
    x, y = tiny_images
    training.clear_compiled_models()
    reference = models.small_cnn(2, seed=4)
    training.train(reference, x, y, steps=5)
    objectives.add_penalty(models.small_cnn(2, seed=4), "l2", alpha=10.0, beta=10.0)
    penalised = objectives.add_penalty(models.small_cnn(2, seed=4), "l2", alpha=10.0, beta=10.0)
    training.train(penalised, x, y, steps=5)
    again = models.small_cnn(2, seed=4)
    training.train(again, x, y, steps=5)
    for a, b in zip(reference.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_under_a_strategy_matches_one_device(tiny_images):
    import tensorflow as tf

    x, y = tiny_images
    plain, mirrored = models.small_cnn(2, seed=1), models.small_cnn(2, seed=1)
    training.train(plain, x, y, steps=10, seed=2)
    # A one-device MirroredStrategy: the same arithmetic as without a strategy.
    training.train(mirrored, x, y, steps=10, seed=2,
                   strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
    for a, b in zip(plain.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_copy_kept_under_a_strategy_starts_every_run_afresh(tiny_images):
    import tensorflow as tf

    x, y = tiny_images
    training.clear_compiled_models()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    runs = []
    for learning_rate in (1e-2, 1e-3, 1e-3):  # the last two: same run, on the kept copy
        model = models.small_cnn(2, seed=1)
        training.train(model, x, y, steps=8, seed=2, learning_rate=learning_rate, strategy=strategy)
        runs.append(model.get_weights())
    assert len(training._COMPILED_UNDER) == 1  # one copy served the three runs
    training.clear_compiled_models()
    fresh = models.small_cnn(2, seed=1)
    training.train(fresh, x, y, steps=8, seed=2, learning_rate=1e-3, strategy=strategy)
    for a, b, c in zip(runs[1], runs[2], fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, atol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(runs[0], runs[1], strict=True))


def test_train_rejects_a_strategy_that_is_not_one(tiny_images):
    with pytest.raises(TypeError, match="tf.distribute.Strategy"):
        training.train(models.small_cnn(2), *tiny_images, steps=1, strategy="mirrored")


def test_batch_order_covers_each_epoch_once_and_checks_its_counts():
    order = training.batch_order(10, steps=7, batch_size=4, seed=3)
    assert order.shape == (28,)
    assert sorted(order[:10]) == list(range(10)) and sorted(order[10:20]) == list(range(10))
    assert (order == training.batch_order(10, steps=7, batch_size=4, seed=3)).all()
    assert not (order == training.batch_order(10, steps=7, batch_size=4, seed=4)).all()
    with pytest.raises(ValueError, match="steps"):
        training.batch_order(10, steps=0, batch_size=4)
    with pytest.raises(TypeError, match="n_samples"):
        training.batch_order(2.5, steps=1, batch_size=1)


def test_a_compiled_copy_serves_every_learning_rate(tiny_images):
    x, y = tiny_images
    trained = {}
    for clear in (True, False):
        for rate in (1e-2, 1e-3):
            if clear:
                training.clear_compiled_models()
            model = models.small_cnn(2, seed=2)
            training.train(model, x, y, steps=10, learning_rate=rate, seed=1)
            trained[(clear, rate)] = model.get_weights()
    for rate in (1e-2, 1e-3):  # freshly compiled or reused at another rate: the same weights
        for a, b in zip(trained[(True, rate)], trained[(False, rate)], strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(trained[(False, 1e-2)][0], trained[(False, 1e-3)][0])


def test_equal_penalties_share_a_compiled_copy_and_different_ones_do_not(tiny_images):
    x, y = tiny_images
    training.clear_compiled_models()
    trained = []
    for alpha in (1.0, 1.0, 100.0):
        model = objectives.add_penalty(models.small_cnn(2, seed=0), "l2sp", alpha=alpha, beta=0.0)
        training.train(model, x, y, steps=10, learning_rate=1e-2)
        trained.append(model.get_weights())
    assert len(training._COMPILED) == 2
    for a, b in zip(trained[0], trained[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(trained[0][2], trained[2][2])


def test_a_seeded_run_repeats_bit_for_bit_in_a_fresh_process():
    # What repro.seed_everything promises: the same seed gives the same weights in a new process.
    script = (
        "import hashlib, numpy as np\n"
        "from tutorial_lib import models, repro, training\n"
        "repro.seed_everything(0)\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.random((64, 24, 24, 1), dtype=np.float32); y = np.arange(64) % 3\n"
        "model = models.small_cnn(3, seed=1)\n"
        "training.train(model, x, y, steps=30, seed=2)\n"
        "print(hashlib.sha256(b''.join(w.tobytes() for w in model.get_weights())).hexdigest())\n"
    )
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True).stdout.split()[-1] for _ in range(2)}
    assert len(digests) == 1, digests
