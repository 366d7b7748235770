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

Pure Python: the body calls it for the one state it acts in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from lifelong.genome import Genome
from lifelong.vigilance import SourceVigilance, content_weights

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
            c = min(CERTAINTY, max(1.0 - CERTAINTY, confidence[claim]))
            bonus[action] += gain * math.log(c / (1.0 - c))
    top = max(bonus)
    weights = [p * math.exp(b - top) for p, b in zip(probs, bonus, strict=True)]
    total = sum(weights)
    return [w / total for w in weights] if total > 0 else list(probs)


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
