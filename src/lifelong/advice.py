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
                System M's epistemic vigilance
    credulous   C = `CREDULOUS` for every source: messages believed blindly
    oracle      C from each source's true reliability (`info["message_truth"]`, which no other
                agent reads): the ceiling of what listening can give

Pure Python: the body calls it for the one state it acts in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from lifelong.vigilance import SourceVigilance

MODES = ("ignored", "vigilant", "credulous", "oracle")
CREDULOUS = 0.99  # the confidence blind belief gives every source
CERTAINTY = 0.999  # the most (and 1 - the least) confidence any source gets
NEUTRAL = 0.5  # the confidence that moves nothing

Claims = list[tuple[str, int]]  # (source, advised action index), as `messages.go_claims` reads


def confidence_of(reliability: float, n_actions: int) -> float:
    """The confidence C to shape with, for a source whose advice is the right action with
    probability `reliability` among `n_actions`: the C whose odds C / (1 - C) are Bayes' odds of
    its advised action against any one other, r (n - 1) / (1 - r). A source no better than chance
    (r = 1/n) gets 1/2 and moves nothing."""
    weight = reliability * (n_actions - 1)
    total = weight + 1.0 - reliability
    return weight / total if total > 0 else NEUTRAL


def shaped(
    probs: list[float], claims: Claims, confidence: Callable[[str], float], gain: float
) -> list[float]:
    """B's action probabilities with every claim's prior multiplied in (see the module
    docstring), renormalised. Claims of actions outside the policy are ignored."""
    bonus = [0.0] * len(probs)
    for source, action in claims:
        if 0 <= action < len(probs):
            c = min(CERTAINTY, max(1.0 - CERTAINTY, confidence(source)))
            bonus[action] += gain * math.log(c / (1.0 - c))
    top = max(bonus)
    weights = [p * math.exp(b - top) for p, b in zip(probs, bonus, strict=True)]
    total = sum(weights)
    return [w / total for w in weights] if total > 0 else list(probs)


class Advisor:
    """The body's ear: what confidence each source gets (by `mode`), and the prior it makes."""

    def __init__(self, mode: str, gain: float, vigilance: SourceVigilance, n_actions: int) -> None:
        if mode not in MODES or mode == "ignored":
            raise ValueError(f"advice mode {mode!r}: allowed {', '.join(MODES[1:])}")
        self.mode, self.gain, self.vigilance, self.n_actions = mode, gain, vigilance, n_actions

    def confidence(self, source: str, truth: Mapping[str, float] | None) -> float:
        if self.mode == "credulous":
            return CREDULOUS
        if self.mode == "oracle":
            reliability = (truth or {}).get(source)
            if reliability is None:
                return NEUTRAL
            return confidence_of(float(reliability), self.n_actions)
        return confidence_of(self.vigilance.trust(source), self.n_actions)

    def prior(
        self, claims: Claims, truth: Mapping[str, float] | None = None
    ) -> Callable[[list[float]], list[float]]:
        """The hook handed to the mind's `act`: B's probabilities in, shaped ones out."""
        return lambda probs: shaped(
            probs, claims, lambda source: self.confidence(source, truth), self.gain
        )
