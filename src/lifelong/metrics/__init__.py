"""The figures `lifelong` reports about a life, each one as defined in ../shared/METRICS.md.

Pure functions on numpy arrays and on the plain records and events a life writes (see
`lifelong.life`), so a benchmark, a plot and a test all compute a figure the same way, and each
figure is computed in one place only. Every name is importable from here; the modules, by job:

    common       conventions (records as bins, windows (a, b], NaN and None) and shared helpers
    curves       lifetime average reward (AUC), the EWMA, reward per regime, time-to-threshold
    changes      change points; drop, recovery and regret on the records; forgetting; transfer
    recovery     recovery and regret after a change on the records' fine bins (change-aligned)
    networks     System A/B: dormant units, effective rank, linear probe, Spearman calibration
    system_m     System M: detection delay, false alarms, time per mode, switches
    aggregation  over seeds: interquartile mean and bootstrap confidence intervals
    summary      every scalar of one life in one call (summarize_life)
"""

from __future__ import annotations

from lifelong.metrics.aggregation import (
    aggregate,
    bootstrap_ci,
    bootstrap_ci_stratified,
    iqm,
    paired_difference,
)
from lifelong.metrics.changes import (
    change_point_stats,
    change_points,
    forgetting,
    forward_transfer,
    recovery_trend,
)
from lifelong.metrics.curves import (
    auc,
    ewma,
    life_records,
    per_regime,
    reward_curve,
    time_to_threshold,
    trailing_rate,
)
from lifelong.metrics.networks import dormant_fraction, effective_rank, linear_probe_r2, spearman
from lifelong.metrics.recovery import (
    ALIGN_AFTER,
    ALIGN_BEFORE,
    RECOVERY_SMOOTHING,
    aligned_mean,
    change_aligned,
    change_recovery,
    median_recovery,
    reward_bins,
)
from lifelong.metrics.summary import SUMMARY_METRICS, last_value, summarize_life
from lifelong.metrics.system_m import (
    MODES,
    detection_stats,
    mode_switches,
    switches_per_1e4,
    time_per_mode,
)

__all__ = [
    "ALIGN_AFTER",
    "ALIGN_BEFORE",
    "MODES",
    "RECOVERY_SMOOTHING",
    "SUMMARY_METRICS",
    "aggregate",
    "aligned_mean",
    "auc",
    "bootstrap_ci",
    "bootstrap_ci_stratified",
    "change_aligned",
    "change_point_stats",
    "change_points",
    "change_recovery",
    "detection_stats",
    "dormant_fraction",
    "effective_rank",
    "ewma",
    "forgetting",
    "forward_transfer",
    "iqm",
    "last_value",
    "life_records",
    "linear_probe_r2",
    "median_recovery",
    "mode_switches",
    "paired_difference",
    "per_regime",
    "recovery_trend",
    "reward_bins",
    "reward_curve",
    "spearman",
    "summarize_life",
    "switches_per_1e4",
    "time_to_threshold",
    "time_per_mode",
    "trailing_rate",
]
