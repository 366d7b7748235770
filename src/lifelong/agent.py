"""The body every agent shares, with a Controller and a Mind injected.

The body owns the tick and everything that is the same whoever decides and whatever learns: the
counters, the telemetry M reads, the realised returns of each mode, cleaning what the world
sends (non-finite observations and rewards), the teacher in view and whose lead was followed,
and their state in a checkpoint. Two parts are handed in behind declared interfaces:

    Controller   decide(meta_state) -> MetaAction: System M, or a baseline's schedule
                 (`systems/control.py`, `baselines.py`)
    Mind         act, observe and learn, sleep, imagine, intervene, state: the A-B-M mind
                 (`mind.py`), or a small one without networks (`baselines.py`)

One tick, in the only order there is (`Agent.tick`): M decides; the mode's route says whether
the tick takes a world step; if not, the mind sleeps or imagines; if so, the body returns the
mind's action (or a teacher's lead, when observing) and later `observe`s what the world did.
The registry (`agents.py`) says which controller and which mind make each named agent.

Messages (`info["messages"]`, lifelong/worlds/messages.py) enter here too. A listening body (the
registry's `advice`: vigilant, credulous or oracle) reads the advice in each frame, checks every
claim against the return that followed and against what it expects itself (source vigilance:
`vigilance.py`, kept in the telemetry, so trust is a signal M reads), learns what each message
means from what followed it (grounding: `grounding.py`, whose expectation of each action is
what content vigilance checks claims against) and, when B's policy acts, hands the mind a prior
over actions made from what was said and how far each source is trusted (`advice.py`); a mind
takes it through its `act(..., advice=...)` hook (the A-B-M mind does; minds without the hook,
and bodies that do not listen, act as if nothing was said).

Claims about objects (("food_a", "good"), ("predator", "left"): `messages.object_claims`) enter
as input instead: a listening body born in a world that declares what its informants may claim
(`message_subjects`, handed in as `subjects`) keeps a belief about each subject, weighted by
trust (`advice.ClaimBeliefs`), and hands the mind every observation with those beliefs appended
(constant planes behind an image's channels, entries after a vector): the mind is born with the
widened space and needs no hook. What the agent met (`info["ate"]`) checks the claims about it
(source vigilance's `taste`), so a liar's trust falls and its claims stop moving the belief.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from lifelong.actions import ActionKind
from lifelong.advice import MODES, Advisor, ClaimBeliefs, belief_width, widened_space
from lifelong.genome import Genome
from lifelong.grounding import MessageGrounding
from lifelong.modes import ROUTES, Mode
from lifelong.signals import ModeReturns, Telemetry
from lifelong.systems.control import Controller, MetaAction
from lifelong.worlds.messages import MESSAGES, MET, TRUTH, go_claims, object_claims

COUNTERS = (
    "env_steps",
    "ticks",
    "learn_steps",
    "updates_a",
    "updates_b",
    "sleep_ticks",
    "imagine_ticks",
    "imagined_kept",
    "plans",
    "interventions",
    "faints",
    "sanitized",
    "skipped_updates",
    "world_errors",
)


@dataclass(frozen=True)
class Birth:
    """What a mind is built from: the world's spaces, its genome and seed, and the body's
    telemetry and counters, which the mind feeds (A's error, updates) as it learns."""

    observation_space: gym.Space
    actions: ActionKind
    genome: Genome
    seed: int
    device: str
    telemetry: Telemetry
    counters: dict[str, int]
    track_units: bool  # keep hidden units' utility: the controller may order unit resets


class Mind(Protocol):
    """What acts and learns. The body calls it in the tick's order and never looks inside."""

    losses: dict[str, float]  # the newest value of every loss, for the records

    def begin(self, obs: np.ndarray) -> None:
        """A new stream starts with `obs` (birth, or the world was reset)."""
        ...

    def act(self, obs: np.ndarray, meta: MetaAction, lead: Any = None) -> Any:
        """The action for `obs` in the world's units. `lead` is the body's when the mode acts
        by a teacher (the teacher's action, or keeping still): None when the mind acts alone."""
        ...

    def observe(
        self, action: Any, obs: np.ndarray, reward: float, terminated: bool, followed: str | None
    ) -> bool:
        """Store a world step; True when a change detector of the mind's own fired."""
        ...

    def learn(self, meta: MetaAction) -> None:
        """After the body counted the world step: learn if the schedule says so."""
        ...

    def sleep(self, meta: MetaAction) -> None: ...

    def imagine(self, meta: MetaAction) -> None: ...

    def intervene(self, meta: MetaAction) -> None:
        """M's plasticity command (`meta.plasticity`, `meta.lr_boost`)."""
        ...

    def infer_action(self, obs: np.ndarray, next_obs: Any) -> Any:
        """The action a teacher took from obs to next_obs, or None where it cannot tell."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Agent:
    """The body: one tick of a life at a time, the controller deciding and the mind acting."""

    def __init__(
        self,
        controller: Controller,
        mind: Callable[[Birth], Mind],
        observation_space: gym.Space,
        actions: ActionKind,
        genome: Genome,
        seed: int = 0,
        device: str = "cpu",
        noop_action: int | None = None,
        advice: str = "ignored",
        subjects: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """`mind` builds the mind from its `Birth`; `noop_action` keeps still, for OBSERVE with
        nobody in view (None: the mind acts instead); `advice` says how the body listens to
        informants (`advice.MODES`: ignored, vigilant, credulous, oracle); `subjects` is what
        the world's informants may claim about objects (its `message_subjects`, None: nothing),
        which a listening body believes and hands the mind as input."""
        if advice not in MODES:
            raise ValueError(f"advice={advice!r} is invalid; allowed: {', '.join(MODES)}")
        self.genome, self.actions, self.noop_action = genome, actions, noop_action
        self.controller = controller
        self.telemetry = Telemetry.from_genome(genome)
        self.counters = dict.fromkeys(COUNTERS, 0)
        # Beliefs about objects (decided at birth: the mind is born seeing them).
        self.beliefs: ClaimBeliefs | None = None
        wide = widened_space(observation_space, belief_width(subjects or {}))
        if advice != "ignored" and wide is not None:
            vigilance = self.telemetry.vigilance
            self.beliefs = ClaimBeliefs(subjects, advice, vigilance, genome.claim_half_life)
            observation_space = wide
        self.mind = mind(
            Birth(
                observation_space,
                actions,
                genome,
                seed,
                device,
                self.telemetry,
                self.counters,
                track_units=controller.intervenes,
            )
        )
        self.meta: MetaAction = controller.current()
        # What acting in each mode earned: the discounted n-step return after each world step,
        # per mode of the step (PLAN must beat EXPLOIT where it runs). [mode, return, steps]
        self.returns = ModeReturns(genome.gamma, genome.n_step)
        self.alarm = False  # a change detector fired this tick (see `events.jsonl`)
        self.obs: np.ndarray | None = None
        self.teacher_action: Any = None
        self.teacher_source: str | None = None  # who is in view
        self.followed: str | None = None  # whose lead the last action took
        # Informants: listened to only by a body that listens, with a mind that takes advice,
        # in a world of discrete actions ("go <action>" names one).
        takes_advice = "advice" in inspect.signature(self.mind.act).parameters
        listens = advice != "ignored" and takes_advice and not actions.continuous
        self.advisor: Advisor | None = None
        self.grounding: MessageGrounding | None = None  # what each message has come to mean
        if listens:  # the telemetry's vigilance reads every vigilance gene (`from_genome`)
            self.advisor = Advisor(advice, genome, self.telemetry.vigilance, actions.width)
            self.grounding = MessageGrounding(seed)
        self.claims: list[tuple[str, int]] = []  # (source, action) advised in the frame in view
        self.message_truth: dict[str, float] | None = None  # read by the oracle body only
        # The beliefs appended to the frame in view (`_believed`), kept for frames shown later,
        # and who made the claims about objects heard with it.
        self.belief = None if self.beliefs is None else self.beliefs.features()
        self.told: list[str] = []

    # --- The verbs the life calls -------------------------------------------------------------
    def tick(self) -> Any:
        """One tick: M decides, then the agent sleeps or imagines (no world step: None) or
        returns the action to take in the world. `Life.run` and a loop a user owns
        (`StepwiseAgent`) both tick this way, so they live the same life."""
        meta = self.decide()
        if ROUTES[meta.mode].steps_world:
            return self.act()
        if meta.mode == Mode.SLEEP:
            self.sleep()
        else:
            self.imagine()
        return None

    def begin(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        """A new stream starts (birth, or the world was reset): remember its first frame."""
        obs = self._believed(self._sanitized(obs), info)
        self.mind.begin(obs)
        self.returns.clear()  # returns are counted within one stream
        if self.advisor is not None:
            self.telemetry.vigilance.clear()
        self._perceive(obs, info)

    def decide(self) -> MetaAction:
        """The controller decides from the signals (news of a change is heard once); an
        intervention it orders (unit resets, a learning-rate boost) runs now."""
        state = self.telemetry.heard()
        self.alarm = state.change_detected > 0 and self.controller.uses_detector
        self.meta = self.controller.decide(state)
        self.counters["ticks"] += 1
        if self.meta.plasticity or self.meta.lr_boost > 1.0:
            self.counters["interventions"] += 1
            self.mind.intervene(self.meta)
        return self.meta

    def act(self) -> Any:
        """The mind's action, given the lead of the teacher in view when the mode observes, or
        the advice heard when B's policy acts and the body listens."""
        self.followed, lead = None, None
        acts_by = ROUTES[self.meta.mode].acts_by
        heard = bool(self.claims) and self.advisor is not None
        own = self._foresee() if heard else None  # whoever acts, the claims are checked
        if acts_by == "teacher":
            if self.teacher_action is not None:
                self.followed, lead = self.teacher_source, self.teacher_action
            else:
                lead = self.noop_action  # nobody to watch: keep still and watch the world
        elif heard and acts_by == "value":
            prior = self.advisor.prior(self.claims, self.message_truth, own)
            return self.mind.act(self.obs, self.meta, None, advice=prior)
        return self.mind.act(self.obs, self.meta, lead)

    def _foresee(self) -> list[float] | None:
        """What the agent itself expects of each action, grounded (`grounding.py`), handed to
        source vigilance to check this step's claims against (content vigilance); None where
        the genome does not check content."""
        if not self.advisor.reads_content:
            return None
        own = self.grounding.own(self.actions.width)
        self.telemetry.vigilance.foresee(own)
        return own

    def observe(
        self, action: Any, obs: np.ndarray, reward: float, terminated: bool, info: dict[str, Any]
    ) -> None:
        """Store what the world returned, update the signals, learn when the schedule says so."""
        obs = self._sanitized(obs)
        if not math.isfinite(reward):
            reward = 0.0
            self.counters["sanitized"] += 1
        if self.beliefs is not None:  # what it met checks the claims about it, then new ones
            tasted = self.beliefs.step(info.get(MET), reward)
            if tasted is not None and self.grounding is not None:
                self.grounding.learn_claims(tasted)  # what the claims meant: what followed
            obs = self._believed(obs, info)
        fired = self.mind.observe(action, obs, reward, terminated, self.followed)
        for mode, value in self.returns.add(self.meta.mode.value, reward):
            self.telemetry.on_return(mode, value)
        if self.advisor is not None:  # every claim heard is checked, whoever chose the action
            self.telemetry.on_claims(self.claims, action, reward, self.actions.width)
            self.grounding.learn(self.telemetry.vigilance.judged())  # what followed grounds words
        self._perceive(obs, info)
        self.telemetry.on_world_step(reward, info.get("body"), self.teacher_source, self.followed)
        self.counters["env_steps"] += 1
        self.counters["faints"] += int(bool(info.get("fainted", False)))
        self.alarm = self.alarm or fired
        self.mind.learn(self.meta)

    def sleep(self) -> None:
        """A tick without the world: replay consolidates A and B, sleep pressure falls."""
        self.telemetry.on_sleep_tick()
        self.counters["sleep_ticks"] += 1
        self.mind.sleep(self.meta)

    def imagine(self) -> None:
        """A tick without the world: B learns from rollouts of A's model."""
        self.counters["imagine_ticks"] += 1
        self.mind.imagine(self.meta)

    @property
    def losses(self) -> dict[str, float]:
        """The mind's losses and, for a listening body, its grounding's: its newest squared
        error and each source's `meaning_<source>` (what acting on its latest claim is
        expected to earn, in deviations from the usual return), recorded beside the losses."""
        if self.grounding is None or not self.grounding.latest:
            return self.mind.losses
        meanings = {f"meaning_{s}": v for s, v in self.grounding.meanings().items()}
        return {**self.mind.losses, "grounding_loss": self.grounding.loss, **meanings}

    def trusts(self) -> dict[str, float]:
        """Trust in each informant heard so far (for the records): empty for a deaf body."""
        return self.telemetry.vigilance.trusts() if self.advisor is not None else {}

    def realised_returns(self) -> dict[str, float]:
        """Mean realised n-step return after world steps taken in each mode, over the life."""
        return self.returns.means()

    # --- Inside -------------------------------------------------------------------------------
    def _believed(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The world's frame as the mind sees it: with the beliefs after this frame's claims
        about objects appended (unchanged for a body that holds none)."""
        if self.beliefs is None:
            return obs
        truth = info.get(TRUTH) if self.beliefs.mode == "oracle" else None
        claims = object_claims(info.get(MESSAGES), self.beliefs.subjects)
        self.beliefs.hear(claims, truth)
        self.told = [source for source, _, _ in claims]
        if self.grounding is not None:
            self.grounding.hear_claims(claims)
        self.belief = self.beliefs.features()
        return self.beliefs.widen(obs, self.belief)

    def widen(self, obs: np.ndarray) -> np.ndarray:
        """A frame seen apart from the life (a probe's, a saved policy's) as the mind reads it:
        with neutral beliefs (0, nothing heard) appended, so it reads the same whenever it is
        shown; as it is for a body that holds no beliefs."""
        if self.beliefs is None:
            return obs
        neutral = np.zeros(self.beliefs.width, dtype=np.float32)
        return self.beliefs.widen(np.asarray(obs, dtype=np.float32), neutral)

    def _sanitized(self, obs: np.ndarray) -> np.ndarray:
        """NaN or infinite observations become 0 (and are counted) before anything sees them."""
        if math.isfinite(float(obs.sum())):  # one reduction: cheaper than isfinite(obs).all()
            return obs
        self.counters["sanitized"] += 1
        return np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)

    def _perceive(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        """The frame in view, the teacher in it (its action, shown or inferred) and, for a
        listening body, the advice heard with it."""
        self.obs = obs
        if self.advisor is not None:
            self.claims = go_claims(info.get(MESSAGES), self.actions.width)
            self.grounding.hear(self.claims)
            if self.advisor.mode == "oracle":
                self.message_truth = info.get(TRUTH)
        if self.advisor is not None or self.beliefs is not None:  # who spoke, of anything
            told = [source for source, _ in self.claims] + self.told
            self.telemetry.on_heard(list(dict.fromkeys(told)))
        teacher = info.get("teacher")
        self.teacher_source = None if teacher is None else str(teacher.get("source", "teacher"))
        if teacher is None:
            self.teacher_action = None
        elif "follow" in teacher or "action" in teacher:
            # A teacher in the same world is followed; one demonstrating in a copy is imitated.
            self.teacher_action = self.actions.shown(teacher.get("follow", teacher.get("action")))
        else:
            shown = teacher.get("next_obs")  # seen in the same frame: with the same beliefs
            if shown is not None and self.beliefs is not None:
                shown = self.beliefs.widen(np.asarray(shown, dtype=np.float32), self.belief)
            self.teacher_action = self.mind.infer_action(obs, shown)

    # --- Checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The body's state and the mind's, side by side in one flat dict (a mind's keys are
        its own: "a", "b", "memory", "rng", ... for the A-B-M mind)."""
        return {
            **self.mind.state_dict(),
            "telemetry": self.telemetry.state_dict(),
            "controller": self.controller.state_dict(),
            **self.returns.state_dict(),  # "pending" and "realised"
            "counters": dict(self.counters),
            "obs": self.obs,
            "teacher_action": self.teacher_action,
            "teacher_source": self.teacher_source,
            "followed": self.followed,
            "claims": [[source, action] for source, action in self.claims],
            "message_truth": self.message_truth,
            **({"grounding": self.grounding.state()} if self.grounding is not None else {}),
            **({"beliefs": self.beliefs.state()} if self.beliefs is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mind.load_state_dict(state)
        self.telemetry.load_state_dict(state["telemetry"])
        # Lives of agents without networks saved before the body was shared kept no controller
        # state nor what was in view: they resume from a fresh one.
        self.controller.load_state_dict(state.get("controller", {}))
        self.meta = self.controller.current()
        self.returns.load_state_dict(state)
        self.counters.update({name: int(state["counters"][name]) for name in COUNTERS})
        self.obs = state.get("obs")
        self.teacher_action = state.get("teacher_action")
        self.teacher_source = state.get("teacher_source")
        self.followed = state.get("followed")
        self.claims = [(str(source), int(action)) for source, action in state.get("claims", [])]
        self.message_truth = state.get("message_truth")
        if self.grounding is not None and "grounding" in state:
            self.grounding.load_state(state["grounding"])
        if self.beliefs is not None and "beliefs" in state:
            self.beliefs.load_state(state["beliefs"])
            self.belief = self.beliefs.features()
