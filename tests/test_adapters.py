"""Adapters: Gymnasium, MiniGrid and MinAtar worlds keep our contract, and lives run in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from lifelong.checkpoint import load_latest_checkpoint, save_checkpoint
from lifelong.errors import UserError
from lifelong.life import open_life
from lifelong.worlds import make_world, noop_action
from lifelong.worlds.adapters import MINATAR_GAMES, ArrayWorld, MinAtarWorld


class _Toy(gym.Env):
    """A tiny env whose observation space is whatever the test asks for."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space | None = None):
        self.observation_space = observation_space
        self.action_space = action_space or spaces.Discrete(2)
        self.actions: list[Any] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {"hello": 1}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.actions.append(action)
        return self.observation_space.sample(), 1.0, True, False, {"kept": True}


def _assert_contract(world: gym.Env, obs: np.ndarray) -> None:
    assert isinstance(world.action_space, spaces.Discrete)
    assert isinstance(world.observation_space, spaces.Box)
    assert world.observation_space.dtype == np.float32 and obs.dtype == np.float32
    assert obs.shape == world.observation_space.shape
    assert world.observation_space.contains(obs)


def test_cartpole_stays_a_float32_vector() -> None:
    world = make_world("gym:CartPole-v1")
    obs, _ = world.reset(seed=0)
    _assert_contract(world, obs)
    assert obs.shape == (4,) and world.action_space.n == 2
    assert noop_action(world) is None


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0"])
def test_classic_control(env_id: str) -> None:
    world = make_world(f"gym:{env_id}")
    obs, _ = world.reset(seed=0)
    _assert_contract(world, obs)
    obs, *_ = world.step(world.action_space.sample())
    _assert_contract(world, obs)


def test_channels_first_uint8_images_become_channels_last_in_unit_range() -> None:
    world = ArrayWorld(_Toy(spaces.Box(0, 255, (3, 12, 10), np.uint8)))
    assert world.observation_space.shape == (12, 10, 3)
    raw = np.arange(3 * 12 * 10, dtype=np.int64).reshape(3, 12, 10) % 256
    converted = world.observation(raw.astype(np.uint8))
    assert converted.shape == (12, 10, 3) and converted.dtype == np.float32
    np.testing.assert_allclose(converted[..., 1], raw[1] / 255.0, rtol=1e-6)
    obs, info = world.reset(seed=1)
    _assert_contract(world, obs)
    assert info == {"hello": 1}


def test_channels_last_float_images_and_grey_images() -> None:
    last = ArrayWorld(_Toy(spaces.Box(-1.0, 1.0, (8, 8, 3), np.float64)))
    assert last.observation_space.shape == (8, 8, 3) and last.observation_space.low.min() == -1.0
    grey = ArrayWorld(_Toy(spaces.Box(0, 255, (6, 9), np.uint8)))
    obs, _ = grey.reset(seed=0)
    assert grey.observation_space.shape == (6, 9, 1)
    _assert_contract(grey, obs)


def test_a_discrete_state_becomes_one_hot() -> None:
    world = make_world("gym:FrozenLake-v1")
    obs, _ = world.reset(seed=0)
    _assert_contract(world, obs)
    assert obs.shape == (16,) and obs.sum() == 1.0 and obs[0] == 1.0


def test_ends_rewards_and_info_pass_through_and_actions_shift_back() -> None:
    toy = _Toy(spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Discrete(3, start=5))
    world = ArrayWorld(toy)
    assert world.action_space == spaces.Discrete(3)
    world.reset(seed=0)
    _, reward, terminated, truncated, info = world.step(2)
    assert toy.actions == [7]
    assert (reward, terminated, truncated, info) == (1.0, True, False, {"kept": True})


def test_unsupported_spaces_are_refused_in_one_line() -> None:
    # Bounded continuous actions are kept (tests/test_continuous_worlds.py); the rest is refused.
    with pytest.raises(UserError, match=r"^action space MultiDiscrete.* allowed: Discrete\(n\) or"):
        ArrayWorld(_Toy(spaces.Box(0.0, 1.0, (2,)), spaces.MultiDiscrete([2, 2])))
    with pytest.raises(UserError, match="'image'"):
        ArrayWorld(_Toy(spaces.Dict({"x": spaces.Box(0.0, 1.0, (2,))})))
    with pytest.raises(UserError, match="not supported"):
        ArrayWorld(_Toy(spaces.Tuple([spaces.Discrete(2), spaces.Discrete(2)])))
    with pytest.raises(UserError, match="unknown gym id 'NoSuchWorld-v0'"):
        make_world("gym:NoSuchWorld-v0")


def test_minigrid_doorkey_gives_a_one_hot_symbolic_image() -> None:
    world = make_world("minigrid:MiniGrid-DoorKey-5x5-v0")
    obs, _ = world.reset(seed=0)
    _assert_contract(world, obs)
    from minigrid.core.constants import OBJECT_TO_IDX

    n_objects = len(OBJECT_TO_IDX)
    assert obs.shape == (7, 7, n_objects + 1)
    np.testing.assert_array_equal(obs[..., :n_objects].sum(axis=-1), 1.0)  # one type per cell
    assert world.action_space == spaces.Discrete(7)
    obs, *_ = world.step(2)  # forward
    _assert_contract(world, obs)
    # The same world through the plain gym prefix is encoded the same way.
    assert make_world("gym:MiniGrid-DoorKey-5x5-v0").observation_space == world.observation_space


@pytest.mark.parametrize(
    "spec", ["gym:CartPole-v1", "minigrid:MiniGrid-DoorKey-5x5-v0", "minatar:breakout"]
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # "wrapped env" and "infinite bounds" notes
def test_gymnasiums_own_checker_accepts_the_adapted_worlds(spec: str) -> None:
    check_env(make_world(spec), skip_render_check=True)


def _rollout(game: str, seed: int, steps: int = 200) -> tuple[list[np.ndarray], list[float]]:
    world = make_world(f"minatar:{game}")
    actions = np.random.default_rng(seed).integers(world.action_space.n, size=steps)
    obs, _ = world.reset(seed=seed)
    frames, rewards = [obs], []
    for action in actions:
        obs, reward, terminated, truncated, _ = world.step(int(action))
        assert world.observation_space.contains(obs)
        frames.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            obs, _ = world.reset()
            frames.append(obs)
    return frames, rewards


@pytest.mark.parametrize("game", MINATAR_GAMES)
def test_minatar_games_step_in_their_space_and_repeat_under_a_seed(game: str) -> None:
    frames, rewards = _rollout(game, seed=3)
    again, rewards_again = _rollout(game, seed=3)
    assert rewards == rewards_again
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
    other, _ = _rollout(game, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(frames, other, strict=False))


def test_minatar_world_details() -> None:
    world = MinAtarWorld("freeway", render_mode="rgb_array")
    assert world.game == "freeway" and world.n_channels == 7
    assert world.observation_space.shape == (10, 10, 7)
    world.reset(seed=0)
    picture = world.render()
    assert picture is not None and picture.shape == (160, 160, 3) and picture.dtype == np.uint8
    assert picture.std() > 0  # the chicken and the cars are drawn
    assert noop_action(make_world("minatar:breakout")) == 0


TINY = {"warmup": 64, "batch_size": 8, "replay_ratio": 0.25, "latent_dim": 16}
TINY |= {"hidden_dim": 32, "q_hidden": 32}


@pytest.mark.parametrize(
    "world", ["minatar:breakout", "minigrid:MiniGrid-DoorKey-5x5-v0", "gym:CartPole-v1"]
)
def test_a_life_runs_in_an_episodic_world(tmp_path: Path, world: str) -> None:
    life = open_life(
        tmp_path / "run",
        world=world,
        config_changes={"tensorboard": False, "log_every": 100},
        genome_changes=TINY,
    )
    life.run(400)
    assert life.agent.counters["env_steps"] == 400
    life.close()


# --- Saving ---------------------------------------------------------------------------------


def _play(world: gym.Env, actions: np.ndarray) -> list[tuple[np.ndarray, float, bool, bool]]:
    """Step through `actions`, resetting (without a seed) whenever an episode ends."""
    stream = []
    for action in actions:
        obs, reward, terminated, truncated, _ = world.step(int(action))
        stream.append((obs, float(reward), terminated, truncated))
        if terminated or truncated:
            stream.append((world.reset()[0], 0.0, False, False))
    return stream


# (spec, steps before saving, steps after): each continuation crosses an episode end; the time
# limits (MountainCar 200, Acrobot 500, Freeway 2500) fall after the save.
SAVEABLE = [
    ("gym:CartPole-v1", 137, 300),
    ("gym:CartPole-v1+shift(kind=gravity,every=100,scale=2.0)", 137, 300),
    ("gym:Acrobot-v1", 450, 100),
    ("gym:Acrobot-v1", 0, 520),  # saved just after a reset
    ("gym:MountainCar-v0", 150, 100),
    *((f"minatar:{game}", 150, 300) for game in MINATAR_GAMES if game != "freeway"),
    ("minatar:freeway", 2400, 300),  # an episode lasts 2500 steps
    ("sequence(tasks=minatar:breakout|minatar:asterix,every=200)", 150, 300),
]


@pytest.mark.parametrize("spec, before, after", SAVEABLE)
def test_a_restored_world_continues_bit_identically(
    tmp_path: Path, spec: str, before: int, after: int
) -> None:
    actions = np.random.default_rng(5).integers(
        make_world(spec).action_space.n, size=before + after
    )
    world = make_world(spec)
    world.reset(seed=2)
    _play(world, actions[:before])
    state = world.state_dict()
    json.dumps(state)  # plain data: no pickle needed
    save_checkpoint(tmp_path, before, {"world": state})
    expected = _play(world, actions[before:])
    assert any(end[2] or end[3] for end in expected)  # the continuation crosses an episode end

    _, saved, _ = load_latest_checkpoint(tmp_path)
    resumed = make_world(spec)  # never reset: everything must come from the state
    resumed.load_state_dict(saved["world"])
    assert resumed.state_dict() == state  # nothing saved was left out when loading
    continued = _play(resumed, actions[before:])
    assert len(continued) == len(expected)
    for (obs, *rest), (obs_again, *rest_again) in zip(expected, continued, strict=True):
        assert np.array_equal(obs, obs_again) and rest == rest_again


def test_a_restored_cartpole_goes_on_from_the_saved_step_not_a_new_episode() -> None:
    world = make_world("gym:CartPole-v1")
    world.reset(seed=0)
    obs = world.step(0)[0]
    resumed = make_world("gym:CartPole-v1")
    resumed.load_state_dict(world.state_dict())
    assert np.array_equal(resumed.step(1)[0], world.step(1)[0])
    assert not np.array_equal(resumed.step(1)[0], obs)


@pytest.mark.parametrize("spec", ["minigrid:MiniGrid-DoorKey-5x5-v0", "gym:FrozenLake-v1"])
def test_worlds_that_cannot_be_saved_exactly_have_no_state(spec: str) -> None:
    world = make_world(spec)
    world.reset(seed=0)
    assert world.state_dict() is None
    assert make_world(f"{spec}+noisy_tv").state_dict()["inner"] is None


def test_only_the_wrappers_gymnasium_make_adds_are_known() -> None:
    # CartPole under a wrapper of the caller's: that wrapper's state is not ours to know.
    counted = gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"))
    assert ArrayWorld(counted).state_dict() is None
    assert ArrayWorld(gym.make("CartPole-v1")).state_dict() is not None


def test_a_state_is_refused_by_another_kind_of_world() -> None:
    with pytest.raises(ValueError, match="cannot be loaded into AcrobotEnv"):
        make_world("gym:Acrobot-v1").load_state_dict(make_world("gym:CartPole-v1").state_dict())
    with pytest.raises(ValueError, match="does not match"):
        make_world("minatar:asterix").load_state_dict(make_world("minatar:breakout").state_dict())
