"""A scripted oracle for the Nursery: the forager whose reward defines the world's ceiling.

METRICS.md reports a continuing life as the share of the headroom between a uniform random policy
and a ceiling, and the ceiling it asks for first is a scripted oracle that may read the world's
truth. This is that oracle. It reads what no agent is shown (where every food, hazard and the
predator is, the whole map rather than the egocentric window, and which food will be nutritious
at the step it arrives: the season's clock) and forages:

1. a breadth-first search from the agent over the interior, never onto a hazard, the predator's
   cell or a cell next to the predator (it could step there), nor onto food that would be toxic
   when the agent got there; the first food found that is nutritious on arrival is the target,
   and the oracle takes the first move of that shortest path;
2. when that finds nothing (food walled in by hazards, the predator in the way), the same search
   allowing hazards and the predator's neighbours (never its cell, never toxic food);
3. when there is still nothing worth walking to, it steps off a hazard or away from the predator
   if it stands there, and otherwise rests (resting drains the least energy).

It is a strong policy, not a proved optimum: it is greedy (the nearest good food, not the best
tour), ignores slips and does not race the teachers for food. A learner may beat it; a share of
the headroom above 1 says so. What it is for is that its score moves with the world's settings,
so the ceiling of any Nursery (any preset, any economy) is measured, not assumed: run it on the
same world and seeds (`lifelong bench ... --agents oracle`, or `NurseryOracle` in your own loop).

It touches the world's private state read-only and draws no random numbers, so a life it leads is
the world's own stream: the same seed gives the same life.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lifelong.worlds.nursery import Nursery

Cell = tuple[int, int]

_STAY, _UP, _RIGHT, _DOWN, _LEFT, _REST = range(6)
_STEPS = ((_UP, -1, 0), (_RIGHT, 0, 1), (_DOWN, 1, 0), (_LEFT, 0, -1))


class NurseryOracle:
    """The oracle's policy for one Nursery: call it before each step for the action to take.

    It holds the world (its `unwrapped` Nursery) and reads it afresh at every call, so it follows
    storms, respawns, seasons and a world restored from a checkpoint without being told.
    """

    def __init__(self, world: Nursery) -> None:
        self.world = world
        size = world.size
        inside = range(1, size - 1)
        # Each interior cell's moves that stay inside: (action, neighbour), fixed for the map.
        self.moves: dict[Cell, tuple[tuple[int, Cell], ...]] = {
            (y, x): tuple(
                (action, (y + dy, x + dx))
                for action, dy, dx in _STEPS
                if 0 < y + dy < size - 1 and 0 < x + dx < size - 1
            )
            for y in inside
            for x in inside
        }

    def __call__(self) -> int:
        """The action for the next step (an index into `Nursery.ACTIONS`)."""
        world = self.world
        agent = (world._ay, world._ax)
        hazards = world._hazards
        predator = world._predator if world.predator else None
        near = set() if predator is None else {cell for _, cell in self.moves.get(predator, ())}
        careful = self._search(agent, hazards | near, predator)
        if careful is not None:
            return careful
        bold = self._search(agent, set(), predator)
        if bold is not None:
            return bold
        if agent in hazards or agent in near:
            for action, cell in self.moves[agent]:
                safe = cell not in hazards and cell not in near and cell != predator
                if safe and world._food_at.get(cell) is None:
                    return action
        return _REST

    def _search(self, start: Cell, avoid: set[Cell], predator: Cell | None) -> int | None:
        """The first move of a shortest path to food that is nutritious when reached, through
        cells not in `avoid`, not the predator's and not holding food toxic on arrival; None
        when there is none. A step taken now lands at world step t + 1, so a cell at distance
        d is reached at t + d, in season ((t + d) // season_length) mod 2."""
        world = self.world
        food_at, length, now = world._food_at, world.season_length, world._t
        moves = self.moves
        first: dict[Cell, int] = {start: _STAY}
        frontier = [start]
        distance = 0
        while frontier:
            distance += 1
            season = ((now + distance) // length) & 1
            ahead: list[Cell] = []
            for cell in frontier:
                lead = first[cell]
                for action, neighbour in moves[cell]:
                    if neighbour in first or neighbour in avoid or neighbour == predator:
                        continue
                    move = action if distance == 1 else lead
                    kind = food_at.get(neighbour)
                    if kind is not None:
                        if kind == season:
                            return move
                        first[neighbour] = move  # toxic on arrival: seen, never crossed
                        continue
                    first[neighbour] = move
                    ahead.append(neighbour)
            frontier = ahead
        return None
