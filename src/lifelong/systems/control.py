"""System M: the meta-controller. Reads a `MetaState`, returns a `MetaAction`.

M is the control plane of the paper: a fixed rule policy whose thresholds and gains come from the
genome and never change within a life. It sees only the named floats of the meta-state, never
observations or networks, and it imports no torch (a test enforces this), so it can be read,
tested and evolved as plain Python.

Rules, in order of precedence (the first that fires picks the mode):
1. asleep and sleep pressure still above `wake_threshold`     -> stay in SLEEP
2. a mode younger than `min_dwell` ticks                      -> keep it (no thrashing),
   unless it is OBSERVE and the teacher has left the view
3. sleep pressure >= `sleep_threshold` and no pain            -> SLEEP
4. pain >= `pain_threshold` or stress >= `stress_threshold`   -> EXPLOIT (act on habits)
5. a teacher in view trusted at least `trust_threshold`,
   unless already watched for `observe_span` ticks             -> OBSERVE
6. learning progress > `progress_threshold`, or
   surprise > `surprise_threshold`                            -> EXPLORE
7. otherwise                                                  -> EXPLOIT
"""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState


@dataclass(frozen=True)
class MetaAction:
    """What M tells the data plane to do this tick."""

    mode: Mode
    rule: str  # the name of the rule that chose the mode: why the agent did what it did
    intrinsic_weight: float  # weight of A's disagreement in B's reward
    temperature: float  # softmax temperature of B's policy
    recent_fraction: float  # share of replay drawn from the recent ring (rest: long-term)
    updates: int  # gradient updates to run this tick when asleep
    learns: bool = True  # False: no gradient step at all (a frozen baseline after its schedule)


class MetaController:
    """The fixed rule policy of System M, with the little state it needs (mode and dwell)."""

    def __init__(self, genome: Genome) -> None:
        self.genome = genome
        self.mode = Mode.EXPLORE
        self.rule = "birth"
        self.dwell = genome.min_dwell  # ticks spent in the current mode; birth is no choice

    def decide(self, state: MetaState) -> MetaAction:
        mode, rule = self._choose(state)
        if mode != self.mode:
            self.mode, self.dwell = mode, 0
        self.rule = rule
        self.dwell += 1
        return self.action_for(mode, rule)

    def _choose(self, s: MetaState) -> tuple[Mode, str]:
        g = self.genome
        if self.mode == Mode.SLEEP and s.sleep_pressure > g.wake_threshold:
            return Mode.SLEEP, "sleep until rested"
        watching_nobody = self.mode == Mode.OBSERVE and not s.teacher_present
        if self.dwell < g.min_dwell and self.mode != Mode.SLEEP and not watching_nobody:
            return self.mode, self.rule
        if s.sleep_pressure >= g.sleep_threshold and s.pain < g.pain_threshold:
            return Mode.SLEEP, "sleep pressure"
        if s.pain >= g.pain_threshold:
            return Mode.EXPLOIT, "pain"
        if s.stress >= g.stress_threshold:
            return Mode.EXPLOIT, "stress"
        bored = self.mode == Mode.OBSERVE and self.dwell >= g.observe_span
        if s.teacher_present and s.teacher_trust >= g.trust_threshold and not bored:
            return Mode.OBSERVE, "trusted teacher"
        if s.learning_progress > g.progress_threshold:
            return Mode.EXPLORE, "learning progress"
        if s.surprise > g.surprise_threshold:
            return Mode.EXPLORE, "surprise"
        return Mode.EXPLOIT, "default"

    def action_for(self, mode: Mode, rule: str) -> MetaAction:
        g = self.genome
        asleep = mode == Mode.SLEEP
        return MetaAction(
            mode=mode,
            rule=rule,
            intrinsic_weight=g.intrinsic_gain if ROUTES[mode].intrinsic else 0.0,
            temperature=g.explore_temperature if mode == Mode.EXPLORE else g.exploit_temperature,
            recent_fraction=g.replay_recent_sleep if asleep else g.replay_recent_awake,
            updates=g.sleep_updates if asleep else 0,
        )

    def state_dict(self) -> dict:
        return {"mode": self.mode.value, "rule": self.rule, "dwell": self.dwell}

    def load_state_dict(self, state: dict) -> None:
        self.mode, self.rule, self.dwell = Mode(state["mode"]), state["rule"], int(state["dwell"])
