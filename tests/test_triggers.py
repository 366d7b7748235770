"""benchmarks/triggers.py: what it counts is what M chose, tick for tick."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import TINY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import triggers  # noqa: E402


def test_the_benchmark_counts_plans_and_sleeps_as_m_chose_them():
    """A tiny agent on a clock (sleep_replay 0) with frequent trials: every sleep tick and
    every tick are counted once, and PLAN's trials are told apart from admitted plans."""
    genes = {**TINY, "plan_rules": 1, "plan_retry": 50, "plan_reliability": 0.0}
    genes = {k: float(v) for k, v in genes.items()}
    fired, ticks = triggers.live(triggers.STATIONARY, "abm", 0, 300, genes)
    assert set(fired) == set(triggers.TRIGGERS)
    assert all(len(counts) == 300 for counts in fired.values()) and len(ticks) == 300
    sleeps = sum(fired["sleep"])
    assert sleeps > 0 and sum(ticks) >= 300 + sleeps
    assert sum(fired["plan_trials"]) >= 2 * TINY["min_dwell"]
    assert sum(fired["plan"]) == 0  # no verdict in 300 steps: trials only
    assert fired["replay_need"] == [0] * 300  # no window of the replay test has closed


def test_genes_are_parsed_from_the_command_line():
    assert triggers.parse_genes("plan_rules=1, replay_ratio=0.03125") == {
        "plan_rules": 1.0,
        "replay_ratio": 0.03125,
    }
    assert triggers.parse_genes("") == {}
