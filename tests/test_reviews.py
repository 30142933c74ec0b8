import numpy as np
import pytest

from tutorial_lib import reviews


def test_generate_is_deterministic_balanced_and_short():
    first, second = reviews.generate("gadgets", 200, seed=3), reviews.generate("gadgets", 200, seed=3)
    np.testing.assert_array_equal(first.text, second.text)
    assert first.y.sum() == 100
    assert max(len(text.split()) for text in first.text) <= 12
    assert set(np.unique(first.kind)) == {0, 1, 2}
    assert not np.array_equal(first.text, reviews.generate("gadgets", 200, seed=4).text)


def test_labels_follow_the_rules():
    generated = reviews.generate("restaurants", 300, seed=0)
    positive = set(reviews.SHARED_POSITIVE + reviews.DOMAINS["restaurants"].positive)
    for text, label, kind in zip(generated.text, generated.y, generated.kind, strict=True):
        last = text.split(" but ")[-1].split(" and ")[-1] if kind == 2 else text.split(" and ")[0]
        words = last.split()
        if kind == 2:  # the clause after "but" decides
            sign = (words[-1] in positive) != any(w in reviews.NEGATORS for w in words)
            assert sign == bool(label), text
        if kind == 0:  # plain: every adjective has the label's sign
            assert (words[-1] in positive) == bool(label), text
        if kind == 1:
            assert any(w in reviews.NEGATORS for w in text.split()), text


def test_domains_share_some_words_and_not_others():
    source, target = reviews.domain_words("restaurants"), reviews.domain_words("gadgets")
    assert {"good", "not", "but"} <= source & target
    assert "battery" in target - source and "delicious" in source - target
    task = reviews.review_task(n_source=100, n_target=40)
    for text in task.target_test.text:
        assert set(text.split()) <= target
    assert len(task.unlabelled_texts()) == 80 + 20


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"domain": "books", "n": 10}, ValueError, "unknown domain"),
        ({"domain": "gadgets", "n": 1}, ValueError, "at least 2"),
        ({"domain": "gadgets", "n": 10.0}, TypeError, "must be an int"),
        ({"domain": "gadgets", "n": 10, "shared": 1.5}, ValueError, "shared"),
        ({"domain": "gadgets", "n": 10, "kind_shares": (0.5, 0.5)}, ValueError, "kind_shares"),
    ],
)
def test_generate_rejects_bad_inputs(kwargs, error, message):
    with pytest.raises(error, match=message):
        reviews.generate(**kwargs)


def test_review_task_and_domain_words_reject_bad_inputs():
    with pytest.raises(ValueError, match="n_source"):
        reviews.review_task(n_source=5)
    with pytest.raises(ValueError, match="unknown domain"):
        reviews.domain_words("books")
