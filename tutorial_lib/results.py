"""Summaries of experiment results: mean, spread and count of an accuracy over seeds.

Results are rows (dictionaries) such as those of :func:`tutorial_lib.transfer.compare_methods`;
:func:`summarize` groups them. This module needs only NumPy, so plotting a summary never loads
TensorFlow.

Taught in: *Parameter sharing vs feature sharing*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np


class Summary(NamedTuple):
    """Mean and (population) standard deviation of ``n`` values."""

    mean: float
    std: float
    n: int


def summarize(rows: Iterable[dict], by: Sequence[str] = ("method", "labels_per_class"),
              value: str = "accuracy") -> dict[tuple, Summary]:
    """Mean, standard deviation and count of ``value`` for each group of rows.

    Parameters
    ----------
    rows
        Dictionaries that each hold the fields ``by`` and ``value``.
    by
        The fields whose values form a group's key.
    value
        The field to summarise.

    Returns
    -------
    dict
        ``{(group values...): Summary(mean, std, n)}``, in the order groups first appear.

    Raises
    ------
    ValueError
        If a row lacks one of the fields.
    """
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        missing = [key for key in (*by, value) if key not in row]
        if missing:
            raise ValueError(f"row {row} has no field {missing}")
        groups.setdefault(tuple(row[key] for key in by), []).append(float(row[value]))
    return {key: Summary(float(np.mean(v)), float(np.std(v)), len(v)) for key, v in groups.items()}
