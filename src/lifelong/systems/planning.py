"""PLAN and IMAGINE: System B's values put to work inside System A's latent model.

PLAN acts by lookahead, for when the model is more reliable than the habit. With few actions
every action sequence of the horizon is scored exactly (6 actions, 3 steps: 216 sequences, one
batched pass of A's ensemble per step); beyond `plan_sequences`, sequences are sampled from B's
softmax policy instead. A sequence's score is its discounted predicted reward, plus B's
pessimistic value where it ends (the min of the target twins, what B's own returns bootstrap
from), minus a penalty on the ensemble's disagreement along the way: the model is trusted only
where its members agree (MOPO's uncertainty penalty). The plan's first action is the first action
of the best sequence, and the agent re-plans at every step, as in MPC. Continuous actions
cannot be listed: they are planned by MPPI (`plan_continuous`), warm-started from the last plan.

IMAGINE is the paper's learning from imagination, on DreamerV3's recipe. B's policy (its softmax,
or a continuous B's actor) is rolled out in A's model from remembered states, only from those
where A's members agree most (a model's errors there are smallest), and B learns every imagined
step towards lambda-returns that mix the imagined rewards with its own values, the loss divided
by the returns' spread. The paper's
"learn only from successful imagined trajectories" is the genome switch `imagine_success_only`:
it keeps the trajectories whose return beats B's value of their start, which also selects the
model's upward errors (docs/benchmarks.md measures both).

Conventions are memory's and System B's. Frame k holds the latent z_k, the action that led to it
and the reward received on arriving at it. Each member of the ensemble rolls out its own chain,
as in A's training, under the same actions. The trajectory that B sees and that the reward head
and B's values read is the members' mean. Their spread measures uncertainty, relative to the
variance of A's target embeddings (1.0: no better than guessing the average embedding).

The tensors passed in must share one device, and the torch.Generator must be on that device.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor

from lifelong.genome import Genome
from lifelong.systems.action import SystemB
from lifelong.systems.continuous_action import ContinuousB
from lifelong.systems.observation import SystemA, spread, symexp


@dataclass(frozen=True)
class Rollout:
    """Trajectories through A's latent model, in the frame convention of memory and B."""

    latents: Tensor  # (N, H+1, D) the ensemble's mean latent of frames 0..H
    actions: Tensor  # (N, H) actions[:, k] taken at frame k, leading to frame k+1
    rewards: Tensor  # (N, H) predicted reward on arriving at frame k+1
    uncertainty: Tensor  # (N, H) members' relative disagreement about frame k+1


def rollout(
    a: SystemA,
    b: SystemB,
    z: Tensor,
    horizon: int,
    temperature: float,
    generator: torch.Generator,
    actions: Tensor | None = None,
) -> Rollout:
    """Roll latents z (N, D) `horizon` steps through A's model.

    `actions` (N, K) fixes the first K <= horizon actions (the planner's sequences); the rest
    are drawn from B's softmax policy on the extrinsic values. Every step is one batched pass of
    the ensemble over all N rollouts.
    """
    scale = a.uncertainty_scale()
    members = z.unsqueeze(0).expand(a.predictor.members, -1, -1)  # (K, N, D)
    mean = z
    fixed = 0 if actions is None else actions.shape[1]
    latents, taken, rewards, uncertainty = [z], [], [], []
    for k in range(horizon):
        action = actions[:, k] if k < fixed else b.draw(mean, temperature, generator)
        rewards.append(symexp(a.reward_head(mean, action)))
        members = a.predictor(members, action)
        mean = members.mean(dim=0)
        uncertainty.append(spread(members).mean(dim=-1) / scale)
        latents.append(mean)
        taken.append(action)
    return Rollout(
        latents=torch.stack(latents, dim=1),
        actions=torch.stack(taken, dim=1),
        rewards=torch.stack(rewards, dim=1),
        uncertainty=torch.stack(uncertainty, dim=1),
    )


def rollout_scores(
    rewards: Tensor, final_value: Tensor, uncertainty: Tensor, gamma: float, penalty: float
) -> Tensor:
    """Discounted return of each rollout minus its uncertainty: (N, H), (N,), (N, H) -> (N,).

    sum_k gamma^k r_{k+1} + gamma^H V(z_H) - penalty * sum_k u_{k+1}, the n-step return B learns
    from (see `NStep`), with the disagreement summed because every uncertain step is
    one more place where the imagined future can be wrong.
    """
    horizon = rewards.shape[1]
    discounts = gamma ** torch.arange(horizon, dtype=rewards.dtype, device=rewards.device)
    returns = (rewards * discounts).sum(dim=1) + gamma**horizon * final_value
    return returns - penalty * uncertainty.sum(dim=1)


def candidate_sequences(
    n_actions: int, horizon: int, limit: int, samples: int, device: torch.device
) -> Tensor:
    """The action sequences a plan compares, (S, K) int64, grouped by first action.

    Every sequence of the horizon when there are at most `limit` of them (K = horizon);
    otherwise each first action alone (K = 1), repeated `samples` times, for B's policy to
    continue.
    """
    if n_actions**horizon <= limit:
        every = list(itertools.product(range(n_actions), repeat=horizon))
        return torch.tensor(every, dtype=torch.long, device=device)
    first = torch.arange(n_actions, device=device).repeat_interleave(samples)
    return first.unsqueeze(1)


@torch.inference_mode()
def plan(
    a: SystemA, b: SystemB, z: Tensor, genome: Genome, generator: torch.Generator
) -> tuple[int, dict[str, float]]:
    """The first action of the best action sequence from one latent state z (1, D).

    A first action is rated by its best sequence: scored exactly, the best sequence is the plan
    the agent would carry out if the model were right. The uncertainty penalty checks the
    optimism of the max where the model is unsure.
    Info: the chosen action's score, the spread (std) of the first actions' scores (how much the
    choice matters), and the mean relative disagreement per step over all rollouts.
    """
    n_actions = a.predictor.n_actions
    sequences = candidate_sequences(
        n_actions, genome.plan_horizon, genome.plan_sequences, genome.plan_samples, z.device
    )
    start = z.expand(sequences.shape[0], -1)
    trip = rollout(a, b, start, genome.plan_horizon, genome.plan_temperature, generator, sequences)
    value = b.bootstrap(trip.latents[:, -1])
    scores = rollout_scores(
        trip.rewards, value, trip.uncertainty, genome.gamma, genome.plan_uncertainty
    )
    per_action = scores.view(n_actions, -1).amax(dim=1)
    best = int(per_action.argmax())
    return best, {
        "plan_score": per_action[best].item(),
        "plan_spread": per_action.std(correction=0).item(),
        "plan_uncertainty": trip.uncertainty.mean().item(),
    }


@torch.no_grad()
def plan_continuous(
    a: SystemA,
    b: ContinuousB,
    z: Tensor,
    genome: Genome,
    generator: torch.Generator,
    warm: Tensor | None = None,
) -> tuple[Tensor, Tensor, dict[str, float]]:
    """MPPI in A's latent space for continuous actions, from one latent state z (1, D).

    TD-MPC2's recipe. Each of `plan_iterations` rounds scores `plan_sequences` action sequences
    (H, d) drawn around the current plan with the current spread, together with `plan_samples`
    rollouts of the actor's own: a sequence's score is the discrete plan's (predicted rewards, B's
    soft value at the horizon, minus the ensemble's disagreement). The plan is then refitted to
    the `plan_elites` best, each weighted by exp(score / (plan_temperature x their spread)). The
    first plan starts at zero (the middle of the actions' box) or from `warm`, the previous
    plan shifted by one step. Returns the first action (d,) of the plan, the plan (H, d) for
    the next warm start, and info as `plan`'s.
    """
    horizon, dim = genome.plan_horizon, a.predictor.n_actions
    device = z.device
    if warm is None:
        mean = torch.zeros(horizon, dim, device=device)
    else:
        mean = torch.cat([warm[1:], torch.zeros(1, dim, device=device)])
    std = torch.ones(horizon, dim, device=device)
    actor = rollout(
        a, b, z.expand(genome.plan_samples, -1), horizon, genome.plan_temperature, generator
    ).actions
    count = genome.plan_sequences
    for _ in range(genome.plan_iterations):
        noise = torch.randn((count, horizon, dim), generator=generator, device=device)
        actions = torch.cat([actor, (mean + std * noise).clamp(-1.0, 1.0)])
        trip = rollout(a, b, z.expand(actions.shape[0], -1), horizon, 1.0, generator, actions)
        value = b.bootstrap(trip.latents[:, -1])
        scores = rollout_scores(
            trip.rewards, value, trip.uncertainty, genome.gamma, genome.plan_uncertainty
        )
        best = scores.topk(min(genome.plan_elites, scores.shape[0]))
        elite = actions[best.indices]
        spread_of = best.values.std(correction=0).clamp(min=1e-6)
        weight = (best.values - best.values.max()) / (genome.plan_temperature * spread_of)
        weight = weight.softmax(dim=0).view(-1, 1, 1)
        mean = (weight * elite).sum(dim=0)
        std = (weight * (elite - mean).pow(2)).sum(dim=0).sqrt().clamp(0.05, 1.0)
    return (
        mean[0],
        mean,
        {
            "plan_score": best.values[0].item(),
            "plan_spread": best.values.std(correction=0).item(),
            "plan_uncertainty": trip.uncertainty.mean().item(),
        },
    )


def lambda_returns(rewards: Tensor, values: Tensor, gamma: float, lam: float) -> Tensor:
    """TD(lambda) returns of imagined steps: rewards (N, H), values (N, H) of frames 1..H.

    R_k = r_{k+1} + gamma ((1 - lam) V(z_{k+1}) + lam R_{k+1}), with R_{H-1} bootstrapping on
    V(z_H) alone. lam = 0 is one-step TD on the model; lam = 1 the H-step return.
    """
    returns = []
    following = values[:, -1]  # at the horizon the mix below is V(z_H) itself
    for k in reversed(range(rewards.shape[1])):
        following = rewards[:, k] + gamma * ((1 - lam) * values[:, k] + lam * following)
        returns.append(following)
    return torch.stack(returns[::-1], dim=1)


@torch.no_grad()  # not inference_mode: B must be able to train on the result
def imagine(
    a: SystemA, b: SystemB, z_start: Tensor, genome: Genome, generator: torch.Generator
) -> dict[str, Tensor | float]:
    """Imagined experience for B from remembered latents z_start (N, D) (online encoder's).

    Only the `imagine_keep` share of starts where A's members disagree least about the first
    step are rolled out further. Returns, over those M starts and H = `imagine_horizon` steps:
    z (M, H, D) the latents each imagined action is taken at, action (M, H), target (M, H) their
    lambda-returns, keep (M,) bool (all True unless `imagine_success_only`: then the
    trajectories whose return beats B's value of their start), and scale (float): max(1, spread
    of the returns, 5th to 95th percentile), DreamerV3's return normalisation.
    """
    first_action = b.draw(z_start, genome.plan_temperature, generator)
    unsure = a.disagreement(z_start, first_action)
    count = max(1, round(genome.imagine_keep * z_start.shape[0]))
    chosen = unsure.argsort()[:count]
    trip = rollout(
        a,
        b,
        z_start[chosen],
        genome.imagine_horizon,
        genome.plan_temperature,
        generator,
        first_action[chosen].unsqueeze(1),
    )
    horizon = trip.actions.shape[1]
    values = b.bootstrap(trip.latents[:, 1:].flatten(0, 1)).view(-1, horizon)
    target = lambda_returns(trip.rewards, values, genome.gamma, genome.imagine_lambda)
    low, high = torch.quantile(target[:, 0], torch.tensor([0.05, 0.95], device=target.device))
    keep = torch.ones(target.shape[0], dtype=torch.bool, device=target.device)
    if genome.imagine_success_only:
        keep = target[:, 0] > b.habit_value(trip.latents[:, 0])
    return {
        "z": trip.latents[:, :-1],
        "action": trip.actions,
        "target": target,
        "keep": keep,
        "scale": max(1.0, float(high - low)),
    }
