"""Change-aligned recovery: METRICS.md "Continuing life", item "Per change point tau_k"
(pre-change and eventual levels, recovery time RT_k, regret), read on the records' fine bins.

The records are too coarse for recovery: in the Nursery a regime lasts 1,000-2,000 steps, one or
two records, so every agent "recovers within one record". These functions read the fine bins
each record carries (`reward_bins`, see `lifelong.records.RewardBins`) and line them up on the
ground-truth change points (`lifelong.metrics.changes.change_points`). Exact definitions in
docs/benchmarks.md, "Recovery after a change, change-aligned".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lifelong.metrics.common import as_floats
from lifelong.metrics.curves import life_records

ALIGN_BEFORE = 500  # steps shown before each change; also w, the window of both levels below
ALIGN_AFTER = 1000  # steps shown after each change; also the window of regret after a change
RECOVERY_SMOOTHING = 3  # bins in the centred moving average that the recovery rule reads


def reward_bins(records: list[dict]) -> tuple[np.ndarray, np.ndarray, int | None]:
    """A life's fine reward curve from its records: (bin end steps, bin mean rewards, width).

    Bin j covers the world steps ((j - 1) w, j w] and ends at j w (a grid fixed to the step count):
    a record at step s carrying n bins holds the n consecutive bins that end at or before
    floor(s / w) w. Ends come back increasing; a bin written as None is NaN. Empty arrays and None
    when no record carries bins (a life recorded before they existed). Records are read as
    `life_records` gives them; the width is the first binned record's, and a record of another
    width is skipped (a life cannot change it).
    """
    width: int | None = None
    bins: dict[int, float] = {}
    for record in life_records(records):
        step = record["step"]
        values, w = record.get("reward_bins"), record.get("reward_bin_width")
        if not values or not isinstance(w, int) or w < 1:
            continue
        width = w if width is None else width
        if w != width:
            continue
        last = int(step) // w
        for i, value in enumerate(values):
            bins[(last - len(values) + 1 + i) * w] = math.nan if value is None else float(value)
    ends = np.array(sorted(bins), dtype=float)
    return ends, np.array([bins[int(e)] for e in ends], dtype=float), width


def _dense_bins(ends: np.ndarray, values: np.ndarray, width: int) -> np.ndarray:
    """The bins indexed by j = end / width (index 0, ending at birth, is NaN; so are gaps)."""
    index = np.rint(as_floats(ends) / width).astype(int)
    dense = np.full((index.max() + 1) if index.size else 1, math.nan)
    dense[index] = as_floats(values)
    return dense


def _neighbours(taus: Sequence[int], end_of_life: float) -> list[tuple[int, float, float]]:
    """(tau_k, tau_{k-1}, tau_{k+1}) for the sorted distinct changes; -inf before the first
    and the end of life after the last."""
    ordered = sorted({int(t) for t in taus})
    return [
        (
            tau,
            ordered[k - 1] if k > 0 else -math.inf,
            ordered[k + 1] if k + 1 < len(ordered) else end_of_life,
        )
        for k, tau in enumerate(ordered)
    ]


def change_aligned(
    ends: np.ndarray,
    values: np.ndarray,
    width: int,
    taus: Sequence[int],
    before: int = ALIGN_BEFORE,
    after: int = ALIGN_AFTER,
) -> tuple[np.ndarray, np.ndarray]:
    """The change-aligned reward curve of a life: (offsets, one row per change).

    Row k holds the bins around change tau_k (sorted, distinct): the ceil(before / w) bins before
    it and the ceil(after / w) bins after it. A bin counts as after the change when it ends after
    tau (as a record does, see `metrics.common`), so the bin holding the change is the first
    one after it. offsets[i] is where column i's bin ends, in steps from the change rounded down
    to the bin grid: -before + w ... 0 before, w ... after after (exact when tau is a multiple of
    w, as every Nursery change is at the default width).

    An entry is NaN where its bin is not the change's to show, and a change is never dropped:
    - a bin outside the life (before birth, after the last bin, in a record without bins);
    - a bin of another change's stretch: it ends at or before the previous change, or after the
      next one (so a change closer than `before` or `after` to its neighbour shows fewer bins,
      and no bin is charged to two changes).
    The mean curve over changes (`aligned_mean`) thus averages, at each offset, the changes that
    have a bin there.
    """
    nb, na = math.ceil(before / width), math.ceil(after / width)
    offsets = width * np.arange(-nb + 1, na + 1)
    neighbours = _neighbours(taus, as_floats(ends).max() if len(ends) else 0.0)
    matrix = np.full((len(neighbours), nb + na), math.nan)
    if not len(ends):
        return offsets, matrix
    dense = _dense_bins(ends, values, width)
    for row, (tau, previous, following) in enumerate(neighbours):
        index = tau // width + 1 + np.arange(-nb, na)  # index of the first bin after tau: 0
        end = index * width
        mine = (index >= 1) & (index < dense.size) & (end > previous) & (end <= following)
        matrix[row, mine] = dense[index[mine]]
    return offsets, matrix


def aligned_mean(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over changes of change-aligned rows, and how many changes each column averages.

    NaN entries (bins not shown, see `change_aligned`) are left out; a column without any is NaN.
    """
    rows = as_floats(rows)
    if rows.ndim != 2:
        raise ValueError(f"rows must be (changes, bins), got shape {rows.shape}")
    counts = np.isfinite(rows).sum(axis=0)
    sums = np.where(np.isfinite(rows), rows, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), math.nan), counts


def _smooth(values: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average over `size` entries (odd), over those that exist at the edges."""
    half = size // 2
    out = np.full(values.shape, math.nan)
    for i in range(values.size):
        window = values[max(0, i - half) : i + half + 1]
        window = window[np.isfinite(window)]
        if window.size:
            out[i] = window.mean()
    return out


def floor_levels(floor: dict | float | None) -> tuple[dict[str, float], float]:
    """The random agent's level as (level per regime, level of a regime not listed).

    A dict gives its levels keyed by the regime as a string (JSON gives string keys), and their
    mean for a regime it lacks; a number is every regime's level; None means 0, the reward of
    doing nothing.
    """
    if floor is None:
        return {}, 0.0
    if not isinstance(floor, dict):
        return {}, float(floor)
    levels = {str(k): float(v) for k, v in floor.items()}
    return levels, float(np.mean(list(levels.values()))) if levels else 0.0


def _floor_level(floor: dict | float | None, regime: Any) -> float:
    """The random agent's level in `regime` (see `floor_levels`)."""
    levels, fallback = floor_levels(floor)
    return levels.get(str(regime), fallback)


def change_recovery(
    ends: np.ndarray,
    values: np.ndarray,
    width: int,
    changes: Sequence[tuple[int, Any]],
    floor: dict | float | None = None,
    before: int = ALIGN_BEFORE,
    after: int = ALIGN_AFTER,
    smoothing: int = RECOVERY_SMOOTHING,
) -> list[dict]:
    """Recovery and regret after each change, on the fine bins (METRICS.md "Per change point").

    `changes` are (tau, new regime) as `change_points` gives them; one dict per distinct tau,
    oldest first, with keys tau, regime, pre_level, eventual_level, floor, threshold,
    recovery_time, recovered and regret. Bins are placed as in `change_aligned` (a bin belongs
    after tau when it ends after tau); w = `before`, rounded up to whole bins. The stretch of
    change k is the bins ending in (tau_k, tau_{k+1}], the last change's ending with the life.
    - pre_level rho_k: mean of the w steps of bins before the change. None unless all of them
      exist and lie after the previous change: a change within w of birth or of the previous
      change has no pre-change level.
    - eventual_level rho'_k: mean of the last w steps of bins of the stretch (METRICS.md's
      "eventual level"; for the last change, the level the life ended on). None unless the
      stretch is at least 2 w long, so that the level is not read from the dip right after the
      change, and those bins exist.
    - floor: the random agent's level in the new regime (see `_floor_level`).
    - threshold = rho'_k - 0.1 (rho'_k - floor): METRICS.md's "90% of the eventual level" rule.
    - recovery_time RT_k: the end step of the first bin of the stretch whose smoothed reward
      (centred moving average of `smoothing` bins, taken within the stretch so that no
      pre-change bin leaks in) is >= threshold, minus tau. So RT_k is a whole number of bins
      (from the grid: w minus tau's offset in its bin for the first one); `recovered` False and
      RT_k None when no bin of the stretch gets there; both None without an eventual level.
    - regret: sum over the bins of the `after` steps after the change of (rho_k - p) x w, in
      reward: what the change cost against staying at the pre-change level (negative when the
      new regime pays more). None without rho_k, or unless all those bins exist in the stretch
      (the next change, or the life's end, is at least `after` steps away).
    """
    if smoothing < 1 or smoothing % 2 == 0:
        raise ValueError(f"smoothing must be an odd number of bins, got {smoothing}")
    regime_at = {int(tau): regime for tau, regime in changes}
    nb, na = math.ceil(before / width), math.ceil(after / width)
    dense = _dense_bins(ends, values, width) if len(ends) else np.full(1, math.nan)
    last = dense.size - 1  # index of the life's last bin
    results = []
    for tau, previous, following in _neighbours(list(regime_at), last * width):
        first = tau // width + 1  # index of the first bin after the change
        stats: dict[str, Any] = {"tau": tau, "regime": regime_at[tau]}

        pre = np.arange(first - nb, first)
        pre_level = None
        if pre[0] >= 1 and pre[-1] <= last and pre[0] * width > previous:
            pre_level = _mean_all(dense[pre])

        stop = min(int(following // width), last)  # index of the stretch's last bin
        stretch = dense[first : stop + 1] if stop >= first else np.empty(0)
        eventual = _mean_all(stretch[-nb:]) if stretch.size >= 2 * nb else None
        floor_level = _floor_level(floor, regime_at[tau])

        threshold = recovery = recovered = None
        if eventual is not None:
            threshold = eventual - 0.1 * (eventual - floor_level)
            reached = np.flatnonzero(_smooth(stretch, smoothing) >= threshold)  # NaN: False
            recovered = bool(reached.size)
            if recovered:
                recovery = float((first + reached[0]) * width - tau)

        regret = None
        if pre_level is not None and stretch.size >= na:
            post = stretch[:na]
            if np.isfinite(post).all():
                regret = float(((pre_level - post) * width).sum())

        stats.update(
            pre_level=pre_level,
            eventual_level=eventual,
            floor=floor_level,
            threshold=threshold,
            recovery_time=recovery,
            recovered=recovered,
            regret=regret,
        )
        results.append(stats)
    return results


def _mean_all(values: np.ndarray) -> float | None:
    """The mean when every value is there and finite, else None (a level needs its whole window)."""
    return float(values.mean()) if values.size and np.isfinite(values).all() else None


def median_recovery(stats: list[dict]) -> float | None:
    """Median RT_k over the changes where recovery was measurable (`recovered` not None).

    A change that never recovered counts as slower than every one that did (a right-censored
    median, rather than leaving it out, which would flatter an agent that often never recovers):
    exact while at most half never recovered, None beyond that or without a measured change.
    """
    measured = [s for s in stats if s.get("recovered") is not None]
    times = [s["recovery_time"] if s["recovered"] else math.inf for s in measured]
    if not times:
        return None
    median = float(np.median(times))
    return median if math.isfinite(median) else None
