"""Argument checks shared by every module: one clear error message for one kind of mistake.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int | None = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer of at least ``minimum``, else raise.

    Parameters
    ----------
    name
        The argument's name, used in the error message.
    value
        What the caller passed. Python and NumPy integers are accepted; ``bool`` and floats
        (even whole ones such as ``2.0``) are not.
    minimum
        The smallest allowed value, or ``None`` for no lower bound.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value`` is below ``minimum``.

    >>> check_int("steps", 10)
    10
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_known(name: str, values: Iterable[Any], allowed: Sequence[Any]) -> None:
    """Raise if any of ``values`` is not one of ``allowed``; ``name`` says what they are.

    Raises
    ------
    ValueError
        Naming the unknown values and the allowed ones.

    >>> check_known("methods", ["feature sharing"], ["from scratch", "feature sharing"])
    """
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"unknown {name} {unknown}; choose from {list(allowed)}")
