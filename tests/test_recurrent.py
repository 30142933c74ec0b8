import numpy as np
import pytest

from tutorial_lib import recurrent, reviews, training

TEXTS = np.array(["the food is good", "the food is not good", "the app is good but slow"], dtype=object)


@pytest.fixture(scope="module")
def small():
    task = reviews.review_task(n_source=200, n_target=80, seed=1)
    return task, recurrent.make_vectorizer(task.unlabelled_texts())


def test_vectorize_pads_and_maps_unknown_words(small):
    _, vectorizer = small
    ids = recurrent.vectorize(vectorizer, ["the battery is good", "the zebra is good"])
    assert ids.shape == (2, recurrent.SEQUENCE_LENGTH) and ids.dtype == np.int32
    assert (ids[:, 4:] == 0).all() and ids[1, 1] == 1  # 0 pads, 1 is [UNK]


def test_next_word_pairs():
    prefixes, next_words = recurrent.next_word_pairs(np.array([[5, 6, 7, 0], [8, 9, 0, 0]]))
    np.testing.assert_array_equal(next_words, [6, 9, 7])
    np.testing.assert_array_equal(prefixes, [[5, 0, 0, 0], [8, 0, 0, 0], [5, 6, 0, 0]])


def test_gru_network_shapes_and_seeds():
    model = recurrent.gru_network(20, 3, seed=1)
    assert model.output_shape == (None, 3)
    assert [layer.name for layer in model.layers] == ["embedding", "gru", "head"]
    again = recurrent.gru_network(20, 3, seed=1)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_phases_leave_the_base_alone_and_learn(small):
    task, vectorizer = small
    base = recurrent.gru_network(vectorizer.vocabulary_size(), 2, seed=0)
    before = [w.copy() for w in base.get_weights()]
    x = recurrent.vectorize(vectorizer, task.source_train.text)
    frozen, tuned = recurrent.fine_tune_in_two_phases(base, x, task.source_train.y, steps=5)
    for a, b in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(layer.trainable for layer in base.layers)
    assert not frozen.get_layer("gru").trainable and tuned.get_layer("gru").trainable
    kernels = [model.get_layer("gru").get_weights()[0] for model in (frozen, tuned)]
    assert not np.array_equal(*kernels)


def test_bag_of_words_fits_plain_reviews():
    predicted = recurrent.bag_of_words(["good food", "bad food"] * 5, [1, 0] * 5, ["good", "bad"])
    np.testing.assert_array_equal(predicted, [1, 0])


def test_compare_text_methods_rows(small):
    task, vectorizer = small
    source = recurrent.gru_network(vectorizer.vocabulary_size(), 2, seed=0)
    language_model = recurrent.gru_network(vectorizer.vocabulary_size(), vectorizer.vocabulary_size())
    before = [(model.get_weights(), [layer.trainable for layer in model.layers])
              for model in (source, language_model)]
    rows, predictions = recurrent.compare_text_methods(
        task, vectorizer, source, language_model, [1], seeds=(0,), steps=2)
    for model, (weights, flags) in zip((source, language_model), before, strict=True):
        assert [layer.trainable for layer in model.layers] == flags
        for old, new in zip(weights, model.get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)
    assert [row["method"] for row in rows] == list(recurrent.TEXT_METHODS)
    assert all(0 <= row["accuracy"] <= 1 for row in rows)
    assert predictions[("bag of words", 1, 0)].shape == task.target_test.y.shape
    with pytest.raises(ValueError, match="unknown methods"):
        recurrent.compare_text_methods(task, vectorizer, source, language_model, [1], methods=["svm"])


def test_cached_source_classifier_is_reused(small, tmp_cache):
    task, vectorizer = small
    first = recurrent.train_source_classifier(task, vectorizer, steps=3)
    second = recurrent.train_source_classifier(task, vectorizer, steps=3)
    x = recurrent.vectorize(vectorizer, task.source_test.text)
    np.testing.assert_allclose(training.predict_proba(first, x), training.predict_proba(second, x))
    assert len(list(tmp_cache.glob("review-classifier-*.weights.h5"))) == 1


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda v: recurrent.make_vectorizer("the food is good"), TypeError, "single string"),
        (lambda v: recurrent.make_vectorizer([]), ValueError, "non-empty"),
        (lambda v: recurrent.make_vectorizer([1, 2]), TypeError, "strings"),
        (lambda v: recurrent.make_vectorizer(TEXTS, sequence_length=0), ValueError, "sequence_length"),
        (lambda v: recurrent.gru_network(20, 1), ValueError, "num_outputs"),
        (lambda v: recurrent.gru_network(20.5, 2), TypeError, "vocabulary_size"),
        (lambda v: recurrent.next_word_pairs(np.array([1, 2, 3])), ValueError, "2-D"),
        (lambda v: recurrent.next_word_pairs(np.array([[0.5, 1.0]])), ValueError, "word ids"),
        (lambda v: recurrent.bag_of_words(TEXTS, [1, 0], TEXTS), ValueError, "expected 3 labels"),
        (lambda v: recurrent.fine_tune_in_two_phases(training.keras.Sequential(
            [training.keras.Input((3,)), training.keras.layers.Dense(2)]), np.zeros((2, 3)), [0, 1]),
         ValueError, "layer named 'gru'"),
    ],
)
def test_bad_inputs_raise_clear_errors(small, call, error, message):
    with pytest.raises(error, match=message):
        call(small[1])
