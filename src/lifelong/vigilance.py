"""Source vigilance: trust in each informant, earned by checking its advice against what happened.

A source advises an action ("go a", `lifelong/worlds/messages.py`). Trust in it is an estimate of
its accuracy: the probability that what it advises is the right action. The agent never sees the
right action, so each step's claims are checked by inferring it, from two kinds of evidence the
agent does have:

- what happened: the realised discounted return G of the `horizon` steps that begin with the
  action it took, read against what such returns usually are (a slowly forgetting mean m and
  deviation sd of the returns of every step on which advice was heard). z = (G - m) / sd
  (clipped to +-3) counts as `outcome` x z nats of evidence that the action taken was right;
- what the others said: each source's claim, weighted by the trust it has earned so far.

    belief(a)  proportional to  prod over sources s [theta_s if a = a_s else (1 - theta_s)/(n - 1)]
                                x exp(outcome x z) if a is the action taken

(the posterior over the right action given every claim and the outcome: one step of Dawid and
Skene's estimator of annotators' accuracies, with the agent's own outcome as one more,
grounded, annotator). Each source's claim was right with probability belief(a_s); that goes to
its evidence for (alpha) and the rest against (beta), after the old evidence is multiplied by
`keep` = 0.5 ** (1 / half_life). With one pseudo-observation at the innate `prior`,

    trust_s = theta_s = (alpha_s + prior) / (alpha_s + beta_s + 1)

Why this rule and not another (the alternatives tried and what they did are in
docs/architecture.md, "Departures from the design"):
- It reads only the agent's own rewards and what was said, never the truth, and needs no trained
  network: it works from the first message, when the agent's own values are still noise.
- Claims are checked whether or not they were followed. A rule that credits only followed
  advice by its outcome ranks a liar first as soon as one lucky pull made it look good (the
  agent then follows the liar, avoids the others, and never learns otherwise); a rule that
  compares following with not following leaves a noisy source at 1/2 while a better one is
  followed. Agreement with sources that have earned trust checks the claims nobody followed.
- A deviation, not a count of wins: in a world of sparse reward most returns equal the usual
  and say nothing (z near 0); a return far above or below the usual says a lot. The usual
  forgets slowly, so after a turn the returns of following the turncoat are still read against
  how good things were while it was honest.
- Trust is an accuracy, on the scale of the sources' true reliability (which the `messages`
  wrapper records), and becomes the confidence Bayesian policy shaping needs by one formula
  (`advice.confidence_of`), the one the oracle agent applies to the truth.
- Its limits, said plainly: sources that agree reinforce each other (two liars telling the same
  lie look reliable until outcomes say otherwise), and when everyone lies and the agent knows no
  better itself, the usual is the liars' level, so a lie is told from bad luck only slowly.
  Checking claims against the agent's own confident values (content vigilance) is issue 28's
  next part.

The innate trust (the genome's `informant_trust`, 0.6) is above chance: a newborn that doubted
everyone would never follow anyone, and so never learn whom to believe (children too start out
credulous and grow selective).

Pure Python (no numpy, no torch): it is part of the telemetry M reads.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any


class ForgetfulMean:
    """Mean and variance of a stream whose older samples fade: each sample's weight is multiplied
    by `keep` when a new one arrives (exponentially weighted Welford)."""

    __slots__ = ("keep", "mean", "spread", "weight")

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self.weight = 0.0  # the sum of the weights: how much evidence there is
        self.mean = 0.0
        self.spread = 0.0  # weighted sum of squared deviations

    def add(self, x: float) -> None:
        self.weight = self.keep * self.weight + 1.0
        delta = x - self.mean
        self.mean += delta / self.weight
        self.spread = self.keep * self.spread + delta * (x - self.mean)

    @property
    def deviation(self) -> float:
        return math.sqrt(max(self.spread, 0.0) / self.weight) if self.weight > 0 else 0.0

    def state_dict(self) -> list[float]:
        return [self.weight, self.mean, self.spread]

    def load_state_dict(self, state: list[float]) -> None:
        self.weight, self.mean, self.spread = (float(v) for v in state)


class SourceVigilance:
    """Trust per source, the estimated accuracy of its advice; see the module docstring.

    `step` is called once per world step of a listening agent with the advice heard before
    acting, the action taken, the reward and the number of actions; a step's claims are judged
    once its `horizon`-step return is complete. `usual_keep` is how slowly the usual return
    forgets (1 - the genome's slow rate), `outcome` how many nats of evidence about the action
    taken one standard deviation of its return is worth."""

    def __init__(
        self,
        prior: float = 0.6,
        half_life: float = 5.0,
        horizon: int = 1,
        gamma: float = 0.95,
        usual_keep: float = 0.995,
        outcome: float = 2.0,
    ) -> None:
        self.prior = float(prior)
        self.keep = 0.5 ** (1.0 / half_life)
        self.horizon, self.gamma, self.outcome = int(horizon), float(gamma), float(outcome)
        self.evidence: dict[str, list[float]] = {}  # source -> [right, wrong], both fading
        self.usual = ForgetfulMean(usual_keep)
        # Steps waiting for their return: [claims, action taken, n actions, return, steps].
        self.pending: deque[list[Any]] = deque()

    def step(
        self, claims: list[tuple[str, int]], action: int, reward: float, n_actions: int
    ) -> None:
        """One world step: `claims` (source, advised action) heard before acting, `action` the
        one taken (indices below `n_actions`), `reward` what it earned."""
        if claims:
            heard = list(dict(reversed(claims)).items())[::-1]  # a source's first claim counts
            for source, _ in heard:
                self.evidence.setdefault(source, [0.0, 0.0])
            self.pending.append([heard, int(action), int(n_actions), 0.0, 0])
        for entry in self.pending:
            entry[3] += self.gamma ** entry[4] * reward
            entry[4] += 1
        while self.pending and self.pending[0][4] >= self.horizon:
            claims_, taken, n, value, _ = self.pending.popleft()
            self._judge(claims_, taken, n, value)

    def standing(self, value: float) -> float:
        """How far a return stands out from the usual, in deviations (clipped to +-3)."""
        usual = self.usual
        if usual.weight == 0.0 or value == usual.mean:
            return 0.0
        deviation = usual.deviation
        z = (value - usual.mean) / deviation if deviation > 0.0 else math.copysign(3.0, value)
        return max(-3.0, min(3.0, z))

    def posterior(self, claims: list[tuple[str, int]], taken: int, n: int, z: float) -> list[float]:
        """P(each action was the right one) from what every source said (weighted by its
        current trust) and how the action taken turned out (z deviations from the usual)."""
        belief = [1.0] * n
        for source, claimed in claims:
            theta = min(0.999, max(0.001, self.trust(source)))
            elsewhere = (1.0 - theta) / (n - 1) if n > 1 else 0.0
            for action in range(n):
                belief[action] *= theta if action == claimed else elsewhere
        if 0 <= taken < n:
            belief[taken] *= math.exp(self.outcome * z)
        total = sum(belief)
        return [b / total for b in belief] if total > 0 else [1.0 / n] * n

    def _judge(self, claims: list[tuple[str, int]], taken: int, n: int, value: float) -> None:
        z = self.standing(value)
        self.usual.add(value)
        belief = self.posterior(claims, taken, n, z)
        keep = self.keep
        for source, claimed in claims:
            right = belief[claimed] if 0 <= claimed < n else 0.0
            evidence = self.evidence[source]
            evidence[0] = keep * evidence[0] + right
            evidence[1] = keep * evidence[1] + (1.0 - right)

    def clear(self) -> None:
        """A new stream began (a reset): returns do not run across it, so pending claims are
        dropped unchecked."""
        self.pending.clear()

    def trust(self, source: str) -> float:
        """The estimated probability that `source` advises the right action; the innate prior
        for a source never checked."""
        evidence = self.evidence.get(source)
        if evidence is None:
            return self.prior
        right, wrong = evidence
        return (right + self.prior) / (right + wrong + 1.0)

    def trusts(self) -> dict[str, float]:
        """Trust in every source heard so far, in the order first heard."""
        return {source: self.trust(source) for source in self.evidence}

    def state_dict(self) -> dict[str, Any]:
        return {
            "evidence": {s: list(e) for s, e in self.evidence.items()},
            "usual": self.usual.state_dict(),
            "pending": [
                [[[s, int(a)] for s, a in c], int(t), int(n), float(v), int(k)]
                for c, t, n, v, k in self.pending
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.evidence = {str(s): [float(e[0]), float(e[1])] for s, e in state["evidence"].items()}
        self.usual.load_state_dict(state["usual"])
        self.pending = deque(
            [[(str(s), int(a)) for s, a in c], int(t), int(n), float(v), int(k)]
            for c, t, n, v, k in state["pending"]
        )
