"""How the Nursery looks: its colours, and the whole map drawn as an RGB image.

Kept apart from the world's rules because it only reads positions: `Nursery.render` hands them
over and `draw_map` paints them, so the look can change without touching the simulation.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Cell = tuple[int, int]

CELL_PX = 16
COLOURS = {
    "floor": (30, 30, 30),
    "wall": (120, 120, 120),
    "food_a": (60, 200, 60),
    "food_b": (240, 160, 30),
    "hazard": (210, 40, 40),
    "teacher_a": (60, 140, 255),
    "teacher_b": (40, 220, 210),
    "predator": (255, 80, 120),
    "agent": (250, 250, 250),
    "view": (250, 230, 60),
}


def draw_map(
    *,
    size: int,
    hazards: Iterable[Cell],
    foods: Iterable[tuple[Cell, str]],
    tv: tuple[Cell, float] | None,
    teachers: Iterable[tuple[Cell, str]],
    predator: Cell | None,
    agent: Cell,
    radius: int,
    night_dim: float | None,
) -> np.ndarray:
    """The ``size`` x ``size`` map as uint8 RGB, ``CELL_PX`` pixels a cell (see `Nursery.render`).

    ``foods`` and ``teachers`` pair a cell with its name in ``COLOURS``; ``tv`` is its cell and
    value, None without a TV; ``predator`` is None without one; ``radius`` is the view's, for the
    outline; ``night_dim`` is the night's dimming, None by day.
    """
    colours = np.empty((size, size, 3), dtype=np.uint8)
    colours[:] = COLOURS["floor"]
    colours[0, :] = colours[-1, :] = colours[:, 0] = colours[:, -1] = COLOURS["wall"]
    for cell in hazards:
        colours[cell] = COLOURS["hazard"]
    for cell, name in foods:
        colours[cell] = COLOURS[name]
    if tv is not None:
        cell, value = tv
        shade = 0.4 + 0.6 * value
        colours[cell] = (int(200 * shade), int(60 * shade), int(220 * shade))
    image = colours.repeat(CELL_PX, axis=0).repeat(CELL_PX, axis=1)

    inset = CELL_PX // 4
    for cell, name in teachers:
        _paint_square(image, cell, inset, COLOURS[name])
    if predator is not None:
        _paint_square(image, predator, inset - 2, COLOURS["predator"])
    _paint_square(image, agent, inset, COLOURS["agent"])
    if night_dim is not None:
        image = (image * max(night_dim, 0.25)).astype(np.uint8)

    ay, ax = agent
    top = max(ay - radius, 0) * CELL_PX
    left = max(ax - radius, 0) * CELL_PX
    bottom = min(ay + radius + 1, size) * CELL_PX
    right = min(ax + radius + 1, size) * CELL_PX
    line = COLOURS["view"]
    image[top : top + 2, left:right] = line
    image[bottom - 2 : bottom, left:right] = line
    image[top:bottom, left : left + 2] = line
    image[top:bottom, right - 2 : right] = line
    return image


def _paint_square(image: np.ndarray, cell: Cell, inset: int, colour: tuple) -> None:
    top, left = cell[0] * CELL_PX + inset, cell[1] * CELL_PX + inset
    image[top : top + CELL_PX - 2 * inset, left : left + CELL_PX - 2 * inset] = colour
