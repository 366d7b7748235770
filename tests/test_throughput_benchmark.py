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


@pytest.mark.parametrize("our_encoder", [False, True])
def test_measure_sb3_reports_positive_finite_rates(our_encoder):
    pytest.importorskip("stable_baselines3")
    result = throughput.measure_sb3(300, "nursery", TINY, our_encoder)
    assert _positive_finite(result["env_steps_per_s"])
    assert _positive_finite(result["updates_per_s"])  # every timed step is past the warm-up


def test_sb3_runs_at_the_replay_ratio_our_agent_used(monkeypatch, capsys):
    ours = {"env_steps_per_s": 900.0, "updates_per_s": 180.0, "steps_per_b_update": 6.2}
    seen = []
    monkeypatch.setattr(throughput, "measure_agent", lambda *args: ours)

    def sb3(steps, world, overrides, our_encoder):
        seen.append((overrides, our_encoder))
        return {"env_steps_per_s": 600.0 if our_encoder else 1800.0, "updates_per_s": 290.0}

    monkeypatch.setattr(throughput, "measure_sb3", sb3)
    throughput.compare_with_sb3(100, ["lr_b=0.01"], rounds=2, world="nursery")
    assert (
        seen
        == [
            (["lr_b=0.01", f"replay_ratio={1 / 6}"], False),
            (["lr_b=0.01", f"replay_ratio={1 / 6}"], True),
        ]
        * 2
    )
    out = capsys.readouterr().out
    assert "ratio ours/SB3 (MLP on the frame): 0.50" in out
    assert "ratio ours/SB3 (our encoder): 1.50" in out


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


def test_sb3_with_our_encoder_reads_frames_through_our_cnn():
    pytest.importorskip("stable_baselines3")
    import torch

    from lifelong.config import Config
    from lifelong.genome import Genome
    from lifelong.sb3_life import make_model
    from lifelong.systems.observation import ConvEncoder
    from lifelong.worlds import make_world

    env = make_world("nursery")
    genome = Genome(q_hidden=16, latent_dim=8)
    model = make_model(Config(agent="sb3_dqn"), genome, env, 1000, our_encoder=True)
    extractor = model.q_net.features_extractor
    assert isinstance(extractor.encoder[0], ConvEncoder)
    obs, _ = env.reset(seed=0)
    with torch.no_grad():
        q = model.q_net(torch.as_tensor(obs).unsqueeze(0))
    assert q.shape == (1, env.action_space.n)
    assert model.q_net.q_net[0].in_features == genome.latent_dim  # the head reads the latent
    env.close()


def test_time_split_times_every_part_and_puts_the_methods_back():
    import time_split

    from lifelong.mind import ABMMind

    learn = ABMMind._learn
    per_step, per_update, parts = time_split.split_ours(300)
    assert ABMMind._learn is learn  # the timers are gone once the split is measured
    assert _positive_finite(per_step) and per_update > 1.0
    assert {"ABMMind._learn", "SystemB.extrinsic_loss", "ABMMind.act", "world.step"} <= set(parts)
    learning, learn_calls = parts["ABMMind._learn"]
    b_update, b_calls = parts["SystemB.extrinsic_loss"]
    assert b_calls == learn_calls > 0  # one B update in every learning step
    assert 0 < b_update < learning  # nested parts take part of their caller's time


def test_agents_are_timed_alternately_and_compared_with_the_last(monkeypatch, capsys):
    order = []
    speeds = {"abm": 800.0, "b_only": 1000.0}

    def agent(steps, overrides, world):
        name = overrides[-1].split("=")[1]
        order.append(name)
        return {"env_steps_per_s": speeds[name], "updates_per_s": 100.0}

    monkeypatch.setattr(throughput, "measure_agent", agent)
    medians = throughput.compare_agents(["abm", "b_only"], 100, ["lr_b=0.01"], 2, "nursery")
    assert order == ["abm", "b_only", "abm", "b_only"]
    assert medians == speeds
    assert "ratio to b_only: 0.80" in capsys.readouterr().out
