"""Adapters: other people's environments, made to keep our world contract.

The agent needs two things of a world (shared/DESIGN.md, "The contracts"): actions that are
either `Discrete` or a bounded float32 `Box` vector (continuous control: torques, forces), and a
float32 `Box` observation that is either a vector or a channels-last image. Gymnasium
environments come in many shapes (channels-first images, uint8 pixels, dicts, one-number
states), so `ArrayWorld` converts once, at the boundary, and the rest of the library sees a single
kind of world. What cannot be converted honestly (unbounded or multi-part action spaces,
arbitrary dicts) is refused with a one-line `UserError` instead of being guessed at.

`MinAtarWorld` puts MinAtar's five games behind the Gymnasium API; MinAtar ships its own
`Environment` class rather than a Gymnasium env that keeps our contract.

Both save their world exactly where they know its whole state (`state_dict`, plain data: lists,
numbers, strings, the generators' states as dicts), so a resumed life continues the very same
stream: MinAtar's games, Gymnasium's classic-control tasks (CartPole, Acrobot, MountainCar,
Pendulum, MountainCarContinuous) and its MuJoCo tasks (HalfCheetah, Hopper, Ant, ...: see
`mujoco_worlds.py`). For any other env `ArrayWorld.state_dict()` is None and a resumed life starts
it on a new episode.
"""

from __future__ import annotations

import colorsys
import sys
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import (
    AcrobotEnv,
    CartPoleEnv,
    Continuous_MountainCarEnv,
    MountainCarEnv,
    PendulumEnv,
)
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

from lifelong.errors import UserError
from lifelong.worlds.mujoco_worlds import load_mujoco_state, mujoco_state, saveable_mujoco
from lifelong.worlds.state import restore_rng, rng_state

# A first dimension this small, and smaller than the other two, is channels rather than rows.
MAX_CHANNELS_FIRST = 16


class ArrayWorld(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Any Gymnasium env with discrete or bounded continuous actions, seen as float32 arrays.

    Observations become:
      - vectors: float32, bounds kept;
      - images: channels last (a (C, H, W) image is transposed; an (H, W) one gains a channel),
        uint8 pixels scaled to [0, 1];
      - a Discrete state: a one-hot vector;
      - a Dict with an "image": that image (MiniGrid's symbolic image gets its own encoding, see
        `minigrid_encode`).
    Actions: a `Discrete(n, start=s)` space becomes `Discrete(n)`, shifted back on the way in; a
    bounded float `Box` of shape (N,) stays as it is, as float32 (its bounds cast to float32),
    and an action is handed on as an array of the env's own dtype, not clipped (Gymnasium's
    continuous tasks clip or clamp it themselves). Anything else is refused in one line.
    Episode ends, rewards and info pass through unchanged: the life chains episodes itself.
    Recording its (empty) constructor arguments lets Gymnasium rebuild it from `env.spec`, which
    its environment checker does.

    `state_dict()` saves the env beneath when its whole state is known (classic control and
    MuJoCo, see `task_state`) and is None otherwise: the caller then knows that a resumed life
    cannot continue this env's stream and must start a new episode.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self.action_space, self._action_start = _actions(env.action_space)
        self._action_dtype = None if self._action_start is not None else env.action_space.dtype
        self._key: str | None = None  # the Dict entry holding the image
        self._minigrid = False
        self._one_hot: int | None = None
        self._add_channel = False
        self._transpose = False
        self._scale: float | None = None
        self.observation_space = self._plan(env.observation_space, env)

    def _plan(self, space: spaces.Space, env: gym.Env) -> spaces.Box:
        """Decide the conversion once, from the space, and return the converted space."""
        if isinstance(space, spaces.Dict):
            if "image" not in space.spaces:
                raise UserError(
                    f"observation space {_short(space)} is not supported: a Dict needs an"
                    " 'image' entry (other dict and tuple observations are not supported)"
                )
            self._key = "image"
            image = space.spaces["image"]
            if _is_minigrid(env) and isinstance(image, spaces.Box) and image.shape[-1:] == (3,):
                self._minigrid = True
                height, width, _ = image.shape
                return spaces.Box(0.0, 1.0, (height, width, minigrid_channels()), np.float32)
            space = image
        if isinstance(space, spaces.Discrete):
            self._one_hot = int(space.n)
            return spaces.Box(0.0, 1.0, (self._one_hot,), np.float32)
        if not isinstance(space, spaces.Box):
            raise UserError(
                f"observation space {_short(space)} is not supported: need an array (Box),"
                " a Discrete state or a Dict with an 'image'"
            )
        low, high = space.low, space.high
        if len(space.shape) == 2:
            self._add_channel = True
            low, high = low[..., None], high[..., None]
        elif len(space.shape) == 3:
            channels, height, width = space.shape
            self._transpose = channels <= MAX_CHANNELS_FIRST and channels < min(height, width)
            if self._transpose:
                low, high = low.transpose(1, 2, 0), high.transpose(1, 2, 0)
        elif len(space.shape) != 1:
            raise UserError(
                f"observation shape {space.shape} is not supported: need a vector (N,)"
                " or an image (H, W), (H, W, C) or (C, H, W)"
            )
        if space.dtype == np.uint8 and len(space.shape) >= 2:
            self._scale = 1.0 / 255.0
            return spaces.Box(0.0, 1.0, low.shape, np.float32)
        return spaces.Box(low.astype(np.float32), high.astype(np.float32), low.shape, np.float32)

    def observation(self, obs: Any) -> np.ndarray:
        if self._key is not None:
            obs = obs[self._key]
        if self._minigrid:
            return minigrid_encode(obs)
        if self._one_hot is not None:
            vector = np.zeros(self._one_hot, np.float32)
            vector[int(obs) - int(self.env.observation_space.start)] = 1.0
            return vector
        array = np.asarray(obs, dtype=np.float32)
        if self._add_channel:
            array = array[..., None]
        elif self._transpose:
            array = np.ascontiguousarray(array.transpose(1, 2, 0))
        if self._scale is not None:
            array *= self._scale
        return array

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        if self._action_start is not None:
            action = int(action) + self._action_start
        else:
            action = np.asarray(action, dtype=self._action_dtype)
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.observation(obs), reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any] | None:
        """The env's state as plain data if it can be saved exactly, else None.

        The conversion itself holds no state: it is decided once from the spaces.
        """
        return task_state(self.env)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict` (ValueError for an env that cannot be saved)."""
        load_task_state(self.env, state)


# ----------------------------------------------------------------------------------------------
# Saving classic control and MuJoCo

# The tasks whose whole state is `state`, the generator and, for CartPole,
# `steps_beyond_terminated`. Exact types only: a subclass may keep state of its own.
SAVEABLE_CLASSIC = (
    CartPoleEnv,
    AcrobotEnv,
    MountainCarEnv,
    PendulumEnv,
    Continuous_MountainCarEnv,
)
# More of a task that only its picture uses: saved so a restored world draws the same.
_CLASSIC_EXTRAS: dict[type, tuple[str, ...]] = {PendulumEnv: ("last_u",)}
# The wrappers `gymnasium.make` puts around them, and the attribute that is each one's state.
# PassiveEnvChecker's state only records which of its one-off checks (warnings) have run: a
# restored one is told they all have, as they had in the life that saved it.
_MAKE_WRAPPERS: dict[type, str | None] = {
    TimeLimit: "_elapsed_steps",
    OrderEnforcing: "_has_reset",
    PassiveEnvChecker: None,
}


def _saveable_layers(env: gym.Env) -> tuple[list[gym.Wrapper], gym.Env] | None:
    """`gymnasium.make`'s wrappers and the classic-control or MuJoCo task beneath, or None if
    `env` is anything else (another task, or a wrapper whose state we do not know)."""
    layers = []
    while isinstance(env, gym.Wrapper):
        if type(env) not in _MAKE_WRAPPERS:
            return None
        layers.append(env)
        env = env.env
    return (layers, env) if type(env) in SAVEABLE_CLASSIC or saveable_mujoco(env) else None


def task_state(env: gym.Env) -> dict[str, Any] | None:
    """A classic-control or MuJoCo task's whole state as plain data, or None for any other env.

    A classic task's `state` is saved as values and dtype, so it comes back exactly as it was
    (Acrobot starts an episode in float32 and goes on in float64); a MuJoCo task's simulation as
    `mujoco_state` saves it.
    """
    found = _saveable_layers(env)
    if found is None:
        return None
    layers, task = found
    if saveable_mujoco(task):
        saved: dict[str, Any] = {"mujoco": mujoco_state(task)}
    else:
        state = getattr(task, "state", None)  # Pendulum has none before its first reset
        values = None if state is None else np.asarray(state)
        saved = {
            "state": None
            if values is None
            else {"values": values.tolist(), "dtype": values.dtype.str},
            "steps_beyond_terminated": getattr(task, "steps_beyond_terminated", None),
            **{
                name: _plain_number(getattr(task, name, None))
                for name in _CLASSIC_EXTRAS.get(type(task), ())
            },
        }
    return {
        "task": type(task).__name__,
        **saved,
        "rng": rng_state(task.np_random),
        "wrappers": {
            type(layer).__name__: getattr(layer, attribute)
            for layer in layers
            if (attribute := _MAKE_WRAPPERS[type(layer)]) is not None
        },
    }


def load_task_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Restore what `task_state` saved, into a task of the same kind."""
    found = _saveable_layers(env)
    if found is None or state.get("task") != type(found[1]).__name__:
        what = "nothing that can be saved" if found is None else type(found[1]).__name__
        raise ValueError(f"a saved {state.get('task')!r} cannot be loaded into {what}")
    layers, task = found
    if "mujoco" in state:
        load_mujoco_state(task, state["mujoco"])
    else:
        saved = state["state"]
        task.state = None if saved is None else np.array(saved["values"], dtype=saved["dtype"])
        if hasattr(task, "steps_beyond_terminated"):
            task.steps_beyond_terminated = state["steps_beyond_terminated"]
        for name in _CLASSIC_EXTRAS.get(type(task), ()):
            setattr(task, name, state[name])
    restore_rng(task, state["rng"])
    for layer in layers:
        attribute = _MAKE_WRAPPERS[type(layer)]
        if attribute is not None:
            setattr(layer, attribute, state["wrappers"][type(layer).__name__])
        if isinstance(layer, PassiveEnvChecker):
            layer.checked_reset = layer.checked_step = layer.checked_data_reuse = True


def _plain_number(value: Any) -> float | None:
    return None if value is None else float(value)


SUPPORTED_ACTIONS = "Discrete(n) or a bounded float Box of shape (N,)"


def _actions(space: spaces.Space) -> tuple[spaces.Discrete | spaces.Box, int | None]:
    """The action space the agent sees, and the Discrete start to add back (None: continuous)."""
    if isinstance(space, spaces.Discrete):
        return spaces.Discrete(int(space.n)), int(space.start)
    if (
        isinstance(space, spaces.Box)
        and np.issubdtype(space.dtype, np.floating)
        and len(space.shape) == 1
        and space.shape[0] >= 1
        and space.is_bounded("both")
    ):
        low, high = space.low.astype(np.float32), space.high.astype(np.float32)
        return spaces.Box(low, high, space.shape, np.float32), None
    raise UserError(f"action space {_short(space)} is not supported; allowed: {SUPPORTED_ACTIONS}")


def _short(space: spaces.Space) -> str:
    return " ".join(str(space).split())


# ----------------------------------------------------------------------------------------------
# MiniGrid


def _is_minigrid(env: gym.Env) -> bool:
    if "minigrid" not in sys.modules:  # a MiniGrid env cannot exist without its module loaded
        return False
    from minigrid.minigrid_env import MiniGridEnv

    return isinstance(env.unwrapped, MiniGridEnv)


def minigrid_channels() -> int:
    from minigrid.core.constants import OBJECT_TO_IDX

    return len(OBJECT_TO_IDX) + 1


def minigrid_encode(image: np.ndarray) -> np.ndarray:
    """MiniGrid's symbolic (H, W, 3) image -> (H, W, objects + 1) float32 in [0, 1].

    The object layer holds category ids, and a network would read id 8 (goal) as "more" than id 2
    (wall), so it becomes one channel per object type. The state layer (door open/closed/locked,
    or the agent's direction under full observation) is an ordered quantity and stays one channel
    scaled by 3, its largest value. The colour layer is dropped: in DoorKey-style tasks it carries
    no information beyond the object type.
    """
    from minigrid.core.constants import OBJECT_TO_IDX

    n_objects = len(OBJECT_TO_IDX)
    height, width, _ = image.shape
    encoded = np.zeros((height, width, n_objects + 1), np.float32)
    rows, cols = np.indices((height, width))
    encoded[rows, cols, image[..., 0].astype(np.intp)] = 1.0
    encoded[..., n_objects] = image[..., 2] / 3.0
    return encoded


# ----------------------------------------------------------------------------------------------
# MinAtar

MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
_CELL_PX = 16


class MinAtarWorld(gym.Env):
    """A MinAtar game as a Gymnasium env: (10, 10, C) float32 observations, minimal actions.

    Actions index the game's minimal action set (3 to 6 actions) rather than MinAtar's full six,
    so the agent does not waste exploration on duplicates. `reset(seed=s)` reseeds the game's own
    random state (spawns and sticky actions) from `s`, so the same seed and actions give the same
    stream, and `state_dict` saves the game exactly.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        game: str = "breakout",
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if game not in MINATAR_GAMES:
            raise ValueError(f"unknown MinAtar game {game!r}; games: {', '.join(MINATAR_GAMES)}")
        if not 0.0 <= float(sticky_action_prob) <= 1.0:
            raise ValueError(f"sticky_action_prob={sticky_action_prob} must be in [0, 1]")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is invalid: allowed None, 'rgb_array'")
        import minatar

        self.game = game
        self.render_mode = render_mode
        self._settings = {
            "game": game,
            "sticky_action_prob": float(sticky_action_prob),
            "difficulty_ramping": bool(difficulty_ramping),
        }
        self._env = minatar.Environment(
            game,
            sticky_action_prob=float(sticky_action_prob),
            difficulty_ramping=bool(difficulty_ramping),
        )
        self.n_channels = int(self._env.n_channels)
        self._actions = [int(a) for a in self._env.minimal_action_set()]
        # MinAtar's action 0 is "n" (no-op) in every game: watching without acting.
        self.noop_action = self._actions.index(0) if 0 in self._actions else None
        self.action_space = spaces.Discrete(len(self._actions))
        self.observation_space = spaces.Box(0.0, 1.0, (10, 10, self.n_channels), np.float32)
        self._seeded = False
        hues = np.linspace(0.0, 1.0, self.n_channels, endpoint=False)
        self._palette = (
            np.array([colorsys.hsv_to_rgb(h, 0.7, 1.0) for h in hues], np.float32) * 255.0
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            self._env.seed(int(self.np_random.integers(2**31 - 1)))
            self._seeded = True
        self._env.reset()
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, terminal = self._env.act(self._actions[int(action)])
        return self._observation(), float(reward), bool(terminal), False, {}

    def _observation(self) -> np.ndarray:
        return self._env.state().astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly, as plain data.

        A MinAtar game keeps its state in its attributes (positions, timers, lists of entities,
        10x10 maps) and draws from a numpy RandomState; the `Environment` around it keeps the last
        action (for sticky actions) and its own RandomState, which seeding makes the game's too.
        """
        game = self._env.env
        return {
            "settings": dict(self._settings),
            "seeded": self._seeded,
            "rng": rng_state(self.np_random),
            "sticky_rng": _random_state(self._env.random),
            "game_rng": _random_state(game.random),
            "last_action": int(self._env.last_action),
            "game": {
                name: _to_plain(value)
                for name, value in vars(game).items()
                if name not in _MINATAR_SETUP
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict`; a state from another game or settings is refused."""
        if state["settings"] != self._settings:
            raise ValueError(f"state of {state['settings']} does not match {self._settings}")
        game = self._env.env
        if state["seeded"]:
            self._env.seed(0)  # one RandomState shared by the Environment and the game
        self._seeded = bool(state["seeded"])
        restore_rng(self, state["rng"])
        self._env.random.set_state(state["sticky_rng"])
        game.random.set_state(state["game_rng"])
        self._env.last_action = int(state["last_action"])
        for name, value in state["game"].items():
            setattr(game, name, _from_plain(value))

    def render(self) -> np.ndarray | None:
        """An RGB picture: one colour per channel, later channels drawn over earlier ones."""
        if self.render_mode != "rgb_array":
            return None
        state = self._env.state()
        picture = np.full((10, 10, 3), 20.0, np.float32)
        for channel in range(self.n_channels):
            picture[state[..., channel]] = self._palette[channel]
        picture = picture.repeat(_CELL_PX, axis=0).repeat(_CELL_PX, axis=1)
        return picture.astype(np.uint8)


# A game's attributes that are its setup rather than its state (fixed when it is built).
_MINATAR_SETUP = ("channels", "action_map", "ramping", "random")


def _random_state(random: np.random.RandomState) -> dict[str, Any]:
    """A RandomState's state as plain data (its key array as a list)."""
    state = random.get_state(legacy=False)
    inner = state["state"]
    return {**state, "state": {"key": inner["key"].tolist(), "pos": int(inner["pos"])}}


def _to_plain(value: Any) -> Any:
    """A game attribute as plain data; numpy values keep their dtype, to come back the same."""
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return {"scalar": value.item(), "dtype": value.dtype.str}
    if isinstance(value, list):
        return [_to_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save a MinAtar game attribute of type {type(value).__name__}")


def _from_plain(value: Any) -> Any:
    """The inverse of `_to_plain`."""
    if isinstance(value, dict) and "array" in value:
        return np.array(value["array"], dtype=value["dtype"])
    if isinstance(value, dict) and "scalar" in value:
        return np.dtype(value["dtype"]).type(value["scalar"])
    if isinstance(value, list):
        return [_from_plain(item) for item in value]
    return value


def needs(package: str, world: str, extra: str = "worlds") -> None:
    """Import an optional package, or say in one line how to install it."""
    try:
        __import__(package)
    except ImportError:
        raise UserError(
            f"world {world!r} needs the optional package {package!r}: "
            f"pip install 'lifelong[{extra}]'"
        ) from None
