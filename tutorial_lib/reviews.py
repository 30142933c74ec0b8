"""Generated product reviews in two domains: restaurants (the source) and gadgets (the target).

The reviews are **generated**, not collected: short English sentences put together from a
hand-written vocabulary by fixed rules, with a seeded random generator, so that every run of the
book sees the same texts and no download is needed. They are built so that a model that reads
words in order can do what a bag of words cannot:

* **negation** flips a clause: "the battery is not good" is negative;
* **contrast** decides by the second clause: "the food is great but the service is slow" is
  negative, "... bad but ... friendly" positive;
* **intensifiers** ("very", "really", ...) and coordination with "and" add words that do not change
  the label and sit in varying places.

The two domains share the glue words and a set of general sentiment words ("good", "awful", ...);
each has its own aspects ("food", "battery") and its own sentiment words ("delicious", "laggy").
Data code does not train and does not plot.

Taught in: *Text with a recurrent network*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tutorial_lib import cache
from tutorial_lib.checks import check_int

#: Sentiment words that both domains use.
SHARED_POSITIVE = ("good", "great", "excellent", "nice", "lovely", "perfect")
SHARED_NEGATIVE = ("bad", "terrible", "awful", "poor", "horrible", "disappointing")
#: Words that strengthen an adjective without changing its sign.
INTENSIFIERS = ("very", "really", "quite", "so", "extremely")
#: Words that flip the sign of the adjective that follows.
NEGATORS = ("not", "never")
#: The kinds of review, by what decides the label.
KINDS = ("plain", "negation", "contrast")


@dataclass(frozen=True)
class Domain:
    """The words only one domain uses: what is reviewed, and how it is praised or blamed."""

    name: str
    aspects: tuple[str, ...]
    positive: tuple[str, ...]
    negative: tuple[str, ...]


DOMAINS = {
    "restaurants": Domain(
        "restaurants",
        aspects=("food", "service", "staff", "pasta", "soup", "dessert", "waiter", "pizza", "wine",
                 "menu"),
        positive=("delicious", "tasty", "fresh", "friendly", "cozy", "generous"),
        negative=("bland", "stale", "rude", "greasy", "soggy", "overpriced"),
    ),
    "gadgets": Domain(
        "gadgets",
        aspects=("battery", "screen", "camera", "charger", "keyboard", "speaker", "case", "app",
                 "cable", "phone"),
        positive=("fast", "sturdy", "sharp", "responsive", "bright", "reliable"),
        negative=("slow", "flimsy", "blurry", "laggy", "dim", "faulty"),
    ),
}


class Reviews(NamedTuple):
    """Texts, labels (1 positive, 0 negative) and the kind of each review (an index into KINDS)."""

    text: np.ndarray
    y: np.ndarray
    kind: np.ndarray

    def subset(self, indices: np.ndarray) -> Reviews:
        """The reviews at ``indices``."""
        return Reviews(self.text[indices], self.y[indices], self.kind[indices])


def _clause(domain: Domain, polarity: int, negated: bool, intensified: bool, shared: float,
            rng: np.random.Generator) -> list[str]:
    """``the ASPECT is [not] [very] ADJECTIVE`` whose meaning has ``polarity`` (1 good, 0 bad)."""
    word_polarity = 1 - polarity if negated else polarity
    if rng.random() < shared:
        words = SHARED_POSITIVE if word_polarity else SHARED_NEGATIVE
    else:
        words = domain.positive if word_polarity else domain.negative
    clause = ["the", str(rng.choice(domain.aspects)), "is"]
    if negated:
        clause.append(str(rng.choice(NEGATORS)))
    if intensified:
        clause.append(str(rng.choice(INTENSIFIERS)))
    return [*clause, str(rng.choice(words))]


def _review(domain: Domain, label: int, kind: str, shared: float,
            rng: np.random.Generator) -> list[str]:
    intensify = rng.random(2) < 0.4
    if kind == "plain":
        first = _clause(domain, label, False, intensify[0], shared, rng)
        if rng.random() < 0.5:
            return first
        return [*first, "and", *_clause(domain, label, False, intensify[1], shared, rng)]
    if kind == "negation":
        first = _clause(domain, label, True, intensify[0], shared, rng)
        if rng.random() < 0.5:
            return first
        # A second clause of the same meaning, without a modifier (12 words at most).
        second = _clause(domain, label, False, False, shared, rng)
        return [*first, "and", *second] if rng.random() < 0.5 else [*second, "and", *first]
    # Contrast: the clause after "but" decides; one of the two clauses may be negated.
    negated = rng.integers(3)  # 0: the first clause, 1: the second, 2: neither
    first = _clause(domain, 1 - label, negated == 0, intensify[0] and negated != 0, shared, rng)
    second = _clause(domain, label, negated == 1, intensify[1] and negated != 1, shared, rng)
    return [*first, "but", *second]


def generate(domain: str, n: int, *, shared: float = 0.5, seed: int = 0,
             kind_shares: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> Reviews:
    """Generate ``n`` labelled reviews of one domain, half positive, half negative.

    Parameters
    ----------
    domain
        ``"restaurants"`` or ``"gadgets"`` (a key of :data:`DOMAINS`).
    n
        Number of reviews (at least 2).
    shared
        Probability that a clause uses a general sentiment word ("good") rather than one of its
        domain's own ("delicious", "laggy").
    seed
        Seed of the generator: the same arguments give the same reviews.
    kind_shares
        Shares of plain, negation and contrast reviews (see :data:`KINDS`); they must sum to 1.

    Returns
    -------
    Reviews
        ``text`` (strings of at most 12 words), ``y`` (1 positive, 0 negative), ``kind``.

    Raises
    ------
    ValueError
        If the domain is unknown, ``n`` is below 2, or a share is outside [0, 1].
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose from {sorted(DOMAINS)}")
    n = check_int("n", n, 2)
    if not 0.0 <= shared <= 1.0:
        raise ValueError(f"shared must be between 0 and 1, got {shared}")
    shares = np.asarray(kind_shares, dtype=float)
    if shares.shape != (len(KINDS),) or np.any(shares < 0) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"kind_shares must be {len(KINDS)} non-negative numbers summing to 1, "
                         f"got {kind_shares}")
    rng = np.random.default_rng([seed, sorted(DOMAINS).index(domain)])
    labels = rng.permutation(np.arange(n) % 2)
    kinds = rng.choice(len(KINDS), size=n, p=shares)
    texts = [" ".join(_review(DOMAINS[domain], int(label), KINDS[kind], shared, rng))
             for label, kind in zip(labels, kinds, strict=True)]
    return Reviews(np.array(texts, dtype=object), labels.astype(np.int64), kinds.astype(np.int64))


@dataclass(frozen=True)
class ReviewTask:
    """Many labelled source reviews; target reviews of which only a few labels will be used.

    Attributes
    ----------
    source_train, source_test
        Labelled restaurant reviews.
    target_pool
        Gadget reviews: their texts are the unlabelled target data; a few labels are drawn from
        them (:func:`tutorial_lib.data.sample_per_class`).
    target_test
        Held-out gadget reviews that no training step touches.
    recipe
        The arguments that made the task, to key caches of models trained on it.
    """

    source_train: Reviews
    source_test: Reviews
    target_pool: Reviews
    target_test: Reviews
    recipe: dict

    def unlabelled_texts(self) -> np.ndarray:
        """The texts a language model may read: source training and target pool, no labels."""
        return np.concatenate([self.source_train.text, self.target_pool.text])


def review_task(*, n_source: int = 4000, n_target: int = 2000, shared: float = 0.5,
                seed: int = 0) -> ReviewTask:
    """The chapter's task: restaurant reviews as the source, gadget reviews as the target.

    ``n_source`` restaurant reviews are split 4:1 into training and test; ``n_target`` gadget
    reviews are split in half into a pool (unlabelled text, and the few labels) and a test set.
    """
    n_source = check_int("n_source", n_source, 10)
    n_target = check_int("n_target", n_target, 4)
    source = generate("restaurants", n_source, shared=shared, seed=seed)
    target = generate("gadgets", n_target, shared=shared, seed=seed)
    cut_source, cut_target = n_source * 4 // 5, n_target // 2
    return ReviewTask(
        source_train=source.subset(np.arange(cut_source)),
        source_test=source.subset(np.arange(cut_source, n_source)),
        target_pool=target.subset(np.arange(cut_target)),
        target_test=target.subset(np.arange(cut_target, n_target)),
        recipe={"name": "reviews", "code": cache.code_hash(review_task), "n_source": n_source,
                "n_target": n_target, "shared": float(shared), "seed": int(seed)},
    )


def domain_words(domain: str) -> set[str]:
    """Every word that reviews of ``domain`` can use."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose from {sorted(DOMAINS)}")
    own = DOMAINS[domain]
    glue = {"the", "is", "and", "but", *INTENSIFIERS, *NEGATORS}
    return {*glue, *SHARED_POSITIVE, *SHARED_NEGATIVE, *own.aspects, *own.positive, *own.negative}
