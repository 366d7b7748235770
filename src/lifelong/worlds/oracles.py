"""Scripted oracles for other people's worlds, so their headroom has a ceiling too.

METRICS.md reports a life as the share of the headroom between random and a ceiling, the score
of a scripted oracle that may read the world's truth. Our own worlds carry theirs (the Nursery's
`scripted_oracle()`, the bandit's and the lure's `oracle_action()`); Gymnasium's do not, so the
ones the `needs` suite lives in get one here, reading the task beneath every wrapper:

- Pendulum: swing up by pumping energy (a torque along the velocity until the pendulum's energy
  is that of standing still on top), then hold it there with a critically damped PD law on the
  linearised dynamics. It reads the pendulum's own gravity, mass, length and torque limit, so it
  stays right under `shift(kind=gravity|mass|length)`; `shift(kind=gains)` inverts its own gains
  around it (`shifts.GainShift.oracle_action`).
- MiniGrid (DoorKey, Empty, and any grid of walls, doors, one kind of key and a goal): the
  shortest plan from the agent's true position, heading and load to the goal, by a search over
  (cell, heading, holding a key) in which turning, stepping and picking up cost a step and
  crossing a closed door costs two (toggle, then step). Replanned at every step, so it follows the
  world whatever happened; it never touches the noisy TV's extra action.

`controller_for(env)` returns a callable of no arguments giving the next action, or None for a
world without one. The oracles draw no random numbers and only read the world, so a life they
lead is the world's own stream.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control import PendulumEnv

# Near the top (|angle| below this, in radians) the PD law holds the pendulum; elsewhere it swings.
_CAPTURE = 0.4
_NATURAL = 4.0  # rad/s: the closed loop's natural frequency near the top (critically damped)
_PUMP = 10.0  # gain of the energy pump, large enough to saturate the torque most of the way up


class PendulumOracle:
    """Energy pumping, then a PD hold: near-optimal for Gymnasium's Pendulum; see the module."""

    def __init__(self, pendulum: PendulumEnv) -> None:
        self.pendulum = pendulum

    def __call__(self) -> np.ndarray:
        world = self.pendulum
        angle, speed = (float(v) for v in world.state)
        angle = (angle + math.pi) % (2 * math.pi) - math.pi  # 0 is upright
        # thetä = a sin(theta) + b u, as in PendulumEnv.step.
        a = 3.0 * world.g / (2.0 * world.l)
        b = 3.0 / (world.m * world.l**2)
        if abs(angle) < _CAPTURE:
            torque = -((a + _NATURAL**2) * angle + 2.0 * _NATURAL * speed) / b
        else:
            energy = 0.5 * speed**2 + a * (math.cos(angle) - 1.0)  # 0 when still on top
            torque = -_PUMP * energy * speed
        limit = float(world.max_torque)
        return np.array([min(max(torque, -limit), limit)], dtype=np.float32)


# MiniGrid's actions and headings (minigrid.core.actions, DIR_TO_VEC: right, down, left, up).
_LEFT, _RIGHT, _FORWARD, _PICKUP, _TOGGLE = 0, 1, 2, 3, 5
_HEADINGS = ((1, 0), (0, 1), (-1, 0), (0, -1))

State = tuple[int, int, int, bool]  # x, y, heading, holding a key


class MiniGridOracle:
    """The shortest plan to the goal of a MiniGrid task, replanned each step; see the module."""

    def __init__(self, task: Any) -> None:
        self.task = task

    def __call__(self) -> int:
        task = self.task
        x, y = (int(v) for v in task.agent_pos)
        carrying = task.carrying
        start: State = (x, y, int(task.agent_dir), carrying is not None and carrying.type == "key")
        first = self._search(start)
        return _FORWARD if first is None else first

    def _search(self, start: State) -> int | None:
        """The first action of a cheapest plan from `start` to the goal (Dijkstra; costs 1, or 2
        through a closed door), None where the goal cannot be reached."""
        grid = self.task.grid
        best = {start: 0}
        queue: list[tuple[int, int, State, int | None]] = [(0, 0, start, None)]
        order = 0  # ties broken by insertion: the search is deterministic
        while queue:
            cost, _, state, lead = heapq.heappop(queue)
            if cost > best.get(state, math.inf):
                continue
            x, y, heading, key = state
            dx, dy = _HEADINGS[heading]
            ahead = grid.get(x + dx, y + dy)
            moves: list[tuple[int, int, State]] = [
                (_LEFT, 1, (x, y, (heading - 1) % 4, key)),
                (_RIGHT, 1, (x, y, (heading + 1) % 4, key)),
            ]
            kind = None if ahead is None else ahead.type
            if kind == "goal":
                return _FORWARD if lead is None else lead
            if kind is None or (kind == "key" and key and not self._holding_key()):
                moves.append((_FORWARD, 1, (x + dx, y + dy, heading, key)))
            elif kind == "door" and (ahead.is_open or not ahead.is_locked or key):
                # A closed door is toggled open first: two steps to cross it.
                action = _FORWARD if ahead.is_open else _TOGGLE
                moves.append((action, 1 if ahead.is_open else 2, (x + dx, y + dy, heading, key)))
            elif kind == "key" and not key:
                moves.append((_PICKUP, 1, (x, y, heading, True)))
            for action, step, nxt in moves:
                total = cost + step
                if total < best.get(nxt, math.inf):
                    best[nxt] = total
                    order += 1
                    heapq.heappush(queue, (total, order, nxt, action if lead is None else lead))
        return None

    def _holding_key(self) -> bool:
        """Whether the key the plan holds was already held at its start (then no key cell on
        the map is the one it picked up, and key cells stay blocked)."""
        carrying = self.task.carrying
        return carrying is not None and carrying.type == "key"


def controller_for(env: gym.Env) -> Callable[[], Any] | None:
    """The scripted oracle of the task beneath `env`'s wrappers, or None if it has none."""
    task = env.unwrapped
    if isinstance(task, PendulumEnv):
        return PendulumOracle(task)
    if type(task).__module__.startswith("minigrid.") and hasattr(task, "agent_pos"):
        return MiniGridOracle(task)
    return None
