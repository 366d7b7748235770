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


class BreaksAt(gym.Wrapper):
    """Raises on its own `at`-th step (a world from Python that crashes mid-life)."""

    def __init__(self, env, at):
        super().__init__(env)
        self.at, self.steps = at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            raise RuntimeError("the simulator crashed")
        return self.env.step(action)


def pendulum_as(given):
    return gym.make("Pendulum-v1") if given == "instance" else lambda: gym.make("Pendulum-v1")


@pytest.mark.parametrize("given", ["instance", "factory"])
def test_a_new_life_in_a_world_from_python_is_born_for_its_kind_of_actions(tmp_path, given):
    directory = tmp_path / "life"
    life = lifelong.open_life(
        directory, world=pendulum_as(given), config_changes=QUICK, genome_changes=TINY
    )
    assert lifelong.Config.load(directory / "config.yaml").world == "custom:Pendulum-v1"
    assert life.genome == Genome.default(continuous=True).replace(**TINY)  # Box: continuous
    assert Genome.load(directory / "genome.yaml") == life.genome
    life.run(200)
    assert life.agent.counters["env_steps"] == 200
    assert [r["step"] for r in lifelong.read_metrics(directory)] == [100, 200]


@pytest.mark.parametrize("given", ["instance", "factory"])
def test_an_agent_that_does_not_fit_a_world_from_python_is_refused_before_writing(tmp_path, given):
    directory = tmp_path / "life"
    directory.mkdir()
    with pytest.raises(UserError) as refused:
        lifelong.open_life(directory, world=pendulum_as(given), config_changes={"agent": "sw_ucb"})
    message = str(refused.value)
    assert message.startswith(
        "agent 'sw_ucb' acts in a Discrete action space, but custom:Pendulum-v1 has Box(-2.0, 2.0"
    )
    assert "agents for Box actions: abm" in message and "\n" not in message
    assert list(directory.iterdir()) == []


class DictWorld(gym.Env):
    """A world no agent lives in: a Dict observation without an image."""

    observation_space = gym.spaces.Dict({"position": gym.spaces.Box(-1, 1, (2,))})
    action_space = gym.spaces.Discrete(2)


def test_a_world_from_python_no_agent_can_live_in_is_refused_before_writing(tmp_path):
    directory = tmp_path / "life"
    for world in (DictWorld(), DictWorld):  # an instance, and a class as the factory
        with pytest.raises(UserError, match="^observation space Dict.*needs an 'image' entry"):
            lifelong.open_life(directory, world=world)
        assert not directory.exists()
    with pytest.raises(UserError, match="^diagnose_every needs a world named by a spec string"):
        lifelong.open_life(
            directory, world=gym.make("CartPole-v1"), config_changes={"diagnose_every": 100}
        )
    assert not directory.exists()


def test_a_world_without_a_spec_is_named_by_its_class_and_continues(tmp_path, capsys):
    from gymnasium.envs.classic_control.acrobot import AcrobotEnv
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    directory = tmp_path / "life"
    world = CartPoleEnv()
    assert world.spec is None
    life = lifelong.open_life(directory, world=world, config_changes=QUICK, genome_changes=TINY)
    life.run(150)
    assert lifelong.Config.load(directory / "config.yaml").world == "custom:CartPoleEnv"
    with pytest.raises(UserError, match="'custom:CartPoleEnv'; it cannot change to 'custom:Acro"):
        lifelong.open_life(directory, world=AcrobotEnv())
    resumed = lifelong.open_life(directory, world=CartPoleEnv())
    assert resumed.agent.counters["env_steps"] == 150
    assert "new episode" not in capsys.readouterr().err  # CartPole is saved, spec or none
    resumed.run(300)
    assert [r["step"] for r in lifelong.read_metrics(directory)] == [100, 200, 300]


def test_a_world_given_as_an_instance_cannot_be_rebuilt_and_the_life_is_saved(tmp_path, capsys):
    """A factory's world that breaks is built anew; an instance cannot be, so the life ends
    saved, in one line, and goes on once given a factory."""
    rebuilt = lifelong.open_life(
        tmp_path / "factory",
        world=lambda: BreaksAt(gym.make("CartPole-v1"), at=100),
        config_changes=QUICK,
        genome_changes=TINY,
    )
    rebuilt.run(200)  # breaks at its 100th step, and the new one at its 100th
    assert rebuilt.agent.counters["env_steps"] == 200
    assert rebuilt.agent.counters["world_errors"] == 2

    directory = tmp_path / "instance"
    life = lifelong.open_life(
        directory,
        world=BreaksAt(gym.make("CartPole-v1"), at=100),
        config_changes=QUICK,
        genome_changes=TINY,
    )
    with pytest.raises(UserError) as ended:
        life.run(200)
    assert str(ended.value) == (
        "the world custom:CartPole-v1 failed to rebuild 3 times in a row (RuntimeError: a world"
        " given as an instance cannot be rebuilt (give a callable)); the life is saved at step"
        " 99 and goes on from there when run again"
    )
    assert "world raised RuntimeError during step at step 99" in capsys.readouterr().err
    again = lifelong.open_life(directory, world=lambda: gym.make("CartPole-v1"))
    assert again.agent.counters["env_steps"] == 99 and again.agent.counters["world_errors"] == 1
    assert "resumes as a new episode at step 99" in capsys.readouterr().err
    again.run(200)
    assert [r["step"] for r in lifelong.read_metrics(directory)] == [100, 200]
