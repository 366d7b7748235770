"""``nights``: long dark spells in which the world stands still, so fresh experience is scarce.

The world where sleep and imagination should pay (issue 27's `needs` suite). The life alternates
``day`` lit steps with ``night`` dark ones. At night the world beneath is not stepped at all: the
observation is dark (zeros, or the nearest value the space allows), the reward is 0, nothing
ends, and the action is ignored. Acting at night teaches nothing, so what an agent learns at
night can only come from its memory: replaying it (SLEEP) or rolling its world model out from it
(IMAGINE). Its stationary twin is the same world without the wrapper (always lit), where every
step brings fresh experience and a sleeping agent only loses time.

Unlike the Nursery's own nights (which dim the view and make resting cheaper but leave the world
running), these are truly still: with ``day=500, night=1500`` only a quarter of a life's steps
carry anything to learn from. The clock counts world steps of the life and survives episode
ends; a seeded reset starts a new life at the first step of a day. ``info`` at night holds
``night: True`` and the last ``shift`` and ``body`` the world reported (the world stands still,
so neither changes; keeping ``shift`` keeps a night from looking like a change of regime);
during the day ``info`` is the world's own, with ``night: False``.

The world's oracle, if any, is the oracle here too: at night its action is ignored, by day the
world is as it left it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifelong.errors import UserError
from lifelong.worlds.params import is_number, positive_int
from lifelong.worlds.state import inner_state, load_inner_state

_KEPT = ("shift", "body")  # what a still world keeps reporting through the night


class Nights(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """``day`` lit steps, then ``night`` steps in which the world stands still and is dark; see
    the module docstring. ``night=0`` is the world itself, always lit."""

    def __init__(self, env: gym.Env, day: int = 500, night: int = 1500) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, day=day, night=night)
        gym.Wrapper.__init__(self, env)
        self.day = positive_int("nights", "day", day)
        if not is_number(night) or night != int(night) or night < 0:
            raise UserError(f"nights: night={night!r} is invalid; allowed: an integer >= 0")
        self.night = int(night)
        space = env.observation_space
        if not isinstance(space, spaces.Box):
            raise UserError(f"nights: observation space {space} is not supported; allowed: a Box")
        self._dark = np.clip(np.zeros(space.shape, space.dtype), space.low, space.high)
        self._steps = 0  # world steps of this life, lit or dark
        self._last: dict[str, Any] = {}

    @property
    def is_night(self) -> bool:
        """Whether the next step falls in a night."""
        return self._steps % (self.day + self.night) >= self.day

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # a new life starts at dawn
            self._steps = 0
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._remember(info)

    def step(self, action: Any):
        night = self.is_night
        self._steps += 1
        if night:
            return self._dark.copy(), 0.0, False, False, {**self._last, "night": True}
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._remember(info)

    def _remember(self, info: dict[str, Any]) -> dict[str, Any]:
        self._last = {key: info[key] for key in _KEPT if key in info}
        info["night"] = False
        return info

    def state_dict(self) -> dict[str, Any]:
        last = {key: _plain(value) for key, value in self._last.items()}
        return {"steps": self._steps, "last": last, "inner": inner_state(self.env)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._steps = int(state["steps"])
        self._last = dict(state["last"])
        load_inner_state(self.env, state["inner"])


def _plain(value: Any) -> Any:
    """Numpy scalars (in a body's readings) as Python numbers, so the state is plain data."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value.item() if isinstance(value, np.generic) else value
