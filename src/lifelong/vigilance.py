"""Source vigilance: trust in each informant, earned by checking its advice against what happened.

A source advises an action ("go a", `lifelong/worlds/messages.py`). Trust in it is an estimate of
its accuracy: the probability that what it advises is the right action. The agent never sees the
right action, so each step's claims are checked by inferring it, from three kinds of evidence
the agent does have:

- what happened: the realised discounted return G of the `horizon` steps that begin with the
  action it took, read against what such returns usually are (a slowly forgetting mean m and
  deviation sd of the returns of every step on which advice was heard). z = (G - m) / sd
  (clipped to +-3) counts as `outcome` x z nats of evidence that the action taken was right;
- what the agent itself expects (content vigilance): its grounded expectation of each action
  (`grounding.MessageGrounding.own`, in the same deviations), handed over before it acts
  (`foresee`); an action expected to fall d deviations below the best counts `content` x d
  nats against being right. A claim that contradicts a confident expectation is judged wrong;
  where the agent has learned nothing (an action never tried) it expects nothing and judges
  nothing;
- what the others said: each source's claim, weighted by the trust it has earned so far.

    belief(a)  proportional to  prod over sources s [theta_s if a = a_s else (1 - theta_s)/(n - 1)]
                                x exp(outcome x z) if a is the action taken
                                x exp(-content x (best own - own(a)))

(the posterior over the right action given every claim, the outcome and the agent's own
expectation: one step of Dawid and Skene's estimator of annotators' accuracies, with the agent's
own outcome and expectation as two more, grounded, annotators). Each source's claim was right
with probability x = belief(a_s).

Trust is then the posterior mean of the source's accuracy under a model in which a source may
change its ways (turn liar, or mend them) at any claim with probability `hazard`: Bayesian
on-line change-point detection (Adams and MacKay 2007) over its stream of checked claims. Each
run-length hypothesis ("it changed k claims ago") keeps the evidence since then, for (alpha)
and against (beta), x and 1 - x of each claim (fading by `keep` = 0.5 ** (1 / half_life)), and
with one pseudo-observation at the innate `prior` predicts accuracy

    theta_run = (alpha + prior) / (alpha + beta + 1);   trust_s = sum over runs P(run) theta_run

Each claim weighs every run by how well it predicted x (theta x + (1 - theta)(1 - x)), and a
fresh run is born with probability `hazard`, predicting from the prior alone. Run-length
hypotheses less likely than `NEGLIGIBLE`, or beyond the `MAX_RUNS` likeliest, are dropped,
except the `YOUNG` newest (the hypotheses that a change has just happened).

Why this rule and not another (the alternatives tried and what they did are in
docs/architecture.md, "Departures from the design", and docs/benchmarks.md, "Messages and
trust"):
- It reads only the agent's own rewards, its own grounded expectations and what was said, never
  the truth: it works from the first message, when the agent's own values are still noise.
- Claims are checked whether or not they were followed. A rule that credits only followed
  advice by its outcome ranks a liar first as soon as one lucky pull made it look good (the
  agent then follows the liar, avoids the others, and never learns otherwise); a rule that
  compares following with not following leaves a noisy source at 1/2 while a better one is
  followed. Agreement with sources that have earned trust checks the claims nobody followed.
- A deviation, not a count of wins: in a world of sparse reward most returns equal the usual
  and say nothing (z near 0); a return far above or below the usual says a lot. The usual
  forgets slowly, so after a turn the returns of following the turncoat are still read against
  how good things were while it was honest.
- Change points, not a forgetful mean. A mean that forgets fast (half-life 5 claims, as first
  built) never gathers more than ~8 claims of evidence, so the innate prior and a liar's own
  claims (its claim counts towards the consensus that judges it) hold liars near 0.3, above
  chance: they were still followed, and with every source lying the agent earned less than
  the deaf one. A mean that forgets slowly ranks well but catches a turncoat late (median 62
  lies at half-life 20). Change-point detection keeps all the evidence while a source stays
  the same and starts afresh when its accuracy breaks: liars fall below chance (and so are
  avoided), a turncoat is caught within a few of its lies.
- Trust is an accuracy, on the scale of the sources' true reliability (which the `messages`
  wrapper records), and becomes the confidence Bayesian policy shaping needs by one formula
  (`advice.confidence_of`), the one the oracle agent applies to the truth.
- Its limits, said plainly: sources that agree reinforce each other (two liars telling the same
  lie look reliable until outcomes say otherwise); the model knows one right action, so where two
  actions pay alike, the one the agent prefers counts against a source that names the other;
  and with one honest and one lying source and nothing else, a lucky start can still lock trust
  in the wrong order (the distrusted source is then pushed away from and never tried).

Claims about objects ("food_a good", `messages.object_claims`) are checked the same way, by
what happened when the agent next met the object (`taste`): in the Nursery, the reward of the
step on which it ate that food, read against the usual reward of a step (`usual_step`, every
world step of a body that holds beliefs, `tick`). The latest claim of each source about the
object is judged once: "good" claims the meeting pays more than usual, "bad" less, so a meal's
standing z counts as `outcome` x z nats for "good", weighed with the other sources' claims by
their trust as above. A meal stands far from an ordinary step (a nutritious one +0.5 and more,
a toxic one -0.6, where steps average near 0), so one meal says a lot and a food liar falls
within a few meals. Claims about things met in no way the body can taste (where the predator
is) are checked only by agreement with trusted sources.

The innate trust (the genome's `informant_trust`, 0.6) is above chance: a newborn that doubted
everyone would never follow anyone, and so never learn whom to believe (children too start out
credulous and grow selective).

Pure Python (no numpy, no torch): it is part of the telemetry M reads.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifelong.genome import Genome


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


def content_weights(own: list[float], content: float) -> list[float]:
    """How far the agent's own expectation of each action (`own`, in deviations of the return)
    leaves it open to being the right one: exp(-content x d) for an action expected d
    deviations below the best (d capped at 3). Content vigilance reads it when checking claims
    (`SourceVigilance.posterior`) and when advice moves B (`advice.checked`)."""
    best = max(own)
    return [math.exp(content * max(-3.0, v - best)) for v in own]


MAX_RUNS = 32  # run-length hypotheses kept per source (the least likely beyond are dropped)
YOUNG = 8  # the newest run-length hypotheses, kept whatever their probability
NEGLIGIBLE = 1e-6  # a run-length hypothesis less likely than this is dropped


class SourceVigilance:
    """Trust per source, the estimated accuracy of its advice; see the module docstring.

    `step` is called once per world step of a listening agent with the advice heard before
    acting, the action taken, the reward and the number of actions; a step's claims are judged
    once its `horizon`-step return is complete. `usual_keep` is how slowly the usual return
    forgets (1 - the genome's slow rate), `outcome` how many nats of evidence about the action
    taken one standard deviation of its return is worth, `hazard` the probability that a source
    changes its ways at any one claim, `content` how many nats of evidence about an action the
    agent's own foreseen advantage is worth per deviation of the return (`foresee`)."""

    def __init__(
        self,
        prior: float = 0.6,
        half_life: float = 1000.0,
        horizon: int = 1,
        gamma: float = 0.95,
        usual_keep: float = 0.995,
        outcome: float = 2.0,
        hazard: float = 0.01,
        content: float = 3.0,
    ) -> None:
        self.prior = float(prior)
        self.keep = 0.5 ** (1.0 / half_life)
        self.horizon, self.gamma, self.outcome = int(horizon), float(gamma), float(outcome)
        self.hazard, self.content = float(hazard), float(content)
        # source -> run-length hypotheses, oldest first: [probability, right, wrong], the
        # evidence for and against since that run began (fading by `keep`).
        self.runs: dict[str, list[list[float]]] = {}
        self._trust: dict[str, float] = {}  # the posterior mean of each source's accuracy
        self.usual = ForgetfulMean(usual_keep)
        self.usual_step = ForgetfulMean(usual_keep)  # every step's reward: what a taste stands on
        self.foreseen: list[float] | None = None  # own expectations for the coming step
        # Steps waiting for their return: [claims, action taken, n actions, return, steps,
        # the expectations foreseen (or None)].
        self.pending: deque[list[Any]] = deque()
        # The steps judged since `judged` was last called: (claims, action taken, standing of
        # its return), what grounding learns from (`grounding.py`); the body drains it.
        self.verdicts: deque[tuple[list[tuple[str, int]], int, float]] = deque(maxlen=64)

    def judged(self) -> list[tuple[list[tuple[str, int]], int, float]]:
        """The steps judged since the last call (oldest first), handed over once."""
        out = list(self.verdicts)
        self.verdicts.clear()
        return out

    @classmethod
    def of(cls, genome: Genome) -> SourceVigilance:
        """Source vigilance with every one of its genes read from `genome`."""
        return cls(
            genome.informant_trust,
            genome.trust_half_life,
            genome.vigilance_horizon,
            genome.gamma,
            usual_keep=1.0 - genome.slow_rate,
            outcome=genome.vigilance_outcome,
            hazard=genome.source_hazard,
            content=genome.vigilance_content,
        )

    def foresee(self, values: list[float] | None) -> None:
        """The agent's own expectation of each action in the state it is about to act in, in
        deviations of the return (`grounding.MessageGrounding.own`), for content vigilance to
        judge this step's claims by; consumed by the next `step`."""
        self.foreseen = None if values is None else [float(v) for v in values]

    def step(
        self, claims: list[tuple[str, int]], action: int, reward: float, n_actions: int
    ) -> None:
        """One world step: `claims` (source, advised action) heard before acting, `action` the
        one taken (indices below `n_actions`), `reward` what it earned."""
        foreseen, self.foreseen = self.foreseen, None
        if claims:
            heard = list(dict(reversed(claims)).items())[::-1]  # a source's first claim counts
            self.hear([source for source, _ in heard])
            own = foreseen if foreseen is not None and len(foreseen) == n_actions else None
            self.pending.append([heard, int(action), int(n_actions), 0.0, 0, own])
        for entry in self.pending:
            entry[3] += self.gamma ** entry[4] * reward
            entry[4] += 1
        while self.pending and self.pending[0][4] >= self.horizon:
            claims_, taken, n, value, _, own = self.pending.popleft()
            self._judge(claims_, taken, n, value, own)

    def hear(self, sources: list[str]) -> None:
        """Sources heard making claims: each gets the innate trust until it is checked."""
        for source in sources:
            if source not in self.runs:
                self.runs[source] = [[1.0, 0.0, 0.0]]
                self._trust[source] = self.prior

    def tick(self, reward: float) -> None:
        """One world step's reward, into the usual a taste is read against (`taste`)."""
        self.usual_step.add(reward)

    def taste(self, claims: list[tuple[str, bool]], reward: float) -> float:
        """The agent met a thing (ate a food) and earned `reward`: check each source's latest
        claim about it, (source, said it is good), by how that reward stands against the usual
        step (see the module docstring). Returns the standing; call before this step's `tick`."""
        z = self.standing(reward, self.usual_step)
        if not claims:
            return z
        self.hear([source for source, _ in claims])
        good = math.exp(self.outcome * z)  # the odds the outcome gives "good" against "bad"
        bad = 1.0
        for source, said_good in claims:
            theta = min(0.999, max(0.001, self.trust(source)))
            good *= theta if said_good else 1.0 - theta
            bad *= 1.0 - theta if said_good else theta
        p_good = good / (good + bad)
        for source, said_good in claims:
            self._update(source, p_good if said_good else 1.0 - p_good)
        return z

    def standing(self, value: float, usual: ForgetfulMean | None = None) -> float:
        """How far a return stands out from the usual (by default, the usual return of a step
        with advice), in deviations (clipped to +-3)."""
        usual = self.usual if usual is None else usual
        if usual.weight == 0.0 or value == usual.mean:
            return 0.0
        deviation = usual.deviation
        z = (value - usual.mean) / deviation if deviation > 0.0 else math.copysign(3.0, value)
        return max(-3.0, min(3.0, z))

    def posterior(
        self,
        claims: list[tuple[str, int]],
        taken: int,
        n: int,
        z: float,
        own: list[float] | None = None,
    ) -> list[float]:
        """P(each action was the right one) from what every source said (weighted by its
        current trust), how the action taken turned out (z deviations from the usual) and,
        with content vigilance, the agent's own expectation of each action (`own`)."""
        belief = [1.0] * n
        if own is not None and self.content > 0.0:
            belief = content_weights(own, self.content)
        for source, claimed in claims:
            theta = min(0.999, max(0.001, self.trust(source)))
            elsewhere = (1.0 - theta) / (n - 1) if n > 1 else 0.0
            for action in range(n):
                belief[action] *= theta if action == claimed else elsewhere
        if 0 <= taken < n:
            belief[taken] *= math.exp(self.outcome * z)
        total = sum(belief)
        return [b / total for b in belief] if total > 0 else [1.0 / n] * n

    def _judge(
        self, claims: list[tuple[str, int]], taken: int, n: int, value: float, own: Any
    ) -> None:
        z = self.standing(value)
        self.usual.add(value)
        self.verdicts.append((claims, taken, z))
        belief = self.posterior(claims, taken, n, z, own)
        for source, claimed in claims:
            self._update(source, belief[claimed] if 0 <= claimed < n else 0.0)

    def _update(self, source: str, right: float) -> None:
        """One checked claim, right with probability `right`: Bayesian on-line change-point
        detection over the source's accuracy (see the module docstring)."""
        runs, prior, keep, hazard = self.runs[source], self.prior, self.keep, self.hazard
        fresh = prior * right + (1.0 - prior) * (1.0 - right)  # a new run's predictive
        total = 0.0
        for run in runs:
            accuracy = (run[1] + prior) / (run[1] + run[2] + 1.0)
            run[0] *= (1.0 - hazard) * (accuracy * right + (1.0 - accuracy) * (1.0 - right))
            run[1] = keep * run[1] + right
            run[2] = keep * run[2] + (1.0 - right)
            total += run[0]
        if hazard > 0.0:
            runs.append([hazard * fresh, right, 1.0 - right])
            total += hazard * fresh
        for run in runs:
            run[0] /= total
        if len(runs) > 1:
            # The newest runs are kept whatever their weight: born at the hazard rate, they
            # are the hypotheses that a change has just happened, and must live to show it.
            old, young = runs[:-YOUNG], runs[-YOUNG:]
            kept = [run for run in old if run[0] >= NEGLIGIBLE]
            if len(kept) > MAX_RUNS - YOUNG:
                floor = sorted(run[0] for run in kept)[-(MAX_RUNS - YOUNG)]
                kept = [run for run in kept if run[0] >= floor][-(MAX_RUNS - YOUNG) :]
            kept += young
            if len(kept) < len(runs):
                total = sum(run[0] for run in kept)
                runs[:] = [[run[0] / total, run[1], run[2]] for run in kept]
        self._trust[source] = sum(
            run[0] * (run[1] + prior) / (run[1] + run[2] + 1.0) for run in runs
        )

    def clear(self) -> None:
        """A new stream began (a reset): returns do not run across it, so pending claims are
        dropped unchecked."""
        self.pending.clear()
        self.foreseen = None

    def trust(self, source: str) -> float:
        """The estimated probability that `source` advises the right action; the innate prior
        for a source never checked."""
        return self._trust.get(source, self.prior)

    def trusts(self) -> dict[str, float]:
        """Trust in every source heard so far, in the order first heard."""
        return dict(self._trust)

    def state_dict(self) -> dict[str, Any]:
        return {
            "runs": {s: [list(run) for run in runs] for s, runs in self.runs.items()},
            "usual": self.usual.state_dict(),
            "usual_step": self.usual_step.state_dict(),
            "foreseen": None if self.foreseen is None else list(self.foreseen),
            "pending": [
                [[[s, int(a)] for s, a in c], int(t), int(n), float(v), int(k), own]
                for c, t, n, v, k, own in self.pending
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "runs" in state:
            runs = state["runs"]
        else:  # saved before change points: one run of evidence per source
            runs = {s: [[1.0, *e]] for s, e in state["evidence"].items()}
        self.runs = {str(s): [[float(v) for v in run] for run in r] for s, r in runs.items()}
        prior = self.prior
        self._trust = {
            s: sum(run[0] * (run[1] + prior) / (run[1] + run[2] + 1.0) for run in r)
            for s, r in self.runs.items()
        }
        self.usual.load_state_dict(state["usual"])
        if "usual_step" in state:  # saved before claims about objects: a fresh usual
            self.usual_step.load_state_dict(state["usual_step"])
        foreseen = state.get("foreseen")
        self.foreseen = None if foreseen is None else [float(v) for v in foreseen]
        self.pending = deque(
            [
                [(str(s), int(a)) for s, a in entry[0]],
                int(entry[1]),
                int(entry[2]),
                float(entry[3]),
                int(entry[4]),
                None if len(entry) < 6 or entry[5] is None else [float(v) for v in entry[5]],
            ]
            for entry in state["pending"]
        )
