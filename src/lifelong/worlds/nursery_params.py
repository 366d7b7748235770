"""Checks on the Nursery's constructor arguments.

The Nursery is a plain Gymnasium env, usable without the rest of the library, so a bad argument
is a ``ValueError`` whose one line names it and what it must be (`make_world` turns that into
its own one-line error). These are the checks the constructor runs on each argument.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: it must be an integer >= {minimum}")


def check_float(name: str, value: Any, low: float, high: float) -> None:
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"{name}={value!r} is invalid: it must be a finite number in [{low}, {high}]"
        )


def check_reliability(value: Any) -> tuple[float, float]:
    """Two probabilities, for teacher_a and teacher_b (a missing teacher ignores its entry)."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(
        isinstance(p, (int, float, np.number)) and not isinstance(p, bool) and 0 <= p <= 1
        for p in value
    )
    if not ok:
        raise ValueError(
            f"teacher_reliability={value!r} is invalid: it must be two numbers in [0, 1]"
        )
    return (float(value[0]), float(value[1]))
