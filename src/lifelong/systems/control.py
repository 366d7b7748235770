"""System M: the meta-controller. Reads a `MetaState`, returns a `MetaAction`.

M is the control plane of the paper: a fixed rule policy whose thresholds and gains come from the
genome and never change within a life. It sees only the named floats of the meta-state, never
observations or networks, and it imports no torch (a test enforces this), so it can be read,
tested and evolved as plain Python.

Rules, in order of precedence (the first that fires picks the mode; each belongs to a family
that an ablation can switch off):
 1. asleep and sleep pressure still above `wake_threshold`      -> stay in SLEEP       [sleep]
 2. pain >= `pain_threshold`: abort any plan, act on habit      -> EXPLOIT             [pain]
 3. a mode younger than `min_dwell` ticks (IMAGINE: `imagine_span`) -> keep it (hysteresis),
    unless it is OBSERVE and the teacher has left the view
 4. sleep pressure >= `sleep_threshold`                         -> SLEEP               [sleep]
 5. a change detected                                           -> EXPLORE, with a plasticity
    intervention and a learning-rate boost                                            [change]
 6. stress >= `stress_threshold`                                -> EXPLOIT             [stress]
 7. a teacher in view trusted at least `trust_threshold`,
    unless already watched for `observe_span` ticks             -> OBSERVE             [observe]
 8. the model more reliable than the habit by `plan_margin`
    (and at least `plan_reliability`): arbitration by reliability
    - if no imagining for `imagine_every` ticks                 -> IMAGINE (B learns from A)
                                                                                      [imagine]
    - otherwise                                                 -> PLAN                [plan]
 9. learning progress > `progress_threshold` where the model is
    neither trivial nor hopeless (intermediate complexity)      -> EXPLORE, attend there [explore]
10. surprise > `surprise_threshold`                             -> EXPLORE             [explore]
11. otherwise                                                   -> EXPLOIT
"""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState

CHANGE = "change detected"
RULE_FAMILIES = ("sleep", "pain", "change", "stress", "observe", "imagine", "plan", "explore")


@dataclass(frozen=True)
class MetaAction:
    """What M tells the data plane to do this tick."""

    mode: Mode
    rule: str  # the name of the rule that chose the mode: why the agent did what it did
    intrinsic_weight: float  # weight of A's disagreement in B's reward
    temperature: float  # softmax temperature of B's policy
    recent_fraction: float  # share of replay drawn from the recent ring (rest: long-term)
    updates: int  # gradient updates to run this tick when asleep or imagining
    learns: bool = True  # False: no gradient step at all (a frozen baseline after its schedule)
    plasticity: bool = False  # reinitialise the least useful units now (a change was detected)
    lr_boost: float = 1.0  # start a temporary learning-rate boost of this factor (1: none)


class MetaController:
    """The fixed rule policy of System M, with the little state it needs (mode and dwell).

    `disabled` names rule families (RULE_FAMILIES) to switch off, for ablations: the rest of M
    is unchanged.
    """

    uses_detector = True  # its change alarms are M's (baselines' controllers say False)

    def __init__(self, genome: Genome, disabled: frozenset[str] = frozenset()) -> None:
        unknown = set(disabled) - set(RULE_FAMILIES)
        if unknown:
            raise ValueError(f"unknown rule families {sorted(unknown)}; known: {RULE_FAMILIES}")
        self.genome = genome
        self.disabled = frozenset(disabled)
        self.mode = Mode.EXPLORE
        self.rule = "birth"
        self.dwell = genome.min_dwell  # ticks spent in the current mode; birth is no choice
        self.since_imagined = genome.imagine_every  # ticks since the last IMAGINE tick
        self.since_change = genome.recency_span  # ticks since M heard of a change

    def decide(self, state: MetaState) -> MetaAction:
        mode, rule = self._choose(state)
        if mode != self.mode:
            self.mode, self.dwell = mode, 0
        self.rule = rule
        self.dwell += 1
        self.since_imagined = 0 if mode == Mode.IMAGINE else self.since_imagined + 1
        # The intervention happens once, on the tick the change is heard of, not while dwelling.
        fresh_change = rule == CHANGE and state.change_detected > 0
        self.since_change = 0 if fresh_change else self.since_change + 1
        return self.action_for(mode, rule, fresh_change=fresh_change)

    def _on(self, family: str) -> bool:
        return family not in self.disabled

    @property
    def intervenes(self) -> bool:
        """Whether this controller can ever order a plasticity intervention (unit resets)."""
        return self.uses_detector and self._on("change") and self.genome.reinit_fraction > 0

    def _choose(self, s: MetaState) -> tuple[Mode, str]:
        g = self.genome
        if self._on("sleep") and self.mode == Mode.SLEEP and s.sleep_pressure > g.wake_threshold:
            return Mode.SLEEP, "sleep until rested"
        if self._on("pain") and s.pain >= g.pain_threshold:
            return Mode.EXPLOIT, "pain"
        watching_nobody = self.mode == Mode.OBSERVE and not s.teacher_present
        if self.mode == Mode.IMAGINE:
            if self.dwell < g.imagine_span:  # a spell of imagining has its own length
                return self.mode, self.rule
        elif self.dwell < g.min_dwell and not watching_nobody:
            return self.mode, self.rule
        if self._on("sleep") and s.sleep_pressure >= g.sleep_threshold:
            return Mode.SLEEP, "sleep pressure"
        if self._on("change") and s.change_detected > 0:
            return Mode.EXPLORE, CHANGE
        if self._on("stress") and s.stress >= g.stress_threshold:
            return Mode.EXPLOIT, "stress"
        bored = self.mode == Mode.OBSERVE and self.dwell >= g.observe_span
        trusted = s.teacher_present and s.teacher_trust >= g.trust_threshold
        if self._on("observe") and trusted and not bored:
            return Mode.OBSERVE, "trusted teacher"
        model_wins = (
            s.model_reliability >= g.plan_reliability
            and s.model_reliability - s.habit_reliability > g.plan_margin
        )
        if model_wins:
            rested = self.since_imagined >= g.imagine_every and self.mode != Mode.IMAGINE
            if self._on("imagine") and rested:
                return Mode.IMAGINE, "model more reliable: imagine"
            if self._on("plan"):
                return Mode.PLAN, "model more reliable: plan"
        if self._on("explore"):
            intermediate = g.complexity_low < s.model_reliability < g.complexity_high
            if s.learning_progress > g.progress_threshold and intermediate:
                return Mode.EXPLORE, "learning progress"
            if s.surprise > g.surprise_threshold:
                return Mode.EXPLORE, "surprise"
        return Mode.EXPLOIT, "default"

    def action_for(self, mode: Mode, rule: str, fresh_change: bool = False) -> MetaAction:
        g = self.genome
        offline = not ROUTES[mode].steps_world
        change = fresh_change
        return MetaAction(
            mode=mode,
            rule=rule,
            intrinsic_weight=g.intrinsic_gain if ROUTES[mode].intrinsic else 0.0,
            temperature=g.explore_temperature if mode == Mode.EXPLORE else g.exploit_temperature,
            recent_fraction=self._recent_fraction(mode),
            updates=g.sleep_updates if offline else 0,
            plasticity=change and g.reinit_fraction > 0,
            lr_boost=g.lr_boost if change else 1.0,
        )

    def _recent_fraction(self, mode: Mode) -> float:
        """Replay's share of recent experience: the mode's, or all of it for `recency_span`
        ticks after a detected change (the old world's memories mislead for a while)."""
        if self.since_change < self.genome.recency_span:
            return 1.0
        return (
            self.genome.replay_recent_sleep
            if mode == Mode.SLEEP
            else self.genome.replay_recent_awake
        )

    def state_dict(self) -> dict:
        return {
            "mode": self.mode.value,
            "rule": self.rule,
            "dwell": self.dwell,
            "since_imagined": self.since_imagined,
            "since_change": self.since_change,
        }

    def load_state_dict(self, state: dict) -> None:
        self.mode, self.rule, self.dwell = Mode(state["mode"]), state["rule"], int(state["dwell"])
        self.since_imagined = int(state["since_imagined"])
        self.since_change = int(state["since_change"])
