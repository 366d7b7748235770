"""Teachers in worlds with continuous actions: float32 demonstrations in the world's units, and
an observing agent that acts with them and remembers them in [-1, 1]."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import TINY

from lifelong.agents import build_agent
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.modes import Mode
from lifelong.systems.control import meta_action
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world
from lifelong.worlds.teachers import Teacher

SPEC = "gym:Pendulum-v1+teacher(policy=random)"


def _shown(world, steps: int) -> list[np.ndarray]:
    """The actions the teacher shows over `steps` steps of a zero torque (None: out of view)."""
    shown = []
    zero = np.zeros(world.action_space.shape, dtype=np.float32)
    for _ in range(steps):
        info = world.step(zero)[4]
        teacher = info.get("teacher")
        shown.append(None if teacher is None else teacher["action"])
    return shown


def test_a_random_teacher_shows_float32_actions_within_the_bounds() -> None:
    world = make_world(SPEC)
    _, info = world.reset(seed=0)
    actions = [info["teacher"]["action"], *_shown(world, 50)]
    space = world.action_space
    for action in actions:
        assert isinstance(action, np.ndarray) and action.dtype == np.float32
        assert action.shape == space.shape and space.contains(action)
    assert len({float(a[0]) for a in actions}) > 40  # drawn afresh each step


def test_a_noop_teacher_shows_zeros() -> None:
    world = make_world("gym:Pendulum-v1+teacher(policy=noop)")
    world.reset(seed=0)
    for action in _shown(world, 5):
        assert action.dtype == np.float32 and np.array_equal(action, np.zeros(1, np.float32))


def test_reliability_decides_whether_the_policy_or_a_random_action_is_shown() -> None:
    def push(obs):
        return [1.5]

    honest = Teacher(make_world("gym:Pendulum-v1"), policy=push, reliability=1.0)
    honest.reset(seed=0)
    assert all(np.array_equal(a, np.float32([1.5])) for a in _shown(honest, 20))
    liar = Teacher(make_world("gym:Pendulum-v1"), policy=push, reliability=0.0)
    liar.reset(seed=0)
    random = _shown(liar, 20)
    assert not any(np.array_equal(a, np.float32([1.5])) for a in random)
    assert all(liar.action_space.contains(a) for a in random)


def test_a_teacher_out_of_view_shows_nothing() -> None:
    world = make_world("gym:Pendulum-v1+teacher(policy=random,visible=0.5)")
    world.reset(seed=0)
    shown = _shown(world, 100)
    assert 20 < sum(a is None for a in shown) < 80


def test_a_restored_teacher_shows_the_same_stream() -> None:
    world = make_world("gym:Pendulum-v1+teacher(policy=random,reliability=0.5,visible=0.7)")
    world.reset(seed=3)
    _shown(world, 30)
    saved = world.state_dict()
    expected = _shown(world, 40)
    resumed = make_world("gym:Pendulum-v1+teacher(policy=random,reliability=0.5,visible=0.7)")
    resumed.load_state_dict(saved)
    again = _shown(resumed, 40)
    assert [a is None for a in again] == [a is None for a in expected]
    assert all(a is None or np.array_equal(a, b) for a, b in zip(again, expected, strict=True))


def test_an_outcome_teacher_shows_where_its_torque_leads() -> None:
    world = make_world("gym:Pendulum-v1+teacher(policy=noop,shows=outcome)")
    obs, info = world.reset(seed=0)
    expected = world.step(np.zeros(1, np.float32))[0]  # the teacher's noop, taken for real
    assert np.allclose(info["teacher"]["next_obs"], expected)


def test_cartpole_stays_cartpole_only() -> None:
    with pytest.raises(UserError, match="CartPole"):
        make_world("gym:Pendulum-v1+teacher(policy=cartpole)")


def test_a_continuous_teacher_world_passes_check_world() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = check_world(SPEC, steps=200)
    failed = [(name, detail) for name, ok, detail in report.checks if not ok]
    assert report.passed and not failed, failed
    assert report.teacher_steps > 0


def test_observing_acts_with_the_teachers_torque_and_remembers_it_in_the_unit_box() -> None:
    world = make_world(SPEC)
    agent = build_agent(Config(), world.observation_space, world.action_space, Genome(**TINY))
    agent.begin(*world.reset(seed=0))
    for _ in range(3):
        shown = np.array(agent.teacher_action, copy=True)
        agent.meta = meta_action(agent.genome, Mode.OBSERVE, "test")
        action = agent.act()
        assert isinstance(action, np.ndarray) and action.dtype == np.float32
        assert np.array_equal(action, shown) and agent.followed == "teacher"
        obs, reward, terminated, _, info = world.step(action)
        agent.observe(action, obs, float(reward), terminated, info)
        newest = (agent.mind.memory._head - 1) % agent.mind.memory.recent_capacity
        stored = agent.mind.memory._recent["action"][newest]
        assert np.allclose(stored, shown / 2.0)  # Pendulum's torque is in [-2, 2]
        assert agent.mind.memory._recent["source"][newest] == 0
