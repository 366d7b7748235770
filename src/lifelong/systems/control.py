"""System M: the meta-controller. Reads a `MetaState`, returns a `MetaAction`.

M is the control plane of the paper: a fixed rule policy whose thresholds and gains come from the
genome and never change within a life. It sees only the named floats of the meta-state, never
observations or networks, and it imports no torch (a test enforces this), so it can be read,
tested and evolved as plain Python.

Rules, in order of precedence (the first that fires picks the mode; each belongs to a family
that an ablation can switch off). The order is the one measured best (docs/benchmarks.md, "M's
rules"): following a teacher before the body's alarms, or pain as a one-tick reflex, both lowered
the reward of 30,000-step Nursery lives.
 1. asleep and sleep pressure still above `wake_threshold`      -> stay in SLEEP       [sleep]
 2. pain >= `pain_threshold`: abort any plan, act on habit      -> EXPLOIT             [pain]
 3. a mode younger than `min_dwell` ticks (IMAGINE: `imagine_span`) -> keep it (hysteresis),
    unless it is OBSERVE and the teacher has left the view
 4. sleep pressure >= `sleep_threshold`                         -> SLEEP               [sleep]
 5. a change detected (news held through a dwell)               -> EXPLORE             [change]
 6. stress >= `stress_threshold`                                -> EXPLOIT             [stress]
 7. a teacher in view trusted at least `trust_threshold`,
    unless already watched for `observe_span` ticks             -> OBSERVE             [observe]
 8. A's model reliable (`model_reliability` >= `plan_reliability`):
    - if no imagining for `imagine_every` ticks                 -> IMAGINE (B learns from A)
                                                                                      [imagine]
    - if PLAN's realised advantage over EXPLOIT is significant (`plan_significance`, a
      Welch t over blocks of returns, > `plan_z`) and above `plan_margin`, or there was no
      planning for the trial interval (a trial spell that keeps the measurement current: it
      starts at `plan_retry` ticks, doubles at each trial begun while the evidence says
      planning loses, t < -`plan_z`, and is reset by a change both of the detector's
      streams agree on, as the telemetry's evidence is)        -> PLAN                [plan]
 9. learning progress > `progress_threshold` where the model is
    neither trivial nor hopeless (intermediate complexity)      -> EXPLORE, attend there [explore]
10. surprise > `surprise_threshold`                             -> EXPLORE             [explore]
11. otherwise                                                   -> EXPLOIT

Beside the mode, a change that both of the detector's streams agree on (`change_agreed`) orders
a plasticity intervention and a learning-rate boost [change]: one stream alone alarms falsely
far more often than the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState

CHANGE = "change detected"
TRIAL = "planning trial"
PLAN_BACKOFF = 64  # the trial interval grows to at most this many times `plan_retry`
RULE_FAMILIES = ("sleep", "pain", "change", "stress", "observe", "imagine", "plan", "explore")
# Families the genome itself can leave off (0 by default where they lost at full size; see the
# genome): innate, so evolution can switch them on. An ablation switches any family off.
INNATE_SWITCHES = {"sleep": "sleep_rules", "plan": "plan_rules", "explore": "explore_rules"}


@dataclass(frozen=True)
class MetaAction:
    """What M tells the data plane to do this tick."""

    mode: Mode
    rule: str  # the name of the rule that chose the mode: why the agent did what it did
    intrinsic_weight: float  # weight of A's disagreement in B's reward
    temperature: float  # softmax temperature of B's policy
    recent_fraction: float  # share of replay drawn from the recent ring (rest: long-term)
    half_life: float  # frames over which the odds of replaying a ring frame halve
    updates: int  # gradient updates to run this tick when asleep or imagining
    learns: bool = True  # False: no gradient step at all (a frozen baseline after its schedule)
    plasticity: bool = False  # reinitialise the least useful units now (a change was detected)
    lr_boost: float = 1.0  # start a temporary learning-rate boost of this factor (1: none)


class Controller(Protocol):
    """Who picks the mode: System M, or a baseline's schedule. Sees only the meta-state."""

    # Whether the change detector's alarms are this controller's (the body reports them).
    uses_detector: bool
    # Whether it can ever order a plasticity intervention (the mind then tracks unit utility).
    intervenes: bool

    def decide(self, state: MetaState) -> MetaAction: ...

    def current(self) -> MetaAction:
        """The action of the mode it is in: at birth, and after a resume."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def meta_action(
    genome: Genome, mode: Mode, rule: str, after_change: bool = False, intervene: bool = False
) -> MetaAction:
    """The numbers that go with `mode`, from the genome: curiosity's weight, the policy's
    temperature, replay's mix and half-life (recent-heavy and faster `after_change`), updates
    per offline tick; `intervene` adds a unit reset and a learning-rate boost."""
    g = genome
    route = ROUTES[mode]
    if after_change:
        recent_fraction, half_life = 1.0, g.replay_half_life_change
    else:
        recent = g.replay_recent_sleep if mode == Mode.SLEEP else g.replay_recent_awake
        recent_fraction, half_life = recent, g.replay_half_life
    return MetaAction(
        mode=mode,
        rule=rule,
        intrinsic_weight=g.intrinsic_gain if route.intrinsic else 0.0,
        temperature=g.explore_temperature if mode == Mode.EXPLORE else g.exploit_temperature,
        recent_fraction=recent_fraction,
        half_life=half_life,
        updates=0 if route.steps_world else g.sleep_updates,
        plasticity=intervene and g.reinit_fraction > 0,
        lr_boost=g.lr_boost if intervene else 1.0,
    )


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
        # Ticks since the last PLAN tick; a trial spell comes after `plan_retry`, and at birth.
        self.since_planned = genome.plan_retry
        self.plan_interval = genome.plan_retry  # ticks between trial spells, now
        self.since_change = genome.recency_span  # ticks since M heard of a change
        self.change_news = False  # a change was detected and M has not yet responded

    def decide(self, state: MetaState) -> MetaAction:
        # News of a change waits for the change rule (a dwelling mode may hold it off); the
        # costly response does not wait, and needs both of the detector's streams.
        self.change_news |= state.change_detected > 0
        if state.change_agreed > 0:  # a new world: planning gets a fresh hearing
            self.plan_interval = self.genome.plan_retry
        intervene = self.uses_detector and self._on("change") and state.change_agreed > 0
        mode, rule = self._choose(state)
        if rule == TRIAL and self.since_planned >= self.plan_interval:  # a trial begins
            self._back_off(state)
        if mode != self.mode:
            self.mode, self.dwell = mode, 0
        self.rule = rule
        self.dwell += 1
        self.since_imagined = 0 if mode == Mode.IMAGINE else self.since_imagined + 1
        self.since_planned = 0 if mode == Mode.PLAN else self.since_planned + 1
        if rule == CHANGE:
            self.change_news, self.since_change = False, 0
        else:
            self.since_change += 1
        return self._action(mode, rule, intervene)

    def _back_off(self, state: MetaState) -> None:
        """Trials grow rarer while the evidence says planning loses to the habit, so that a
        losing PLAN costs ever fewer ticks, yet its measurement is never abandoned."""
        if state.plan_significance < -self.genome.plan_z:
            most = PLAN_BACKOFF * self.genome.plan_retry
            self.plan_interval = min(most, 2 * self.plan_interval)

    def _on(self, family: str) -> bool:
        gene = INNATE_SWITCHES.get(family)
        innate = gene is None or bool(getattr(self.genome, gene))
        return innate and family not in self.disabled

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
        if self._on("change") and self.change_news:
            return Mode.EXPLORE, CHANGE
        if self._on("stress") and s.stress >= g.stress_threshold:
            return Mode.EXPLOIT, "stress"
        bored = self.mode == Mode.OBSERVE and self.dwell >= g.observe_span
        trusted = s.teacher_present and s.teacher_trust >= g.trust_threshold
        if self._on("observe") and trusted and not bored:
            return Mode.OBSERVE, "trusted teacher"
        if s.model_reliability >= g.plan_reliability:
            rested = self.since_imagined >= g.imagine_every and self.mode != Mode.IMAGINE
            if self._on("imagine") and rested:
                return Mode.IMAGINE, "model reliable: imagine"
            if self._on("plan"):
                if s.plan_significance > g.plan_z and s.plan_advantage > g.plan_margin:
                    return Mode.PLAN, "planning pays"
                if self.since_planned >= self.plan_interval:
                    return Mode.PLAN, TRIAL
        if self._on("explore"):
            intermediate = g.complexity_low < s.model_reliability < g.complexity_high
            if s.learning_progress > g.progress_threshold and intermediate:
                return Mode.EXPLORE, "learning progress"
            if s.surprise > g.surprise_threshold:
                return Mode.EXPLORE, "surprise"
        return Mode.EXPLOIT, "default"

    def current(self) -> MetaAction:
        """The action of the mode M is in (at birth, or after a resume)."""
        return self._action(self.mode, self.rule)

    def _action(self, mode: Mode, rule: str, intervene: bool = False) -> MetaAction:
        """`meta_action`, with replay leaning on recent memories for `recency_span` ticks after
        a detected change (the old world's memories mislead for a while); `intervene`: reset
        the least useful units and boost the learning rates now."""
        after_change = self.since_change < self.genome.recency_span
        return meta_action(self.genome, mode, rule, after_change, intervene)

    def state_dict(self) -> dict:
        return {
            "mode": self.mode.value,
            "rule": self.rule,
            "dwell": self.dwell,
            "since_imagined": self.since_imagined,
            "since_planned": self.since_planned,
            "plan_interval": self.plan_interval,
            "since_change": self.since_change,
            "change_news": self.change_news,
        }

    def load_state_dict(self, state: dict) -> None:
        self.mode, self.rule, self.dwell = Mode(state["mode"]), state["rule"], int(state["dwell"])
        self.since_imagined = int(state["since_imagined"])
        self.since_planned = int(state["since_planned"])
        # A checkpoint from before trials backed off: they resume at the base interval.
        self.plan_interval = int(state.get("plan_interval", self.genome.plan_retry))
        self.since_change = int(state["since_change"])
        self.change_news = bool(state["change_news"])
