"""Nursery: the built-in continuing grid world.

A small world that exercises the signals a lifelong learner needs, each behind a constructor
argument so tests and curricula can switch it off:

- food that restores energy, where which of two kinds is nutritious flips with the seasons;
  a nutritious meal is also worth `meal_reward` and a toxic one hurts (`toxic_pain`), so that a
  skilled forager earns many times what a careful one does (the economy, below);
- hazards that hurt, and a predator that stalks the agent, looms as it nears and bites;
- a noisy TV that is unpredictable by construction;
- two teachers that walk to food and wait on it, one reliable and one not;
- day and night (the view darkens; resting is cheaper at night);
- storms at heavy-tailed intervals that scatter all the food;
- a slippery regime in which moves sometimes go astray (a change of dynamics, not of reward).

It never ends: running out of energy makes the agent faint and respawn at a cost instead of
ending an episode.

The economy (issue 27). Reward per step = energy gained from a nutritious meal (at most what
fills the agent up) + `meal_reward` for that meal - `toxic_energy` for a toxic one - pain
inflicted (a hazard, a bite, the sickness of a toxic meal) - `faint_penalty` on fainting. With
only the energy terms (meal_reward = toxic_pain = 0, the world before issue 27) no policy could
earn more than the drain (+0.005 per step): the world rewarded only avoiding pain and faints, a
toxic meal cost nothing in the long run (the energy is eaten back) and resting beat learning.
A meal worth a fixed reward, not capped by satiety, and a sickness that hurts as much as a
hazard make foraging pay: with the defaults (16,000-step lives, seeds 0-2, last quarter)
uniform random earns -0.030 per step, always resting -0.011 (-0.0035 without teachers or
predator), a forager blind to the season (eating every food it meets) about +0.005, and the
scripted oracle (`nursery_oracle.py`, the ceiling of the headroom) +0.107 (+0.124).
docs/benchmarks.md, "The Nursery's headroom (issue 27)".

Speed matters because an agent lives for millions of steps, so positions are plain Python ints,
the map is kept as a padded layer grid (the padding reads as wall) and the egocentric observation
is a single slice copy of that grid plus two filled body planes. Every random decision draws from
the env's one generator, so a saved state continues bit-identically.

This module stays over 600 lines because the world's rules (layout, beings, events, observation)
all act on that one grid and one generator, so split across modules they would reach into each
other's private state; what only reads it, the drawing and the argument checks, lives apart in
nursery_render.py and nursery_params.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from lifelong.worlds.nursery_oracle import NurseryOracle
from lifelong.worlds.nursery_params import check_float, check_int, check_reliability
from lifelong.worlds.nursery_render import draw_map
from lifelong.worlds.state import restore_rng, rng_state

Cell = tuple[int, int]

_DY = (0, -1, 0, 1, 0, 0)
_DX = (0, 0, 1, 0, -1, 0)
_STAY, _UP, _RIGHT, _DOWN, _LEFT, _REST = range(6)
_MOVES = (_UP, _RIGHT, _DOWN, _LEFT)

# Channel indices, matching Nursery.CHANNELS.
_WALL, _FOOD, _HAZARD, _TV, _TEACHER, _PREDATOR, _ENERGY, _PAIN = 0, 1, 3, 4, 5, 7, 8, 9
_WORLD_CHANNELS = 8  # everything before the body planes: what night darkens
_TEACHER_NAMES = ("teacher_a", "teacher_b")

_PAIN_DECAY = 0.8
_FAINT_ENERGY = 0.5
_REST_DAY = 0.5  # energy decay while resting, as a fraction of the waking decay
_REST_NIGHT = 0.2
_STORM_SHAPE = 1.5  # Pareto shape: a finite mean but an infinite variance, so some gaps are huge
_FAR_TRIES = 32
# Repeated subtraction of the decay leaves about 1e-16 where exact arithmetic gives 0.
_ENERGY_EPS = 1e-9
_STATE_VERSION = 3  # 3: the economy (meal_reward, toxic_pain) is part of the config

PRESETS: dict[str, dict[str, Any]] = {
    # A quick world for tests and short runs: few things, nothing that hunts or scatters.
    "nursery-small": {
        "size": 8,
        "view": 5,
        "n_food": 2,
        "n_hazards": 2,
        "season_length": 1000,
        "teachers": 1,
        "predator": False,
        "storm_mean_interval": 0,
        "slip": 0.0,
    },
    # The default world, everything on at moderate settings: the same as Nursery().
    "nursery": {},
    # A bigger, meaner world: more hazards, a faster predator, frequent storms, slipperier ground.
    "nursery-hard": {
        "size": 15,
        "n_food": 4,
        "n_hazards": 12,
        "predator_speed": 0.4,
        "storm_mean_interval": 1000,
        "slip": 0.3,
    },
}


class _Teacher:
    """One demonstrator's state.

    `honest` says whether the current target was chosen truthfully (the nearest nutritious food)
    or at random among all foods; it is redrawn with the teacher's reliability at every pick.
    """

    __slots__ = ("action", "honest", "meals", "pos", "target", "target_kind", "toxic_meals", "wait")

    def __init__(self, pos: Cell) -> None:
        self.pos = pos
        self.action = _STAY
        self.wait = 0
        self.meals = 0
        self.toxic_meals = 0
        self.target: Cell | None = None
        self.target_kind = 0
        self.honest = True


class Nursery(gymnasium.Env):
    """A continuing, partially observed grid world; see the module docstring for what is in it.

    The observation is the ``view`` x ``view`` window centred on the agent with one channel per
    entry of ``CHANNELS``; outside the map reads as wall. The last two channels are the agent's
    energy and pain filled over the whole plane, so the body is seen the same way as the world.
    At night every other channel is multiplied by ``night_dim``. ``terminated`` and ``truncated``
    are always False: a life is one unbroken stream.

    ``info["shift"]`` is the full ground-truth regime, ``season + 2 * slippery``: bit 0 is which
    food is nutritious (0: food_a, 1: food_b; flips every ``season_length`` steps) and bit 1 is
    whether moves can slip (every other ``slip_period`` steps, and only when ``slip`` > 0). The
    two clocks are separate so that changes of reward and changes of dynamics happen apart.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    noop_action = 0  # "stay": lets an observer watch without acting
    rest_action = 5  # like "stay", but energy drains slower, most of all at night
    ACTIONS = ("stay", "up", "right", "down", "left", "rest")
    CHANNELS = (
        "wall",
        "food_a",
        "food_b",
        "hazard",
        "tv",
        "teacher_a",
        "teacher_b",
        "predator",
        "energy",
        "pain",
    )

    def __init__(
        self,
        size: int = 11,
        view: int = 7,
        n_food: int = 3,
        n_hazards: int = 4,
        season_length: int = 2000,
        energy_decay: float = 0.005,
        food_energy: float = 0.3,
        toxic_energy: float = 0.1,
        meal_reward: float = 0.5,
        toxic_pain: float = 0.5,
        hazard_pain: float = 0.5,
        faint_penalty: float = 1.0,
        teachers: int = 2,
        teacher_reliability: Sequence[float] = (1.0, 0.3),
        teacher_patience: int = 20,
        noisy_tv: bool = True,
        predator: bool = True,
        predator_speed: float = 0.08,
        predator_pain: float = 0.8,
        day_length: int = 400,
        night_dim: float = 0.4,
        storm_mean_interval: float = 3000.0,
        slip: float = 0.15,
        slip_period: int = 3000,
        render_mode: str | None = None,
    ) -> None:
        check_int("size", size, 5)
        check_int("view", view, 3)
        if view % 2 == 0:
            raise ValueError(f"view={view} is invalid: it must be odd so the agent has a centre")
        check_int("n_food", n_food, 0)
        check_int("n_hazards", n_hazards, 0)
        check_int("season_length", season_length, 1)
        check_int("teacher_patience", teacher_patience, 1)
        check_int("day_length", day_length, 0)
        if day_length == 1:
            raise ValueError("day_length=1 is invalid: it must be 0 (no night) or >= 2")
        check_int("slip_period", slip_period, 1)
        if isinstance(teachers, bool) or not isinstance(teachers, (int, np.integer)):
            raise ValueError(f"teachers={teachers!r} is invalid: allowed are 0, 1, 2")
        if teachers not in (0, 1, 2):
            raise ValueError(f"teachers={teachers!r} is invalid: allowed are 0, 1, 2")
        reliability = check_reliability(teacher_reliability)
        check_float("energy_decay", energy_decay, 0.0, 1.0)
        check_float("food_energy", food_energy, 0.0, 1.0)
        check_float("toxic_energy", toxic_energy, 0.0, 1.0)
        check_float("meal_reward", meal_reward, 0.0, math.inf)
        check_float("toxic_pain", toxic_pain, 0.0, 1.0)
        check_float("hazard_pain", hazard_pain, 0.0, 1.0)
        check_float("faint_penalty", faint_penalty, 0.0, math.inf)
        check_float("predator_speed", predator_speed, 0.0, 1.0)
        check_float("predator_pain", predator_pain, 0.0, 1.0)
        check_float("night_dim", night_dim, 0.0, 1.0)
        check_float("slip", slip, 0.0, 1.0)
        check_float("storm_mean_interval", storm_mean_interval, 0.0, math.inf)
        if 0 < storm_mean_interval < 3:
            raise ValueError(
                f"storm_mean_interval={storm_mean_interval!r} is invalid: "
                "it must be 0 (no storms) or >= 3 (gaps are whole steps)"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is invalid: allowed are None, 'rgb_array'"
            )
        interior = (size - 2) ** 2
        singles = 1 + int(teachers) + int(bool(noisy_tv)) + int(bool(predator))
        if 2 * n_food + n_hazards + singles + 1 > interior:
            raise ValueError(
                f"n_food={n_food}, n_hazards={n_hazards} do not fit in size={size}: "
                f"2*n_food + n_hazards + {singles + 1} must be <= {interior} interior cells"
            )

        self.size = int(size)
        self.view = int(view)
        self.n_food = int(n_food)
        self.n_hazards = int(n_hazards)
        self.season_length = int(season_length)
        self.energy_decay = float(energy_decay)
        self.food_energy = float(food_energy)
        self.toxic_energy = float(toxic_energy)
        self.meal_reward = float(meal_reward)
        self.toxic_pain = float(toxic_pain)
        self.hazard_pain = float(hazard_pain)
        self.faint_penalty = float(faint_penalty)
        self.teachers = int(teachers)
        self.teacher_reliability = reliability
        self.teacher_patience = int(teacher_patience)
        self.noisy_tv = bool(noisy_tv)
        self.predator = bool(predator)
        self.predator_speed = float(predator_speed)
        self.predator_pain = float(predator_pain)
        self.day_length = int(day_length)
        self.night_dim = float(night_dim)
        self.storm_mean_interval = float(storm_mean_interval)
        self.slip = float(slip)
        self.slip_period = int(slip_period)
        self.render_mode = render_mode

        self.observation_space = spaces.Box(0.0, 1.0, (view, view, len(self.CHANNELS)), np.float32)
        self.action_space = spaces.Discrete(len(self.ACTIONS))

        # Night multiplies the world channels by `night_dim` (the body planes are refilled after).
        self._night_scale = np.ones(len(self.CHANNELS), dtype=np.float32)
        self._night_scale[:_WORLD_CHANNELS] = self.night_dim
        self._pad = view // 2
        padded = size + 2 * self._pad
        self._grid = np.zeros((padded, padded, len(self.CHANNELS)), dtype=np.float32)
        self._new_world(np.random.default_rng(0))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a fresh life: new layout, full energy, no pain, season 0, morning, calm."""
        super().reset(seed=seed)
        self._new_world(self.np_random)
        return self._observation(), self._info(fainted=False, ate=None, bitten=False, storm=False)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step: clocks, storm, agent, food, hazard, predator, fainting, teachers, TV."""
        a = int(action)
        if not 0 <= a < 6:
            raise ValueError(f"action={action!r} is invalid: allowed are 0..5 ({self.ACTIONS})")
        self._t += 1
        t = self._t
        season = (t // self.season_length) & 1
        rng = self.np_random
        night = self._night = self._is_night()

        storm = 0 < self._next_storm <= t
        if storm:
            self._scatter_food()
            self._next_storm = t + self._storm_gap(rng)

        if self.slip and 0 < a < 5 and (t // self.slip_period) & 1:
            u = rng.random()
            if u < self.slip:
                a = 1 + (a + int(u / self.slip * 3)) % 4  # one of the three other moves
        y, x = self._ay + _DY[a], self._ax + _DX[a]
        if self._inside(y, x):
            self._ay, self._ax = y, x
        agent = (self._ay, self._ax)

        decay = self.energy_decay
        if a == _REST:
            decay *= _REST_NIGHT if night else _REST_DAY
        energy = self._energy - decay
        reward = 0.0
        ate = None
        inflicted = self.hazard_pain if agent in self._hazards else 0.0
        kind = self._food_at.get(agent)
        if kind is not None:
            ate = self.CHANNELS[_FOOD + kind]
            if kind == season:
                gained = min(self.food_energy, 1.0 - energy)
                energy += gained
                reward += gained + self.meal_reward
            else:
                energy -= self.toxic_energy
                reward -= self.toxic_energy
                inflicted += self.toxic_pain  # sickness: it hurts like a hazard
            self._respawn_food(agent, kind)

        bitten = self.predator and self._step_predator()
        if bitten:
            inflicted += self.predator_pain
        reward -= inflicted
        self._pain = min(1.0, max(self._pain * _PAIN_DECAY, inflicted))

        fainted = energy <= _ENERGY_EPS
        if fainted:
            self._ay, self._ax = self._random_free_cell()
            energy = _FAINT_ENERGY
            reward -= self.faint_penalty
        self._energy = max(energy, 0.0)

        for index, teacher in enumerate(self._teachers):
            self._step_teacher(index, teacher, season)
        if self.noisy_tv:
            self._tv_value = rng.random()
            self._grid[self._tv[0] + self._pad, self._tv[1] + self._pad, _TV] = self._tv_value

        return self._observation(), reward, False, False, self._info(fainted, ate, bitten, storm)

    def render(self) -> np.ndarray:
        """Whole map as uint8 RGB, one 16 px square per cell, the agent's view window outlined.

        Beings (teachers, predator, agent) are inset squares so the cell they stand on shows
        around them; at night the map is darkened like the observation, the outline is not.
        """
        return draw_map(
            size=self.size,
            hazards=self._hazards,
            foods=[(cell, self.CHANNELS[_FOOD + kind]) for cell, kind in self._food_at.items()],
            tv=(self._tv, self._tv_value) if self.noisy_tv else None,
            teachers=[(t.pos, _TEACHER_NAMES[i]) for i, t in enumerate(self._teachers)],
            predator=self._predator if self.predator else None,
            agent=(self._ay, self._ax),
            radius=self._pad,
            night_dim=self.night_dim if self._night else None,
        )

    def scripted_oracle(self) -> NurseryOracle:
        """The oracle that defines this world's ceiling: call it before each step for the action
        a forager who reads the world's truth would take (`nursery_oracle.py`). The life of the
        `oracle` agent (`lifelong bench ... --agents oracle`) is led by it."""
        return NurseryOracle(self)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly, including the random generator's state.

        ``season``, ``slippery`` and ``night`` are derived from ``step`` and only informative;
        a disabled teacher slot is absent, a disabled predator or TV sits on wall cell (0, 0).
        """
        return {
            "version": _STATE_VERSION,
            "config": self._config(),
            "agent": [self._ay, self._ax],
            "teachers": [
                {
                    "pos": list(t.pos),
                    "action": t.action,
                    "wait": t.wait,
                    "meals": t.meals,
                    "toxic_meals": t.toxic_meals,
                    "target": None if t.target is None else list(t.target),
                    "target_kind": t.target_kind,
                    "honest": t.honest,
                }
                for t in self._teachers
            ],
            "predator": list(self._predator),
            "tv": list(self._tv),
            "tv_value": self._tv_value,
            "hazards": [list(cell) for cell in self._hazard_list],
            "food_a": [list(cell) for cell in self._foods[0]],
            "food_b": [list(cell) for cell in self._foods[1]],
            "energy": self._energy,
            "pain": self._pain,
            "step": self._t,
            "next_storm": self._next_storm,
            "season": (self._t // self.season_length) & 1,
            "slippery": self._slippery(),
            "night": self._is_night(),
            "rng": rng_state(self.np_random),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` so that the world continues bit-identically.

        The positions may also be edited before loading, which is how tests and curricula build
        particular situations; the layer grid is rebuilt from them.
        """
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"state version={state.get('version')!r}: only {_STATE_VERSION}")
        if state["config"] != self._config():
            raise ValueError(
                f"state config={state['config']} does not match this env's {self._config()}"
            )
        restore_rng(self, state["rng"])

        saved_teachers = state["teachers"]
        self._place_world(
            agent=_cell(state["agent"]),
            teachers=[_cell(t["pos"]) for t in saved_teachers],
            predator=_cell(state["predator"]),
            tv=_cell(state["tv"]),
            hazards=[_cell(c) for c in state["hazards"]],
            foods=([_cell(c) for c in state["food_a"]], [_cell(c) for c in state["food_b"]]),
            tv_value=float(state["tv_value"]),
        )
        for teacher, saved in zip(self._teachers, saved_teachers, strict=True):
            teacher.action = int(saved["action"])
            teacher.wait = int(saved["wait"])
            teacher.meals = int(saved["meals"])
            teacher.toxic_meals = int(saved["toxic_meals"])
            teacher.target = None if saved["target"] is None else _cell(saved["target"])
            teacher.target_kind = int(saved["target_kind"])
            teacher.honest = bool(saved["honest"])
        self._energy = float(state["energy"])
        self._pain = float(state["pain"])
        self._t = int(state["step"])
        self._night = self._is_night()
        self._next_storm = int(state["next_storm"])

    # ----------------------------------------------------------------------------- layout

    def _new_world(self, rng: np.random.Generator) -> None:
        """Lay out a fresh world and schedule its first storm, all from `rng`.

        The predator starts at the first unused cell at least ``view`` steps from the agent (or
        the farthest unused one), so a life does not begin with a bite. Disabled things are
        parked on wall cell (0, 0), which no rule looks at.
        """
        inner = self.size - 2
        order = [(1 + k // inner, 1 + k % inner) for k in rng.permutation(inner * inner).tolist()]
        agent = order[0]
        teachers = order[1 : 1 + self.teachers]
        cursor = 1 + self.teachers
        tv = (0, 0)
        if self.noisy_tv:
            tv = order[cursor]
            cursor += 1
        hazards = order[cursor : cursor + self.n_hazards]
        cursor += self.n_hazards
        foods = order[cursor : cursor + 2 * self.n_food]
        cursor += 2 * self.n_food
        predator = (0, 0)
        if self.predator:
            unused = order[cursor:]
            far = [c for c in unused if _manhattan(c, agent) >= self.view]
            predator = far[0] if far else max(unused, key=lambda c: _manhattan(c, agent))
        tv_value = float(rng.random()) if self.noisy_tv else 0.0
        foods_by_kind = (foods[: self.n_food], foods[self.n_food :])
        self._place_world(agent, teachers, predator, tv, hazards, foods_by_kind, tv_value)
        self._next_storm = self._storm_gap(rng) if self.storm_mean_interval else 0

    def _place_world(
        self,
        agent: Cell,
        teachers: list[Cell],
        predator: Cell,
        tv: Cell,
        hazards: list[Cell],
        foods: tuple[list[Cell], list[Cell]],
        tv_value: float,
    ) -> None:
        """Set every position and rebuild the layer grid from them; body and clock start fresh."""
        self._ay, self._ax = agent
        self._teachers = [_Teacher(cell) for cell in teachers]
        self._predator = predator
        self._tv = tv
        self._tv_value = tv_value
        self._hazard_list = list(hazards)
        self._hazards = set(hazards)
        # Cells the agent can stand on (the interior): fixed for the life, so counted once.
        self._reachable = (self.size - 2) ** 2  # hazards hurt but can be stood on
        self._cell_facts = self._facts_by_cell()
        self._foods = (list(foods[0]), list(foods[1]))
        self._food_at = {cell: kind for kind in (0, 1) for cell in self._foods[kind]}
        self._energy = 1.0
        self._pain = 0.0
        self._t = 0
        self._night = False
        self._next_storm = 0

        grid, pad, size = self._grid, self._pad, self.size
        grid[:] = 0.0
        grid[:, :, _WALL] = 1.0
        grid[pad + 1 : pad + size - 1, pad + 1 : pad + size - 1, _WALL] = 0.0
        for y, x in self._hazards:
            grid[y + pad, x + pad, _HAZARD] = 1.0
        for cell, kind in self._food_at.items():
            grid[cell[0] + pad, cell[1] + pad, _FOOD + kind] = 1.0
        if self.noisy_tv:
            grid[tv[0] + pad, tv[1] + pad, _TV] = tv_value
        for index, teacher in enumerate(self._teachers):
            grid[teacher.pos[0] + pad, teacher.pos[1] + pad, _TEACHER + index] = 1.0
        if self.predator:
            grid[predator[0] + pad, predator[1] + pad, _PREDATOR] = 1.0

    # ----------------------------------------------------------------------------- beings

    def _step_teacher(self, index: int, teacher: _Teacher, season: int) -> None:
        """Walk to the current target food, wait on it up to `teacher_patience` steps, eat it.

        The waiting is pedagogical: it shows the way to a learner who follows. A target is kept
        until it is eaten, scattered or (for an honest pick) stops being nutritious; then a new
        one is picked, honestly with probability `reliability`, else any food of either kind.
        """
        target = teacher.target
        if (
            target is None
            or self._food_at.get(target) != teacher.target_kind
            or (teacher.honest and teacher.target_kind != season)
        ):
            teacher.wait = 0
            target = self._pick_target(teacher, self.teacher_reliability[index], season)
        if target is None:
            teacher.action = _STAY
            return
        if teacher.pos == target:
            teacher.wait += 1
            if teacher.wait >= self.teacher_patience:
                if teacher.target_kind == season:
                    teacher.meals += 1
                else:
                    teacher.toxic_meals += 1
                teacher.wait = 0
                teacher.target = None
                self._respawn_food(target, teacher.target_kind)
            teacher.action = _STAY
            return

        action = self._teacher_move(teacher.pos, target)
        ty, tx = teacher.pos
        pad, channel = self._pad, _TEACHER + index
        self._grid[ty + pad, tx + pad, channel] = 0.0
        ty, tx = ty + _DY[action], tx + _DX[action]
        self._grid[ty + pad, tx + pad, channel] = 1.0
        teacher.pos = (ty, tx)
        teacher.action = action

    def _pick_target(self, teacher: _Teacher, reliability: float, season: int) -> Cell | None:
        """Choose the next food: the nearest nutritious one if honest, else any at random."""
        teacher.honest = reliability >= 1.0 or self.np_random.random() < reliability
        if teacher.honest:
            candidates = self._foods[season]
            if not candidates:
                teacher.target = None
                return None
            ty, tx = teacher.pos
            target = min(candidates, key=lambda c: abs(c[0] - ty) + abs(c[1] - tx))
            kind = season
        else:
            every = self._foods[0] + self._foods[1]
            if not every:
                teacher.target = None
                return None
            k = int(self.np_random.random() * len(every))
            target = every[k]
            kind = 0 if k < len(self._foods[0]) else 1
        teacher.target, teacher.target_kind = target, kind
        return target

    def _teacher_move(self, pos: Cell, target: Cell) -> int:
        """Greedy Manhattan step to `target`, around hazards and other foods where it can.

        Among the moves that shorten the distance, one onto neither a hazard nor another food is
        chosen at random; when all are blocked it sidesteps to any unblocked neighbour, and only
        if none exists does it step onto the obstacle. The randomness keeps it from looping in
        front of an obstacle for ever. Avoiding other foods means a teacher only ever stands on
        the food it chose, so what it demonstrates is exactly its pick.
        """
        ty, tx = pos
        fy, fx = target
        food_at, hazards = self._food_at, self._hazards
        closer, options = [], []
        if fy != ty:
            move = _DOWN if fy > ty else _UP
            closer.append(move)
            cell = (ty + _DY[move], tx)
            if cell not in hazards and (cell == target or cell not in food_at):
                options.append(move)
        if fx != tx:
            move = _RIGHT if fx > tx else _LEFT
            closer.append(move)
            cell = (ty, tx + _DX[move])
            if cell not in hazards and (cell == target or cell not in food_at):
                options.append(move)
        if not options:
            for move in _MOVES:
                y, x = ty + _DY[move], tx + _DX[move]
                if self._inside(y, x) and (y, x) not in hazards and (y, x) not in food_at:
                    options.append(move)
        if not options:
            options = closer
        if len(options) == 1:
            return options[0]
        return options[int(self.np_random.random() * len(options))]

    def _step_predator(self) -> bool:
        """Move toward the agent with probability `predator_speed`; bite if on its cell.

        The move is a greedy Manhattan step (the interior is open, so it never meets a wall; it
        ignores hazards, it is not afraid of them). One uniform draw decides both whether it moves
        and, when both axes close the gap, which. After a bite it slinks off to a far free cell.
        Returns whether it bit.
        """
        py, px = self._predator
        ay, ax = self._ay, self._ax
        if (py, px) != (ay, ax):
            u = self.np_random.random()
            if u < self.predator_speed:
                dy, dx = ay - py, ax - px
                if dy and (not dx or u < 0.5 * self.predator_speed):
                    step_y, step_x = (1 if dy > 0 else -1), 0
                else:
                    step_y, step_x = 0, (1 if dx > 0 else -1)
                self._move_predator((py + step_y, px + step_x))
        if self._predator != (ay, ax):
            return False
        self._move_predator(self._far_free_cell())
        return True

    def _move_predator(self, cell: Cell) -> None:
        pad = self._pad
        py, px = self._predator
        self._grid[py + pad, px + pad, _PREDATOR] = 0.0
        self._grid[cell[0] + pad, cell[1] + pad, _PREDATOR] = 1.0
        self._predator = cell

    # ----------------------------------------------------------------------------- events

    def _storm_gap(self, rng: np.random.Generator) -> int:
        """Steps until the next storm: Pareto with shape 1.5 and mean `storm_mean_interval`.

        A classic Pareto with scale m has mean 1.5 m / 0.5 = 3 m; numpy's `pareto` is the shifted
        (Lomax) form, hence the 1 +. Heavy tails mean long calm stretches and sudden clusters.
        """
        scale = self.storm_mean_interval / 3.0
        return max(1, round(scale * (1.0 + rng.pareto(_STORM_SHAPE))))

    def _scatter_food(self) -> None:
        """A storm: every food moves to a new random free cell, keeping its slot and kind."""
        pad, grid = self._pad, self._grid
        for (y, x), kind in self._food_at.items():
            grid[y + pad, x + pad, _FOOD + kind] = 0.0
        self._food_at.clear()
        for kind in (0, 1):
            foods = self._foods[kind]
            for slot in range(len(foods)):
                cell = self._random_free_cell()
                foods[slot] = cell
                self._food_at[cell] = kind
                grid[cell[0] + pad, cell[1] + pad, _FOOD + kind] = 1.0

    def _respawn_food(self, cell: Cell, kind: int) -> None:
        """Move an eaten food to a random free cell, keeping its slot in the per-kind list."""
        new = self._random_free_cell()
        del self._food_at[cell]
        self._food_at[new] = kind
        foods = self._foods[kind]
        foods[foods.index(cell)] = new
        pad = self._pad
        self._grid[cell[0] + pad, cell[1] + pad, _FOOD + kind] = 0.0
        self._grid[new[0] + pad, new[1] + pad, _FOOD + kind] = 1.0

    def _random_free_cell(self) -> Cell:
        """Uniform over interior cells holding nothing: rejection sampling, cheap on sparse maps.

        The constructor guarantees at least one free cell, so the loop always ends. Disabled
        things sit on a wall cell, which is never a candidate, so they need no special case.
        """
        inner = self.size - 2
        while True:
            k = int(self.np_random.integers(inner * inner))
            cell = (1 + k // inner, 1 + k % inner)
            if not self._occupied(cell):
                return cell

    def _occupied(self, cell: Cell) -> bool:
        return (
            cell in self._food_at
            or cell in self._hazards
            or cell == (self._ay, self._ax)
            or cell == self._tv
            or cell == self._predator
            or any(cell == t.pos for t in self._teachers)
        )

    def _far_free_cell(self) -> Cell:
        """A random free cell at least `view` steps (Manhattan) from the agent.

        A few rejection tries; when they all land near (a small map, a crowded corner), the
        farthest free cell, found by a deterministic scan so replays stay identical.
        """
        agent = (self._ay, self._ax)
        for _ in range(_FAR_TRIES):
            cell = self._random_free_cell()
            if _manhattan(cell, agent) >= self.view:
                return cell
        interior = range(1, self.size - 1)
        free = [(y, x) for y in interior for x in interior if not self._occupied((y, x))]
        return max(free, key=lambda c: _manhattan(c, agent))

    # ----------------------------------------------------------------------------- reading

    def _inside(self, y: int, x: int) -> bool:
        return 0 < y < self.size - 1 and 0 < x < self.size - 1

    def _is_night(self) -> bool:
        """The second half of every `day_length` steps (never when `day_length` is 0)."""
        return self.day_length > 0 and self._t % self.day_length >= self.day_length // 2

    def _slippery(self) -> bool:
        return self.slip > 0 and bool((self._t // self.slip_period) & 1)

    def _observation(self) -> np.ndarray:
        window = self._grid[self._ay : self._ay + self.view, self._ax : self._ax + self.view]
        obs = window * self._night_scale if self._night else window.copy()
        obs[:, :, _ENERGY] = self._energy
        obs[:, :, _PAIN] = self._pain
        return obs

    def _info(self, fainted: bool, ate: str | None, bitten: bool, storm: bool) -> dict[str, Any]:
        """Ground truth for metrics and the agent's body signals.

        ``threat`` is the predator's looming: 1 - chebyshev distance / (view radius + 1) while it
        is in view, 0 otherwise, so it rises step by step as it closes in.

        For metrics only (the agent must not read them): ``position`` (y, x); ``reachable``, the
        number of cells the agent can stand on (the interior: hazards hurt but can be entered),
        for coverage; ``tv_in_view``, whether the noisy TV is inside the egocentric window; and
        ``truth``, the variables a probe of the agent's latent should recover, each in [0, 1];
        ``predator_offset``, the predator's (dy, dx) from the agent (None without a predator),
        which informants name (`informants.py`, ``says=predator``).
        """
        pad, ay, ax = self._pad, self._ay, self._ax
        threat = 0.0
        offset = None
        if self.predator:
            dy, dx = self._predator[0] - ay, self._predator[1] - ax
            offset = (dy, dx)
            if -pad <= dy <= pad and -pad <= dx <= pad:  # in view; most steps it is not
                threat = 1.0 - max(abs(dy), abs(dx)) / (pad + 1)
        t = self._t
        season = (t // self.season_length) & 1
        night = 1.0 if self._night else 0.0
        energy = self._energy
        position, y, x, tv_in_view = self._cell_facts[ay][ax]
        info: dict[str, Any] = {
            "body": {"energy": energy, "pain": self._pain, "threat": threat, "night": night},
            # season + 2 * self._slippery(), without the call: this runs every step
            "shift": season + 2 if self.slip and (t // self.slip_period) & 1 else season,
            "fainted": fainted,
            "ate": ate,
            "bitten": bitten,
            "storm": storm,
            "position": position,
            "reachable": self._reachable,
            "tv_in_view": tv_in_view,
            "predator_offset": offset,
            "truth": {
                "y": y,
                "x": x,
                "energy": energy,
                "season": 1.0 if season else 0.0,
                "night": night,
            },
        }
        seen = []
        for index, teacher in enumerate(self._teachers):
            dy = teacher.pos[0] - ay
            dx = teacher.pos[1] - ax
            if -pad <= dy <= pad and -pad <= dx <= pad:
                seen.append(
                    {
                        "source": _TEACHER_NAMES[index],
                        "action": teacher.action,
                        "offset": (dy, dx),
                        "follow": self._follow_move(dy, dx),
                    }
                )
        if seen:
            info["teachers"] = seen
            info["teacher"] = min(seen, key=lambda s: abs(s["offset"][0]) + abs(s["offset"][1]))
        return info

    def _facts_by_cell(self) -> list[list[tuple[Cell, float, float, bool]]]:
        """Per cell (y, x): the position tuple, y and x scaled by size - 1, and whether the TV is
        in the window seen from there (the teachers' test: |dy|, |dx| <= view radius).

        All fixed until the world is laid out again (the TV never moves), so `_info` looks them
        up instead of building a tuple, dividing and comparing at every step.
        """
        size, pad, (ty, tx) = self.size, self._pad, self._tv
        tv = self.noisy_tv
        return [
            [
                (
                    (y, x),
                    y / (size - 1),
                    x / (size - 1),
                    tv and abs(y - ty) <= pad and abs(x - tx) <= pad,
                )
                for x in range(size)
            ]
            for y in range(size)
        ]

    def _follow_move(self, dy: int, dx: int) -> int:
        """The move toward a teacher at offset (dy, dx): the larger gap first, around a hazard.

        When both axes close the gap and the first choice is a hazard, the other is taken, so a
        follower is not walked straight through hazards the teacher itself went around.
        """
        if dy == 0 and dx == 0:
            return _STAY
        vertical = (_DOWN if dy > 0 else _UP) if dy else None
        horizontal = (_RIGHT if dx > 0 else _LEFT) if dx else None
        first, second = (vertical, horizontal) if abs(dy) >= abs(dx) else (horizontal, vertical)
        assert first is not None
        blocked = (self._ay + _DY[first], self._ax + _DX[first]) in self._hazards
        return second if blocked and second is not None else first

    def _config(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "view": self.view,
            "n_food": self.n_food,
            "n_hazards": self.n_hazards,
            "teachers": self.teachers,
            "noisy_tv": self.noisy_tv,
            "predator": self.predator,
            # The economy: a state saved under other prices would continue under the wrong ones.
            "meal_reward": self.meal_reward,
            "toxic_pain": self.toxic_pain,
        }


def _cell(value: Any) -> Cell:
    return (int(value[0]), int(value[1]))


def _manhattan(a: Cell, b: Cell) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


if "lifelong/Nursery-v1" not in gymnasium.registry:
    gymnasium.register(id="lifelong/Nursery-v1", entry_point="lifelong.worlds.nursery:Nursery")
