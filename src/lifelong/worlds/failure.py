"""``failure``: pay only for failing, so a continuing life can tell a balancer from chance."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym

from lifelong.errors import UserError


class Failure(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The world pays only for failing: reward -``penalty`` on a step that ends an episode by
    termination (the pole fell), 0 on every other step.

    CartPole pays +1 for every step the pole is up, the step that drops it included; in a life
    that never ends (the loop resets and goes on) every agent then earns exactly 1 per step and
    no reward curve can tell a balancer from a random policy. Paying for the fall instead makes
    the reward rate minus the rate of falls, which is what a continuing life should maximise.
    Truncation (a time limit) is not a failure and pays 0.
    """

    def __init__(self, env: gym.Env, penalty: float = 1.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, penalty=penalty)
        gym.Wrapper.__init__(self, env)
        if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty > 0):
            raise UserError(f"failure: penalty={penalty!r} is invalid; allowed: a number > 0")
        self.penalty = float(penalty)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, -self.penalty if terminated else 0.0, terminated, truncated, info
