"""``sequence``: several worlds in turn, so that old tasks come back and forgetting shows.

`TaskSequence` is a world of its own (not a wrapper): it holds the task worlds, unifies their
spaces and switches between them on a `Schedule`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifelong.errors import UserError
from lifelong.worlds.schedule import Schedule
from lifelong.worlds.state import (
    inner_state,
    load_inner_state,
    restore_rng,
    rng_state,
    salted_rng,
)


class TaskSequence(gym.Env):
    """Several worlds in turn, a -> b -> c -> a ..., switched on a schedule.

    Tasks come back, so forgetting can be measured. The spaces are unified: Discrete action spaces
    take the largest size (an action a task lacks performs its action 0), and image observations
    are zero-padded to the most channels (MinAtar games differ only there). Different heights,
    widths or vector sizes cannot be reconciled and are refused.

    At a switch the current episode ends with ``truncated=True`` and the next reset starts the
    next task; the first step of the new task is the schedule's change step (a change at step 0
    has no episode to end and is ignored). ``info["shift"]`` is the index of the task that
    produced the observation.
    """

    metadata = {"render_modes": []}

    def __init__(self, envs: list[gym.Env], **schedule_params: Any) -> None:
        owner = "sequence"
        if len(envs) < 2:
            raise UserError(f"{owner}: tasks has {len(envs)} world(s); allowed: at least 2")
        unknown = sorted(set(schedule_params) - {"every", "at", "pareto", "alpha"})
        if unknown:
            raise UserError(
                f"{owner}: unknown parameter {unknown[0]!r}; allowed: tasks, every, at, pareto, "
                "alpha"
            )
        self.envs = list(envs)
        self.schedule = Schedule(**schedule_params, owner=owner)
        self.observation_space = self._unify_observations(
            owner, [e.observation_space for e in envs]
        )
        self.action_space = self._unify_actions(owner, [e.action_space for e in envs])
        self.task = 0
        self._switch_pending = False
        self._rng = salted_rng(None, "sequence")
        self._task_seeds: list[int | None] = [None] * len(envs)
        self.schedule.reset(self._rng)
        self.schedule.step()  # the schedule runs one step ahead: see `step`

    @staticmethod
    def _unify_observations(owner: str, obs_spaces: list[gym.Space]) -> spaces.Box:
        if not all(isinstance(s, spaces.Box) for s in obs_spaces):
            raise UserError(
                f"{owner}: observation spaces {obs_spaces} cannot be combined; allowed: Box spaces"
            )
        shapes = [s.shape for s in obs_spaces]
        if len({len(s) for s in shapes}) != 1 or len(shapes[0]) not in (1, 3):
            raise UserError(
                f"{owner}: observation shapes {shapes} cannot be combined; allowed: all vectors "
                "of one size or all images (H, W, C) of one H and W"
            )
        if len(shapes[0]) == 1 and len(set(shapes)) != 1:
            raise UserError(f"{owner}: vector sizes {shapes} differ; allowed: vectors of one size")
        if len(shapes[0]) == 3 and len({s[:2] for s in shapes}) != 1:
            raise UserError(
                f"{owner}: image sizes {[s[:2] for s in shapes]} differ; allowed: one H and W "
                "(only the channel count may differ)"
            )
        channels = max(s[-1] for s in shapes)
        lows = [_pad(s.low.astype(np.float64), channels) for s in obs_spaces]
        highs = [_pad(s.high.astype(np.float64), channels) for s in obs_spaces]
        dtypes = {s.dtype for s in obs_spaces}
        dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float32)
        low, high = np.minimum.reduce(lows), np.maximum.reduce(highs)
        return spaces.Box(low.astype(dtype), high.astype(dtype), low.shape, dtype)

    @staticmethod
    def _unify_actions(owner: str, action_spaces: list[gym.Space]) -> gym.Space:
        if all(isinstance(s, spaces.Discrete) for s in action_spaces):
            return spaces.Discrete(max(int(s.n) for s in action_spaces))
        if all(s == action_spaces[0] for s in action_spaces):
            return action_spaces[0]
        raise UserError(
            f"{owner}: action spaces {action_spaces} cannot be combined; allowed: Discrete spaces "
            "(of any sizes) or identical spaces"
        )

    @property
    def current(self) -> gym.Env:
        return self.envs[self.task]

    def _obs(self, obs: Any) -> np.ndarray:
        padded = _pad(np.asarray(obs), self.observation_space.shape[-1])
        return padded.astype(self.observation_space.dtype, copy=False)

    def _reset_current(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        seed, self._task_seeds[self.task] = self._task_seeds[self.task], None
        obs, info = self.current.reset(seed=seed, options=options)
        info["shift"] = self.task
        return self._obs(obs), info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None:  # a new life from task 0; each task gets its own seed
            self._rng = salted_rng(seed, "sequence")
            self._task_seeds = [int(s) for s in self._rng.integers(2**31, size=len(self.envs))]
            self.schedule.reset(self._rng)
            self.schedule.step()
            self.task = 0
            self._switch_pending = False
        if self._switch_pending:
            self.task = (self.task + 1) % len(self.envs)
            self._switch_pending = False
        return self._reset_current(options)

    def step(self, action: Any):
        if self._switch_pending:  # the caller went on without a reset: start the next task here
            self.reset()
        action_space = self.current.action_space
        if isinstance(action_space, spaces.Discrete) and not action_space.contains(int(action)):
            action = int(action_space.start)
        obs, reward, terminated, truncated, info = self.current.step(action)
        info["shift"] = self.task
        # The schedule is one step ahead: if the *next* step is a change step, this one ends the
        # episode so that the change step is the first step of the next task.
        if self.schedule.step():
            self._switch_pending = True
            truncated = True
        return self._obs(obs), reward, terminated, truncated, info

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def state_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "switch_pending": self._switch_pending,
            "task_seeds": list(self._task_seeds),
            "schedule": self.schedule.state_dict(),
            "rng": rng_state(self._rng),
            "inner": [inner_state(env) for env in self.envs],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.task = int(state["task"])
        self._switch_pending = bool(state["switch_pending"])
        self._task_seeds = list(state["task_seeds"])
        self.schedule.load_state_dict(state["schedule"])
        restore_rng(self._rng, state["rng"])
        for env, inner in zip(self.envs, state["inner"], strict=True):
            load_inner_state(env, inner)


def _pad(array: np.ndarray, channels: int) -> np.ndarray:
    """Zero-pad the last axis of an image to ``channels``; vectors pass unchanged."""
    if array.ndim != 3 or array.shape[-1] == channels:
        return array
    pad = np.zeros((*array.shape[:-1], channels - array.shape[-1]), dtype=array.dtype)
    return np.concatenate([array, pad], axis=-1)
