"""PLAN and IMAGINE: System B's values put to work inside System A's latent model.

PLAN acts by lookahead, for when the model is more reliable than the habit. Every first action is
followed by `plan_samples` continuations drawn from B's softmax policy, and all of them are rolled
out together through A's ensemble, one batched pass per step. A rollout's score is its discounted
predicted reward, plus B's value where it ends, minus a penalty on the ensemble's disagreement
along the way: the model is trusted only where its members agree (as in MOPO's uncertainty
penalty).

IMAGINE is the paper's learning from imagination. B's policy is rolled out in A's model from
remembered states. Only the imagined trajectories that succeed are kept: those whose predicted
n-step return beats B's current value of the state they start from.

Conventions are memory's and System B's. Frame k holds the latent z_k, the action that led to it
and the reward received on arriving at it. A rollout starts at frame 0, and action[:, k + 1] is
the action taken at frame k. Each member of the ensemble rolls out its own chain, as in A's
training, under the same actions. The trajectory that B sees and that the reward head and B's
values read is the members' mean. Their spread measures uncertainty, relative to the variance of
A's target embeddings (1.0: no better than guessing the average embedding).

The tensors passed in must share one device, and the torch.Generator must be on that device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lifelong.genome import Genome
from lifelong.systems.action import SystemB
from lifelong.systems.observation import SystemA, spread


@dataclass(frozen=True)
class Rollout:
    """Trajectories through A's latent model, in the frame convention of memory and B."""

    latents: Tensor  # (N, H+1, D) the ensemble's mean latent of frames 0..H
    actions: Tensor  # (N, H) actions[:, k] taken at frame k, leading to frame k+1
    rewards: Tensor  # (N, H) predicted reward on arriving at frame k+1
    uncertainty: Tensor  # (N, H) members' relative disagreement about frame k+1


def sample_actions(q: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
    """One action per row of Q-values q (N, A): `softmax_policy`, batched.

    The temperature is measured in units of the Q spread across actions, as in B's own policy,
    so the same gene means the same thing in worlds with large or small rewards.
    """
    scale = q.std(dim=-1, correction=0, keepdim=True).clamp(min=1e-6)
    logits = (q - q.amax(dim=-1, keepdim=True)) / (temperature * scale)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)


def rollout(
    a: SystemA,
    b: SystemB,
    z: Tensor,
    horizon: int,
    temperature: float,
    generator: torch.Generator,
    first_action: Tensor | None = None,
) -> Rollout:
    """Roll B's softmax policy out from latents z (N, D) for `horizon` steps of A's model.

    `first_action` (N,) fixes the action taken at frame 0 (the planner's candidates). Every step is
    one batched pass of the ensemble over all N rollouts.
    """
    scale = a.uncertainty_scale()
    members = z.unsqueeze(0).expand(a.predictor.members, -1, -1)  # (K, N, D)
    mean = z
    latents, actions, rewards, uncertainty = [z], [], [], []
    for k in range(horizon):
        if k == 0 and first_action is not None:
            action = first_action
        else:
            action = sample_actions(b.q(mean), temperature, generator)
        rewards.append(a.reward_head(mean, action))
        members = a.predictor(members, action)
        mean = members.mean(dim=0)
        uncertainty.append(spread(members).mean(dim=-1) / scale)
        latents.append(mean)
        actions.append(action)
    return Rollout(
        latents=torch.stack(latents, dim=1),
        actions=torch.stack(actions, dim=1),
        rewards=torch.stack(rewards, dim=1),
        uncertainty=torch.stack(uncertainty, dim=1),
    )


def rollout_scores(
    rewards: Tensor, final_value: Tensor, uncertainty: Tensor, gamma: float, penalty: float
) -> Tensor:
    """Discounted return of each rollout minus its uncertainty: (N, H), (N,), (N, H) -> (N,).

    sum_k gamma^k r_{k+1} + gamma^H V(z_H) - penalty * sum_k u_{k+1}, the n-step return B learns
    from (see `n_step_returns`), with the disagreement summed because every uncertain step is
    one more place where the imagined future can be wrong.
    """
    horizon = rewards.shape[1]
    discounts = gamma ** torch.arange(horizon, dtype=rewards.dtype, device=rewards.device)
    returns = (rewards * discounts).sum(dim=1) + gamma**horizon * final_value
    return returns - penalty * uncertainty.sum(dim=1)


@torch.inference_mode()
def plan(
    a: SystemA, b: SystemB, obs: Tensor, genome: Genome, generator: torch.Generator
) -> tuple[int, dict[str, float]]:
    """The first action of the best plan found from one observation (1, ...) by lookahead.

    A first action is rated by its best continuation, not their mean. The model is deterministic,
    so each rollout is a plan the agent can carry out, and the agent re-plans at every step as in
    MPC. A mean would rate it by B's habit instead, which is what PLAN is meant to improve on.
    The uncertainty penalty checks the optimism of the max.
    Info: the chosen action's score, the spread (std) of the first actions' scores (how much the
    choice matters), and the mean relative disagreement per step over all rollouts.
    """
    n_actions, samples = a.predictor.n_actions, genome.plan_samples
    first = torch.arange(n_actions, device=obs.device).repeat_interleave(samples)
    start = a.embed(obs).expand(first.shape[0], -1)  # B acts on A's target embedding
    trip = rollout(a, b, start, genome.plan_horizon, genome.plan_temperature, generator, first)
    value = b.q_target(trip.latents[:, -1]).amax(dim=-1)
    scores = rollout_scores(
        trip.rewards, value, trip.uncertainty, genome.gamma, genome.plan_uncertainty
    )
    per_action = scores.view(n_actions, samples).amax(dim=1)
    best = int(per_action.argmax())
    return best, {
        "plan_score": per_action[best].item(),
        "plan_spread": per_action.std(correction=0).item(),
        "plan_uncertainty": trip.uncertainty.mean().item(),
    }


def imagined_success(
    b: SystemB,
    z: Tensor,
    action: Tensor,
    reward: Tensor,
    first: Tensor,
    terminal: Tensor,
    gamma: float,
) -> tuple[Tensor, Tensor]:
    """(returns, values) (N,): the n-step return B.update would learn from each trajectory, and
    B's current value of its start, the max over actions of its online Q.

    The return is bootstrapped exactly as in `SystemB.update` (double Q: the online net picks, the
    target net rates). So a kept trajectory is one whose learning target is above what B expects
    from its best action. Comparing with the max rather than with Q of the action taken keeps only
    the trajectories that improve on the greedy policy, the "succeed" of the paper.
    """
    q, returns, _ = b.values_and_targets(z, reward, first, terminal)
    return returns, q.amax(dim=-1)


@torch.no_grad()  # not inference_mode: B.update must be able to train on the result
def imagine(
    a: SystemA, b: SystemB, z_start: Tensor, genome: Genome, generator: torch.Generator
) -> dict[str, Tensor]:
    """Imagined experience for B from remembered latents z_start (N, D) (A's target embedding).

    Returns a batch in `SystemB.update`'s convention, with n = `imagine_horizon`:
    z (N, n+1, D), action (N, n+1) (action[:, 0] is unused and 0), reward (N, n+1) (extrinsic,
    predicted; reward[:, 0] = 0), first and terminal (N, n+1), all False because A has no
    continue head and the worlds are continuing. It also returns the extra fields
    uncertainty (N, n+1), disagreement on arriving at each frame, for an intrinsic bonus;
    return and value (N,) from `imagined_success`; and keep (N,) bool, return > value.
    """
    trip = rollout(
        a, b, z_start, genome.imagine_horizon, genome.plan_temperature, generator, first_action=None
    )
    n, frames = z_start.shape[0], genome.imagine_horizon + 1
    zero = torch.zeros(n, 1, dtype=trip.rewards.dtype, device=z_start.device)
    flags = torch.zeros(n, frames, dtype=torch.bool, device=z_start.device)
    batch = {
        "z": trip.latents,
        "action": torch.cat([zero.long(), trip.actions], dim=1),
        "reward": torch.cat([zero, trip.rewards], dim=1),
        "first": flags,
        "terminal": flags.clone(),
        "uncertainty": torch.cat([zero, trip.uncertainty], dim=1),
    }
    fields = ("z", "action", "reward", "first", "terminal")
    returns, values = imagined_success(b, *(batch[name] for name in fields), genome.gamma)
    batch.update({"return": returns, "value": values, "keep": returns > values})
    return batch
