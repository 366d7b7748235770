"""When a world changes: every N steps, at listed steps, or after heavy-tailed gaps.

One clock for everything that changes on a schedule (the shifts, task sequences and the
piecewise bandit), so "every=1000" means the same wherever it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lifelong.errors import UserError
from lifelong.worlds.params import finite, is_number, positive_int
from lifelong.worlds.state import restore_rng, rng_state


class Schedule:
    """When the world changes: every N steps, at listed steps, or after heavy-tailed gaps.

    Step indices count world steps from 0. ``step()`` is called once per world step, before the
    step is taken, and returns True when a change happens at that step (so with ``every=100``
    steps 0..99 are regime 0 and step 100 is the first of regime 1).

    ``pareto=M`` draws gaps from a Pareto distribution with shape ``alpha`` and mean ``M``: most
    gaps are short but a few are very long, the way real worlds are calm for long stretches and
    then change. ``alpha`` must exceed 1 so the mean exists; near 1 the tail is heaviest.
    """

    def __init__(
        self,
        every: int | None = None,
        at: Sequence[int] | None = None,
        pareto: float | None = None,
        alpha: float = 1.5,
        *,
        owner: str = "schedule",
    ) -> None:
        given = [
            name for name, v in (("every", every), ("at", at), ("pareto", pareto)) if v is not None
        ]
        if len(given) != 1:
            raise UserError(
                f"{owner}: got {' and '.join(given) or 'no schedule'}; allowed: exactly one of "
                "every=, at=, pareto="
            )
        self.every = None if every is None else positive_int(owner, "every", every)
        self.pareto = None if pareto is None else finite(owner, "pareto", pareto, 0.0)
        if self.pareto is not None and self.pareto < 1.0:
            raise UserError(f"{owner}: pareto={pareto!r} is invalid; allowed: a mean gap >= 1 step")
        self.alpha = finite(owner, "alpha", alpha, 1.0)
        self.at: list[int] | None = None
        if at is not None:
            self.at = self._check_at(owner, at)
        self._rng = np.random.default_rng()
        self._t = 0
        self._next: int | None = None
        self._restart()

    @staticmethod
    def _check_at(owner: str, at: Any) -> list[int]:
        allowed = "a sorted list of distinct non-negative integer steps"
        if isinstance(at, int | float) and not isinstance(at, bool):
            at = [at]  # a spec's at=500 means a single change
        if not isinstance(at, list | tuple) or not at:
            raise UserError(f"{owner}: at={at!r} is invalid; allowed: {allowed}")
        steps = []
        for value in at:
            if not is_number(value) or value != int(value) or value < 0:
                raise UserError(f"{owner}: at={list(at)!r} is invalid; allowed: {allowed}")
            steps.append(int(value))
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise UserError(f"{owner}: at={list(at)!r} is invalid; allowed: {allowed}")
        return steps

    def reset(self, rng: np.random.Generator) -> None:
        """Start over from step 0 with randomness derived from ``rng`` (used by ``pareto``)."""
        self._rng = np.random.default_rng(rng.integers(2**63))
        self._restart()

    def _restart(self) -> None:
        self._t = 0
        if self.every is not None:
            self._next = self.every
        elif self.at is not None:
            self._next = self.at[0]
        else:
            self._next = self._gap()

    def _gap(self) -> int:
        """A Pareto(alpha) gap with mean ``pareto``: x_m (1 + Lomax), x_m = mean (alpha-1)/alpha."""
        assert self.pareto is not None
        scale = self.pareto * (self.alpha - 1.0) / self.alpha
        return max(1, round(scale * (1.0 + self._rng.pareto(self.alpha))))

    def _advance(self, now: int) -> int | None:
        if self.every is not None:
            return now + self.every
        if self.at is not None:
            later = [s for s in self.at if s > now]
            return later[0] if later else None
        return now + self._gap()

    @property
    def steps(self) -> int:
        """World steps counted so far."""
        return self._t

    def step(self) -> bool:
        """Count one world step; True when a change happens at this step."""
        now = self._t
        self._t += 1
        if self._next is None or now != self._next:
            return False
        self._next = self._advance(now)
        return True

    def state_dict(self) -> dict[str, Any]:
        return {
            "t": self._t,
            "next": self._next,
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._t = int(state["t"])
        self._next = None if state["next"] is None else int(state["next"])
        restore_rng(self._rng, state["rng"])
