"""Change points on a life's records: METRICS.md "Continuing life", items "Per change point
tau_k" (drop, recovery time, regret and the trend of RT_k, read on the records), "Forgetting"
and "Forward transfer".

The recovery read on the records' fine reward bins instead is in `lifelong.metrics.recovery`.
Conventions (records as bins, windows (a, b]): see `lifelong.metrics.common`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lifelong.metrics.common import as_floats, check_steps, in_window, mean_or_none, record_widths


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
    their end step as in `lifelong.metrics.common`. The stretch of change k is (tau_k, next], where
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
    steps, curve = as_floats(steps), as_floats(curve)
    check_steps(steps, curve)
    floor_curve = np.broadcast_to(as_floats(floor), curve.shape)
    ref = None if reference is None else as_floats(reference)
    if ref is not None and ref.shape != curve.shape:
        raise ValueError(f"reference {ref.shape} must be aligned with the curve {curve.shape}")
    widths = record_widths(steps)
    ordered = sorted(int(t) for t in taus)
    end_of_life = float(steps[-1]) if steps.size else 0.0
    results = []
    for k, tau in enumerate(ordered):
        previous = ordered[k - 1] if k > 0 else -math.inf
        following = ordered[k + 1] if k + 1 < len(ordered) else end_of_life
        stats: dict[str, Any] = {"tau": tau}

        pre = in_window(steps, max(tau - window, previous), tau)
        before = in_window(steps, previous, tau)
        if not pre.any() and before.any():
            pre = steps == steps[before][-1]
        rho = mean_or_none(curve[pre])

        stretch = in_window(steps, tau, following)
        eventual = in_window(steps, max(following - window, tau), following)
        rho_eventual = mean_or_none(curve[eventual])
        floor_level = mean_or_none(floor_curve[eventual])

        early = in_window(steps, tau, min(tau + window, following))
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
            horizon_mask = in_window(steps, tau, min(tau + horizon, following))
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
    values = as_floats(rts)
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
    steps, curve = as_floats(steps), as_floats(curve)
    check_steps(steps, curve)
    if len(regimes) != curve.size:
        raise ValueError("regimes must have one entry per record")
    last_visit: dict[int, tuple[int, int]] = {}
    out: list[float] = []
    for regime, first, last in _visits(regimes):
        if regime in last_visit:
            p_first, p_last = last_visit[regime]
            left_end = steps[p_last]
            left = in_window(steps, left_end - window, left_end)
            left[:p_first] = False
            left[p_last] = True
            start = steps[first - 1] if first > 0 else 0.0
            back = in_window(steps, start, start + window)
            back[last + 1 :] = False
            back[first] = True
            before, after = mean_or_none(curve[left]), mean_or_none(curve[back])
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
