"""The kind of action an agent takes: a Discrete choice or a vector in a bounded Box.

Every agent acts in one of the two, and everything that differs between them (how memory keeps
an action, how B's [-1, 1]^d vectors map to the world's bounds, how a teacher's shown action is
read, what a uniform random action is) is a method of one of these two small classes, so the
agent never branches on the kind.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class DiscreteActions:
    """`n` actions, kept and learned as their index."""

    name = "Discrete"
    continuous = False

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.width = self.n  # what A's and B's networks read: one input per action
        self.shape: tuple[int, ...] = ()  # memory's shape of one action

    def stored(self, action: Any) -> int:
        """An action as memory keeps it; None is the no-action of a stream's first frame."""
        return 0 if action is None else action

    def to_world(self, u: Any) -> int:
        return int(u)

    def shown(self, action: Any) -> int:
        """A teacher's action in the world's units."""
        return int(action)

    def uniform(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.n))


class BoxActions:
    """Vectors within bounds `low`..`high`: learned in [-1, 1]^d and mapped to the bounds."""

    name = "Box"
    continuous = True

    def __init__(self, space: gym.spaces.Box) -> None:
        self.space = space
        self.low = np.asarray(space.low, dtype=np.float32)
        self.high = np.asarray(space.high, dtype=np.float32)
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()):
            raise ValueError(f"continuous actions need finite bounds, got {self.low}..{self.high}")
        self.shape = self.low.shape
        self.width = int(np.prod(self.shape))

    def stored(self, action: Any) -> np.ndarray:
        """An action as memory keeps it: the vector in [-1, 1]^d (zeros for no action)."""
        if action is None:
            return np.zeros(self.shape, dtype=np.float32)
        return self.from_world(action)

    def to_world(self, u: Any) -> np.ndarray:
        u = np.clip(np.asarray(u, dtype=np.float32), -1.0, 1.0)
        return self.low + (u + 1.0) * 0.5 * (self.high - self.low)

    def from_world(self, action: Any) -> np.ndarray:
        a = np.asarray(action, dtype=np.float32).reshape(self.shape)
        span = np.maximum(self.high - self.low, 1e-8)
        return np.clip(2.0 * (a - self.low) / span - 1.0, -1.0, 1.0)

    def shown(self, action: Any) -> np.ndarray:
        """A teacher's action in the world's units, as a vector of this shape (a copy)."""
        return np.array(action, dtype=np.float32).reshape(self.shape)

    def uniform(self, rng: np.random.Generator) -> np.ndarray:
        space = self.space
        return rng.uniform(space.low, space.high).astype(space.dtype)


ActionKind = DiscreteActions | BoxActions


def action_kind(space: gym.Space) -> ActionKind:
    """The kind of `space`; anything but a Discrete or a bounded Box is refused."""
    if isinstance(space, gym.spaces.Discrete):
        return DiscreteActions(int(space.n))
    if isinstance(space, gym.spaces.Box):
        return BoxActions(space)
    raise ValueError(f"the agent acts in a Discrete or a bounded Box action space, got {space}")
