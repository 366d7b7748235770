"""The throughput benchmark runs: our agent and, where installed, the SB3 DQN yardstick."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import throughput  # noqa: E402

TINY = ["warmup=50", "batch_size=8", "q_hidden=16", "memory_recent=1000"]


def _positive_finite(value: float) -> bool:
    return math.isfinite(value) and value > 0


def test_measure_agent_reports_positive_finite_rates():
    result = throughput.measure_agent(300, TINY)
    assert _positive_finite(result["env_steps_per_s"])
    assert _positive_finite(result["ticks_per_s"])
    assert _positive_finite(result["updates_per_s"])
    assert _positive_finite(result["steps_per_b_update"])


def test_measure_sb3_reports_positive_finite_rates():
    pytest.importorskip("stable_baselines3")
    result = throughput.measure_sb3(300, "nursery", TINY)
    assert _positive_finite(result["env_steps_per_s"])
    assert _positive_finite(result["updates_per_s"])  # every timed step is past the warm-up


def test_sb3_runs_at_the_replay_ratio_our_agent_used(monkeypatch, capsys):
    ours = {"env_steps_per_s": 900.0, "updates_per_s": 180.0, "steps_per_b_update": 6.2}
    seen = []
    monkeypatch.setattr(throughput, "measure_agent", lambda *args: ours)

    def sb3(steps, world, overrides):
        seen.append(overrides)
        return {"env_steps_per_s": 1800.0, "updates_per_s": 290.0}

    monkeypatch.setattr(throughput, "measure_sb3", sb3)
    throughput.compare_with_sb3(100, ["lr_b=0.01"], rounds=2, world="nursery")
    assert seen == [["lr_b=0.01", "train_every=6"]] * 2
    assert "ratio ours/SB3: 0.50" in capsys.readouterr().out


def test_sb3_flag_without_stable_baselines3_exits_2(monkeypatch, capsys):
    real_find_spec = throughput.importlib.util.find_spec
    monkeypatch.setattr(
        throughput.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "stable_baselines3" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(sys, "argv", ["throughput.py", "--sb3", "--skip-world"])
    with pytest.raises(SystemExit) as exit_info:
        throughput.main()
    assert exit_info.value.code == 2
    assert "pip install 'lifelong[baseline]'" in capsys.readouterr().err
