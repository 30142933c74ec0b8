"""Choosing a setting on validation data carved from the few labels, never on the test set.

Taught in: *Parameter sharing vs feature sharing* (each method's learning rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import keras
import numpy as np

from tutorial_lib.data import check_labels, stratified_split
from tutorial_lib.training import accuracy

#: ``train(x, y, learning_rate, seed)`` returns a trained model.
Trainer = Callable[[np.ndarray, np.ndarray, float, int], keras.Model]


def choose_learning_rate(
    train: Trainer,
    x: np.ndarray,
    y: np.ndarray,
    rates: Sequence[float],
    *,
    validation_fraction: float = 0.25,
    seeds: Iterable[int] = (0,),
) -> tuple[float, dict[float, float]]:
    """The learning rate whose model classifies a held-out part of ``(x, y)`` best.

    For every seed, ``(x, y)`` is split (stratified, :func:`tutorial_lib.data.stratified_split`)
    into a training part and a validation part; ``train`` is called on the training part with
    each rate, and the model's accuracy on the validation part is recorded. The scores are
    averaged over the seeds; a tie goes to the rate listed first.

    Parameters
    ----------
    train
        ``train(x, y, learning_rate, seed)`` returning a trained Keras model.
    x, y
        The labelled images (the few labels of the target task) and integer labels; every
        class needs at least two images.
    rates
        The candidate learning rates (positive numbers).
    validation_fraction
        Share of each class held out for validation (at least one image per class).
    seeds
        One split, and one training seed, per entry.

    Returns
    -------
    (best_rate, scores)
        The chosen rate and ``{rate: mean validation accuracy}`` in the order of ``rates``.

    Raises
    ------
    ValueError
        If ``rates`` or ``seeds`` is empty, a rate is not positive, or a class has fewer than
        two images.
    TypeError
        If ``train`` is not callable or a rate is not a number.
    """
    if not callable(train):
        raise TypeError(f"train must be callable, got {type(train).__name__}")
    rates = list(rates)
    if not rates:
        raise ValueError("rates must name at least one learning rate")
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)):
            raise TypeError(f"learning rates must be numbers, got {rate!r}")
        if not rate > 0:
            raise ValueError(f"learning rates must be positive, got {rate}")
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    y = check_labels(y, len(x))
    scores = {float(rate): 0.0 for rate in rates}
    for seed in seeds:
        fit_part, validation_part = stratified_split(y, validation_fraction, seed=seed)
        for rate in scores:
            model = train(x[fit_part], y[fit_part], rate, seed)
            scores[rate] += accuracy(model, x[validation_part], y[validation_part]) / len(seeds)
    best = max(scores, key=lambda rate: (scores[rate], -list(scores).index(rate)))
    return best, scores
