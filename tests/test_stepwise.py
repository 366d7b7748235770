"""The public API: the agent in a user's own Gymnasium loop, and lives in worlds from Python."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TINY

import lifelong
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.worlds import make_world

QUICK = {"tensorboard": False, "log_every": 100, "checkpoint_every": 1_000_000}
STEPS = 1_500
# Plans, sleeps and imaginings all happen within STEPS with TINY and these (checked below), so
# the comparison covers every verb of the loop, not only acting.
GENOME = {**TINY, "plan_rules": 1, "plan_retry": 300, "imagine_every": 300, "plan_reliability": 0.0}


def own_loop(world: str, seed: int, steps: int) -> tuple[lifelong.StepwiseAgent, list[float]]:
    """What a Gymnasium user writes: reset, act, step, observe, reset when an episode ends."""
    env = make_world(world)
    agent = lifelong.make_agent(
        env.observation_space, env.action_space, genome=Genome(**GENOME), seed=seed
    )
    rewards = []
    obs, info = env.reset(seed=seed)
    for _ in range(steps):
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(reward, obs, terminated, truncated, info)
        rewards.append(float(reward))
        if terminated or truncated:
            obs, info = env.reset()
    env.close()
    return agent, rewards


@pytest.mark.parametrize("world", ["nursery-small", "gym:CartPole-v1"])
def test_own_loop_lives_the_same_life_as_life_run(tmp_path, world):
    life = lifelong.open_life(
        tmp_path / "life", world=world, config_changes=QUICK, genome_changes=GENOME
    )
    life.run(STEPS)
    agent, rewards = own_loop(world, seed=0, steps=STEPS)

    assert agent.counters == life.agent.counters
    for counter in ("plans", "updates_a", "updates_b", "sleep_ticks", "imagine_ticks"):
        assert agent.counters.get(counter, 0) > 0, counter
    for mine, theirs in zip(
        agent.agent.mind.b.parameters(), life.agent.mind.b.parameters(), strict=True
    ):
        assert torch.equal(mine, theirs)
    bins = [b for r in lifelong.read_metrics(tmp_path / "life") for b in r["reward_bins"]]
    assert np.allclose(np.asarray(rewards).reshape(-1, 100).mean(axis=1), bins, atol=1e-12)


def test_act_and_observe_alternate():
    env = make_world("nursery-small")
    agent = lifelong.make_agent(env.observation_space, env.action_space, genome=Genome(**TINY))
    obs, info = env.reset(seed=0)
    with pytest.raises(UserError, match="before act"):
        agent.observe(0.0, obs, False, False, {})
    agent.act(obs, info)
    with pytest.raises(UserError, match="twice"):
        agent.act(obs, info)
    with pytest.raises(ValueError, match="unknown config keys \\['colour'\\]"):
        lifelong.make_agent(env.observation_space, env.action_space, colour="red")


def test_state_dict_continues_the_same_life():
    """Saved and loaded halfway, the user's agent goes on as if never stopped."""
    whole, _ = own_loop("nursery-small", seed=1, steps=600)
    env = make_world("nursery-small")
    first = lifelong.make_agent(
        env.observation_space, env.action_space, genome=Genome(**GENOME), seed=1
    )
    obs, info = env.reset(seed=1)
    for step in range(600):
        if step == 300:
            second = lifelong.make_agent(
                env.observation_space, env.action_space, genome=Genome(**GENOME), seed=5
            )
            second.load_state_dict(first.state_dict())
            first = second
        action = first.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        first.observe(reward, obs, terminated, truncated, info)
    assert first.counters == whole.counters
    for mine, theirs in zip(
        first.agent.mind.b.parameters(), whole.agent.mind.b.parameters(), strict=True
    ):
        assert torch.equal(mine, theirs)


def test_a_life_in_a_world_from_python(tmp_path, capsys):
    directory = tmp_path / "cartpole"
    life = lifelong.open_life(
        directory,
        world=lambda: gym.make("CartPole-v1"),
        config_changes=QUICK,
        genome_changes=TINY,
    )
    life.run(300)
    assert lifelong.Config.load(directory / "config.yaml").world == "custom:CartPole-v1"

    with pytest.raises(UserError, match="given from Python \\(custom:CartPole-v1\\)"):
        lifelong.open_life(directory)
    with pytest.raises(UserError, match="cannot change"):
        lifelong.open_life(directory, world=lambda: gym.make("Acrobot-v1"))

    life = lifelong.open_life(directory, world=gym.make("CartPole-v1"))
    assert "new episode" not in capsys.readouterr().err  # CartPole is saved: it goes on exactly
    life.run(600)
    assert [r["step"] for r in lifelong.read_metrics(directory)] == list(range(100, 700, 100))

    with pytest.raises(UserError, match="a spec string, a gymnasium.Env or a callable"):
        lifelong.open_life(tmp_path / "other", world=42)
    with pytest.raises(UserError, match="returned int"):
        lifelong.open_life(tmp_path / "other", world=lambda: 42)
    assert not (tmp_path / "other").exists()
