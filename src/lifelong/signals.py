"""Telemetry math: turns raw numbers from the data plane into the meta-state M reads.

Pure Python (no torch, no numpy) so that System M and its inputs can be tested and reasoned about
without any network. Each signal below is documented with its formula; `docs/architecture.md`
lists them together.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

from lifelong.detectors import ChangeDetector
from lifelong.genome import Genome
from lifelong.progress import AdvantageTest, ProgressTest
from lifelong.vigilance import SourceVigilance


class EMA:
    """Exponential moving average m <- m + rate (x - m); starts at the first value it sees, or at
    `initial` when one is given (a prior the evidence moves away from).

    `warm`: the first 1/rate values are averaged with equal weights (weight max(1/n, rate)), for
    a signal sampled in bursts, whose first few values must not stand for all of it.
    """

    def __init__(self, rate: float, initial: float | None = None, warm: bool = False) -> None:
        self.rate = rate
        self.initial = initial
        self.warm = warm
        self.value = 0.0 if initial is None else initial
        self.count = 0

    def update(self, x: float) -> float:
        first = self.count == 0 and self.initial is None
        rate = max(1.0 / (self.count + 1), self.rate) if self.warm else self.rate
        self.value = x if first else self.value + rate * (x - self.value)
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


class ModeReturns:
    """The discounted n-step return realised after each world step, summed per mode of that step.

    What acting in each mode earned, measured, not predicted: PLAN must beat EXPLOIT where it
    runs (M reads the difference, `Telemetry.on_return`) and the records report every mode's
    mean. A step's return is complete `n` steps later; `clear` drops the incomplete ones when a
    stream ends, since returns are counted within one stream.
    """

    def __init__(self, gamma: float, n: int) -> None:
        self.gamma, self.n = gamma, n
        self.pending: deque[list] = deque()  # [mode, return so far, steps counted]
        self.totals: dict[str, list[float]] = {}  # mode -> [sum of returns, count]

    def add(self, mode: str, reward: float) -> list[tuple[str, float]]:
        """A world step taken in `mode` paid `reward`; returns the (mode, return) completed."""
        self.pending.append([mode, 0.0, 0])
        for entry in self.pending:
            entry[1] += self.gamma ** entry[2] * reward
            entry[2] += 1
        done = []
        while self.pending and self.pending[0][2] >= self.n:
            mode_of, value, _ = self.pending.popleft()
            total = self.totals.setdefault(mode_of, [0.0, 0])
            total[0] += value
            total[1] += 1
            done.append((mode_of, value))
        return done

    def clear(self) -> None:
        self.pending.clear()

    def means(self) -> dict[str, float]:
        """Mean realised return after world steps taken in each mode, over the life."""
        return {f"return_after_{m}": t / c for m, (t, c) in self.totals.items() if c}

    def state_dict(self) -> dict:
        return {
            "pending": [list(entry) for entry in self.pending],
            "realised": {mode: list(total) for mode, total in self.totals.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.pending = deque([str(m), float(v), int(k)] for m, v, k in state["pending"])
        self.totals = {str(m): [float(t), int(c)] for m, (t, c) in state["realised"].items()}


@dataclass(frozen=True)
class MetaState:
    """The low-dimensional telemetry System M reads: floats only, never observations."""

    prediction_error_fast: float = 0.0  # EMA (fast rate) of A's one-step latent error
    prediction_error_slow: float = 0.0  # EMA (slow rate) of the same error
    surprise: float = 0.0  # z-score of the newest measured block's worst error among blocks
    disagreement: float = 0.0  # fast EMA of the ensemble's variance across members
    learning_progress: float = 0.0  # significant relative fall of error per window (progress.py)
    reward_rate: float = 0.0  # fast EMA of extrinsic reward per world step
    energy: float = 1.0  # from the world's body, else 1
    pain: float = 0.0  # from the world's body, else 0
    stress: float = 0.0  # max(pain, 1 - energy, threat) with a body; else the reward rate's fall
    # Rises per awake step while replay is what learning lacks (`replay_need`), or on every one
    # (a clock, genome sleep_replay=0); falls per sleep tick; in [0, 1].
    sleep_pressure: float = 0.0
    teacher_present: float = 0.0  # 1 when a demonstrator is in view this step
    teacher_trust: float = 0.0  # earned trust in the visible teacher (see `TrustLedger`)
    numeric_faults: float = 0.0  # fast EMA of updates skipped for a non-finite loss (0 or 1 each)
    change_detected: float = 0.0  # 1 when the change detector alarmed since M last decided
    change_agreed: float = 0.0  # 1 when both its streams agreed on a change since M last decided
    novelty: float = 0.0  # fast / slow disagreement - 1: above 0 in unfamiliar territory
    value_error: float = 0.0  # fast EMA of B's |TD error| on replay
    competence: float = 0.0  # slow reward rate / reward scale, in [-1, 1]
    model_reliability: float = 0.0  # 1 - A's fast error / copy-last error, clipped to [0, 1]
    habit_reliability: float = 0.0  # 1 - B's value error / |value|, clipped to [0, 1]
    # Realised n-step return after PLAN steps minus after EXPLOIT steps, per block of about a
    # spell, over the reward scale, and its Welch t (progress.AdvantageTest); 0 until measured.
    plan_advantage: float = 0.0
    plan_significance: float = 0.0
    # 1 while A's error on replay falls significantly and fresh experience is no worse than it:
    # more replay, not more world, is what learning lacks (`Telemetry.replay_need`).
    replay_need: float = 0.0
    message_present: float = 0.0  # 1 when a source advises an action this step (worlds/messages.py)
    message_trust: float = 0.0  # trust in the most trusted source speaking (vigilance.py)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.names()}


class TrustLedger:
    """Epistemic vigilance: trust in each teacher is earned from the outcomes of following it.

    For each source s, an EMA (rate `rate`) of the advantage of following it, r - baseline, where
    the baseline is the slow reward rate while the agent acts on its own. Trust is
        trust_s = clip(prior + gain * advantage_s / reward_scale, 0, 1)
    so a teacher whose lead pays better than one's own habits gains trust, one that leads into
    hazards loses it, and an unseen teacher gets the innate `prior`. M observes only sources it
    trusts (rule "trusted teacher"). Trust decides whom to follow, not what is learned: who
    chose an action does not change what happened, so B learns from every transition alike.
    """

    def __init__(self, prior: float, gain: float, rate: float) -> None:
        self.prior, self.gain, self.rate = prior, gain, rate
        self.advantage: dict[str, EMA] = {}

    def record(self, source: str, reward: float, baseline: float) -> None:
        # The advantage starts at 0, so a new teacher starts at the prior.
        self.advantage.setdefault(source, EMA(self.rate, initial=0.0)).update(reward - baseline)

    def trust(self, source: str | None, scale: float) -> float:
        if source is None:
            return 0.0
        ema = self.advantage.get(source)
        if ema is None:
            return self.prior
        return min(1.0, max(0.0, self.prior + self.gain * ema.value / (scale + 1e-8)))

    def state_dict(self) -> dict:
        return {source: ema.state_dict() for source, ema in self.advantage.items()}

    def load_state_dict(self, state: dict) -> None:
        self.advantage = {}
        for source, values in state.items():
            self.advantage[source] = EMA(self.rate, initial=0.0)
            self.advantage[source].load_state_dict(values)


class Telemetry:
    """Accumulates signals from A, B and the world's body; `meta_state()` snapshots them.

    rates: `fast_rate` and `slow_rate` from the genome; sleep pressure moves by `sleep_rise` per
    awake step (with `sleep_replay`, only while replay is what learning lacks: `replay_need`)
    and `sleep_fall` per sleep tick. `replay` tests A's error on replayed transitions as
    `progress` does on fresh ones; `plan_block` is the returns per block of PLAN's test.
    """

    def __init__(
        self,
        fast_rate: float,
        slow_rate: float,
        sleep_rise: float,
        sleep_fall: float,
        teacher_trust: float,
        trust_gain: float = 0.5,
        detector: ChangeDetector | None = None,
        vigilance: SourceVigilance | None = None,
        progress: ProgressTest | None = None,
        replay: ProgressTest | None = None,
        sleep_replay: bool = False,
        sleep_novelty: float = 0.1,
        plan_block: int = 16,
    ) -> None:
        self.error_fast = EMA(fast_rate)
        self.error_slow = EMA(slow_rate)
        # Surprise compares a block's worst error with earlier blocks' worst (`on_predictions`),
        # over about 20 blocks at the default slow rate.
        self.block_worst = RunningMoments(min(1.0, 10 * slow_rate))
        # Learning progress: a windowed test of A's error (progress.py), M's explore trigger.
        self.progress = progress or ProgressTest(2000, 3.5)
        # The same test on A's error on replayed transitions (`on_replay_predictions`): whether
        # learning from memory still pays (`replay_need`).
        self.replay_progress = replay or ProgressTest(2000, 3.5)
        self.sleep_replay, self.sleep_novelty = bool(sleep_replay), float(sleep_novelty)
        self.disagreement = EMA(fast_rate)
        self.faults = EMA(fast_rate)
        self.copy_last_slow = EMA(slow_rate)
        self.reward_fast = EMA(fast_rate)
        self.reward_slow = EMA(slow_rate)
        self.reward_scale = EMA(slow_rate)
        self.own_reward = EMA(slow_rate)  # reward while acting on its own: trust's baseline
        self.disagreement_slow = EMA(slow_rate)
        self.value_error_fast = EMA(fast_rate)
        self.value_error_slow = EMA(slow_rate)
        self.value_scale = EMA(fast_rate)
        self.trust = TrustLedger(teacher_trust, trust_gain, slow_rate)
        # Trust in informants, checked by a listening body (`on_claims`); idle without messages.
        self.vigilance = vigilance or SourceVigilance()
        self.message_present = 0.0
        self.message_trust = 0.0
        # Whether planning pays: realised returns after PLAN vs EXPLOIT steps (`on_return`).
        self.plan_test = AdvantageTest(plan_block)
        self.detector = detector or ChangeDetector()
        self.change_pending = False
        self.agreement_pending = False
        self.sleep_rise, self.sleep_fall = sleep_rise, sleep_fall
        self.surprise = 0.0
        self.sleep_pressure = 0.0
        self.energy, self.pain, self.threat = 1.0, 0.0, 0.0
        self.has_body = False
        self.teacher_present = 0.0
        self.teacher_source: str | None = None

    @classmethod
    def from_genome(cls, genome: Genome) -> Telemetry:
        """The telemetry of an agent with this genome. The body every agent shares builds it
        (agent.py), so all records read the same signals the same way."""
        return cls(
            genome.fast_rate,
            genome.slow_rate,
            genome.sleep_rise,
            genome.sleep_fall,
            genome.teacher_trust,
            trust_gain=genome.trust_gain,
            detector=ChangeDetector(
                threshold=genome.detector_threshold,
                error_drift=genome.detector_error_drift,
                reward_drift=genome.detector_reward_drift,
                refractory=genome.detector_refractory,
                error_block=genome.detector_error_block,
                agree_window=genome.detector_agree_window,
            ),
            vigilance=SourceVigilance.of(genome),
            progress=ProgressTest(genome.progress_window, genome.progress_z),
            replay=ProgressTest(genome.progress_window, genome.progress_z),
            sleep_replay=bool(genome.sleep_replay),
            sleep_novelty=genome.sleep_novelty,
            plan_block=genome.min_dwell,
        )

    def on_world_step(
        self,
        reward: float,
        body: dict | None,
        teacher: str | None = None,
        followed: str | None = None,
    ) -> None:
        """One world step: `teacher` names the source in view (None: nobody), `followed` the
        source whose lead the agent took this step (None: it acted on its own)."""
        self.reward_fast.update(reward)
        self.reward_slow.update(reward)
        self.reward_scale.update(abs(reward))
        if followed is None:
            self.own_reward.update(reward)
        else:
            self.trust.record(followed, reward, self.own_reward.value)
        if self.detector.update_reward(reward):
            self.change_pending = True
        self._agreement()
        if body is not None:
            self.has_body = True
            self.energy = float(body.get("energy", 1.0))
            self.pain = float(body.get("pain", 0.0))
            self.threat = float(body.get("threat", 0.0))
        self.teacher_present = 1.0 if teacher is not None else 0.0
        self.teacher_source = teacher
        if self.sleep_replay:  # only while replay, not the world, is what learning lacks
            rise = self.sleep_rise if self.replay_need() else 0.0
        else:  # a clock: time awake, faster while A's error still falls
            rise = self.sleep_rise * (1 + max(0.0, self.learning_progress()))
        self.sleep_pressure = min(1.0, self.sleep_pressure + rise)

    def _agreement(self) -> None:
        """Both of the detector's streams agree on a change: M hears of it, and what planning
        earned in the old world no longer says whether it pays in this one. (One stream alone
        alarmed every one to three thousand steps of a stationary Nursery: too often to keep
        five spells of evidence.)"""
        if self.detector.agreed:
            self.agreement_pending = True
            self.plan_test.clear()

    def on_claims(
        self, claims: list[tuple[str, int]], action: int, reward: float, n_actions: int
    ) -> None:
        """One world step of a listening agent: the advice heard before acting, the action taken
        (of `n_actions`) and its reward, for source vigilance to check (`vigilance.py`)."""
        self.vigilance.step(claims, action, reward, n_actions)

    def on_heard(self, sources: list[str]) -> None:
        """The sources advising in the new frame: whether any speaks, and the most trust one
        of them has earned (0 when none speaks)."""
        self.message_present = 1.0 if sources else 0.0
        self.message_trust = max((self.vigilance.trust(s) for s in sources), default=0.0)

    def on_update(self, skipped: bool) -> None:
        """A learning update ran, or was skipped because its loss was not finite."""
        self.faults.update(1.0 if skipped else 0.0)

    def on_sleep_tick(self) -> None:
        self.sleep_pressure = max(0.0, self.sleep_pressure - self.sleep_fall)

    def on_prediction(self, error: float, disagreement: float, copy_last: float = math.nan) -> None:
        """One new measurement of A's error on fresh experience (not on replay).

        `copy_last` is the error of predicting no change, the floor any world model must beat.
        Surprise is a block's, not one measurement's (`on_predictions`).
        """
        if math.isfinite(copy_last):
            self.copy_last_slow.update(copy_last)
        if not (math.isfinite(error) and math.isfinite(disagreement)):
            return
        self.error_fast.update(error)
        self.error_slow.update(error)
        self.progress.add(error, copy_last)
        self.disagreement.update(disagreement)
        self.disagreement_slow.update(disagreement)
        if self.detector.update_error(error):
            self.change_pending = True
        self._agreement()

    def on_predictions(
        self, errors: list[float], disagreements: list[float], copy_last: list[float]
    ) -> None:
        """A block of measurements (`on_prediction` each, in order), and the block's surprise,
        held until the next block: an event anywhere in it stays visible to M.

        Surprise is how unusual the block's worst error is among earlier blocks' worst, as a
        z-score of its log. The largest of 32 per-transition z-scores exceeded 2 on about half
        of all blocks of a stationary world (heavy-tailed errors, and the maximum of many
        draws), so the explore rule fired on noise (issue 27); the worst of a block against
        the worst of other blocks counts the block's size in, and the log tames the tail."""
        worst = -math.inf
        for error, disagreement, floor in zip(errors, disagreements, copy_last, strict=True):
            self.on_prediction(error, disagreement, floor)
            if math.isfinite(error) and math.isfinite(disagreement):
                worst = max(worst, error)
        if worst > -math.inf:
            value = math.log(max(worst, 1e-12))
            self.surprise = self.block_worst.zscore(value)
            self.block_worst.update(value)

    def on_replay_predictions(self, errors: list[float], copy_last: list[float]) -> None:
        """A's one-step errors on replayed transitions, measured before the update that learns
        from them, with the copy-last error of each (the units of `on_prediction`)."""
        for error, floor in zip(errors, copy_last, strict=True):
            self.replay_progress.add(error, floor)

    def replay_need(self) -> bool:
        """Whether replay, not the world, is what learning lacks: A's error on replayed
        transitions fell significantly over the last window (learning from memory still pays)
        while on fresh transitions it is at most `sleep_novelty` above it (the world brings
        little that memory does not hold). Where fresh error is well above replayed error the
        world is teaching, or A is fitting its memory rather than the world: more replay is
        not what is missing. A mastered world, whose errors no longer fall, needs neither."""
        fresh, replayed = self.progress.level, self.replay_progress.level
        if not (self.replay_progress.value > 0 and math.isfinite(fresh) and replayed > 0):
            return False
        return fresh <= (1.0 + self.sleep_novelty) * replayed

    def on_value(self, value_error: float, value: float) -> None:
        """B's mean |TD error| and mean value on a replay batch: how reliable the habit is."""
        self.value_error_fast.update(value_error)
        self.value_error_slow.update(value_error)
        self.value_scale.update(abs(value))

    def on_return(self, mode: str, value: float) -> None:
        """The realised discounted n-step return that followed a world step taken in `mode`:
        what M compares to decide whether planning pays."""
        self.plan_test.add(mode, value)

    def learning_progress(self) -> float:
        """The relative fall of A's error over the last window, where significant, else 0."""
        return self.progress.value

    def error_vs_copy_last(self) -> float:
        """Slow error over the slow copy-last error: below 1 when A predicts better than no-change.

        For records and metrics (METRICS.md: latent error as a ratio to copy-last), not for M.
        """
        if self.copy_last_slow.count == 0:
            return math.nan
        return self.error_slow.value / max(self.copy_last_slow.value, 1e-12)

    def stress(self) -> float:
        """The body's alarm where there is a body; otherwise things going wrong: the reward rate
        falling below its slow average, or B's value error rising above its own."""
        if self.has_body:
            return max(self.pain, 1.0 - self.energy, self.threat)
        fall = (self.reward_slow.value - self.reward_fast.value) / (self.reward_scale.value + 1e-8)
        slow = self.value_error_slow.value
        rising = (self.value_error_fast.value - slow) / slow if slow > 0 else 0.0
        return min(1.0, max(0.0, fall, rising))

    def meta_state(self) -> MetaState:
        copy_last = self.copy_last_slow.value
        # Where nothing ever changes (copy-last error 0) no model can be more reliable than that.
        model = 1.0 - self.error_fast.value / copy_last if copy_last > 0 else 0.0
        value_scale = self.value_scale.value
        habit = 1.0 - self.value_error_fast.value / value_scale if value_scale > 0 else 0.0
        scale = self.reward_scale.value
        slow_disagreement = self.disagreement_slow.value
        return MetaState(
            prediction_error_fast=self.error_fast.value,
            prediction_error_slow=self.error_slow.value,
            surprise=self.surprise,
            disagreement=self.disagreement.value,
            learning_progress=self.learning_progress(),
            reward_rate=self.reward_fast.value,
            energy=self.energy,
            pain=self.pain,
            stress=self.stress(),
            sleep_pressure=self.sleep_pressure,
            teacher_present=self.teacher_present,
            teacher_trust=self.trust.trust(self.teacher_source, scale),
            numeric_faults=self.faults.value,
            change_detected=1.0 if self.change_pending else 0.0,
            change_agreed=1.0 if self.agreement_pending else 0.0,
            novelty=self.disagreement.value / slow_disagreement - 1.0 if slow_disagreement else 0.0,
            value_error=self.value_error_fast.value,
            competence=max(-1.0, min(1.0, self.reward_slow.value / (scale + 1e-8))),
            model_reliability=min(1.0, max(0.0, model)),
            habit_reliability=min(1.0, max(0.0, habit)),
            plan_advantage=self.plan_test.advantage / (scale + 1e-8),
            plan_significance=self.plan_test.statistic,
            replay_need=1.0 if self.replay_need() else 0.0,
            message_present=self.message_present,
            message_trust=self.message_trust,
        )

    def heard(self) -> MetaState:
        """The meta-state for M's decision: news of a change is delivered once, then cleared
        (`meta_state` alone, for the records, leaves it pending)."""
        state = self.meta_state()
        self.change_pending = self.agreement_pending = False
        return state

    def trust_in(self, source: str | None) -> float:
        return self.trust.trust(source, self.reward_scale.value)

    def state_dict(self) -> dict:
        """Every average, ledger and scalar, found by type so a new signal cannot be forgotten."""
        state: dict = {}
        for name, value in vars(self).items():
            if isinstance(value, _SAVED):
                state[name] = value.state_dict()
            elif isinstance(value, bool | int | float | str) or value is None:
                state[name] = value
        return state

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            if name in _RETIRED:
                continue
            current = getattr(self, name)
            if isinstance(current, _SAVED):
                current.load_state_dict(value)
            else:
                setattr(self, name, value)


# Signals a life saved before them carried and today's telemetry no longer keeps: the
# per-transition error moments, whose z-score was surprise until surprise became a block's, and
# the EMAs of returns after PLAN and EXPLOIT steps, until PLAN's advantage became a test.
_RETIRED = frozenset({"error_moments", "plan_return", "exploit_return"})
# What `Telemetry.state_dict` saves through its own `state_dict`, found by type.
_SAVED = (
    EMA,
    RunningMoments,
    TrustLedger,
    ChangeDetector,
    SourceVigilance,
    ProgressTest,
    AdvantageTest,
)
