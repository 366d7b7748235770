"""Reward curves: METRICS.md "Continuing life", item "Lifetime average reward (AUC)".

The lifetime average (`auc`), the exponentially weighted reward (`ewma`), the mean reward per
regime (`per_regime`, the random agent's floor in a bench), how a life's records are read into
the curve p(t) every other figure uses (`life_records`, `reward_curve`), and how soon a life
reaches a reward rate and keeps it (`trailing_rate`, `time_to_threshold`). Conventions: see
`lifelong.metrics.common`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lifelong.metrics.common import as_floats, check_steps, in_window, record_widths


def auc(curve: np.ndarray) -> float:
    """Lifetime average reward (METRICS.md "Lifetime average reward (AUC)").

    `curve` holds one mean reward per equal-step bin (a life's records already are such bins),
    so the lifetime average is the plain mean of the bins. NaN bins (unmeasured) are ignored; NaN
    when there is no finite bin.
    """
    curve = as_floats(curve)
    finite = curve[np.isfinite(curve)]
    return float(finite.mean()) if finite.size else math.nan


def ewma(rewards: np.ndarray, alpha: float = 1e-3, widths: np.ndarray | None = None) -> np.ndarray:
    """Exponentially weighted reward r~_t = (1 - a) r~_{t-1} + a r_t (METRICS.md, AUC item).

    The recursion starts at the first finite reward rather than at 0, so the first 1/a steps
    are not dragged towards zero (as `lifelong.signals.EMA` does). A NaN reward leaves the
    average where it was; entries before the first finite reward are NaN.

    `widths`, when given, says how many world steps each reward stands for (a record's interval,
    `np.diff(steps, prepend=0)`): n steps of reward r move the average by 1 - (1 - a)^n of the
    gap, exactly the per-step recursion on n copies of r. So a curve of records is smoothed per
    world step, as METRICS.md defines a, and not per record.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    values = as_floats(rewards).ravel()
    steps = np.ones_like(values) if widths is None else as_floats(widths).ravel()
    if steps.shape != values.shape or np.any(steps < 0):
        raise ValueError("widths must be one non-negative number of steps per reward")
    gains = (1.0 - (1.0 - alpha) ** steps).tolist()
    out = [math.nan] * values.size
    average = math.nan
    for t, r in enumerate(values.tolist()):
        if math.isfinite(r):
            average = r if math.isnan(average) else average + gains[t] * (r - average)
        out[t] = average
    return np.asarray(out, dtype=float)


def life_records(records: Iterable[dict]) -> list[dict]:
    """A life's records as every figure reads them: one per step, oldest first.

    The last record written for a step wins (a resumed life may have written it twice); a record
    whose step is not a finite number (a damaged line) is left out.
    """
    by_step: dict[float, dict] = {}
    for record in records:
        step = record.get("step")
        if isinstance(step, int | float) and not isinstance(step, bool) and math.isfinite(step):
            by_step[step] = record
    return [by_step[step] for step in sorted(by_step)]


def reward_curve(records: list[dict]) -> np.ndarray:
    """The reward curve p(t) of a life: each record's `reward_rate`, NaN where it has none.

    One value per record, in the records' order; read them with `life_records` first.
    """
    return as_floats([r.get("reward_rate") for r in records])


def per_regime(steps: np.ndarray, curve: np.ndarray, regimes: Sequence[Any]) -> dict[int, float]:
    """Mean reward per regime, each record weighted by its width (steps covered).

    A record belongs to the regime in its `regime` key, i.e. the last regime seen by the end of
    its interval. Records with no regime (None) or a NaN reward are left out.
    """
    steps, curve = as_floats(steps), as_floats(curve)
    check_steps(steps, curve)
    if len(regimes) != curve.size:
        raise ValueError("regimes must have one entry per record")
    widths = record_widths(steps)
    totals: dict[int, list[float]] = {}
    for width, p, regime in zip(widths, curve, regimes, strict=True):
        if regime is None or not math.isfinite(p):
            continue
        acc = totals.setdefault(regime, [0.0, 0.0])
        acc[0] += width * p
        acc[1] += width
    return {regime: s / w for regime, (s, w) in totals.items() if w > 0}


def trailing_rate(steps: np.ndarray, curve: np.ndarray, window: int) -> np.ndarray:
    """At each record, the mean reward per step over the last `window` world steps (each record
    weighted by its width); NaN until a whole window has been lived or where a bin is NaN."""
    steps, curve = as_floats(steps), as_floats(curve)
    check_steps(steps, curve)
    widths = record_widths(steps)
    reward = np.concatenate([[0.0], np.cumsum(curve * widths)])
    lived = np.concatenate([[0.0], steps])
    starts = np.searchsorted(lived, steps - window, side="left")
    whole = steps - window >= 0
    covered = steps - lived[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (reward[1:] - reward[starts]) / covered
    return np.where(whole & (covered > 0), rate, math.nan)


def time_to_threshold(
    steps: np.ndarray, curve: np.ndarray, threshold: float, window: int = 1000, hold: int = 5000
) -> int | None:
    """Time-to-threshold in world steps (METRICS.md): the first record step at which the
    `window`-step reward rate is at or above `threshold` and stays there for the next `hold`
    steps; None if the life never gets there (or ends before the hold is over).

    Why a hold: a lucky spell of a thousand steps is not a skill; the rate must keep up."""
    steps = as_floats(steps)
    rate = trailing_rate(steps, curve, window)
    above = rate >= threshold  # NaN compares False
    last = steps[-1] if steps.size else 0.0
    for i in np.flatnonzero(above):
        held = in_window(steps, steps[i] - 1e-9, steps[i] + hold)
        if steps[i] + hold <= last and bool(above[held].all()):
            return int(steps[i])
    return None
