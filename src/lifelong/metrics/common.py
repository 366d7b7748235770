"""Conventions and small helpers shared by the metric modules; no figure of METRICS.md is here.

Conventions used throughout `lifelong.metrics`:
- A life's records are equal-step bins of its reward curve p(t). Record i carries the step count
  at the END of its interval, `steps[i]`, and covers the world steps (steps[i-1], steps[i]], with
  steps[-1] := 0 (birth). Its width is steps[i] - steps[i-1].
- A window of steps (a, b] selects the records whose end step s satisfies a < s <= b. When a and
  b are record boundaries these are exactly the records whose whole interval lies inside the
  window; a record that straddles a change point tau counts as after it (its end step is > tau).
- A regime is whatever label the world's `info["shift"]` gives (an int, or a string such as
  "masspole:1"): labels are compared, never converted.
- A float that cannot be computed is NaN; a field of a returned dict that cannot be computed is
  None (JSON null). `summarize_life` turns every NaN into None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def as_floats(values: Any) -> np.ndarray:
    """A float array; None becomes NaN, so missing values drop out of the nan-aware means."""
    return np.asarray(values if values is not None else [], dtype=float)


def finite_or_none(value: Any) -> float | None:
    """The value as a float, or None when it is None, NaN or infinite (a JSON-safe field)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def finite_values(values: Iterable[float | None]) -> np.ndarray:
    """The finite values as a flat float array: None, NaN and infinities left out."""
    x = as_floats([math.nan if v is None else v for v in values]).ravel()
    return x[np.isfinite(x)]


def record_widths(steps: np.ndarray) -> np.ndarray:
    """Width of each record's interval (steps[i-1], steps[i]], the first starting at birth."""
    return np.diff(steps, prepend=0.0)


def check_steps(steps: np.ndarray, curve: np.ndarray) -> None:
    """Raise ValueError unless the record steps match the curve and strictly increase from 0."""
    if steps.shape != curve.shape:
        raise ValueError(f"steps {steps.shape} and curve {curve.shape} must have the same shape")
    if steps.size and (steps[0] < 0 or np.any(np.diff(steps) <= 0)):
        raise ValueError("record steps must be non-negative and strictly increasing")


def in_window(steps: np.ndarray, start: float, end: float) -> np.ndarray:
    """Mask of the records whose end step lies in (start, end] (see the conventions above)."""
    return (steps > start) & (steps <= end)


def mean_or_none(values: np.ndarray) -> float | None:
    """The mean of the finite values, None when there is none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None
