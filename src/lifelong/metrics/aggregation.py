"""Aggregation over seeds: METRICS.md "Aggregation and honesty" (the interquartile mean and
its stratified-bootstrap 95% confidence interval, Agarwal et al. 2021).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lifelong.metrics.common import as_floats, finite_or_none, finite_values


def _iqm_weights(n: int) -> np.ndarray:
    """Weight of each of n sorted values in the interquartile mean, summing to 1.

    Value i occupies the quantile span [i/n, (i+1)/n]; its weight is the part of that span inside
    the middle half [0.25, 0.75], so boundary values count fractionally.
    """
    edges = np.arange(n + 1) / n
    inside = np.clip(edges[1:], 0.25, 0.75) - np.clip(edges[:-1], 0.25, 0.75)
    return inside / inside.sum()


def iqm(values: Iterable[float | None]) -> float:
    """Interquartile mean (METRICS.md "Aggregation", Agarwal et al. 2021).

    The mean of the middle 50% of the sorted values, boundary values weighted by the fraction of
    them inside the middle half: n = 4 averages the middle two; n = 5 weighs the sorted values
    0, 3/4, 1, 3/4, 0; n = 3 weighs them 1/4, 1, 1/4. (scipy.stats.trim_mean(x, 0.25), which
    rliable uses, instead cuts floor(n / 4) values from each end, so it is the plain mean for
    n = 3 and the mean of the middle three for n = 5.) None and NaN are ignored; NaN if nothing
    is left.
    """
    x = np.sort(finite_values(values))
    return float(x @ _iqm_weights(x.size)) if x.size else math.nan


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_ci(
    values: Iterable[float | None], reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the IQM over seeds (METRICS.md "Aggregation").

    Resamples the finite values with replacement `reps` times and returns the (1 - c)/2 and
    (1 + c)/2 percentiles of the resampled IQMs. (NaN, NaN) without values.
    """
    x = finite_values(values)
    if x.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    samples = np.sort(x[rng.integers(0, x.size, size=(reps, x.size))], axis=1)
    return _percentile_interval(samples @ _iqm_weights(x.size), confidence)


def bootstrap_ci_stratified(
    matrix: np.ndarray, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Stratified bootstrap interval of the IQM over a (seeds, tasks) matrix (rliable's scheme).

    Each replicate resamples the seeds with replacement within every task column (among that
    column's finite entries) and takes the IQM over all resampled entries together. (NaN, NaN)
    without finite entries.
    """
    m = as_floats(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (seeds, tasks), got shape {m.shape}")
    rng = np.random.default_rng(seed)
    columns = [m[np.isfinite(m[:, j]), j] for j in range(m.shape[1])]
    parts = [c[rng.integers(0, c.size, size=(reps, c.size))] for c in columns if c.size]
    if not parts:
        return math.nan, math.nan
    samples = np.sort(np.concatenate(parts, axis=1), axis=1)
    return _percentile_interval(samples @ _iqm_weights(samples.shape[1]), confidence)


def aggregate(
    per_seed: list[float | None], reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, Any]:
    """One metric over seeds: {"iqm", "low", "high", "per_seed"} as in summary.json.

    IQM with its percentile-bootstrap interval (`iqm`, `bootstrap_ci`); per_seed keeps every
    seed's value in order, None where it is not finite. All None without a finite value.
    """
    cleaned = [finite_or_none(v) for v in per_seed]
    finite = [v for v in cleaned if v is not None]
    if not finite:
        return {"iqm": None, "low": None, "high": None, "per_seed": cleaned}
    low, high = bootstrap_ci(finite, reps=reps, confidence=confidence, seed=seed)
    return {"iqm": iqm(finite), "low": low, "high": high, "per_seed": cleaned}


def paired_difference(
    strata: Sequence[Iterable[float | None]],
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Two agents compared pair by pair (METRICS.md "Aggregation and honesty").

    `strata` holds, per world, the differences agent - reference on that world's seeds (the
    same world and seed for both: a pair); None and NaN (a pair missing a value) are left out.
    Returns "mean" (the mean difference over every pair), "low" and "high" (its percentile
    bootstrap interval: each replicate resamples the pairs with replacement within every
    world, so worlds keep their counts), "excludes_zero" (the interval lies wholly above or
    below zero: "A beats B" needs it), "p_greater" (the share of pairs where the agent is
    ahead, ties counting half: P(A > B) over seeds) and "pairs" (how many).

    The statistic is the mean, not the IQM used for one agent's seeds: the decision it serves is
    whether the expected paired gain is zero, and the mean of the differences is that
    estimate (it equals the difference of the two agents' means on the same pairs); pairing
    already cancels what the IQM guards one agent against (a seed that is hard for every
    agent), and an IQM of 10 differences would rest on 5 of them, with a lumpier bootstrap.

    Fewer than 2 pairs give no interval (low and high None, excludes_zero False); no pair at
    all gives mean None too.
    """
    columns = [finite_values(s) for s in strata]
    columns = [c for c in columns if c.size]
    pooled = np.concatenate(columns) if columns else np.zeros(0)
    n = int(pooled.size)
    result: dict[str, Any] = {
        "mean": float(pooled.mean()) if n else None,
        "low": None,
        "high": None,
        "excludes_zero": False,
        "p_greater": float(((pooled > 0).sum() + 0.5 * (pooled == 0).sum()) / n) if n else None,
        "pairs": n,
    }
    if n < 2:
        return result
    rng = np.random.default_rng(seed)
    parts = [c[rng.integers(0, c.size, size=(reps, c.size))] for c in columns]
    samples = np.concatenate(parts, axis=1).mean(axis=1)
    low, high = _percentile_interval(samples, confidence)
    result.update(low=low, high=high, excludes_zero=bool(low > 0 or high < 0))
    return result
