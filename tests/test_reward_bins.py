"""The fine reward bins in every record: right on known rewards, the same key for every kind of
life, and the same bins whether or not a life was interrupted."""

import gymnasium as gym
import pytest
from conftest import TINY

import lifelong.life as life_module
import lifelong.sb3_life as sb3_module
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.life import open_life, read_metrics
from lifelong.records import RewardBins
from lifelong.worlds import make_world

QUICK = {"tensorboard": False, "log_every": 100, "checkpoint_every": 1_000_000}


class StepReward(gym.Wrapper):
    """Reward t at the world's t-th step (1, 2, 3, ...): every bin's mean is known."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.t = 0

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return obs, float(self.t), terminated, truncated, info


def known_mean(end: int, width: int) -> float:
    """Mean of the rewards end - width + 1, ..., end."""
    return end - (width - 1) / 2


def test_bins_close_on_the_step_grid_and_wait_for_the_next_record():
    bins = RewardBins(3)
    for step in range(1, 8):
        bins.add(step, float(step))
    assert bins.take() == [2.0, 5.0] and bins.take() == []  # step 7 is in the open bin
    state = bins.state_dict()
    again = RewardBins(3)
    again.load_state_dict(state)
    for fresh in (bins, again):
        fresh.add(8, 8.0)
        fresh.add(9, float("inf"))
    assert bins.take() == again.take() == [None]  # strict JSON: not finite, not measured
    with pytest.raises(ValueError):
        RewardBins(0)
    with pytest.raises(UserError, match="bin_width"):
        Config(bin_width=0)


def test_a_life_records_the_mean_reward_of_each_bin(tmp_path, monkeypatch):
    monkeypatch.setattr(
        life_module, "make_world", lambda spec, **kw: StepReward(make_world(spec, **kw))
    )
    life = open_life(
        tmp_path / "life",
        world="nursery-small",
        config_changes={**QUICK, "agent": "random", "bin_width": 30},
    )
    life.run(250)
    records = read_metrics(tmp_path / "life")
    assert [r["step"] for r in records] == [100, 200]
    # Bins end at 30, 60, 90 (record 100), then 120, 150, 180 (record 200); the bin ending at
    # 120 straddles the records' boundary and goes to the record in which it completes.
    assert records[0]["reward_bins"] == [known_mean(e, 30) for e in (30, 60, 90)]
    assert records[1]["reward_bins"] == [known_mean(e, 30) for e in (120, 150, 180)]
    assert all(r["reward_bin_width"] == 30 for r in records)
    # The record's reward rate is its interval's mean, not M's fast EMA (recorded apart).
    assert [r["reward_rate"] for r in records] == [known_mean(100, 100), known_mean(200, 100)]
    assert records[1]["reward_rate_fast"] > records[1]["reward_rate"]  # an EMA of the newest


def test_an_sb3_life_writes_the_same_bins(tmp_path, monkeypatch):
    pytest.importorskip("stable_baselines3")
    monkeypatch.setattr(
        sb3_module, "make_world", lambda spec, **kw: StepReward(make_world(spec, **kw))
    )
    config = Config(
        world="nursery-small", agent="sb3_dqn", log_every=100, bin_width=50, tensorboard=False
    )
    sb3_module.run_sb3_life(tmp_path / "sb3", config, Genome(**TINY), 200)
    records = read_metrics(tmp_path / "sb3")
    assert [r["reward_bins"] for r in records] == [
        [known_mean(50, 50), known_mean(100, 50)],
        [known_mean(150, 50), known_mean(200, 50)],
    ]
    assert [r["reward_bin_width"] for r in records] == [50, 50]


def test_a_resumed_life_writes_the_same_bins(tmp_path):
    # Interrupted at 350: inside a record (100) and inside a bin (30), so the open bin and the
    # closed ones not yet recorded must come back from the checkpoint.
    changes = {**QUICK, "agent": "b_only", "bin_width": 30}
    whole = open_life(
        tmp_path / "whole", world="nursery-small", config_changes=changes, genome_changes=TINY
    )
    whole.run(800)
    open_life(
        tmp_path / "split", world="nursery-small", config_changes=changes, genome_changes=TINY
    ).run(350)
    resumed = open_life(tmp_path / "split")
    assert resumed.agent.counters["env_steps"] == 350
    resumed.run(800)
    bins = [[r["step"], r["reward_bins"]] for r in read_metrics(tmp_path / "whole")]
    assert bins == [[r["step"], r["reward_bins"]] for r in read_metrics(tmp_path / "split")]
    assert sum(len(b) for _, b in bins) == 800 // 30
    assert any(value != 0 for _, b in bins for value in b)  # the comparison saw real rewards
