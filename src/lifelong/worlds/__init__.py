"""Worlds an agent can live in, by name.

`make_world(spec)` is the one way the rest of the library obtains a world, so a name means the
same thing on the command line, in benchmarks and in tests. Unknown names are a user mistake and
get a one-line error listing what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from lifelong.errors import UserError
from lifelong.worlds.nursery import Nursery

# name -> (factory, description)
WORLDS: dict[str, tuple[Callable[[], gym.Env], str]] = {
    "nursery": (Nursery, "the built-in world: seasons, hazards, a teacher and a noisy TV"),
    "nursery-small": (
        lambda: Nursery(size=8, view=5, n_food=2, n_hazards=2, season_length=1000),
        "a smaller, quicker Nursery for tests and short runs",
    ),
}


def world_names() -> list[str]:
    return sorted(WORLDS)


def make_world(spec: str) -> gym.Env:
    if spec not in WORLDS:
        raise UserError(f"unknown world {spec!r}; available: {', '.join(world_names())}")
    return WORLDS[spec][0]()


def noop_action(world: gym.Env) -> int | None:
    """The world's 'do nothing' action, if it declares one (used to watch without acting)."""
    value: Any = getattr(world.unwrapped, "noop_action", None)
    return None if value is None else int(value)
