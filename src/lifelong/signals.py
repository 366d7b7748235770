"""Telemetry math: turns raw numbers from the data plane into the meta-state M reads.

Pure Python (no torch, no numpy) so that System M and its inputs can be tested and reasoned about
without any network. Each signal below is documented with its formula; `docs/architecture.md`
lists them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


class EMA:
    """Exponential moving average m <- m + rate (x - m); starts at the first value it sees."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.value = 0.0
        self.count = 0

    def update(self, x: float) -> float:
        self.value = x if self.count == 0 else self.value + self.rate * (x - self.value)
        self.count += 1
        return self.value

    def state_dict(self) -> dict[str, float]:
        return {"value": self.value, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.value, self.count = float(state["value"]), int(state["count"])


class RunningMoments:
    """EMA of mean and variance, for z-scores of a signal against its own recent history."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.mean = 0.0
        self.var = 0.0
        self.count = 0

    def zscore(self, x: float) -> float:
        """How unusual x is, measured before x updates the moments."""
        if self.count < 2:
            return 0.0
        return (x - self.mean) / math.sqrt(self.var + 1e-12)

    def update(self, x: float) -> None:
        if self.count == 0:
            self.mean = x
        else:
            delta = x - self.mean
            self.mean += self.rate * delta
            self.var = (1 - self.rate) * (self.var + self.rate * delta * delta)
        self.count += 1

    def state_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean, self.var, self.count = (
            float(state["mean"]),
            float(state["var"]),
            int(state["count"]),
        )


@dataclass(frozen=True)
class MetaState:
    """The low-dimensional telemetry System M reads: floats only, never observations."""

    prediction_error_fast: float = 0.0  # EMA (fast rate) of A's one-step latent error
    prediction_error_slow: float = 0.0  # EMA (slow rate) of the same error
    surprise: float = 0.0  # z-score of the newest error against its running moments
    disagreement: float = 0.0  # fast EMA of the ensemble's variance across members
    learning_progress: float = 0.0  # (slow - fast) / slow: positive while error is falling
    reward_rate: float = 0.0  # fast EMA of extrinsic reward per world step
    energy: float = 1.0  # from the world's body, else 1
    pain: float = 0.0  # from the world's body, else 0
    stress: float = 0.0  # max(pain, 1 - energy, threat) with a body; else the reward rate's fall
    sleep_pressure: float = 0.0  # rises per awake step, falls per sleep tick, in [0, 1]
    teacher_present: float = 0.0  # 1 when a demonstrator is in view this step
    teacher_trust: float = 0.0  # trust in the visible teacher (innate in this version)
    numeric_faults: float = 0.0  # fast EMA of updates skipped for a non-finite loss (0 or 1 each)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.names()}


class Telemetry:
    """Accumulates signals from A, B and the world's body; `meta_state()` snapshots them.

    rates: `fast_rate` and `slow_rate` from the genome; sleep pressure moves by `sleep_rise` per
    awake step and `sleep_fall` per sleep tick.
    """

    def __init__(
        self,
        fast_rate: float,
        slow_rate: float,
        sleep_rise: float,
        sleep_fall: float,
        teacher_trust: float,
    ) -> None:
        self.error_fast = EMA(fast_rate)
        self.error_slow = EMA(slow_rate)
        self.error_moments = RunningMoments(slow_rate)
        self.disagreement = EMA(fast_rate)
        self.faults = EMA(fast_rate)
        self.copy_last_slow = EMA(slow_rate)
        self.reward_fast = EMA(fast_rate)
        self.reward_slow = EMA(slow_rate)
        self.reward_scale = EMA(slow_rate)
        self.sleep_rise, self.sleep_fall = sleep_rise, sleep_fall
        self.teacher_trust = teacher_trust
        self.surprise = 0.0
        self.sleep_pressure = 0.0
        self.energy, self.pain, self.threat = 1.0, 0.0, 0.0
        self.has_body = False
        self.teacher_present = 0.0

    def on_world_step(self, reward: float, body: dict | None, teacher_visible: bool) -> None:
        self.reward_fast.update(reward)
        self.reward_slow.update(reward)
        self.reward_scale.update(abs(reward))
        if body is not None:
            self.has_body = True
            self.energy = float(body.get("energy", 1.0))
            self.pain = float(body.get("pain", 0.0))
            self.threat = float(body.get("threat", 0.0))
        self.teacher_present = 1.0 if teacher_visible else 0.0
        self.sleep_pressure = min(1.0, self.sleep_pressure + self.sleep_rise)

    def on_update(self, skipped: bool) -> None:
        """A learning update ran, or was skipped because its loss was not finite."""
        self.faults.update(1.0 if skipped else 0.0)

    def on_sleep_tick(self) -> None:
        self.sleep_pressure = max(0.0, self.sleep_pressure - self.sleep_fall)

    def on_prediction(self, error: float, disagreement: float, copy_last: float = math.nan) -> None:
        """One new measurement of A's error on fresh experience (not on replay).

        `copy_last` is the error of predicting no change, the floor any world model must beat.
        """
        if math.isfinite(copy_last):
            self.copy_last_slow.update(copy_last)
        if not (math.isfinite(error) and math.isfinite(disagreement)):
            return
        self.surprise = self.error_moments.zscore(error)
        self.error_moments.update(error)
        self.error_fast.update(error)
        self.error_slow.update(error)
        self.disagreement.update(disagreement)

    def error_vs_copy_last(self) -> float:
        """Slow error over the slow copy-last error: below 1 when A predicts better than no-change.

        For records and metrics (METRICS.md: latent error as a ratio to copy-last), not for M.
        """
        if self.copy_last_slow.count == 0:
            return math.nan
        return self.error_slow.value / max(self.copy_last_slow.value, 1e-12)

    def stress(self) -> float:
        if self.has_body:
            return max(self.pain, 1.0 - self.energy, self.threat)
        fall = self.reward_slow.value - self.reward_fast.value
        return min(1.0, max(0.0, fall / (self.reward_scale.value + 1e-8)))

    def meta_state(self) -> MetaState:
        slow = self.error_slow.value
        return MetaState(
            prediction_error_fast=self.error_fast.value,
            prediction_error_slow=slow,
            surprise=self.surprise,
            disagreement=self.disagreement.value,
            learning_progress=(slow - self.error_fast.value) / (slow + 1e-8) if slow > 0 else 0.0,
            reward_rate=self.reward_fast.value,
            energy=self.energy,
            pain=self.pain,
            stress=self.stress(),
            sleep_pressure=self.sleep_pressure,
            teacher_present=self.teacher_present,
            teacher_trust=self.teacher_trust if self.teacher_present else 0.0,
            numeric_faults=self.faults.value,
        )

    def state_dict(self) -> dict:
        """Every average and scalar, found by type so a new signal cannot be forgotten."""
        state: dict = {}
        for name, value in vars(self).items():
            if isinstance(value, EMA | RunningMoments):
                state[name] = value.state_dict()
            elif isinstance(value, bool | int | float):
                state[name] = value
        return state

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            current = getattr(self, name)
            if isinstance(current, EMA | RunningMoments):
                current.load_state_dict(value)
            else:
                setattr(self, name, value)
