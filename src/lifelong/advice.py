"""How far advice moves the agent: Bayesian policy shaping with the trust each source earned.

B's policy is left as it learned it; advice acts as a prior over actions multiplied into it
(Griffith et al. 2013, "Policy shaping: integrating human feedback with reinforcement learning",
the Advise algorithm). A source that says "go a" with confidence C (the probability that its
advice is the better choice) is a label "a is right, the others are not" of consistency C:

    pi(a) proportional to pi_B(a) * prod over sources s [ C_s if a = a_s else 1 - C_s ] ** gain

so each source multiplies the odds of its advised action by (C_s / (1 - C_s)) ** gain. C = 1/2
moves nothing (a source one knows nothing about), C near 1 pulls towards its advice, C near 0
pushes away from it (a known liar is informative too). `gain` counts how many of Advise's labels
one message is worth: B's softmax is not a calibrated belief (its exploit temperature puts ~99% on
its greedy action whatever it knows), so one label of even a good source would barely move it.
C is kept within [1 - CERTAINTY, CERTAINTY]: no message rules an action out entirely.

Where C comes from is what tells the agents apart (`MODES`, set per agent in `agents.py`):

    ignored     no listening at all: the agent acts as if there were no messages
    vigilant    C from the trust the source earned (`vigilance.py`: its estimated accuracy),
                discounted where the claim contradicts what the agent itself confidently
                expects (content vigilance, `checked`): System M's epistemic vigilance
    credulous   C = `CREDULOUS` for every source: messages believed blindly
    oracle      C from each source's true reliability (`info["message_truth"]`, which no other
                agent reads): the ceiling of what listening can give

Content vigilance, measured (docs/benchmarks.md, "Messages and trust"): with every source lying
the agent's own grounded expectation of the arms it has tried shows the liars' arms up; on
bandit seeds 0-9 the discount (`advice_content` 3) took abm's reward there from an IQM of 0.74
(content checked by vigilance only) to 0.82, and changed nothing with a reliable source present,
where the agent seldom tries what it is not told and so expects nothing of it.

Claims about objects ("food_a good", "predator left": `messages.object_claims`) cannot be a
prior over actions: they say nothing of which action to take. `ClaimBeliefs` makes them an
input instead. For each subject the world declares (`message_subjects`), the body keeps the
latest claim of each source; its belief about the subject is the posterior over the subject's
values given those claims, each weighted by the confidence its source gets (the same C as
above, by the same modes) and fading with the claim's age (half-life `claim_half_life` world
steps: a claim is about a world that changes, the season, the predator's place):

    logit(v)  =  sum over sources s whose latest claim is v of  0.5 ** (age / half-life) x
                 log(C_s / (1 - C_s))   (C_s from trust, among the subject's k values)

A subject of two values (good, bad) is one feature, P(first) - P(second) in [-1, 1]; one of k
values is k features, P(v) - 1/k. The features are appended to every observation handed to the
mind, as constant planes behind the channels of an image (as the Nursery shows energy and pain)
or as entries after a vector (`widened_space`, `ClaimBeliefs.widen`), laid out at birth from the
world's declaration, the same for every agent that listens. With nothing heard every feature is
0; a distrusted source (trust below chance) pushes the belief away from what it says, so a known
liar informs too; the deaf body widens nothing and lives as in a world without messages.

Pure Python but for the belief's features (numpy): the body calls it for the one state it acts
in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.genome import Genome
from lifelong.vigilance import SourceVigilance, content_weights
from lifelong.worlds.messages import WORTH

MODES = ("ignored", "vigilant", "credulous", "oracle")
CREDULOUS = 0.99  # the confidence blind belief gives every source
CERTAINTY = 0.999  # the most (and 1 - the least) confidence any source gets
NEUTRAL = 0.5  # the confidence that moves nothing

Claims = list[tuple[str, int]]  # (source, advised action index), as `messages.go_claims` reads
# What one meal checked: the claims (source, subject, value), the subject met, the standing.
Tasted = tuple[list[tuple[str, str, str]], str, float]


def confidence_of(reliability: float, n_actions: int) -> float:
    """The confidence C to shape with, for a source whose advice is the right action with
    probability `reliability` among `n_actions`: the C whose odds C / (1 - C) are Bayes' odds of
    its advised action against any one other, r (n - 1) / (1 - r). A source no better than chance
    (r = 1/n) gets 1/2 and moves nothing."""
    weight = reliability * (n_actions - 1)
    total = weight + 1.0 - reliability
    return weight / total if total > 0 else NEUTRAL


def shaped(
    probs: list[float],
    claims: Claims,
    confidence: Mapping[tuple[str, int], float],
    gain: float,
) -> list[float]:
    """B's action probabilities with every claim's prior multiplied in (see the module
    docstring), renormalised: `confidence` holds each (source, action) claim's C. Claims of
    actions outside the policy are ignored."""
    bonus = [0.0] * len(probs)
    for claim in claims:
        action = claim[1]
        if 0 <= action < len(probs):
            bonus[action] += gain * log_odds(confidence[claim])
    top = max(bonus)
    weights = [p * math.exp(b - top) for p, b in zip(probs, bonus, strict=True)]
    total = sum(weights)
    return [w / total for w in weights] if total > 0 else list(probs)


def log_odds(confidence: float) -> float:
    """log(C / (1 - C)), with C kept within [1 - CERTAINTY, CERTAINTY]: what one label of
    confidence C adds to the logit of what it says (no message rules anything out)."""
    c = min(CERTAINTY, max(1.0 - CERTAINTY, confidence))
    return math.log(c / (1.0 - c))


def checked(trust: float, claimed: int, own: list[float], content: float) -> float:
    """The probability that a claim of `claimed` is right, from its source's `trust` and the
    agent's own expectation of each action (`own`, in deviations of the return), worth
    `content` nats per deviation below the best: the posterior of the claimed action given the
    claim and what the agent itself predicts. Content 0, or no difference in `own`, gives
    `trust` back; a claim of what the agent confidently expects to be worse is discounted."""
    n = len(own)
    if content <= 0.0 or n < 2 or not 0 <= claimed < n:
        return trust
    weight = content_weights(own, content)
    said = trust * weight[claimed]
    elsewhere = (1.0 - trust) / (n - 1) * (sum(weight) - weight[claimed])
    return said / (said + elsewhere) if said + elsewhere > 0 else trust


class Advisor:
    """The body's ear: what confidence each source gets (by `mode`), and the prior it makes.

    The genome says how far a message moves B (`advice_gain`) and, for the vigilant ear, how
    much a claim is discounted when it contradicts what the agent itself expects
    (`advice_content`, `checked`)."""

    def __init__(
        self, mode: str, genome: Genome, vigilance: SourceVigilance, n_actions: int
    ) -> None:
        if mode not in MODES or mode == "ignored":
            raise ValueError(f"advice mode {mode!r}: allowed {', '.join(MODES[1:])}")
        self.mode, self.vigilance, self.n_actions = mode, vigilance, n_actions
        self.gain = genome.advice_gain
        self.content = genome.advice_content if mode == "vigilant" else 0.0
        # Whether the agent's own expectation is read at all (by advice or by vigilance).
        self.reads_content = self.content > 0.0 or vigilance.content > 0.0

    def confidence(
        self,
        source: str,
        claimed: int,
        truth: Mapping[str, float] | None,
        own: list[float] | None = None,
    ) -> float:
        if self.mode == "credulous":
            return CREDULOUS
        if self.mode == "oracle":
            reliability = (truth or {}).get(source)
            if reliability is None:
                return NEUTRAL
            return confidence_of(float(reliability), self.n_actions)
        trust = self.vigilance.trust(source)
        if own is not None:
            trust = checked(trust, claimed, own, self.content)
        return confidence_of(trust, self.n_actions)

    def prior(
        self,
        claims: Claims,
        truth: Mapping[str, float] | None = None,
        own: list[float] | None = None,
    ) -> Callable[[list[float]], list[float]]:
        """The hook handed to the mind's `act`: B's probabilities in, shaped ones out. `own`
        is the agent's grounded expectation of each action (content vigilance), or None."""
        confidences = {
            (source, action): self.confidence(source, action, truth, own)
            for source, action in claims
        }
        return lambda probs: shaped(probs, claims, confidences, self.gain)


def belief_width(subjects: Mapping[str, Sequence[str]]) -> int:
    """How many features the beliefs about `subjects` take: one for a subject of two values,
    one per value for a subject of more."""
    return sum(1 if len(values) == 2 else len(values) for values in subjects.values())


def widened_space(space: gym.Space, width: int) -> gym.spaces.Box | None:
    """The observation space the mind is born with when `width` belief features follow the
    world's: channels appended to a channels-last image (H, W, C), entries to a vector; None
    for any other space (the body then holds no beliefs)."""
    if not isinstance(space, gym.spaces.Box) or len(space.shape) not in (1, 3) or width < 1:
        return None
    extra = (*space.shape[:-1], width)
    low = np.concatenate([space.low, np.full(extra, -1.0, np.float32)], axis=-1)
    high = np.concatenate([space.high, np.full(extra, 1.0, np.float32)], axis=-1)
    return gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class ClaimBeliefs:
    """The body's belief about each subject informants may name, handed to the mind as input
    features, and the taste that checks claims about what the agent met; see the module
    docstring. `mode` is the ear's (`MODES`, not ignored): whose confidence weighs a claim."""

    def __init__(
        self,
        subjects: Mapping[str, Sequence[str]],
        mode: str,
        vigilance: SourceVigilance,
        half_life: float,
    ) -> None:
        if mode not in MODES or mode == "ignored":
            raise ValueError(f"belief mode {mode!r}: allowed {', '.join(MODES[1:])}")
        self.subjects = {str(s): tuple(str(v) for v in values) for s, values in subjects.items()}
        self.mode, self.vigilance = mode, vigilance
        self.keep = 0.5 ** (1.0 / half_life)
        self.width = belief_width(self.subjects)
        # subject -> source -> [index of the value claimed, age in world steps, checked]
        self.latest: dict[str, dict[str, list[Any]]] = {s: {} for s in self.subjects}
        self.truth: dict[str, float] = {}  # each source's true reliability: the oracle's only

    def hear(
        self, claims: list[tuple[str, str, str]], truth: Mapping[str, float] | None = None
    ) -> None:
        """This frame's claims (source, subject, value) replace each source's latest about the
        subject; `truth` (info["message_truth"]) is kept by the oracle's ear alone."""
        if self.mode == "oracle" and truth is not None:
            self.truth = {str(s): float(r) for s, r in truth.items()}
        for source, subject, value in claims:
            self.latest[subject][source] = [self.subjects[subject].index(value), 0, False]
        if claims:
            self.vigilance.hear([source for source, _, _ in claims])

    def step(self, met: Any, reward: float) -> Tasted | None:
        """One world step: if the agent met a subject of worth (info["ate"]), the latest claim
        of each source about it not yet checked is checked by the step's reward (source
        vigilance's `taste`); then every claim grows a step older. Returns what was tasted,
        for grounding: the claims checked (source, subject, value) and the reward's standing
        against the usual step (None if the agent met nothing of worth)."""
        tasted = None
        about = self.latest.get(met) if isinstance(met, str) else None
        if about is not None and self.subjects[met] == WORTH:
            values = self.subjects[met]
            unchecked = [(source, entry[0]) for source, entry in about.items() if not entry[2]]
            for entry in about.values():
                entry[2] = True
            z = self.vigilance.taste([(s, value == 0) for s, value in unchecked], reward)
            tasted = ([(s, met, values[value]) for s, value in unchecked], met, z)
        self.vigilance.tick(reward)
        for about in self.latest.values():
            for entry in about.values():
                entry[1] += 1
        return tasted

    def trust(self, source: str) -> float | None:
        """The accuracy credited to `source` by this ear (None: the oracle is not told it)."""
        if self.mode == "credulous":
            return CREDULOUS
        if self.mode == "oracle":
            return self.truth.get(source)
        return self.vigilance.trust(source)

    def features(self) -> np.ndarray:
        """The belief about every subject, in the declared order (see the module docstring)."""
        out: list[float] = []
        for subject, values in self.subjects.items():
            k = len(values)
            logits = [0.0] * k
            for source, (value, age, _) in self.latest[subject].items():
                theta = self.trust(source)
                if theta is None:
                    continue
                logits[value] += self.keep**age * log_odds(confidence_of(theta, k))
            top = max(logits)
            weights = [math.exp(v - top) for v in logits]
            total = sum(weights)
            posterior = [w / total for w in weights]
            if k == 2:
                out.append(posterior[0] - posterior[1])
            else:
                out.extend(p - 1.0 / k for p in posterior)
        return np.asarray(out, dtype=np.float32)

    def widen(self, obs: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """`obs` with the belief features after it: constant planes behind an image's channels,
        entries after a vector. `features` None: the current beliefs."""
        values = self.features() if features is None else features
        if obs.ndim == 3:
            planes = np.broadcast_to(values, (*obs.shape[:2], self.width))
            return np.concatenate([obs, planes], axis=-1, dtype=np.float32)
        return np.concatenate([obs, values], axis=-1, dtype=np.float32)

    def state(self) -> dict[str, Any]:
        return {
            "latest": {s: {k: list(v) for k, v in by.items()} for s, by in self.latest.items()},
            "truth": dict(self.truth),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        for subject, by_source in state["latest"].items():
            if subject in self.latest:
                self.latest[subject] = {
                    str(k): [int(v[0]), int(v[1]), bool(v[2])] for k, v in by_source.items()
                }
        self.truth = {str(s): float(r) for s, r in state.get("truth", {}).items()}
