"""System M, the meta-controller: METRICS.md "System M", items "Detection delay" (with false
alarms and missed changes) and "Time per mode and number of switches per 10^4 steps".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lifelong.metrics.common import as_floats, record_widths
from lifelong.modes import Mode

MODES = tuple(mode.value for mode in Mode)


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
        return np.diff(as_floats(ticks), prepend=0.0)
    widths = record_widths(as_floats([r["step"] for r in records]))
    sleep = np.nan_to_num(as_floats([r.get("mode_sleep") for r in records]))
    awake = 1.0 - sleep
    return np.where(awake > 0, widths / np.where(awake > 0, awake, 1.0), widths)


def time_per_mode(records: list[dict], since: float | None = None) -> dict[str, float]:
    """Share of the life's ticks spent in each mode (METRICS.md "Time per mode").

    The records' mode_<name> fractions (of their interval's ticks), averaged with each interval
    weighted by its ticks. Keyed by mode name ("observe", ...); empty without records.
    `since`, a step: only the records that end after it (a late part of the life), each still
    weighted by its own ticks (so pass the whole life, not a slice of it).
    """
    if not records:
        return {}
    names = sorted(
        {k[5:] for r in records for k, v in r.items() if k.startswith("mode_") and v is not None}
    )
    weights = _interval_ticks(records)
    if since is not None:
        weights = np.where(as_floats([r["step"] for r in records]) > since, weights, 0.0)
    out = {}
    for name in names:
        fractions = as_floats([r.get(f"mode_{name}") for r in records])
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
