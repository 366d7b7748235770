"""The search: pycma's CMA-ES over the free coordinates of the normalised genome.

`Search` proposes genomes (`ask`), learns from their ranks (`tell`) and turns a proposal back
into a genome (frozen fields at their start values, or the reason it is infeasible).
`plan_lives` picks a generation's (world variant, seed) pairs, shared by all its genomes. Both
depend only on the evolution's seed and the generation, so a replay reproduces them exactly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from lifelong.errors import UserError
from lifelong.evolve.settings import Settings
from lifelong.genome import Genome


class Search:
    """pycma's CMA-ES, bounded to [0, 1], fed from a random stream of its own.

    pycma draws its samples through the `randn` option (here a numpy Generator seeded from the
    evolution's seed) and may touch numpy's global generator elsewhere, so every call runs with
    that global generator set to a seeded state and put back afterwards. Nothing else in the
    process can then change the proposals, and replaying the tells reproduces them exactly.
    """

    def __init__(self, settings: Settings) -> None:
        import cma

        self.settings = settings
        self.start = Genome(**settings.start)
        self.free = settings.free
        full = self.start.to_vector()
        x0 = [full[i] for i in self.free]
        stream = np.random.default_rng([settings.seed, 0])
        self._ticks = 0
        options = {
            "bounds": [0.0, 1.0],
            "popsize": settings.population,
            "randn": lambda *shape: stream.standard_normal(shape),
            "seed": np.nan,  # "do nothing" to numpy's global generator
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
            "verb_filenameprefix": os.devnull,
        }
        with self._isolated():
            self.es = cma.CMAEvolutionStrategy(x0, settings.sigma, options)

    @contextlib.contextmanager
    def _isolated(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.seed([self.settings.seed, self._ticks, 7])
        self._ticks += 1
        try:
            yield
        finally:
            np.random.set_state(saved)

    def ask(self) -> list[list[float]]:
        with self._isolated():
            return [list(map(float, x)) for x in self.es.ask()]

    def tell(self, solutions: list[list[float]], fitness: list[float | None]) -> None:
        """Rank-based, so only the order matters: a genome without fitness ranks below all."""
        finite = [f for f in fitness if f is not None]
        worst = (min(finite) if finite else 0.0) - 1.0
        losses = [-(worst if f is None else f) for f in fitness]  # pycma minimises
        with self._isolated():
            self.es.tell([np.array(x) for x in solutions], losses)

    def mean(self) -> list[float]:
        """The distribution's mean, every field, normalised (frozen fields at their start)."""
        full = self.start.to_vector()
        for i, value in zip(self.free, self.es.result.xfavorite, strict=True):
            full[i] = float(value)
        return full

    def genome(self, solution: list[float]) -> tuple[dict[str, Any], str | None]:
        """The genome a proposal stands for, and why it is infeasible (None if it is not)."""
        full = self.start.to_vector()
        for i, value in zip(self.free, solution, strict=True):
            full[i] = value
        values = Genome.from_vector(full).to_dict()
        values.update({name: self.settings.start[name] for name in self.settings.frozen})
        try:
            Genome(**values)
        except UserError as error:
            return values, f"infeasible: {error}"
        return values, None


def plan_lives(settings: Settings, generation: int) -> list[tuple[str, int]]:
    """This generation's (world spec, seed) pairs, shared by all its genomes.

    Variants are taken in a shuffled order, cycling when there are more lives than variants;
    each life gets a fresh seed. Both depend only on the evolution's seed and the generation.
    """
    _, level = settings.level(generation)
    variants = settings.variants(level)
    rng = np.random.default_rng([settings.seed, generation, 1])
    order = rng.permutation(len(variants))
    seeds = rng.integers(0, 2**31 - 1, size=level.lives)
    return [(variants[order[k % len(variants)]], int(seeds[k])) for k in range(level.lives)]
