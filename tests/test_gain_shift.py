"""shift(kind=gains): a continuous body whose actuators' gains are redrawn, and its oracle."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

from lifelong.baselines import oracle_for
from lifelong.errors import UserError
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world
from lifelong.worlds.shifts import GainShift

PENDULUM = "gym:Pendulum-v1+shift(kind=gains, every=50)"


def gain_shift(world: gym.Env) -> GainShift:
    layer = world
    while not isinstance(layer, GainShift):
        layer = layer.env
    return layer


def next_state(world: gym.Env, state: list[float], action: float) -> np.ndarray:
    """Where the pendulum goes from `state` under `action` (the body's response)."""
    world.unwrapped.state = np.array(state)
    return world.step(np.array([action], np.float32))[0]


def test_passes_the_world_checker() -> None:
    report = check_world(PENDULUM, steps=400)
    assert report.passed, [check for check in report.checks if not check[1]]
    assert report.changes >= 7  # a change every 50 steps, reported in info["shift"]


def test_a_change_changes_the_bodys_response_and_flips_a_sign() -> None:
    world = make_world(PENDULUM)
    world.reset(seed=0)
    shift = gain_shift(world)
    assert shift.gains.tolist() == [1.0]  # the body as built, at first
    before = next_state(world, [1.0, 0.0], 1.0)
    signs = [1.0]
    for _ in range(5):  # five changes
        for _ in range(50):
            world.step(np.zeros(1, np.float32))
        gain = float(shift.gains[0])
        assert np.sign(gain) != signs[-1] and 0.5 <= abs(gain) <= 2.0
        signs.append(np.sign(gain))
        after = next_state(world, [1.0, 0.0], 1.0)
        assert not np.allclose(before, after)  # the same push from the same state does otherwise
        expected = np.clip(gain, -2.0, 2.0)  # the action 1.0 drives a torque of gain * 1.0
        reference = make_world("gym:Pendulum-v1")
        reference.reset(seed=0)
        np.testing.assert_allclose(after, next_state(reference, [1.0, 0.0], expected), rtol=1e-5)


def test_every_actuator_gets_its_own_gain() -> None:
    world = make_world("gym:Pendulum-v1+shift(kind=gains, at=[0], scale=1.5)")
    world.reset(seed=1)
    world.step(np.zeros(1, np.float32))
    gain = float(gain_shift(world).gains[0])
    assert gain < 0 and 1 / 1.5 <= abs(gain) <= 1.5


@pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="needs lifelong[mujoco]")
def test_half_cheetahs_six_actuators_are_redrawn_each_change() -> None:
    world = make_world("gym:HalfCheetah-v5+shift(kind=gains, every=5)")
    world.reset(seed=0)
    shift = gain_shift(world)
    world.step(np.zeros(6, np.float32))  # step 0; the changes come at steps 5, 10, 15
    drawn = []
    for _ in range(3):
        for _ in range(5):
            world.step(np.zeros(6, np.float32))
        drawn.append(shift.gains.copy())
    assert all(len(set(np.round(g, 6))) == 6 for g in drawn)  # each actuator its own gain
    assert all(np.any(np.sign(a) != np.sign(b)) for a, b in zip(drawn, drawn[1:], strict=False))


def test_the_oracle_keeps_its_ceiling_through_the_changes() -> None:
    def mean_reward(spec: str, oracle: bool, steps: int = 2000) -> float:
        world = make_world(spec)
        act = oracle_for(world, spec)
        world.action_space.seed(0)
        world.reset(seed=0)
        total = 0.0
        for _ in range(steps):
            action = act() if oracle else world.action_space.sample()
            _, reward, terminated, truncated, _ = world.step(action)
            total += float(reward)
            if terminated or truncated:
                world.reset()
        return total / steps

    spec = "gym:Pendulum-v1+shift(kind=gains, every=400)"
    bare, shifted = mean_reward("gym:Pendulum-v1", True), mean_reward(spec, True)
    random = mean_reward(spec, False)
    assert bare > -1.0 and shifted > -1.2  # swings up and balances, whatever the gains
    assert random < -4.0


def test_a_restored_world_continues_exactly_after_changes() -> None:
    first = make_world(PENDULUM)
    first.reset(seed=5)
    rng = np.random.default_rng(0)
    for action in rng.uniform(-2, 2, size=(120, 1)).astype(np.float32):
        first.step(action)
    copy = make_world(PENDULUM)
    copy.load_state_dict(first.state_dict())
    assert gain_shift(copy).gains.tolist() == gain_shift(first).gains.tolist()
    for action in rng.uniform(-2, 2, size=(200, 1)).astype(np.float32):
        a, b = first.step(action), copy.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4] and a[4]["shift"] == b[4]["shift"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("gym:CartPole-v1+shift(kind=gains, every=10)", "cannot use Discrete"),
        ("gym:Pendulum-v1+shift(kind=gains, every=10, scale=0.5)", "scale=0.5 is invalid"),
        ("gym:Pendulum-v1+shift(kind=gains)", "no schedule"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(spec: str, says: str) -> None:
    with pytest.raises(UserError, match=says) as caught:
        make_world(spec)
    assert "\n" not in str(caught.value)


def test_a_world_without_an_oracle_beneath_has_none_here() -> None:
    pytest.importorskip("mujoco")
    with pytest.raises(UserError, match="needs a world with a scripted oracle"):
        oracle_for(make_world("gym:HalfCheetah-v5+shift(kind=gains, every=10)"), "cheetah")
