"""Lure: a deterministic grid where a small reward next to the start hides a larger one beyond.

The world where planning should pay (issue 27's `needs` suite). Each trial puts the agent on a
random cell of a `size` x `size` grid, the goal (worth `goal`) exactly `distance` moves away and
the lure (worth `lure`) on a cell next to the agent. Stepping onto either pays its reward and
starts the next trial at once; so does a trial's `patience` moves passing without either (a
policy that pushes into an edge would otherwise see one observation forever, and learn nothing).
The world never ends: a life is a stream of trials.

With the defaults (distance 5, lure 0.1, goal 1.0) walking to the goal earns 0.2 per step and
taking the lure 0.1 per step, so a policy that looks one step ahead (the greedy habit before its
values have propagated) is trapped by the lure at half the ceiling, while a planner that sees far
enough ahead in a learned model walks past it. Five moves is beyond what the default habit's
n-step return sees in one update (3 steps), so its values reach the goal only by bootstrapping.
Moves are deterministic and the map is fully observed, so a world model can be learned exactly.
Its stationary twin for the suite is ``lure(lure=0, distance=1)``: the goal next to the start and
no lure, where the greedy habit is already optimal and planning has nothing to add.

The lure is put on a neighbour that does not lead towards the goal whenever there is one (and
otherwise the agent is in a corner with the goal diagonally away, so the other neighbour still
does): some shortest path to the goal always avoids it, every trial takes exactly `distance`
moves to the goal, and the ceiling is exact: ``max(goal / distance, lure)`` per step.

Observation: the grid seen from the agent, a (2 size - 1, 2 size - 1, 3) float32 image centred
on it (the whole grid is in view from every cell), channels (outside the grid, lure, goal): what
a move does is then the same everywhere, so learning it is about lookahead, not about finding the
agent in a map. Actions: up, right, down, left; a move into the edge leaves the agent where it is.
`oracle_action()` reads the layout and takes the option (lure or goal) worth the most, which for
trials that are alike is the one of the highest reward rate: it earns the ceiling exactly.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from lifelong.errors import UserError
from lifelong.worlds.params import finite, is_number
from lifelong.worlds.state import restore_rng, rng_state

Cell = tuple[int, int]

_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left
_OUTSIDE, _LURE, _GOAL = range(3)
_STATE_VERSION = 1


class Lure(gymnasium.Env):
    """A continuing grid of trials, each with a lure next to the start and a goal further on;
    see the module docstring. ``info["reached"]`` says how a trial ended ("lure", "goal", or
    "nothing" after `patience` moves), for analysis only; nothing here ever changes, so there is
    no ``info["shift"]``."""

    metadata = {"render_modes": []}
    ACTIONS = ("up", "right", "down", "left")
    CHANNELS = ("outside", "lure", "goal")

    def __init__(
        self,
        size: int = 7,
        distance: int = 5,
        lure: float = 0.1,
        goal: float = 1.0,
        patience: int = 20,
    ) -> None:
        self.size = _whole("size", size, 5, 64, "the conv encoder needs at least 5 x 5")
        self.distance = _whole(
            "distance", distance, 1, self.size - 1, "moves from the start to the goal"
        )
        self.patience = _whole(
            "patience", patience, self.distance, 10**9, "moves a trial lasts without a reward"
        )
        self.goal = finite("lure", "goal", goal, low=0.0)
        if not (is_number(lure) and 0.0 <= lure < self.goal):
            raise UserError(f"lure: lure={lure!r} is invalid; allowed: a number in [0, goal)")
        self.lure = float(lure)
        view = 2 * self.size - 1  # centred on the agent, the whole grid in view from anywhere
        self.observation_space = spaces.Box(0.0, 1.0, (view, view, 3), np.float32)
        # The "outside" plane for each position of the agent is a slice of one padded plane.
        self._outside = np.ones((3 * self.size - 2, 3 * self.size - 2), dtype=np.float32)
        self._outside[self.size - 1 : 2 * self.size - 1, self.size - 1 : 2 * self.size - 1] = 0.0
        self.action_space = spaces.Discrete(4)
        # The cells exactly `distance` moves from a cell, as offsets (filtered to the grid).
        d = self.distance
        self._ring = [(dy, s * (d - abs(dy))) for dy in range(-d, d + 1) for s in (-1, 1)]
        self._ring = list(dict.fromkeys(self._ring))
        self.rate = max(self.goal / self.distance, self.lure)  # the ceiling, per step
        self._agent: Cell = (0, 0)
        self._lure: Cell | None = None
        self._goal: Cell = (0, 0)
        self._moves = 0  # moves in this trial so far
        self._new_trial(np.random.default_rng(0))

    # ----------------------------------------------------------------------------- Gymnasium

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a fresh trial (a new life when seeded)."""
        super().reset(seed=seed)
        self._new_trial(self.np_random)
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move; stepping onto the lure or the goal pays it and starts the next trial."""
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action={action!r} is invalid: allowed are 0..3")
        self._agent = self._moved(self._agent, a)
        self._moves += 1
        info: dict[str, Any] = {}
        reward = 0.0
        if self._agent == self._goal:
            reward, info["reached"] = self.goal, "goal"
        elif self._agent == self._lure:
            reward, info["reached"] = self.lure, "lure"
        elif self._moves >= self.patience:
            info["reached"] = "nothing"
        if info:
            self._new_trial(self.np_random)
        return self._observation(), reward, False, False, info

    # ----------------------------------------------------------------------------- the oracle

    def oracle_action(self) -> int:
        """The first move of the best plan from here: to the lure or to the goal, whichever is
        worth more once the steps it takes are charged at the world's best rate (reward - rate
        x steps: the rule that maximises the long-run reward of a stream of trials), along a
        shortest path that avoids the other one."""
        options = [(self.goal, self._goal, self._lure)]
        if self._lure is not None:
            options.append((self.lure, self._lure, self._goal))
        best: tuple[float, int] | None = None
        for reward, target, avoid in options:
            found = self._path(target, avoid)
            if found is None:
                continue
            steps, first = found
            value = reward - self.rate * steps
            if best is None or value > best[0]:
                best = (value, first)
        return 0 if best is None else best[1]

    # ----------------------------------------------------------------------------- saving

    def state_dict(self) -> dict[str, Any]:
        """The layout of the current trial and the generator: everything there is."""
        return {
            "version": _STATE_VERSION,
            "config": self._config(),
            "agent": list(self._agent),
            "lure": None if self._lure is None else list(self._lure),
            "goal": list(self._goal),
            "moves": self._moves,
            "rng": rng_state(self.np_random),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``; one from another configuration is refused."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"state version={state.get('version')!r}: only {_STATE_VERSION}")
        if state["config"] != self._config():
            raise ValueError(f"state config={state['config']} is not this world's {self._config()}")
        restore_rng(self, state["rng"])
        self._agent = _cell(state["agent"])
        self._lure = None if state["lure"] is None else _cell(state["lure"])
        self._goal = _cell(state["goal"])
        self._moves = int(state["moves"])

    # ----------------------------------------------------------------------------- inside

    def _inside(self, cell: Cell) -> bool:
        return 0 <= cell[0] < self.size and 0 <= cell[1] < self.size

    def _moved(self, cell: Cell, action: int) -> Cell:
        dy, dx = _MOVES[action]
        moved = (cell[0] + dy, cell[1] + dx)
        return moved if self._inside(moved) else cell

    def _new_trial(self, rng: np.random.Generator) -> None:
        """A random start, a goal exactly `distance` away, and (with a lure) a lure next to the
        start, off every shortest path to the goal where possible."""
        size = self.size
        start = (int(rng.integers(size)), int(rng.integers(size)))
        ring = [(start[0] + dy, start[1] + dx) for dy, dx in self._ring]
        ring = [cell for cell in ring if self._inside(cell)]
        goal = ring[int(rng.integers(len(ring)))]
        self._agent, self._goal, self._lure, self._moves = start, goal, None, 0
        if self.lure <= 0.0:
            return
        near = [self._moved(start, a) for a in range(4)]
        near = [cell for cell in dict.fromkeys(near) if cell not in (start, goal)]
        away = [cell for cell in near if _manhattan(cell, goal) > _manhattan(start, goal)]
        choices = away or near
        self._lure = choices[int(rng.integers(len(choices)))]

    def _path(self, target: Cell, avoid: Cell | None) -> tuple[int, int] | None:
        """(steps, first move) of a shortest path from the agent to `target` not through
        `avoid`, by breadth-first search; None if there is none."""
        start = self._agent
        first: dict[Cell, int] = {start: -1}
        frontier, steps = [start], 0
        while frontier:
            steps += 1
            ahead = []
            for cell in frontier:
                for action in range(4):
                    nxt = self._moved(cell, action)
                    if nxt in first or nxt == avoid:
                        continue
                    move = action if cell == start else first[cell]
                    if nxt == target:
                        return steps, move
                    first[nxt] = move
                    ahead.append(nxt)
            frontier = ahead
        return None

    def _observation(self) -> np.ndarray:
        """The egocentric view: cell (size - 1 + dy, size - 1 + dx) is the agent's (dy, dx)."""
        view, centre = 2 * self.size - 1, self.size - 1
        (y, x) = self._agent
        obs = np.zeros((view, view, 3), dtype=np.float32)
        obs[:, :, _OUTSIDE] = self._outside[y : y + view, x : x + view]
        obs[centre + self._goal[0] - y, centre + self._goal[1] - x, _GOAL] = 1.0
        if self._lure is not None:
            obs[centre + self._lure[0] - y, centre + self._lure[1] - x, _LURE] = 1.0
        return obs

    def _config(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "distance": self.distance,
            "lure": self.lure,
            "goal": self.goal,
            "patience": self.patience,
        }


def _manhattan(a: Cell, b: Cell) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _cell(value: Any) -> Cell:
    return (int(value[0]), int(value[1]))


def _whole(name: str, value: Any, low: int, high: int, why: str) -> int:
    """An integer in [low, high] (a whole float such as 7.0 counts), else a one-line UserError."""
    ok = is_number(value) and np.isfinite(value) and value == int(value) and low <= value <= high
    if not ok:
        raise UserError(
            f"lure: {name}={value!r} is invalid; allowed: an integer in [{low}, {high}] ({why})"
        )
    return int(value)
