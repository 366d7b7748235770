"""``noisy_tv``: an unlearnable, attention-grabbing TV, the trap for prediction-error curiosity.

A room of its own because it is the one wrapper whose work is drawing noise, and it must do that
fast (an agent lives for millions of steps): frames are drawn a block at a time and the step only
copies one in.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifelong.errors import UserError
from lifelong.worlds.params import discrete, noop_of, positive_int
from lifelong.worlds.state import (
    block_state,
    inner_state,
    load_blocks,
    load_inner_state,
    rng_state,
    salted_rng,
)


class NoisyTV(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """An unlearnable, attention-grabbing TV: the trap for prediction-error curiosity.

    Images show a ``size`` x ``size`` patch in the top-left corner whose every pixel in every
    channel is fresh noise at every step; vectors get ``size`` extra features of fresh noise. One
    extra action (the last) "changes the channel": the inner world takes its no-op (action 0 when
    it declares none) and the TV draws a new mean per channel. An agent rewarded for prediction
    error can waste its life here; one rewarded for learning progress should not.

    The noise is uniform around the channel's mean, strictly inside the bounds, and is drawn a
    block of many frames at a time (the step only copies a frame in); the block is part of
    ``state_dict``, so a restored TV shows the same noise. The patch is in every observation, so
    ``info["tv_in_view"]`` is always True (it overrides a False from a world beneath with a TV of
    its own: one TV in view is enough).
    """

    def __init__(self, env: gym.Env, size: int = 3) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, size=size)
        gym.Wrapper.__init__(self, env)
        self.size = positive_int("noisy_tv", "size", size)
        inner = discrete("noisy_tv", env.action_space, "the extra 'change channel' action")
        self.action_space = spaces.Discrete(int(inner.n) + 1, start=int(inner.start))
        self.tv_action = int(inner.start) + int(inner.n)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) not in (1, 3):
            raise UserError(
                f"noisy_tv: observation space {space} is not supported; allowed: Box images "
                "(H, W, C) or vectors"
            )
        self.image = len(space.shape) == 3
        if self.image and self.size > min(space.shape[:2]):
            raise UserError(
                f"noisy_tv: size={size} is invalid; allowed: 1..{min(space.shape[:2])} for "
                f"images of {space.shape[0]}x{space.shape[1]}"
            )
        self.bool_obs = space.dtype == np.bool_
        if self.image:
            self.observation_space = space
            self._patch = (slice(0, self.size), slice(0, self.size))
            self._low = _finite_or(space.low[self._patch], 0.0)
            self._high = _finite_or(space.high[self._patch], 1.0)
            channels = space.shape[-1]
        else:
            dtype = space.dtype if np.issubdtype(space.dtype, np.floating) else np.float32
            self._low, self._high = np.zeros(self.size), np.ones(self.size)
            self.observation_space = spaces.Box(
                np.concatenate([space.low, self._low]).astype(dtype),
                np.concatenate([space.high, self._high]).astype(dtype),
                (space.shape[0] + self.size,),
                dtype,
            )
            channels = self.size
        self._channels = channels
        # Noise is made in the observation's dtype when that is a float (then a frame is one
        # addition), else in float64 and cast when written in, as a cast would anyway.
        dtype = self.observation_space.dtype
        self._work = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
        self._span = self._high - self._low
        self._inline = self.image and not self.bool_obs
        self._unit_bounds = bool(np.all(self._low == 0.0) and np.all(self._span == 1.0))
        noop = noop_of(env)
        self._noop = int(inner.start) if noop is None else noop
        # The block, drawn from `_rng` whose state just before the draw is `_block_rng`: for
        # each of `_block_size` frames, that frame's noise about a zero mean (`_frames`) and a
        # new programme (`_block_means`, with its frame of means `_offsets`) for when the
        # channel changes at that frame. `_pos` is the next frame.
        self._block_size = max(16, _TV_BLOCK_VALUES // int(np.prod(self._low.shape)))
        self._block_rng: dict[str, Any] | None = None
        self._frames: list[np.ndarray] = []
        self._offsets = np.empty((0, *self._low.shape))
        self._block_means = np.empty((0, channels))
        self._pos = self._block_size
        self._rng = salted_rng(None, "noisy_tv")
        self._new_means()

    def _new_means(self) -> None:
        """A new programme: each channel's noise gets a new mean, away from the bounds."""
        if self._pos >= self._block_size:
            self._draw_block()
        self.means = self._block_means[self._pos]
        self._offset = self._offsets[self._pos]

    @property
    def noop_action(self) -> int | None:
        """The inner world's no-op: the TV adds no new way of doing nothing."""
        return noop_of(self.env)

    def _draw_block(self) -> None:
        rng, size = self._rng, self._block_size
        self._block_rng = rng_state(rng)
        units = rng.random((size, *self._low.shape))
        self._block_means = rng.uniform(_TV_MEAN_LOW, _TV_MEAN_HIGH, (size, self._channels))
        if self.bool_obs:  # a pixel is on with its channel's probability
            self._frames = list(units)
        else:
            self._frames = list((units * (2.0 * _TV_HALF_WIDTH * self._span)).astype(self._work))
        self._offsets = self._offset_frames(self._block_means)
        self._pos = 0

    def _offset_frames(self, means: np.ndarray) -> np.ndarray:
        """Frames (or feature vectors) that the zero-mean noise is added to, for ``means``
        (channels on the last axis, any leading axes: one frame per row)."""
        values = means if self.bool_obs else means - _TV_HALF_WIDTH
        if self.image:  # one value per channel, repeated over the patch's pixels
            values = np.tile(values, self.size * self.size)
            values = values.reshape(*means.shape[:-1], *self._low.shape)
        if self.bool_obs:  # compared with the uniforms
            return values
        if not self._unit_bounds:
            values = self._low + values * self._span
        return values.astype(self._work)

    def _noise(self) -> np.ndarray:
        """The next frame of noise (``size`` x ``size`` x channels, or ``size`` features)."""
        if self._pos >= self._block_size:
            self._draw_block()
            self._offset = self._offset_frames(self.means)
        pos = self._pos
        self._pos = pos + 1
        if self.bool_obs:
            return self._frames[pos] < self._offset
        return self._frames[pos] + self._offset

    def _obs(self, obs: Any) -> np.ndarray:
        noise = self._noise()
        if self.image:
            obs = obs.copy() if type(obs) is np.ndarray else np.array(obs)
            obs[self._patch] = noise
            return obs
        return np.concatenate([obs, noise]).astype(self.observation_space.dtype)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = salted_rng(seed, "noisy_tv")
            self._pos = self._block_size  # the next frame starts a block from the new generator
            self._new_means()
        obs, info = self.env.reset(seed=seed, options=options)
        info["tv"], info["tv_action"], info["tv_in_view"] = True, False, True
        return self._obs(obs), info

    def step(self, action: Any):
        changed = int(action) == self.tv_action
        if changed:
            self._new_means()
            action = self._noop
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["tv"] = True
        info["tv_action"] = changed
        info["tv_in_view"] = True  # the patch is part of every observation
        pos = self._pos
        if self._inline and pos < self._block_size:  # _obs, inlined for non-boolean images
            self._pos = pos + 1
            obs = obs.copy() if type(obs) is np.ndarray else np.array(obs)
            obs[self._patch] = self._frames[pos] + self._offset
            return obs, reward, terminated, truncated, info
        return self._obs(obs), reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        return {
            "means": self.means.tolist(),
            "rng": rng_state(self._rng),
            "block": block_state(self._block_rng, self._pos, self._block_size),
            "inner": inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_blocks(self, state)
        self.means = np.asarray(state["means"], dtype=np.float64)
        self._offset = self._offset_frames(self.means)
        load_inner_state(self.env, state["inner"])


# The noise: uniform within _TV_HALF_WIDTH of its channel's mean (as a fraction of the bounds),
# the means drawn in [_TV_MEAN_LOW, _TV_MEAN_HIGH], so it is broad but never reaches a bound.
_TV_MEAN_LOW, _TV_MEAN_HIGH, _TV_HALF_WIDTH = 0.25, 0.75, 0.225
_TV_BLOCK_VALUES = 1 << 15  # uniforms per block: 910 frames of a 3x3 patch of 4 channels


def _finite_or(bound: np.ndarray, default: float) -> np.ndarray:
    bound = np.asarray(bound, dtype=np.float64)
    return np.where(np.isfinite(bound), bound, default)
