"""benchmarks/plan_advantage.py: the habit and PLAN of a saved agent, side by side, frozen."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from conftest import TINY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import plan_advantage  # noqa: E402

from lifelong.life import open_life  # noqa: E402


@pytest.mark.parametrize("world", ["gym:Pendulum-v1", "gym:CartPole-v1"])
def test_a_saved_agent_acts_by_habit_and_by_plan_without_learning(tmp_path, world):
    genes = {**TINY, "plan_sequences": 16, "plan_iterations": 1}
    config = {"tensorboard": False, "log_every": 100, "checkpoint_every": 300}
    open_life(tmp_path, world=world, config_changes=config, genome_changes=genes).run(300)
    checkpoint = sorted((tmp_path / "checkpoints").iterdir())[-1]
    saved = checkpoint.read_bytes()
    row = plan_advantage.advantage(tmp_path, episodes=1, steps=40)
    assert all(math.isfinite(row[key]) for key in ("habit", "plan", "plan_minus_habit"))
    assert row["plan_minus_habit"] == pytest.approx(row["plan"] - row["habit"])
    assert checkpoint.read_bytes() == saved  # measuring changes nothing saved
