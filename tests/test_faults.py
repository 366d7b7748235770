"""A life survives what the world and the machine throw at it, without losing what it learned."""

import errno
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TINY

import lifelong.checkpoint as checkpoint_module
import lifelong.life as life_module
from lifelong.checkpoint import CheckpointWarning, list_checkpoints, load_latest_checkpoint
from lifelong.errors import UserError
from lifelong.life import open_life, read_metrics
from lifelong.modes import ROUTES, Mode
from lifelong.systems.control import meta_action
from lifelong.worlds import make_world

QUICK = {"tensorboard": False, "log_every": 100, "checkpoint_every": 1_000_000}
TINY_SETS = [f"--set={k}={v}" for k, v in TINY.items()]


def start(directory, **config):
    return open_life(
        directory, world="nursery-small", config_changes={**QUICK, **config}, genome_changes=TINY
    )


class Poisoned(gym.Wrapper):
    """NaN observations every 10th step, an infinite reward every 7th."""

    def __init__(self, env):
        super().__init__(env)
        self.t = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        if self.t % 10 == 0:
            obs = obs.copy()
            obs[0, 0, 0] = np.nan
        if self.t % 7 == 0:
            reward = float("inf")
        return obs, reward, terminated, truncated, info


def all_finite(module):
    return all(torch.isfinite(p).all() for p in module.parameters())


def test_non_finite_observations_and_rewards_are_sanitised_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(
        life_module, "make_world", lambda spec, **kw: Poisoned(make_world(spec, **kw))
    )
    life = start(tmp_path / "life")
    life.run(400)
    agent = life.agent
    # Observations and rewards are counted apart: a step with both poisoned counts twice.
    assert agent.counters["sanitized"] == 400 // 10 + 400 // 7
    assert agent.counters["updates_b"] > 0 and agent.counters["skipped_updates"] == 0
    assert all_finite(agent.mind.a) and all_finite(agent.mind.b)
    stored = agent.mind.memory.sample(64, agent.mind.sequence_length, 1.0)
    assert np.isfinite(stored["obs"]).all() and np.isfinite(stored["reward"]).all()


def test_a_non_finite_loss_skips_the_update_and_tells_m(tmp_path, monkeypatch):
    life = start(tmp_path / "life")
    life.run(200)
    agent = life.agent
    before = {k: v.clone() for k, v in agent.mind.b.state_dict().items()}
    before_a = {k: v.detach().clone() for k, v in agent.mind.a.named_parameters()}
    sample = agent.mind.memory.sample

    def poisoned_sample(*args, **kwargs):
        batch = sample(*args, **kwargs)
        batch["reward"][:] = np.nan
        return batch

    monkeypatch.setattr(agent.mind.memory, "sample", poisoned_sample)
    agent.meta = meta_action(agent.genome, Mode.EXPLOIT, "test")
    skipped = agent.counters["skipped_updates"]
    updates = agent.counters["updates_a"], agent.counters["updates_b"]
    for _ in range(agent.genome.a_every):  # A's loss joins one of these learning steps
        agent.mind._learn(agent.meta, ROUTES[Mode.EXPLOIT])
    assert agent.counters["skipped_updates"] == skipped + agent.genome.a_every
    assert (agent.counters["updates_a"], agent.counters["updates_b"]) == updates
    for key, value in agent.mind.b.state_dict().items():
        assert torch.equal(value, before[key]), key
    for key, value in agent.mind.a.named_parameters():  # weights; running statistics may move
        assert torch.equal(value, before_a[key]), key
    assert agent.telemetry.meta_state().numeric_faults > 0


class Flaky(gym.Wrapper):
    """Raises once, on the world step or reset number given, across every instance."""

    calls = {"step": 0, "reset": 0}

    def __init__(self, env, fail_step=None, fail_reset=None):
        super().__init__(env)
        self.fail_step, self.fail_reset = fail_step, fail_reset

    def step(self, action):
        Flaky.calls["step"] += 1
        if Flaky.calls["step"] == self.fail_step:
            raise RuntimeError("the simulator crashed")
        return self.env.step(action)

    def reset(self, **kwargs):
        Flaky.calls["reset"] += 1
        if Flaky.calls["reset"] == self.fail_reset:
            raise OSError("the simulator's files vanished")
        return self.env.reset(**kwargs)


@pytest.mark.parametrize("where", ["step", "reset"])
def test_a_world_that_raises_is_recreated_and_the_life_goes_on(
    where, tmp_path, monkeypatch, capsys
):
    Flaky.calls = {"step": 0, "reset": 0}
    # nursery-small never ends an episode, so a reset failure is provoked by an episodic world.
    spec = "nursery-small" if where == "step" else "gym:CartPole-v1"
    failing = {"fail_step": 150} if where == "step" else {"fail_reset": 3}
    monkeypatch.setattr(
        life_module, "make_world", lambda s, **kw: Flaky(make_world(spec, **kw), **failing)
    )
    life = start(tmp_path / "life")
    life.run(400)
    assert life.agent.counters["env_steps"] == 400
    assert life.agent.counters["world_errors"] == 1
    err = capsys.readouterr().err
    assert "world raised" in err and f"during {where}" in err and "recreating it" in err


def test_a_world_that_cannot_be_rebuilt_ends_the_life_saved(tmp_path, monkeypatch, capsys):
    """Three failed rebuilds in a row end the life with a clear error, after a checkpoint of all
    but the world; once the world is mended the life goes on from that step."""
    rebuilds = []

    def build(spec, **kw):
        if rebuilds:  # the builds of birth work, every rebuild fails
            rebuilds.append(spec)
            raise OSError("the simulator's licence expired")
        return Flaky(make_world(spec, **kw), fail_step=150)

    Flaky.calls = {"step": 0, "reset": 0}
    monkeypatch.setattr(life_module, "make_world", build)
    life = start(tmp_path / "life")
    rebuilds.append("birth")
    with pytest.raises(UserError, match=r"failed to rebuild 3 times.*licence.*saved at step 149"):
        life.run(400)
    assert len(rebuilds) == 1 + 3
    monkeypatch.setattr(life_module, "make_world", make_world)  # the world is mended
    again = open_life(tmp_path / "life")
    assert again.agent.counters["env_steps"] == 149 and again.agent.counters["world_errors"] == 1
    assert "resumes as a new episode" in capsys.readouterr().err
    again.run(200)
    assert read_metrics(tmp_path / "life")[-1]["step"] == 200


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    life = start(tmp_path / "life")
    life.run(100)
    life.checkpoint()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_module.os, "replace", no_space)
    with pytest.raises(UserError, match="No space left on device.*last checkpoint, at step 100"):
        life.run(200)  # its final checkpoint fails: the life stops with one line
    monkeypatch.undo()
    step, _, _ = load_latest_checkpoint(tmp_path / "life" / "checkpoints")
    assert step == 100
    assert not [p for p in (tmp_path / "life" / "checkpoints").iterdir() if ".tmp" in p.name]


def test_a_corrupt_checkpoint_is_named_and_the_previous_one_resumes(tmp_path):
    life = start(tmp_path / "life", checkpoint_every=100)
    life.run(300)
    newest = list_checkpoints(tmp_path / "life" / "checkpoints")[-1]
    newest.write_bytes(newest.read_bytes()[:-100])  # truncated, as by a full disk
    with pytest.warns(CheckpointWarning, match=newest.name):
        resumed = open_life(tmp_path / "life")
    assert resumed.agent.counters["env_steps"] == 200


def launch(directory, *extra):
    command = [
        sys.executable,
        "-m",
        "lifelong.cli",
        "run",
        "--quiet",
        "--dir",
        str(directory),
        "--world",
        "nursery-small",
        "--set",
        "tensorboard=false",
        *TINY_SETS,
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_records(directory, count, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(read_metrics(directory)) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} records after {timeout} s")


def test_sigterm_checkpoints_and_exits_zero(tmp_path):
    process = launch(tmp_path / "life", "--set", "log_every=50")
    wait_for_records(tmp_path / "life", 2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped by signal" in out
    assert list_checkpoints(tmp_path / "life" / "checkpoints")


def test_after_sigkill_the_life_resumes_losing_at_most_one_checkpoint_interval(tmp_path):
    directory = tmp_path / "life"
    process = launch(directory, "--set", "log_every=50", "--set", "checkpoint_every=100")
    wait_for_records(directory, 8)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    reached = read_metrics(directory)[-1]["step"]
    resumed = open_life(directory)
    start_step = resumed.agent.counters["env_steps"]
    assert reached - 100 <= start_step <= reached
    resumed.run(start_step + 200)
    steps = [r["step"] for r in read_metrics(directory)]
    assert steps == sorted(set(steps)) and steps[-1] == start_step + 200  # no duplicates, no gap
    assert steps == list(range(50, start_step + 250, 50))
