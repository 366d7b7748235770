"""Checks on the wrappers' parameters, and what they need to know of the actions beneath.

A world spec is typed by a person, so every mistake in a wrapper's parameters (or a schedule's)
must come back as one line naming the wrapper, the bad value and what is allowed: a
:class:`~lifelong.errors.UserError`, never a traceback from deep inside. These checks say it the
same way for every wrapper.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifelong.errors import UserError


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def positive_int(owner: str, name: str, value: Any) -> int:
    """Accept 20000 and 2e4 alike (specs may write either), refuse fractions and booleans."""
    if not is_number(value) or not math.isfinite(value) or value != int(value) or value < 1:
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: a positive integer")
    return int(value)


def finite(owner: str, name: str, value: Any, low: float = -math.inf) -> float:
    if not is_number(value) or not math.isfinite(value) or value <= low:
        bound = "a finite number" if low == -math.inf else f"a finite number > {low:g}"
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: {bound}")
    return float(value)


def probability(owner: str, name: str, value: Any) -> float:
    if not is_number(value) or not 0.0 <= value <= 1.0:
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: a number in [0, 1]")
    return float(value)


def discrete(owner: str, space: gym.Space, why: str) -> spaces.Discrete:
    if not isinstance(space, spaces.Discrete):
        raise UserError(f"{owner}: {why} cannot use {space}; allowed: a Discrete action space")
    return space


def noop_of(env: gym.Env) -> int | None:
    """The world's declared 'do nothing' action, searched through the wrappers and the base."""
    try:
        value = env.get_wrapper_attr("noop_action")
    except AttributeError:
        value = getattr(env.unwrapped, "noop_action", None)
    return None if value is None else int(value)
