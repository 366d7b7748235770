"""The figures `lifelong` reports about a life, each one as defined in ../shared/METRICS.md.

Pure functions on numpy arrays and on the plain records and events a life writes (see
`lifelong.life`), so a benchmark, a plot and a test all compute a figure the same way.

Conventions used throughout:
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

Sections: reward curves, change points, System A/B diagnostics, System M, aggregation, and the
one-call summary of a life.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lifelong.modes import Mode

MODES = tuple(mode.value for mode in Mode)


def _floats(values: Any) -> np.ndarray:
    """A float array; None becomes NaN, so missing values drop out of the nan-aware means."""
    return np.asarray(values if values is not None else [], dtype=float)


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _widths(steps: np.ndarray) -> np.ndarray:
    """Width of each record's interval (steps[i-1], steps[i]], the first starting at birth."""
    return np.diff(steps, prepend=0.0)


def _check_steps(steps: np.ndarray, curve: np.ndarray) -> None:
    if steps.shape != curve.shape:
        raise ValueError(f"steps {steps.shape} and curve {curve.shape} must have the same shape")
    if steps.size and (steps[0] < 0 or np.any(np.diff(steps) <= 0)):
        raise ValueError("record steps must be non-negative and strictly increasing")


def _in_window(steps: np.ndarray, start: float, end: float) -> np.ndarray:
    """Mask of the records whose end step lies in (start, end] (see the module docstring)."""
    return (steps > start) & (steps <= end)


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


# --- Reward curves ----------------------------------------------------------------------------
def auc(curve: np.ndarray) -> float:
    """Lifetime average reward (METRICS.md "Lifetime average reward (AUC)").

    `curve` holds one mean reward per equal-step bin (a life's records already are such bins),
    so the lifetime average is the plain mean of the bins. NaN bins (unmeasured) are ignored; NaN
    when there is no finite bin.
    """
    curve = _floats(curve)
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
    values = _floats(rewards).ravel()
    steps = np.ones_like(values) if widths is None else _floats(widths).ravel()
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


def per_regime(steps: np.ndarray, curve: np.ndarray, regimes: Sequence[Any]) -> dict[int, float]:
    """Mean reward per regime, each record weighted by its width (steps covered).

    A record belongs to the regime in its `regime` key, i.e. the last regime seen by the end of
    its interval. Records with no regime (None) or a NaN reward are left out.
    """
    steps, curve = _floats(steps), _floats(curve)
    _check_steps(steps, curve)
    if len(regimes) != curve.size:
        raise ValueError("regimes must have one entry per record")
    widths = _widths(steps)
    totals: dict[int, list[float]] = {}
    for width, p, regime in zip(widths, curve, regimes, strict=True):
        if regime is None or not math.isfinite(p):
            continue
        acc = totals.setdefault(regime, [0.0, 0.0])
        acc[0] += width * p
        acc[1] += width
    return {regime: s / w for regime, (s, w) in totals.items() if w > 0}


# --- Change points ----------------------------------------------------------------------------
def change_points(events: list[dict], records: list[dict]) -> list[tuple[int, int]]:
    """The ground-truth change points tau_k of a life as (step, new regime), oldest first.

    METRICS.md "Per change point tau_k": ground truth comes from the world's info["shift"]. Taken
    from the events of kind "regime" when the life wrote any, else from the records' `regime` key.
    - events: a life writes one only when the regime changes (never at birth), so every regime
      event is a change; one that repeats the current regime (a damaged log) is ignored;
    - records: the first regime a record shows is the one the life was born into; a change is
      first shown by record i, so it happened in (steps[i-1], steps[i]] and tau = steps[i-1],
      the start of that interval (the previous record's step).
    """
    regime_events = [e for e in events if e.get("kind") == "regime" and e.get("regime") is not None]
    changes: list[tuple[int, int]] = []
    if regime_events:
        regime_events.sort(key=lambda e: e["step"])
        current = None
        for event in regime_events:
            regime = event["regime"]
            if regime != current:
                changes.append((int(event["step"]), regime))
            current = regime
        return changes
    current, previous_step = None, 0
    for record in records:
        regime = record.get("regime")
        if regime is not None:
            if current is not None and regime != current:
                changes.append((int(previous_step), regime))
            current = regime
        previous_step = record["step"]
    return changes


def change_point_stats(
    steps: np.ndarray,
    curve: np.ndarray,
    taus: list[int],
    window: int,
    floor: float | np.ndarray,
    reference: np.ndarray | None,
    horizon: int,
) -> list[dict]:
    """Drop, recovery and regret around each change point (METRICS.md "Per change point tau_k").

    One dict per tau (same order), with keys tau, rho, rho_eventual, floor, threshold, drop,
    recovery_time, regret; a value that cannot be measured is None. Windows select records by
    their end step as in the module docstring. The stretch of change k is (tau_k, next], where
    next is tau_{k+1} or the last record's step; every post-change quantity stays inside it so
    that one change is never charged with the next one's losses.
    - rho: mean p over (max(tau - w, tau_{k-1}), tau]; the last record before tau if that
      window holds none (and None if no record lies between the two changes).
    - rho_eventual: mean p over the last w steps of the stretch, (max(next - w, tau), next].
    - floor: the random agent's level, a scalar or a curve aligned with `steps` (then its mean
      over the same records as rho_eventual).
    - drop: rho - min p over (tau, min(tau + w, next)] (the first record after tau at least).
    - recovery_time: s - tau for the first record of the stretch with p(s) >= threshold =
      rho_eventual - 0.1 (rho_eventual - floor); None if no record of the stretch gets there. As
      s is a record's end step, a recovery within the first record after tau reads as one width.
    - regret: sum of (reference - p) * width over the records in (tau, min(tau + W, next)]
      (W = horizon); None without a reference. NaN entries of either curve are skipped.
    """
    steps, curve = _floats(steps), _floats(curve)
    _check_steps(steps, curve)
    floor_curve = np.broadcast_to(_floats(floor), curve.shape)
    ref = None if reference is None else _floats(reference)
    if ref is not None and ref.shape != curve.shape:
        raise ValueError(f"reference {ref.shape} must be aligned with the curve {curve.shape}")
    widths = _widths(steps)
    ordered = sorted(int(t) for t in taus)
    end_of_life = float(steps[-1]) if steps.size else 0.0
    results = []
    for k, tau in enumerate(ordered):
        previous = ordered[k - 1] if k > 0 else -math.inf
        following = ordered[k + 1] if k + 1 < len(ordered) else end_of_life
        stats: dict[str, Any] = {"tau": tau}

        pre = _in_window(steps, max(tau - window, previous), tau)
        before = _in_window(steps, previous, tau)
        if not pre.any() and before.any():
            pre = steps == steps[before][-1]
        rho = _mean(curve[pre])

        stretch = _in_window(steps, tau, following)
        eventual = _in_window(steps, max(following - window, tau), following)
        rho_eventual = _mean(curve[eventual])
        floor_level = _mean(floor_curve[eventual])

        early = _in_window(steps, tau, min(tau + window, following))
        if not early.any() and stretch.any():
            early = steps == steps[stretch][0]
        low = curve[early][np.isfinite(curve[early])]
        drop = rho - float(low.min()) if rho is not None and low.size else None

        threshold = recovery = None
        if rho_eventual is not None and floor_level is not None:
            threshold = rho_eventual - 0.1 * (rho_eventual - floor_level)
            reached = stretch & (curve >= threshold)  # NaN compares False
            if reached.any():
                recovery = float(steps[reached][0] - tau)

        regret = None
        if ref is not None:
            horizon_mask = _in_window(steps, tau, min(tau + horizon, following))
            terms = (ref - curve)[horizon_mask] * widths[horizon_mask]
            terms = terms[np.isfinite(terms)]
            regret = float(terms.sum()) if terms.size else None

        stats.update(
            rho=rho,
            rho_eventual=rho_eventual,
            floor=floor_level,
            threshold=threshold,
            drop=drop,
            recovery_time=recovery,
            regret=regret,
        )
        results.append(stats)
    return results


def recovery_trend(rts: list[float | None]) -> float:
    """Least-squares slope of RT_k over k (METRICS.md: "the trend of RT_k over k").

    k is the change's index in `rts`; entries that are None or NaN (never recovered) are left
    out but keep their neighbours' k. A positive slope (steps per change) means recoveries are
    getting slower: plasticity is being lost. NaN with fewer than two values.
    """
    values = _floats(rts)
    k = np.arange(values.size, dtype=float)
    keep = np.isfinite(values)
    if keep.sum() < 2:
        return math.nan
    k, values = k[keep], values[keep]
    dk = k - k.mean()
    return float((dk * (values - values.mean())).sum() / (dk * dk).sum())


def _visits(regimes: Sequence[Any]) -> list[tuple[Any, int, int]]:
    """Maximal runs of consecutive records in one regime, as (regime, first, last) indices.

    Records with no regime (None) are skipped without breaking a run.
    """
    runs: list[list[int]] = []
    for i, regime in enumerate(regimes):
        if regime is None:
            continue
        if runs and runs[-1][0] == regime:
            runs[-1][2] = i
        else:
            runs.append([regime, i, i])
    return [(r, first, last) for r, first, last in runs]


def forgetting(
    steps: np.ndarray, curve: np.ndarray, regimes: Sequence[Any], window: int
) -> list[float]:
    """Forgetting on each regime revisited (METRICS.md "Forgetting", Continual World's F_i).

    For each return to a regime seen before: p when it was last left (mean over the records of
    the previous visit ending in its last `window` steps) minus p on return (mean over the records
    of the new visit ending in its first `window` steps, counted from the end of the record
    before the visit). Each side uses at least one record. Positive means performance was lost
    while away. One value per return, in order; returns without finite rewards are skipped.
    """
    steps, curve = _floats(steps), _floats(curve)
    _check_steps(steps, curve)
    if len(regimes) != curve.size:
        raise ValueError("regimes must have one entry per record")
    last_visit: dict[int, tuple[int, int]] = {}
    out: list[float] = []
    for regime, first, last in _visits(regimes):
        if regime in last_visit:
            p_first, p_last = last_visit[regime]
            left_end = steps[p_last]
            left = _in_window(steps, left_end - window, left_end)
            left[:p_first] = False
            left[p_last] = True
            start = steps[first - 1] if first > 0 else 0.0
            back = _in_window(steps, start, start + window)
            back[last + 1 :] = False
            back[first] = True
            before, after = _mean(curve[left]), _mean(curve[back])
            if before is not None and after is not None:
                out.append(before - after)
        last_visit[regime] = (first, last)
    return out


def forward_transfer(auc_task: float, auc_scratch: float) -> float:
    """Forward transfer (AUC_i - AUC_i^scratch) / (1 - AUC_i^scratch) (METRICS.md, Continual World).

    Both AUCs must already be normalised to [0, 1] (e.g. (x - random) / (best - random)). NaN
    when the scratch learner is already perfect (AUC^scratch = 1).
    """
    for name, value in (("auc_task", auc_task), ("auc_scratch", auc_scratch)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be normalised to [0, 1], got {value}")
    if auc_scratch >= 1.0:
        return math.nan
    return (auc_task - auc_scratch) / (1.0 - auc_scratch)


# --- Change-aligned recovery ------------------------------------------------------------------
# The records are too coarse for recovery: in the Nursery a regime lasts 1,000-2,000 steps, one or
# two records, so every agent "recovers within one record". These functions read the fine bins
# each record carries (`reward_bins`, see `lifelong.records.RewardBins`) and line them up on the
# ground-truth change points.

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
    index = np.rint(_floats(ends) / width).astype(int)
    dense = np.full((index.max() + 1) if index.size else 1, math.nan)
    dense[index] = _floats(values)
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
    tau (as a record does, see the module docstring), so the bin holding the change is the first
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
    neighbours = _neighbours(taus, _floats(ends).max() if len(ends) else 0.0)
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
    rows = _floats(rows)
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


def _floor_level(floor: dict | float | None, regime: Any) -> float:
    """The random agent's level in `regime`: floor[regime] (keys compared as strings, as JSON
    gives them), the mean of the dict for a regime it lacks, the number itself, or 0 for None."""
    if floor is None:
        return 0.0
    if not isinstance(floor, dict):
        return float(floor)
    levels = {str(k): float(v) for k, v in floor.items()}
    fallback = float(np.mean(list(levels.values()))) if levels else 0.0
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


# --- System A/B diagnostics -------------------------------------------------------------------
def dormant_fraction(activations: np.ndarray, tau: float = 0.025) -> float:
    """Fraction of dormant units of one layer (METRICS.md "Dormant units", Sokar et al. 2023).

    activations (N, H) on a probe batch; unit i scores s_i = E|h_i| / ((1/H) sum_k E|h_k|) and
    is dormant when s_i <= tau (tau = 0 counts dead units). A layer that is all zeros is all
    dormant (1.0).
    """
    a = np.abs(_floats(activations))
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"activations must be (N, H), got shape {a.shape}")
    per_unit = a.mean(axis=0)
    layer = per_unit.mean()
    if layer == 0:
        return 1.0
    return float(np.mean(per_unit / layer <= tau))


def effective_rank(features: np.ndarray) -> float:
    """Effective rank erank = exp(-sum p_i ln p_i), p_i = s_i / sum_j s_j (METRICS.md "Collapse").

    s are the singular values of the (N, D) feature batch as given (not centred), following
    Roy & Vetterli (2007). Ranges from 1 (rank one) to min(N, D); 0.0 for an all-zero batch,
    which is total collapse.
    """
    x = _floats(features)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    s = np.linalg.svd(x, compute_uv=False)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def linear_probe_r2(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    ridge: float = 1e-3,
) -> float:
    """Held-out R^2 of a ridge-regression probe on frozen features (METRICS.md "Linear probe").

    Fits y = x W + b on the training set with an L2 penalty `ridge` on W (not on the bias b),
    then scores R^2 = 1 - SS_res / SS_tot per target column of the test set (SS_tot around the
    test mean) and averages over columns. Columns with zero test variance have no R^2 and are
    skipped; NaN when none is left.
    """
    x_tr, x_te = _floats(x_train), _floats(x_test)
    y_tr, y_te = _floats(y_train), _floats(y_test)
    y_tr = y_tr[:, None] if y_tr.ndim == 1 else y_tr
    y_te = y_te[:, None] if y_te.ndim == 1 else y_te
    x_mean, y_mean = x_tr.mean(axis=0), y_tr.mean(axis=0)
    d = x_tr.shape[1]
    # Centring removes the bias from the penalised problem; stacking sqrt(ridge) I below the data
    # turns ridge into least squares, which also copes with ridge = 0 and rank-deficient x.
    a = np.vstack([x_tr - x_mean, math.sqrt(ridge) * np.eye(d)])
    b = np.vstack([y_tr - y_mean, np.zeros((d, y_tr.shape[1]))])
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    predicted = (x_te - x_mean) @ w + y_mean
    ss_res = ((y_te - predicted) ** 2).sum(axis=0)
    ss_tot = ((y_te - y_te.mean(axis=0)) ** 2).sum(axis=0)
    keep = ss_tot > 0
    if not keep.any():
        return math.nan
    return float(np.mean(1.0 - ss_res[keep] / ss_tot[keep]))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    return mean_rank[inverse.ravel()]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation with average ranks for ties (METRICS.md "Calibration").

    The Pearson correlation of the two rank vectors. Pairs with a NaN on either side are
    dropped; NaN with fewer than two pairs or when one side is constant.
    """
    a, b = _floats(a).ravel(), _floats(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same length")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return math.nan
    ra, rb = _average_ranks(a[keep]), _average_ranks(b[keep])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else math.nan


# --- System M ---------------------------------------------------------------------------------
def detection_stats(
    taus: list[int], alarms: list[int], total_steps: int, max_delay: int
) -> dict[str, Any]:
    """Detection delay, missed changes and false alarms (METRICS.md, System M).

    Change tau_k owns the alarms at steps a with tau_k <= a <= tau_k + max_delay and
    a < tau_{k+1}; its delay is (first such alarm) - tau_k, and it is missed when it owns none.
    Every alarm no change owns is false. The stationary stretches are the life's steps outside
    the owned windows, each window counting min(max_delay, tau_{k+1} - tau_k, total_steps -
    tau_k) steps; false_alarms_per_1e5 = false alarms * 1e5 / stationary steps (None if there
    are none). Keys: delays (list, one per detected change), delay_median (None if no delays),
    missed, false_alarms_per_1e5.
    """
    ordered = sorted(int(t) for t in taus)
    alarm_steps = np.sort(np.asarray(alarms, dtype=float))
    owned = np.zeros(alarm_steps.shape, dtype=bool)
    delays: list[int] = []
    covered = 0.0
    for k, tau in enumerate(ordered):
        following = ordered[k + 1] if k + 1 < len(ordered) else math.inf
        mine = (alarm_steps >= tau) & (alarm_steps <= tau + max_delay) & (alarm_steps < following)
        owned |= mine
        if mine.any():
            delays.append(int(alarm_steps[mine][0] - tau))
        covered += max(0.0, min(tau + max_delay, following, total_steps) - tau)
    stationary = total_steps - covered
    false_alarms = int((~owned).sum())
    return {
        "delays": delays,
        "delay_median": float(np.median(delays)) if delays else None,
        "missed": len(ordered) - len(delays),
        "false_alarms_per_1e5": false_alarms * 1e5 / stationary if stationary > 0 else None,
    }


def _interval_ticks(records: list[dict]) -> np.ndarray:
    """Agent ticks (decisions) in each record's interval.

    From the cumulative `ticks` counter when every record has it; otherwise estimated as
    width / (1 - mode_sleep), since every tick but a sleep tick steps the world once.
    """
    ticks = [r.get("ticks") for r in records]
    if all(t is not None for t in ticks):
        return np.diff(_floats(ticks), prepend=0.0)
    widths = _widths(_floats([r["step"] for r in records]))
    sleep = np.nan_to_num(_floats([r.get("mode_sleep") for r in records]))
    awake = 1.0 - sleep
    return np.where(awake > 0, widths / np.where(awake > 0, awake, 1.0), widths)


def time_per_mode(records: list[dict]) -> dict[str, float]:
    """Share of the life's ticks spent in each mode (METRICS.md "Time per mode").

    The records' mode_<name> fractions (of their interval's ticks), averaged with each interval
    weighted by its ticks. Keyed by mode name ("observe", ...); empty without records.
    """
    if not records:
        return {}
    names = sorted(
        {k[5:] for r in records for k, v in r.items() if k.startswith("mode_") and v is not None}
    )
    weights = _interval_ticks(records)
    out = {}
    for name in names:
        fractions = _floats([r.get(f"mode_{name}") for r in records])
        keep = np.isfinite(fractions) & (weights > 0)
        if keep.any():
            out[name] = float((fractions[keep] * weights[keep]).sum() / weights[keep].sum())
    return out


def mode_switches(events: list[dict]) -> list[dict]:
    """M's mode events that are real switches, oldest first: a repeat of the current mode is
    not, and neither is a first event at step 0 (the mode M was born in)."""
    switches, current = [], None
    for i, event in enumerate(e for e in events if e.get("kind") == "mode"):
        if i == 0 and event.get("step", 0) <= 0:
            current = event.get("mode")
            continue
        if event.get("mode") != current:
            switches.append(event)
        current = event.get("mode")
    return switches


def switches_per_1e4(events: list[dict], total_steps: int) -> float:
    """Mode switches of System M per 10^4 world steps (METRICS.md "Time per mode ... switches").

    Counts the events of kind "mode" that change the mode (see `mode_switches`); NaN for a life
    with no steps.
    """
    if total_steps <= 0:
        return math.nan
    return len(mode_switches(events)) * 1e4 / total_steps


# --- Aggregation ------------------------------------------------------------------------------
def _finite(values: Iterable[float | None]) -> np.ndarray:
    x = _floats([math.nan if v is None else v for v in values]).ravel()
    return x[np.isfinite(x)]


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
    x = np.sort(_finite(values))
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
    x = _finite(values)
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
    m = _floats(matrix)
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
    cleaned = [_finite_or_none(v) for v in per_seed]
    finite = [v for v in cleaned if v is not None]
    if not finite:
        return {"iqm": None, "low": None, "high": None, "per_seed": cleaned}
    low, high = bootstrap_ci(finite, reps=reps, confidence=confidence, seed=seed)
    return {"iqm": iqm(finite), "low": low, "high": high, "per_seed": cleaned}


# --- One life ---------------------------------------------------------------------------------
SUMMARY_METRICS = (
    "auc",
    "recovery_median",
    "recovery_trend",
    "drop_mean",
    "regret_mean",
    "aligned_recovery_median",
    "aligned_regret_mean",
    "forgetting_mean",
    "detection_delay_median",
    "false_alarms_per_1e5",
    "missed",
    "switches_per_1e4",
    "coverage",
    "tv_fraction",
    "env_steps_per_s",
    "updates_per_s",
    *(f"time_{mode}" for mode in MODES),
)


def last_value(records: list[dict], key: str) -> float | None:
    """The newest finite number stored under `key`, skipping nulls and non-numbers."""
    for record in reversed(records):
        value = record.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    return None


def _floor_curve(
    floor: dict[int, float] | float | None, steps: np.ndarray, changes: list[tuple[int, int]]
) -> np.ndarray:
    """The random agent's level per record: floor[new regime] over each change's stretch.

    A dict falls back to the mean of its values for a regime it lacks (and before the first
    change, where no recovery is measured); None means 0, the reward of doing nothing.
    """
    if floor is None:
        return np.zeros_like(steps)
    if not isinstance(floor, dict):
        return np.full_like(steps, float(floor))
    levels = {str(k): float(v) for k, v in floor.items()}  # keys may be strings from JSON
    fallback = float(np.mean(list(levels.values()))) if levels else 0.0
    curve = np.full_like(steps, fallback)
    for tau, regime in changes:
        curve[steps > tau] = levels.get(str(regime), fallback)
    return curve


def _aligned_reference(reference: np.ndarray | None, n: int) -> np.ndarray | None:
    """The reference on the life's record grid: cut to n records, or padded with NaN."""
    if reference is None:
        return None
    ref = _floats(reference).ravel()[:n]
    return np.concatenate([ref, np.full(n - ref.size, math.nan)])


def _updates_per_s(records: list[dict]) -> float | None:
    """Gradient updates (A + B) per second of wall time between the first and last record."""
    timed = [
        r
        for r in records
        if r.get("wall_time") is not None
        and r.get("updates_a") is not None
        and r.get("updates_b") is not None
    ]
    if len(timed) < 2:
        return None
    seconds = timed[-1]["wall_time"] - timed[0]["wall_time"]
    updates = sum(timed[-1][k] - timed[0][k] for k in ("updates_a", "updates_b"))
    return updates / seconds if seconds > 0 else None


def summarize_life(
    records: list[dict],
    events: list[dict],
    floor: dict[int, float] | float | None = None,
    reference: np.ndarray | None = None,
    window: int | None = None,
    explore_as_alarm: bool = True,
    before: int = ALIGN_BEFORE,
    after: int = ALIGN_AFTER,
) -> dict[str, Any]:
    """Every scalar metric of one life, keyed by the summary metric names (see SUMMARY_METRICS).

    - window (w): default 10 record widths (10 x the median width). It is also the regret
      horizon W and the detection's max_delay.
    - floor: the random agent's level, per regime (dict: floor[new regime] for each change, the
      dict's mean for regimes it lacks) or one number; None means 0.
    - reference: a reward curve on the same record grid (same log_every); cut or NaN-padded to
      this life's length. Without it regret_mean is None.
    - recovery_median and recovery_trend use the changes that recovered; changes that never did
      are left out (recovery_median is None when none recovered). Those recovery times, a list,
      are under "recovery_times" (absent for a life without records), for pooling across lives.
      These read the records, so they cannot see a recovery faster than one record.
    - aligned_recovery_median and aligned_regret_mean read the records' fine bins instead
      (`change_recovery` with `before` and `after`, the same floor): the right-censored median
      of RT_k (`median_recovery`) and the mean regret after a change against the pre-change
      level. None for a life without bins or without a measurable change.
    - Detection alarms are the events of kind "alarm", or, in a life with none and when
      `explore_as_alarm` (an agent whose modes M chooses), M's switches to "explore". A life with
      neither has no detector: detection is None (a timer's or a schedule's switches are no
      detection).
    - switches_per_1e4 is None when there are no mode events but the records' `mode` changes
      (the events were not written), 0 when the mode never changed.
    - coverage: the last record's; tv_fraction: step-weighted mean of tv_in_view;
      env_steps_per_s: median of the records'; updates_per_s: see `_updates_per_s`;
      time_<mode>: `time_per_mode`; diag_*: the last value of each present.
    A value that cannot be measured is None; missing inputs never raise.
    """
    summary: dict[str, Any] = dict.fromkeys(SUMMARY_METRICS)
    records = life_records(records)
    if not records:
        return summary
    steps = _floats([r["step"] for r in records])
    curve = _floats([r.get("reward_rate") for r in records])
    regimes = [r.get("regime") for r in records]
    total_steps = int(steps[-1])
    if window is None:
        window = int(10 * np.median(_widths(steps)))
    summary["auc"] = auc(curve)

    changes = change_points(events, records)
    taus = [tau for tau, _ in changes]
    stats = change_point_stats(
        steps,
        curve,
        taus,
        window,
        _floor_curve(floor, steps, changes),
        _aligned_reference(reference, steps.size),
        horizon=window,
    )
    rts = [s["recovery_time"] for s in stats]
    recovered = _finite(rts)
    summary["recovery_median"] = float(np.median(recovered)) if recovered.size else None
    summary["recovery_trend"] = recovery_trend(rts)
    summary["drop_mean"] = _mean(_finite(s["drop"] for s in stats))
    summary["regret_mean"] = _mean(_finite(s["regret"] for s in stats))
    ends, values, width = reward_bins(records)
    if width is not None:
        aligned = change_recovery(ends, values, width, changes, floor, before, after)
        summary["aligned_recovery_median"] = median_recovery(aligned)
        summary["aligned_regret_mean"] = _mean(_finite(s["regret"] for s in aligned))
    summary["forgetting_mean"] = _mean(_floats(forgetting(steps, curve, regimes, window)))

    alarms = [e["step"] for e in events if e.get("kind") == "alarm"]
    mode_events = [e for e in events if e.get("kind") == "mode"]
    if not alarms and explore_as_alarm:
        alarms = [e["step"] for e in mode_switches(events) if e.get("mode") == "explore"]
    if alarms or (mode_events and explore_as_alarm):
        detection = detection_stats(taus, alarms, total_steps, max_delay=window)
        summary["detection_delay_median"] = detection["delay_median"]
        summary["false_alarms_per_1e5"] = detection["false_alarms_per_1e5"]
        summary["missed"] = float(detection["missed"])

    modes_seen = {r.get("mode") for r in records if r.get("mode") is not None}
    if mode_events or len(modes_seen) <= 1:
        summary["switches_per_1e4"] = switches_per_1e4(events, total_steps)
    for mode, share in time_per_mode(records).items():
        summary[f"time_{mode}"] = share

    summary["coverage"] = last_value(records, "coverage")
    tv = _floats([r.get("tv_in_view") for r in records])
    widths = _widths(steps)
    seen = np.isfinite(tv)
    if seen.any() and widths[seen].sum() > 0:
        summary["tv_fraction"] = float((tv[seen] * widths[seen]).sum() / widths[seen].sum())
    speeds = _finite(r.get("steps_per_s") for r in records)
    summary["env_steps_per_s"] = float(np.median(speeds)) if speeds.size else None
    summary["updates_per_s"] = _updates_per_s(records)
    for key in sorted({k for r in records for k in r if k.startswith("diag_")}):
        summary[key] = last_value(records, key)
    summary = {k: _finite_or_none(v) for k, v in summary.items()}
    summary["recovery_times"] = [float(rt) for rt in recovered]  # for pooling across lives
    return summary
