"""Nursery v1: the built-in continuing grid world.

A small world that exercises the signals a lifelong learner needs: food that restores energy (and
which of two kinds is nutritious flips with the seasons), hazards that hurt, a noisy TV that is
unpredictable by construction, and a teacher that walks to the currently good food. It never ends:
running out of energy makes the agent faint and respawn at a cost instead of ending an episode.

Speed matters because an agent lives for millions of steps, so positions are plain Python ints,
the map is kept as a padded layer grid (the padding reads as wall) and the egocentric observation
is a single slice copy of that grid plus two filled body planes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

Cell = tuple[int, int]

_DY = (0, -1, 0, 1, 0)
_DX = (0, 0, 1, 0, -1)
_STAY, _UP, _RIGHT, _DOWN, _LEFT = range(5)
_PAIN_DECAY = 0.8
_FAINT_ENERGY = 0.5
# Repeated subtraction of the decay leaves about 1e-16 where exact arithmetic gives 0.
_ENERGY_EPS = 1e-9
_STATE_VERSION = 1

_CELL_PX = 16
_COLOURS = {
    "floor": (30, 30, 30),
    "wall": (120, 120, 120),
    "food_a": (60, 200, 60),
    "food_b": (240, 160, 30),
    "hazard": (210, 40, 40),
    "teacher": (60, 140, 255),
    "agent": (250, 250, 250),
    "view": (250, 230, 60),
}


class Nursery(gymnasium.Env):
    """A continuing, partially observed grid world with seasons, hazards, a noisy TV and a teacher.

    The observation is the ``view`` x ``view`` window centred on the agent with one channel per
    entry of ``CHANNELS``; outside the map reads as wall. The last two channels are the agent's
    energy and pain filled over the whole plane, so the body is seen the same way as the world.
    ``terminated`` and ``truncated`` are always False: a life is one unbroken stream.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    noop_action = 0  # "stay": lets an observer watch without acting
    ACTIONS = ("stay", "up", "right", "down", "left")
    CHANNELS = ("wall", "food_a", "food_b", "hazard", "tv", "teacher", "energy", "pain")

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
        hazard_pain: float = 0.5,
        faint_penalty: float = 1.0,
        teacher: bool = True,
        teacher_patience: int = 20,
        noisy_tv: bool = True,
        render_mode: str | None = None,
    ) -> None:
        _check_int("size", size, 5)
        _check_int("view", view, 3)
        if view % 2 == 0:
            raise ValueError(f"view={view} is invalid: it must be odd so the agent has a centre")
        _check_int("n_food", n_food, 0)
        _check_int("n_hazards", n_hazards, 0)
        _check_int("season_length", season_length, 1)
        _check_int("teacher_patience", teacher_patience, 1)
        _check_float("energy_decay", energy_decay, 0.0, 1.0)
        _check_float("food_energy", food_energy, 0.0, 1.0)
        _check_float("toxic_energy", toxic_energy, 0.0, 1.0)
        _check_float("hazard_pain", hazard_pain, 0.0, 1.0)
        _check_float("faint_penalty", faint_penalty, 0.0, math.inf)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is invalid: allowed are None, 'rgb_array'"
            )
        interior = (size - 2) ** 2
        singles = 1 + int(bool(teacher)) + int(bool(noisy_tv))
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
        self.hazard_pain = float(hazard_pain)
        self.faint_penalty = float(faint_penalty)
        self.teacher = bool(teacher)
        self.teacher_patience = int(teacher_patience)
        self.noisy_tv = bool(noisy_tv)
        self.render_mode = render_mode

        self.observation_space = spaces.Box(0.0, 1.0, (view, view, len(self.CHANNELS)), np.float32)
        self.action_space = spaces.Discrete(len(self.ACTIONS))

        self._pad = view // 2
        padded = size + 2 * self._pad
        self._grid = np.zeros((padded, padded, len(self.CHANNELS)), dtype=np.float32)
        self._place_world(*self._initial_layout(np.random.default_rng(0)))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a fresh life: new layout, full energy, no pain, season 0."""
        super().reset(seed=seed)
        self._place_world(*self._initial_layout(self.np_random))
        return self._observation(), self._info(fainted=False, ate=None)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance one step: clock and season, agent, food, hazard, fainting, teacher, TV."""
        a = int(action)
        if not 0 <= a < 5:
            raise ValueError(f"action={action!r} is invalid: allowed are 0..4 ({self.ACTIONS})")
        self._t += 1
        regime = (self._t // self.season_length) & 1

        y, x = self._ay + _DY[a], self._ax + _DX[a]
        if self._inside(y, x):
            self._ay, self._ax = y, x
        agent = (self._ay, self._ax)

        energy = self._energy - self.energy_decay
        reward = 0.0
        ate = None
        kind = self._food_at.get(agent)
        if kind is not None:
            ate = self.CHANNELS[1 + kind]
            if kind == regime:
                gained = min(self.food_energy, 1.0 - energy)
                energy += gained
                reward += gained
            else:
                energy -= self.toxic_energy
                reward -= self.toxic_energy
            self._respawn_food(agent, kind)

        inflicted = self.hazard_pain if agent in self._hazards else 0.0
        reward -= inflicted
        self._pain = max(self._pain * _PAIN_DECAY, inflicted)

        fainted = energy <= _ENERGY_EPS
        if fainted:
            self._ay, self._ax = self._random_free_cell()
            energy = _FAINT_ENERGY
            reward -= self.faint_penalty
        self._energy = max(energy, 0.0)

        if self.teacher:
            self._step_teacher(regime)
        if self.noisy_tv:
            self._tv_value = self.np_random.random()
            self._grid[self._tv[0] + self._pad, self._tv[1] + self._pad, 4] = self._tv_value

        return self._observation(), reward, False, False, self._info(fainted, ate)

    def render(self) -> np.ndarray:
        """Whole map as uint8 RGB, one 16 px square per cell, the agent's view window outlined."""
        size = self.size
        colours = np.empty((size, size, 3), dtype=np.uint8)
        colours[:] = _COLOURS["floor"]
        colours[0, :] = colours[-1, :] = colours[:, 0] = colours[:, -1] = _COLOURS["wall"]
        for cell in self._hazards:
            colours[cell] = _COLOURS["hazard"]
        for cell, kind in self._food_at.items():
            colours[cell] = _COLOURS[self.CHANNELS[1 + kind]]
        if self.noisy_tv:
            shade = 0.4 + 0.6 * self._tv_value
            colours[self._tv] = (int(200 * shade), int(60 * shade), int(220 * shade))
        image = colours.repeat(_CELL_PX, axis=0).repeat(_CELL_PX, axis=1)

        inset = _CELL_PX // 4
        if self.teacher:
            self._paint_square(image, self._teacher_pos, inset, _COLOURS["teacher"])
        self._paint_square(image, (self._ay, self._ax), inset, _COLOURS["agent"])

        top = max(self._ay - self._pad, 0) * _CELL_PX
        left = max(self._ax - self._pad, 0) * _CELL_PX
        bottom = min(self._ay + self._pad + 1, size) * _CELL_PX
        right = min(self._ax + self._pad + 1, size) * _CELL_PX
        line = _COLOURS["view"]
        image[top : top + 2, left:right] = line
        image[bottom - 2 : bottom, left:right] = line
        image[top:bottom, left : left + 2] = line
        image[top:bottom, right - 2 : right] = line
        return image

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly, including the random generator's state."""
        return {
            "version": _STATE_VERSION,
            "config": self._config(),
            "agent": [self._ay, self._ax],
            "teacher": list(self._teacher_pos),
            "teacher_action": self._teacher_action,
            "teacher_meals": self._teacher_meals,
            "teacher_wait": self._teacher_wait,
            "tv": list(self._tv),
            "tv_value": self._tv_value,
            "hazards": [list(cell) for cell in self._hazard_list],
            "food_a": [list(cell) for cell in self._foods[0]],
            "food_b": [list(cell) for cell in self._foods[1]],
            "energy": self._energy,
            "pain": self._pain,
            "step": self._t,
            "season": (self._t // self.season_length) & 1,
            "rng": copy.deepcopy(self.np_random.bit_generator.state),
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
        rng_state = copy.deepcopy(state["rng"])
        bit_generator = getattr(np.random, rng_state["bit_generator"])
        if type(self.np_random.bit_generator) is not bit_generator:
            self.np_random = np.random.Generator(bit_generator())
        self.np_random.bit_generator.state = rng_state

        self._place_world(
            agent=_cell(state["agent"]),
            teacher=_cell(state["teacher"]),
            tv=_cell(state["tv"]),
            hazards=[_cell(c) for c in state["hazards"]],
            foods=([_cell(c) for c in state["food_a"]], [_cell(c) for c in state["food_b"]]),
            tv_value=float(state["tv_value"]),
        )
        self._teacher_action = int(state["teacher_action"])
        self._teacher_meals = int(state["teacher_meals"])
        self._teacher_wait = int(state["teacher_wait"])
        self._energy = float(state["energy"])
        self._pain = float(state["pain"])
        self._t = int(state["step"])

    def _initial_layout(self, rng: np.random.Generator) -> tuple:
        """Distinct random cells for the agent, the enabled teacher and TV, hazards and foods.

        A disabled teacher or TV is parked on a wall cell it never leaves and no rule looks at.
        """
        inner = self.size - 2
        n_cells = 1 + self.teacher + self.noisy_tv + self.n_hazards + 2 * self.n_food
        picks = rng.permutation(inner * inner)[:n_cells].tolist()
        cells = [(1 + k // inner, 1 + k % inner) for k in picks]
        agent = cells.pop(0)
        teacher = cells.pop(0) if self.teacher else (0, 0)
        tv = cells.pop(0) if self.noisy_tv else (0, 0)
        hazards = cells[: self.n_hazards]
        foods = cells[self.n_hazards :]
        tv_value = float(rng.random()) if self.noisy_tv else 0.0
        return agent, teacher, tv, hazards, (foods[: self.n_food], foods[self.n_food :]), tv_value

    def _place_world(
        self,
        agent: Cell,
        teacher: Cell,
        tv: Cell,
        hazards: list[Cell],
        foods: tuple[list[Cell], list[Cell]],
        tv_value: float,
    ) -> None:
        """Set every position and rebuild the layer grid from them; body and clock start fresh."""
        self._ay, self._ax = agent
        self._teacher_pos = teacher
        self._tv = tv
        self._tv_value = tv_value
        self._hazard_list = list(hazards)
        self._hazards = set(hazards)
        self._foods = (list(foods[0]), list(foods[1]))
        self._food_at = {cell: kind for kind in (0, 1) for cell in self._foods[kind]}
        self._energy = 1.0
        self._pain = 0.0
        self._t = 0
        self._teacher_action = _STAY
        self._teacher_meals = 0
        self._teacher_wait = 0

        grid, pad, size = self._grid, self._pad, self.size
        grid[:] = 0.0
        grid[:, :, 0] = 1.0
        grid[pad + 1 : pad + size - 1, pad + 1 : pad + size - 1, 0] = 0.0
        for y, x in self._hazards:
            grid[y + pad, x + pad, 3] = 1.0
        for cell, kind in self._food_at.items():
            grid[cell[0] + pad, cell[1] + pad, 1 + kind] = 1.0
        if self.noisy_tv:
            grid[tv[0] + pad, tv[1] + pad, 4] = tv_value
        if self.teacher:
            grid[teacher[0] + pad, teacher[1] + pad, 5] = 1.0

    def _step_teacher(self, regime: int) -> None:
        """Greedy Manhattan walk to the nearest nutritious food, stepping around hazards.

        The teacher is pedagogical: standing on a nutritious food it waits up to
        `teacher_patience` steps, showing the way to a learner who follows, before eating it.

        Among the moves that shorten the distance, one off a hazard is chosen at random; when all
        of them land on hazards it sidesteps to any safe neighbour instead, and only if none
        exists does it walk onto the hazard. The randomness keeps it from looping in front of an
        obstacle for ever.
        """
        ty, tx = self._teacher_pos
        action = _STAY
        targets = self._foods[regime]
        if self._food_at.get(self._teacher_pos) == regime:
            self._teacher_wait += 1
            if self._teacher_wait >= self.teacher_patience:
                self._teacher_wait = 0
                self._teacher_meals += 1
                self._respawn_food(self._teacher_pos, regime)
            self._teacher_action = _STAY
            return
        self._teacher_wait = 0
        if targets:
            fy, fx = min(targets, key=lambda c: abs(c[0] - ty) + abs(c[1] - tx))
            closer = []
            if fy != ty:
                closer.append(_DOWN if fy > ty else _UP)
            if fx != tx:
                closer.append(_RIGHT if fx > tx else _LEFT)
            if closer:
                options = [a for a in closer if (ty + _DY[a], tx + _DX[a]) not in self._hazards]
                if not options:
                    options = [
                        a
                        for a in (_UP, _RIGHT, _DOWN, _LEFT)
                        if self._inside(ty + _DY[a], tx + _DX[a])
                        and (ty + _DY[a], tx + _DX[a]) not in self._hazards
                    ]
                if not options:
                    options = closer
                if len(options) == 1:
                    action = options[0]
                else:
                    action = options[int(self.np_random.random() * len(options))]

        pad = self._pad
        self._grid[ty + pad, tx + pad, 5] = 0.0
        ty, tx = ty + _DY[action], tx + _DX[action]
        self._grid[ty + pad, tx + pad, 5] = 1.0
        self._teacher_pos = (ty, tx)
        self._teacher_action = action

    def _respawn_food(self, cell: Cell, kind: int) -> None:
        """Move an eaten food to a random free cell, keeping its slot in the per-kind list."""
        new = self._random_free_cell()
        del self._food_at[cell]
        self._food_at[new] = kind
        foods = self._foods[kind]
        foods[foods.index(cell)] = new
        pad = self._pad
        self._grid[cell[0] + pad, cell[1] + pad, 1 + kind] = 0.0
        self._grid[new[0] + pad, new[1] + pad, 1 + kind] = 1.0

    def _random_free_cell(self) -> Cell:
        """Uniform over interior cells holding nothing: rejection sampling, cheap on sparse maps.

        The constructor guarantees at least one free cell, so the loop always ends.
        """
        inner = self.size - 2
        while True:
            k = int(self.np_random.integers(inner * inner))
            cell = (1 + k // inner, 1 + k % inner)
            if (
                cell not in self._food_at
                and cell not in self._hazards
                and cell != (self._ay, self._ax)
                and not (self.teacher and cell == self._teacher_pos)
                and not (self.noisy_tv and cell == self._tv)
            ):
                return cell

    def _inside(self, y: int, x: int) -> bool:
        return 0 < y < self.size - 1 and 0 < x < self.size - 1

    def _observation(self) -> np.ndarray:
        obs = self._grid[self._ay : self._ay + self.view, self._ax : self._ax + self.view].copy()
        obs[:, :, 6] = self._energy
        obs[:, :, 7] = self._pain
        return obs

    def _info(self, fainted: bool, ate: str | None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "body": {"energy": self._energy, "pain": self._pain},
            "shift": (self._t // self.season_length) & 1,
            "fainted": fainted,
            "ate": ate,
        }
        if self.teacher:
            dy = self._teacher_pos[0] - self._ay
            dx = self._teacher_pos[1] - self._ax
            if -self._pad <= dy <= self._pad and -self._pad <= dx <= self._pad:
                info["teacher"] = {
                    "action": self._teacher_action,
                    "offset": (dy, dx),
                    "follow": _toward(dy, dx),
                }
        return info

    def _config(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "view": self.view,
            "n_food": self.n_food,
            "n_hazards": self.n_hazards,
            "teacher": self.teacher,
            "noisy_tv": self.noisy_tv,
        }

    @staticmethod
    def _paint_square(image: np.ndarray, cell: Cell, inset: int, colour: tuple) -> None:
        top, left = cell[0] * _CELL_PX + inset, cell[1] * _CELL_PX + inset
        image[top : top + _CELL_PX - 2 * inset, left : left + _CELL_PX - 2 * inset] = colour


def _cell(value: Any) -> Cell:
    return (int(value[0]), int(value[1]))


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: it must be an integer >= {minimum}")


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"{name}={value!r} is invalid: it must be a finite number in [{low}, {high}]"
        )


if "lifelong/Nursery-v1" not in gymnasium.registry:
    gymnasium.register(id="lifelong/Nursery-v1", entry_point="lifelong.worlds.nursery:Nursery")


def _toward(dy: int, dx: int) -> int:
    """The move that closes the larger gap to a relative position (stay when already there)."""
    if dy == 0 and dx == 0:
        return _STAY
    if abs(dy) >= abs(dx):
        return _DOWN if dy > 0 else _UP
    return _RIGHT if dx > 0 else _LEFT
