"""PiecewiseBandit: a multi-armed bandit whose best arm keeps changing.

The smallest world in which adapting to change is the whole problem: `arms` Bernoulli arms whose
means stay put for a segment and are then redrawn so that a different arm is best. It is the
home ground of the classic change-point baselines (sliding-window UCB, CUSUM-UCB), so a lifelong
agent can be compared with them where they are strongest, and pseudo-regret is exact because the
world knows its own means.

Segments follow the `Schedule` conventions of the wrappers: world steps are counted from 0 and a
change happens *before* the step it is due at, so with ``every=1000`` steps 0..999 are segment 0
and step 1000 is the first step of segment 1. With ``pareto=A`` the segment lengths are Pareto
with shape A and mean ``every`` (mostly short, now and then very long).

The observation is what a learner could have remembered anyway (a one-hot of its previous action
and the reward it got), so a world model's prediction error rises when a change makes the same
action pay differently. Like the Nursery it never ends, and every random draw comes from the env's
own seeded generator (the schedule from one derived from it), so a saved state continues exactly.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from lifelong.worlds.schedule import Schedule
from lifelong.worlds.state import restore_rng, rng_state

_STATE_VERSION = 1


class PiecewiseBandit(gymnasium.Env):
    """A continuing, piecewise-stationary Bernoulli bandit; see the module docstring.

    ``info`` carries ground truth for metrics (never for the agent): ``shift`` (the segment
    index), ``best_arm``, ``means`` (a tuple, one per arm) and ``regret`` (the best mean minus
    the chosen arm's mean, the pseudo-regret of the step; 0.0 at reset, when no arm was chosen).
    """

    metadata = {"render_modes": []}

    def __init__(self, arms: int = 5, every: int = 1000, pareto: float | None = None) -> None:
        _check_whole("arms", arms, 2, "so that the best arm can change")
        _check_whole("every", every, 1, "the steps per segment, their mean with pareto")
        if pareto is not None:
            is_number = isinstance(pareto, (int, float, np.number)) and not isinstance(pareto, bool)
            if not is_number or not math.isfinite(pareto) or pareto <= 1.0:
                raise ValueError(
                    f"pareto={pareto!r} is invalid: it must be a finite shape > 1 "
                    "(at or below 1 the mean segment length does not exist)"
                )
        self.arms = int(arms)
        self.every = int(every)
        self.pareto = None if pareto is None else float(pareto)
        self.observation_space = spaces.Box(0.0, 1.0, (self.arms + 1,), np.float32)
        self.action_space = spaces.Discrete(self.arms)
        if self.pareto is None:
            self._schedule = Schedule(every=self.every, owner="bandit")
        else:
            self._schedule = Schedule(pareto=self.every, alpha=self.pareto, owner="bandit")
        self._begin(np.random.default_rng(0))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a fresh life: new means, segment 0, the schedule restarted, nothing remembered."""
        super().reset(seed=seed)
        self._begin(self.np_random)
        info = {"shift": 0, "best_arm": self._best, "means": self._means, "regret": 0.0}
        return np.zeros(self.arms + 1, dtype=np.float32), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Change the means if a segment ends here, then pull the arm: reward 1 with its mean."""
        a = int(action)
        if not 0 <= a < self.arms:
            raise ValueError(f"action={action!r} is invalid: allowed are 0..{self.arms - 1}")
        if self._schedule.step():
            self._segment += 1
            self._set_means(self._redraw(self.np_random))
        reward = 1.0 if self.np_random.random() < self._means[a] else 0.0
        obs = np.zeros(self.arms + 1, dtype=np.float32)
        obs[a] = 1.0
        obs[-1] = reward
        info = {
            "shift": self._segment,
            "best_arm": self._best,
            "means": self._means,
            "regret": self._gaps[a],
        }
        return obs, reward, False, False, info

    def oracle_action(self) -> int:
        """The right action for the next step: the best arm of the current segment (what the
        `messages` wrapper's informants know). At a change it is one step stale: the new means
        are drawn when the step that changes them is taken."""
        return self._best

    @property
    def steps(self) -> int:
        """World steps taken in this life."""
        return self._schedule.steps

    # ----------------------------------------------------------------------------- saving

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly, as plain data (the generators' states too).

        The observation is made from each step's own action and reward, so nothing about the
        previous step needs saving.
        """
        return {
            "version": _STATE_VERSION,
            "config": self._config(),
            "means": list(self._means),
            "segment": self._segment,
            "schedule": self._schedule.state_dict(),
            "rng": rng_state(self.np_random),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``; a state from another configuration is refused."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"state version={state.get('version')!r}: only {_STATE_VERSION}")
        if state["config"] != self._config():
            raise ValueError(
                f"state config={state['config']} does not match this env's {self._config()}"
            )
        restore_rng(self, state["rng"])
        self._schedule.load_state_dict(state["schedule"])
        self._set_means([float(m) for m in state["means"]])
        self._segment = int(state["segment"])

    # ----------------------------------------------------------------------------- inside

    def _begin(self, rng: np.random.Generator) -> None:
        """Segment 0: the schedule restarted from `rng`, then the first means drawn from it."""
        self._schedule.reset(rng)
        self._segment = 0
        self._set_means(rng.random(self.arms).tolist())

    def _redraw(self, rng: np.random.Generator) -> list[float]:
        """Fresh uniform means whose best arm differs from the current one.

        Rejection keeps the means uniform given that condition; a draw is refused with
        probability 1/arms, so this takes arms/(arms-1) draws on average.
        """
        while True:
            means = rng.random(self.arms).tolist()
            if means.index(max(means)) != self._best:
                return means

    def _set_means(self, means: list[float]) -> None:
        """Adopt new means and work out, once per segment, what every step then reports."""
        self._means = tuple(means)
        top = max(means)
        self._best = means.index(top)
        self._gaps = tuple(top - m for m in means)

    def _config(self) -> dict[str, Any]:
        return {"arms": self.arms, "every": self.every, "pareto": self.pareto}


def _check_whole(name: str, value: Any, minimum: int, why: str) -> None:
    """An integer >= minimum; a whole float (1e3, as specs may write it) counts as one."""
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value != int(value) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: it must be an integer >= {minimum}, {why}")
