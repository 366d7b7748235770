"""The summary of one life: every scalar of METRICS.md that its records and events give, in
one call (`summarize_life`), keyed by SUMMARY_METRICS.

"Continuing life" (AUC, change points, recovery, regret, forgetting) comes from `curves`,
`changes` and `recovery`, "System M" (detection, switches, time per mode) from `system_m`. Only
what is read straight off the records' counters is computed here: "Compute accounting" (env
steps and gradient updates per second), the Noisy TV's fraction of steps with the TV in view,
coverage and the last value of each `diag_*` diagnostic. A bench aggregates these over seeds
(`lifelong.metrics.aggregation`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lifelong.metrics.changes import change_point_stats, change_points, forgetting, recovery_trend
from lifelong.metrics.common import (
    as_floats,
    finite_or_none,
    finite_values,
    mean_or_none,
    record_widths,
)
from lifelong.metrics.curves import auc, life_records, reward_curve
from lifelong.metrics.recovery import (
    ALIGN_AFTER,
    ALIGN_BEFORE,
    change_recovery,
    floor_levels,
    median_recovery,
    reward_bins,
)
from lifelong.metrics.system_m import (
    MODES,
    detection_stats,
    mode_switches,
    switches_per_1e4,
    time_per_mode,
)

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
    levels, fallback = floor_levels(floor)
    curve = np.full_like(steps, fallback)
    for tau, regime in changes:
        curve[steps > tau] = levels.get(str(regime), fallback)
    return curve


def _aligned_reference(reference: np.ndarray | None, n: int) -> np.ndarray | None:
    """The reference on the life's record grid: cut to n records, or padded with NaN."""
    if reference is None:
        return None
    ref = as_floats(reference).ravel()[:n]
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
      horizon W.
    - Detection's max_delay is `after`, the change-aligned window (1,000 steps): an alarm later
      than that after a change is a false one. It was w until 2026-12-03, which in 100-record
      lives is 10% of the life, longer than the gaps between the bandits' or the Nursery's
      changes: nearly every alarm then belonged to some change, and the false-alarm rate was
      measured on the steps before the first change alone.
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
    steps = as_floats([r["step"] for r in records])
    curve = reward_curve(records)
    regimes = [r.get("regime") for r in records]
    total_steps = int(steps[-1])
    if window is None:
        window = int(10 * np.median(record_widths(steps)))
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
    recovered = finite_values(rts)
    summary["recovery_median"] = float(np.median(recovered)) if recovered.size else None
    summary["recovery_trend"] = recovery_trend(rts)
    summary["drop_mean"] = mean_or_none(finite_values(s["drop"] for s in stats))
    summary["regret_mean"] = mean_or_none(finite_values(s["regret"] for s in stats))
    ends, values, width = reward_bins(records)
    if width is not None:
        aligned = change_recovery(ends, values, width, changes, floor, before, after)
        summary["aligned_recovery_median"] = median_recovery(aligned)
        summary["aligned_regret_mean"] = mean_or_none(finite_values(s["regret"] for s in aligned))
    summary["forgetting_mean"] = mean_or_none(as_floats(forgetting(steps, curve, regimes, window)))

    alarms = [e["step"] for e in events if e.get("kind") == "alarm"]
    mode_events = [e for e in events if e.get("kind") == "mode"]
    if not alarms and explore_as_alarm:
        alarms = [e["step"] for e in mode_switches(events) if e.get("mode") == "explore"]
    if alarms or (mode_events and explore_as_alarm):
        detection = detection_stats(taus, alarms, total_steps, max_delay=after)
        summary["detection_delay_median"] = detection["delay_median"]
        summary["false_alarms_per_1e5"] = detection["false_alarms_per_1e5"]
        summary["missed"] = float(detection["missed"])

    modes_seen = {r.get("mode") for r in records if r.get("mode") is not None}
    if mode_events or len(modes_seen) <= 1:
        summary["switches_per_1e4"] = switches_per_1e4(events, total_steps)
    for mode, share in time_per_mode(records).items():
        summary[f"time_{mode}"] = share

    summary["coverage"] = last_value(records, "coverage")
    tv = as_floats([r.get("tv_in_view") for r in records])
    widths = record_widths(steps)
    seen = np.isfinite(tv)
    if seen.any() and widths[seen].sum() > 0:
        summary["tv_fraction"] = float((tv[seen] * widths[seen]).sum() / widths[seen].sum())
    speeds = finite_values(r.get("steps_per_s") for r in records)
    summary["env_steps_per_s"] = float(np.median(speeds)) if speeds.size else None
    summary["updates_per_s"] = _updates_per_s(records)
    for key in sorted({k for r in records for k in r if k.startswith("diag_")}):
        summary[key] = last_value(records, key)
    summary = {k: finite_or_none(v) for k, v in summary.items()}
    summary["recovery_times"] = [float(rt) for rt in recovered]  # for pooling across lives
    return summary
