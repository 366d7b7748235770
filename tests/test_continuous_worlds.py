"""Continuous bodies: worlds with bounded continuous actions, their physics shifts, exact resume.

Gymnasium's continuous classic control (Pendulum, MountainCarContinuous) always; MuJoCo
(HalfCheetah, Hopper, Ant) when the optional `mujoco` package is installed.
"""

from __future__ import annotations

import copy
import json
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from lifelong.errors import UserError
from lifelong.worlds import adopt_world, make_world
from lifelong.worlds.check import check_world

CLASSIC = ["gym:Pendulum-v1", "gym:MountainCarContinuous-v0"]
MUJOCO = ["gym:HalfCheetah-v5", "gym:Hopper-v5", "gym:Ant-v5"]


def _actions(world: gym.Env, count: int, seed: int = 0) -> list[np.ndarray]:
    space = world.action_space
    draws = np.random.default_rng(seed).uniform(space.low, space.high, (count, *space.shape))
    return list(draws.astype(np.float32))


def _play(world: gym.Env, actions: list[np.ndarray]) -> list[tuple[Any, ...]]:
    """Step through `actions`, resetting (without a seed) whenever an episode ends."""
    stream = []
    for action in actions:
        obs, reward, terminated, truncated, info = world.step(action)
        stream.append((obs.copy(), float(reward), terminated, truncated, info.get("shift")))
        if terminated or truncated:
            stream.append((world.reset()[0].copy(), 0.0, False, False, None))
    return stream


def _same(first: list[tuple[Any, ...]], second: list[tuple[Any, ...]]) -> bool:
    return len(first) == len(second) and all(
        np.array_equal(a[0], b[0]) and a[1:] == b[1:] for a, b in zip(first, second, strict=True)
    )


def _round_trip(spec: str, before: int, after: int) -> list[tuple[Any, ...]]:
    """Step N, save, step M and record; load into a fresh world, step M again: the same."""
    world = make_world(spec)
    actions = _actions(world, before + after, seed=5)
    world.reset(seed=2)
    _play(world, actions[:before])
    state = world.state_dict()
    saved = json.loads(json.dumps(state))  # plain data: no pickle
    expected = _play(world, actions[before:])
    resumed = make_world(spec)  # never reset: everything must come from the state
    resumed.load_state_dict(saved)
    assert resumed.state_dict() == state  # nothing saved was left out when loading
    assert _same(_play(resumed, actions[before:]), expected)
    return expected


def _passes_check_world(spec: str, steps: int = 200) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = check_world(spec, steps=steps)
    failed = [(name, detail) for name, ok, detail in report.checks if not ok]
    assert report.passed and not failed, failed
    restore = next(detail for name, _, detail in report.checks if name == "state_dict round trip")
    assert "continues identically" in restore
    spaces_detail = next(d for n, _, d in report.checks if n == "spaces the agent can use")
    assert "continuous actions" in spaces_detail


# --- the adapter ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec, low, high", [(CLASSIC[0], -2.0, 2.0), (CLASSIC[1], -1.0, 1.0)])
def test_a_bounded_box_of_actions_is_kept_as_float32(spec: str, low: float, high: float) -> None:
    world = make_world(spec)
    space = world.action_space
    assert isinstance(space, spaces.Box) and space.dtype == np.float32 and space.shape == (1,)
    assert space.low.tolist() == [low] and space.high.tolist() == [high]
    obs, _ = world.reset(seed=0)
    assert obs.dtype == np.float32 and world.observation_space.contains(obs)
    obs, reward, *_ = world.step(np.array([0.5], np.float32))
    assert obs.dtype == np.float32 and world.observation_space.contains(obs)
    assert np.isfinite(reward)
    # A float64 action (or a list) is handed on in the env's own dtype.
    world.step([0.25])


class _Toy(gym.Env):
    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)

    def __init__(self, action_space: spaces.Space) -> None:
        self.action_space = action_space


@pytest.mark.parametrize(
    "space",
    [
        spaces.Box(-np.inf, np.inf, (3,), np.float32),
        spaces.Box(np.float32([-1.0, -np.inf]), np.float32([1.0, 1.0]), dtype=np.float32),
        spaces.Box(-1.0, 1.0, (2, 2), np.float32),
        spaces.Box(0, 5, (2,), np.int64),
        spaces.MultiDiscrete([2, 3]),
        spaces.MultiBinary(3),
        spaces.Dict({"move": spaces.Discrete(2)}),
        spaces.Tuple([spaces.Discrete(2), spaces.Box(-1.0, 1.0, (1,))]),
    ],
    ids=lambda space: type(space).__name__,
)
def test_other_action_spaces_are_refused_in_one_line_naming_what_is_supported(space) -> None:
    with pytest.raises(UserError) as caught:
        adopt_world(_Toy(space))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("action space ")
    assert message.endswith("allowed: Discrete(n) or a bounded float Box of shape (N,)")


def test_wrappers_that_need_discrete_actions_refuse_continuous_ones_in_one_line() -> None:
    for wrapper in ("shift(kind=actions,every=5)", "noisy_tv"):  # teachers show either kind
        with pytest.raises(UserError, match="allowed: a Discrete action space") as caught:
            make_world(f"gym:Pendulum-v1+{wrapper}")
        assert "\n" not in str(caught.value)


# --- classic control: physics shifts, saving, check-world -----------------------------------


@pytest.mark.parametrize(
    "spec, attribute",
    [
        ("gym:Pendulum-v1+shift(kind=gravity,every=3,scale=1.5)", "g"),
        ("gym:Pendulum-v1+shift(kind=mass,every=3,scale=1.5)", "m"),
        ("gym:Pendulum-v1+shift(kind=masspole,every=3,scale=1.5)", "m"),
        ("gym:Pendulum-v1+shift(kind=length,every=3,scale=1.5)", "l"),
        ("gym:MountainCarContinuous-v0+shift(kind=power,every=3,scale=1.5)", "power"),
    ],
)
def test_classic_physics_shifts_scale_a_parameter_and_restore_it_exactly(spec, attribute) -> None:
    world = make_world(spec)
    original = getattr(world.unwrapped, attribute)
    world.reset(seed=0)
    seen = []
    for _ in range(7):  # steps 0-2: regime 0, 3-5: regime 1, 6: regime 2
        info = world.step(np.zeros(1, np.float32))[4]
        seen.append((info["shift"], getattr(world.unwrapped, attribute)))
    kind = spec.split("kind=")[1].split(",")[0]
    assert [tag for tag, _ in seen] == [f"{kind}:{r}" for r in (0, 0, 0, 1, 1, 1, 2)]
    assert [value for _, value in seen] == [original] * 3 + [original * 1.5] * 3 + [original]


def test_mountain_car_continuous_has_no_gravity_to_shift() -> None:
    with pytest.raises(UserError, match="it supports kinds: .*power") as caught:
        make_world("gym:MountainCarContinuous-v0+shift(kind=gravity,every=5)")
    assert "\n" not in str(caught.value)


def test_a_gravity_shift_changes_how_the_pendulum_swings() -> None:
    plain, shifted = make_world(CLASSIC[0]), make_world(f"{CLASSIC[0]}+shift(kind=gravity,at=[3])")
    plain.reset(seed=1)
    shifted.reset(seed=1)
    push = np.ones(1, np.float32)
    steps = [(plain.step(push)[0], shifted.step(push)[0]) for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in steps[:3])
    assert not np.array_equal(*steps[4])


@pytest.mark.parametrize(
    "spec, before, after",
    [
        ("gym:Pendulum-v1", 150, 100),  # crosses the time limit (200)
        ("gym:Pendulum-v1", 0, 30),  # saved just after a reset
        ("gym:MountainCarContinuous-v0", 950, 100),  # time limit 999
        ("gym:Pendulum-v1+shift(kind=gravity,every=40,scale=1.5)", 70, 100),
        ("gym:MountainCarContinuous-v0+shift(kind=power,every=30,scale=3.0)", 20, 60),
    ],
)
def test_classic_continuous_worlds_resume_bit_identically(spec, before, after) -> None:
    _round_trip(spec, before, after)


@pytest.mark.parametrize("spec", CLASSIC)
def test_a_world_saved_before_its_first_reset_loads(spec: str) -> None:
    state = make_world(spec).state_dict()
    resumed = make_world(spec)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    assert resumed.state_dict() == state


def test_a_restored_pendulum_draws_the_same_torque() -> None:
    world = make_world(CLASSIC[0])
    world.reset(seed=0)
    world.step(np.array([1.5], np.float32))
    resumed = make_world(CLASSIC[0])
    resumed.load_state_dict(world.state_dict())
    assert resumed.unwrapped.last_u == pytest.approx(1.5)


@pytest.mark.parametrize(
    "spec", [*CLASSIC, "gym:Pendulum-v1+shift(kind=gravity, every=2000, scale=1.5)"]
)
def test_classic_continuous_worlds_pass_check_world(spec: str) -> None:
    _passes_check_world(spec, steps=300)


# --- MuJoCo ---------------------------------------------------------------------------------


def test_a_mujoco_world_without_mujoco_is_one_line_naming_the_extra(monkeypatch) -> None:
    for package in ("mujoco", "imageio"):
        with monkeypatch.context() as patched:
            patched.setitem(sys.modules, package, None)  # `import package` now fails
            with pytest.raises(UserError) as caught:
                make_world("gym:Hopper-v5")
        message = str(caught.value)
        assert "\n" not in message
        assert message == (
            f"world 'gym:Hopper-v5' needs the optional package {package!r}: "
            "pip install 'lifelong[mujoco]'"
        )


def _model_arrays(model: Any) -> dict[str, bytes]:
    """Every array of a MuJoCo model, and its options and statistics, as bytes (bit-exact)."""
    arrays = {
        name: value.tobytes()
        for name in dir(model)
        if not name.startswith("_") and isinstance(value := getattr(model, name), np.ndarray)
    }
    arrays["opt.gravity"] = model.opt.gravity.tobytes()
    stat = model.stat
    arrays["stat"] = np.array(
        [stat.meanmass, stat.meaninertia, stat.meansize, stat.extent, *stat.center]
    ).tobytes()
    return arrays


# kind -> the model's arrays it scales (and which entries).
SCALED = {
    "friction": [("geom_friction", ...)],
    "mass": [("body_mass", ...), ("body_inertia", ...)],
    "gravity": [("opt.gravity", ...)],
    "actuator_gain": [("actuator_gainprm", (..., 0))],
}


def _array(model: Any, name: str) -> np.ndarray:
    return model.opt.gravity if name == "opt.gravity" else getattr(model, name)


@pytest.mark.parametrize("kind", list(SCALED))
def test_mujoco_physics_shifts_scale_the_model_and_restore_it_exactly(kind: str) -> None:
    pytest.importorskip("mujoco")
    world = make_world(f"gym:Ant-v5+shift(kind={kind},every=3,scale=0.3)")
    model = world.unwrapped.model
    pristine = gym.make("Ant-v5").unwrapped.model
    assert _model_arrays(model) == _model_arrays(pristine)  # regime 0: nothing changed
    world.reset(seed=0)
    tags = [world.step(np.zeros(8, np.float32))[4]["shift"] for _ in range(4)]
    assert tags == [f"{kind}:0"] * 3 + [f"{kind}:1"]
    for name, index in SCALED[kind]:
        scaled, original = _array(model, name)[index], _array(pristine, name)[index]
        np.testing.assert_array_equal(scaled, original * 0.3)
    if kind == "mass":  # what the compiler derived from the masses is recomputed
        assert model.body_subtreemass[0] == pytest.approx(pristine.body_subtreemass[0] * 0.3)
    if kind == "actuator_gain":  # the transmission is left alone
        np.testing.assert_array_equal(model.actuator_gear, pristine.actuator_gear)
    for _ in range(3):
        info = world.step(np.zeros(8, np.float32))[4]
    assert info["shift"] == f"{kind}:2"
    assert _model_arrays(model) == _model_arrays(pristine)  # regime 2: bit for bit the original


def test_a_mujoco_shift_changes_the_dynamics_and_leaves_the_state_alone() -> None:
    pytest.importorskip("mujoco")
    actions = _actions(make_world(MUJOCO[1]), 12)

    def rollout(spec: str) -> list[np.ndarray]:
        world = make_world(spec)
        world.reset(seed=3)
        return [world.step(action)[0] for action in actions]

    plain = rollout(MUJOCO[1])
    heavier = rollout(f"{MUJOCO[1]}+shift(kind=gravity,at=[6],scale=2.0)")
    assert all(np.array_equal(a, b) for a, b in zip(plain[:6], heavier[:6], strict=True))
    assert not np.array_equal(plain[-1], heavier[-1])
    # A mass "shift" by 1 recomputes the model's constants at each change, on scratch data: the
    # world's own state and stream are untouched.
    same_mass = rollout(f"{MUJOCO[1]}+shift(kind=mass,every=4,scale=1.0)")
    assert all(np.array_equal(a, b) for a, b in zip(plain, same_mass, strict=True))


def test_mujoco_kinds_are_named_when_a_kind_does_not_apply() -> None:
    pytest.importorskip("mujoco")
    with pytest.raises(UserError) as caught:
        make_world("gym:HalfCheetah-v5+shift(kind=length,every=5)")
    message = str(caught.value)
    assert "\n" not in message and "HalfCheetahEnv" in message
    assert message.endswith("friction, mass, gravity, actuator_gain")


@pytest.mark.parametrize(
    "spec, before, after",
    [
        ("gym:HalfCheetah-v5", 40, 40),
        ("gym:Hopper-v5", 30, 80),  # crosses episode ends: a random Hopper falls
        ("gym:Ant-v5", 30, 40),
        ("gym:Hopper-v5+shift(kind=mass,every=25,scale=2.0)", 30, 50),
        ("gym:Ant-v5+shift(kind=friction,every=20,scale=0.3)", 30, 40),
        ("gym:HalfCheetah-v5+shift(kind=actuator_gain,every=20,scale=0.5)", 10, 40),
    ],
)
def test_mujoco_worlds_resume_bit_identically(spec: str, before: int, after: int) -> None:
    pytest.importorskip("mujoco")
    expected = _round_trip(spec, before, after)
    if "shift" in spec:
        assert len({step[4] for step in expected if step[4] is not None}) >= 2  # crossed a change
    if spec.startswith("gym:Hopper-v5"):
        assert any(step[2] or step[3] for step in expected)


def test_a_mujoco_env_under_a_callers_wrapper_is_not_saved() -> None:
    pytest.importorskip("mujoco")
    counted = gym.wrappers.RecordEpisodeStatistics(gym.make("Hopper-v5"))
    assert adopt_world(counted).state_dict() is None
    assert adopt_world(gym.make("Hopper-v5")).state_dict() is not None
    with pytest.raises(ValueError, match="cannot be loaded into HopperEnv"):
        make_world("gym:Hopper-v5").load_state_dict(make_world("gym:Ant-v5").state_dict())


@pytest.mark.parametrize(
    "spec", [*MUJOCO, "gym:HalfCheetah-v5+shift(kind=friction, every=50000, scale=0.3)"]
)
def test_mujoco_worlds_pass_check_world(spec: str) -> None:
    pytest.importorskip("mujoco")
    _passes_check_world(spec)


def test_a_copy_of_a_saved_state_is_independent_of_the_world() -> None:
    pytest.importorskip("mujoco")
    world = make_world(MUJOCO[0])
    world.reset(seed=0)
    state = world.state_dict()
    frozen = copy.deepcopy(state)
    world.step(np.ones(6, np.float32))
    assert world.state_dict() != frozen and state == frozen
