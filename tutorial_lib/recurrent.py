"""Recurrent networks for text: vectorising, a GRU classifier, a GRU language model, and transfer.

Text becomes integer word ids with ``keras.layers.TextVectorization`` once, outside the models, so
that the models take arrays of ids and train with :func:`tutorial_lib.training.train` like every
other model of the book (an ``Embedding`` layer reads the ids). The source classifier and the
language model are trained once and then loaded from :mod:`tutorial_lib.cache`.

Three ways to learn the target task from a few labels reuse the generic helpers of
:mod:`tutorial_lib.transfer` on these models: from scratch, from the source classifier (frozen
features or fine-tuned), and from a language model (the ULMFiT route).

Taught in: *Text with a recurrent network*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np

from tutorial_lib import cache, models, training, transfer
from tutorial_lib.checks import check_int, check_known
from tutorial_lib.data import check_labels, sample_per_class
from tutorial_lib.reviews import ReviewTask

#: Every review fits in this many word ids (shorter ones are padded with id 0).
SEQUENCE_LENGTH = 12
#: The methods :func:`compare_text_methods` knows.
TEXT_METHODS = ("bag of words", "GRU from scratch", "source GRU frozen", "source GRU fine-tuned",
                "language model frozen", "language model fine-tuned")


def _check_texts(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, got a single string")
    array = np.asarray(texts, dtype=object)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"texts must be a non-empty 1-D sequence of strings, got shape {array.shape}")
    if not all(isinstance(text, str) for text in array):
        raise TypeError("texts must hold strings only")
    return array


def make_vectorizer(texts: Sequence[str] | np.ndarray,
                    sequence_length: int = SEQUENCE_LENGTH) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer whose vocabulary is adapted to ``texts``.

    Id 0 is padding and id 1 stands for words it has not seen (``[UNK]``); the other words get
    ids by falling frequency.

    Raises
    ------
    TypeError, ValueError
        If ``texts`` is not a non-empty sequence of strings, or ``sequence_length`` is below 1.
    """
    texts = _check_texts(texts)
    sequence_length = check_int("sequence_length", sequence_length, 1)
    vectorizer = keras.layers.TextVectorization(output_mode="int",
                                                output_sequence_length=sequence_length)
    vectorizer.adapt(texts.astype(str))
    return vectorizer


def vectorize(vectorizer: keras.layers.TextVectorization, texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """Word ids of ``texts``: an int32 array of shape ``(n, sequence_length)``, padded with 0."""
    texts = _check_texts(texts)
    return np.asarray(vectorizer(texts.astype(str)), dtype=np.int32)


def gru_network(vocabulary_size: int, num_outputs: int = 2, *, sequence_length: int = SEQUENCE_LENGTH,
                embedding_dim: int = 32, units: int = 32, seed: int = 0) -> keras.Sequential:
    """``Embedding`` then ``GRU`` then a softmax layer: a classifier, or a language model's body.

    The ``Embedding`` masks the padding (id 0), so the GRU's output is its state after the last
    real word. Layers are named ``embedding``, ``gru`` and ``head``.

    Parameters
    ----------
    vocabulary_size
        Number of word ids (the vectorizer's vocabulary, padding and ``[UNK]`` included).
    num_outputs
        Outputs of the softmax head: classes for a classifier, ``vocabulary_size`` for a
        language model that predicts the next word.
    seed
        Seed of every initialiser.

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int (``num_outputs`` at least 2).
    """
    for name, value, minimum in (("vocabulary_size", vocabulary_size, 3), ("num_outputs", num_outputs, 2),
                                 ("sequence_length", sequence_length, 1),
                                 ("embedding_dim", embedding_dim, 1), ("units", units, 1)):
        check_int(name, value, minimum)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((int(sequence_length),)),
            layers.Embedding(int(vocabulary_size), embedding_dim, mask_zero=True, name="embedding",
                             embeddings_initializer=keras.initializers.RandomUniform(
                                 -0.05, 0.05, seed=seed * 100 + 1)),
            layers.GRU(units, name="gru",
                       kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 2),
                       recurrent_initializer=keras.initializers.Orthogonal(seed=seed * 100 + 3)),
            layers.Dense(int(num_outputs), activation="softmax", name="head",
                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 4)),
        ],
        name="gru_network",
    )


def next_word_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Language-model examples from padded word ids: every prefix of a text and the word after it.

    A text ``[a, b, c, 0, ...]`` gives ``([a, 0, ...], b)`` and ``([a, b, 0, ...], c)``.

    Returns
    -------
    (prefixes, next_words)
        Prefixes padded to the input length, and the id of the word that follows each.

    Raises
    ------
    ValueError
        If ``ids`` is not a 2-D array of non-negative integers.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer) or (ids.size and ids.min() < 0):
        raise ValueError(f"ids must be a 2-D array of non-negative word ids, got shape {ids.shape} "
                         f"and dtype {ids.dtype}")
    prefixes, next_words = [], []
    for position in range(1, ids.shape[1]):
        rows = ids[:, position] != 0
        prefix = np.zeros((int(rows.sum()), ids.shape[1]), dtype=ids.dtype)
        prefix[:, :position] = ids[rows, :position]
        prefixes.append(prefix)
        next_words.append(ids[rows, position])
    return np.concatenate(prefixes), np.concatenate(next_words).astype(np.int64)


def _trained(kind: str, recipe: dict, make: callable, x: np.ndarray, y: np.ndarray, steps: int,
             learning_rate: float, seed: int) -> keras.Sequential:
    def build(path: Path) -> dict:
        model = make()
        history = training.train(model, x, y, steps=steps, learning_rate=learning_rate, seed=seed,
                                 eval_every=max(1, steps // 10))
        model.save_weights(path)
        return {"history": history}

    def load(path: Path) -> keras.Sequential:
        model = make()
        model.load_weights(path)
        return model

    model, _ = cache.cached(kind, recipe, build, load, ".weights.h5")
    return model


def train_source_classifier(task: ReviewTask, vectorizer: keras.layers.TextVectorization, *,
                            steps: int = 400, learning_rate: float = 3e-3,
                            seed: int = 0) -> keras.Sequential:
    """The GRU classifier trained on the labelled source reviews (once, then from the cache).

    The cache key holds the task's recipe, the vocabulary, the arguments and the Keras version.
    """
    vocabulary = [str(word) for word in vectorizer.get_vocabulary()]
    recipe = {"task": task.recipe, "vocabulary": vocabulary, "code": cache.code_hash(train_source_classifier),
              "steps": steps, "learning_rate": learning_rate, "seed": seed, "keras": keras.__version__}
    x = vectorize(vectorizer, task.source_train.text)
    return _trained("review-classifier", recipe, lambda: gru_network(len(vocabulary), 2, seed=seed),
                    x, task.source_train.y, steps, learning_rate, seed)


def train_language_model(task: ReviewTask, vectorizer: keras.layers.TextVectorization, *,
                         steps: int = 600, learning_rate: float = 3e-3,
                         seed: int = 0) -> keras.Sequential:
    """A GRU language model (next word from the words before) on the task's unlabelled texts.

    It reads the source training texts and the target pool, never a label (the ULMFiT route's
    first step); trained once, then loaded from the cache.
    """
    vocabulary = [str(word) for word in vectorizer.get_vocabulary()]
    recipe = {"task": task.recipe, "vocabulary": vocabulary, "code": cache.code_hash(train_language_model),
              "objective": "next word", "steps": steps, "learning_rate": learning_rate,
              "seed": seed, "keras": keras.__version__}
    prefixes, next_words = next_word_pairs(vectorize(vectorizer, task.unlabelled_texts()))
    return _trained("review-language-model", recipe,
                    lambda: gru_network(len(vocabulary), len(vocabulary), seed=seed),
                    prefixes, next_words, steps, learning_rate, seed)


def bag_of_words(train_texts: Sequence[str] | np.ndarray, y: np.ndarray,
                 test_texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """Predictions of a bag-of-words logistic regression (scikit-learn) trained on ``train_texts``.

    Word counts, word order ignored; ``LogisticRegression`` with its default L2 penalty.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train_texts, test_texts = _check_texts(train_texts), _check_texts(test_texts)
    y = check_labels(y, len(train_texts))
    counts = CountVectorizer(token_pattern=r"\S+")
    classifier = LogisticRegression(max_iter=1000).fit(counts.fit_transform(train_texts), y)
    return classifier.predict(counts.transform(test_texts)).astype(np.int64)


def fine_tune_in_two_phases(
    base: keras.Sequential, x: np.ndarray, y: np.ndarray, num_classes: int = 2, *,
    steps: int = 50, head_learning_rate: float = 1e-2, learning_rate: float = 3e-3, seed: int = 0,
) -> tuple[keras.Sequential, keras.Sequential]:
    """Put a new head on ``base``'s GRU, train the head alone, then unfreeze everything and train on.

    Phase one is feature sharing: the embedding and the GRU stay frozen while a fresh softmax layer
    learns to read the GRU's output. Phase two fine-tunes all layers, starting from a head that
    already makes sense; a random head's large early gradients would otherwise wreck the transferred
    weights (ULMFiT's *gradual unfreezing* in its simplest form).

    Parameters
    ----------
    base
        A trained :func:`gru_network` (a classifier or a language model); it is not changed.
    steps
        Adam steps of each phase.
    head_learning_rate, learning_rate
        Learning rates of phase one (the head alone) and phase two (everything).

    Returns
    -------
    (frozen, fine_tuned)
        The model after phase one and a separate model after phase two.

    Raises
    ------
    ValueError
        If ``base`` has no layer named ``gru``.
    """
    if "gru" not in [layer.name for layer in base.layers]:
        raise ValueError(f"base must be a gru_network with a layer named 'gru', got layers "
                         f"{[layer.name for layer in base.layers]}")
    copy = keras.models.clone_model(base)  # the base's own layers are never frozen or trained
    copy.set_weights(base.get_weights())
    frozen = transfer.feature_sharing(copy, x, y, num_classes, steps=steps,
                                      learning_rate=head_learning_rate, layer_name="gru", seed=seed)
    fine_tuned = keras.models.clone_model(frozen)
    fine_tuned.set_weights(frozen.get_weights())
    models.freeze(fine_tuned, 0)
    training.train(fine_tuned, x, y, steps=steps, learning_rate=learning_rate, seed=seed)
    return frozen, fine_tuned


def compare_text_methods(
    task: ReviewTask,
    vectorizer: keras.layers.TextVectorization,
    source: keras.Sequential,
    language_model: keras.Sequential,
    labels_per_class: Iterable[int],
    seeds: Iterable[int] = (0, 1, 2),
    methods: Sequence[str] = TEXT_METHODS,
    *,
    steps: int = 50,
    learning_rate: float = 3e-3,
) -> tuple[list[dict], dict[tuple[str, int, int], np.ndarray]]:
    """Target test accuracy of each method, for each label budget and seed.

    For every ``(labels_per_class, seed)`` every method gets the same labelled reviews. The GRU
    from scratch trains for ``steps`` Adam steps; the transferred routes run
    :func:`fine_tune_in_two_phases` on the source classifier or on the language model (its phase
    one is the "frozen" method, its phase two the "fine-tuned" one).

    Returns
    -------
    (rows, predictions)
        Rows with ``method``, ``labels_per_class``, ``seed``, ``accuracy``; and each run's
        predicted labels on the target test set, keyed by ``(method, labels_per_class, seed)``.

    Raises
    ------
    ValueError
        If a method is not one of :data:`TEXT_METHODS`.
    """
    check_known("methods", methods, TEXT_METHODS)
    pool_ids = vectorize(vectorizer, task.target_pool.text)
    test_ids = vectorize(vectorizer, task.target_test.text)
    bases = {"source GRU": source, "language model": language_model}
    rows, predictions = [], {}
    for k in labels_per_class:
        for seed in seeds:
            chosen = sample_per_class(task.target_pool.y, k, seed=seed)
            x, y = pool_ids[chosen], task.target_pool.y[chosen]
            trained: dict[str, keras.Model] = {}
            if "GRU from scratch" in methods:
                trained["GRU from scratch"] = gru_network(vectorizer.vocabulary_size(), 2, seed=seed)
                training.train(trained["GRU from scratch"], x, y, steps=steps,
                               learning_rate=learning_rate, seed=seed)
            for name, base in bases.items():
                if f"{name} frozen" in methods or f"{name} fine-tuned" in methods:
                    trained[f"{name} frozen"], trained[f"{name} fine-tuned"] = fine_tune_in_two_phases(
                        base, x, y, 2, steps=steps, learning_rate=learning_rate, seed=seed)
            for method in methods:
                if method == "bag of words":
                    predicted = bag_of_words(task.target_pool.text[chosen], y, task.target_test.text)
                else:  # one batch: the GRU's cost is per time step, not per review
                    predicted = training.predict_proba(trained[method], test_ids,
                                                       len(test_ids)).argmax(axis=1)
                predictions[(method, int(k), int(seed))] = predicted
                rows.append({"method": method, "labels_per_class": int(k), "seed": int(seed),
                             "accuracy": float(np.mean(predicted == task.target_test.y))})
    return rows, predictions
