"""System B: learning from action, n-step double Q-learning on System A's latents.

B does not see observations: it acts and learns on A's stable embedding (the EMA target encoder,
without gradient, so the representation is A's to shape). Its reward is the world's extrinsic
reward plus M's intrinsic weight times A's ensemble disagreement (curiosity), and its policy is a
softmax over Q-values whose temperature M sets through the mode.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lifelong.genome import Genome
from lifelong.systems.observation import make_encoder


def n_step_returns(
    reward: Tensor, first: Tensor, terminal: Tensor, gamma: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Truncation-aware n-step returns from a sequence of frames 0..n, before bootstrapping.

    reward, first, terminal: (B, n+1) frame fields (reward[:, k] was received on arriving at
    frame k). The return follows the stream of frame 0 until a frame that starts a new stream
    (`first`) and stops discounting at a terminal frame. Returns (returns, last, discount, valid),
    each (B,): the discounted rewards, the frame to bootstrap from (the last one still in the
    stream), the factor its value enters with (0 after a terminal), and whether there is a
    transition to learn from at all (False where frame 1 already starts a new stream).
    """
    alive = torch.cumprod(1.0 - first[:, 1:].float(), dim=1)  # (B, n): frame k+1 in the stream
    not_ended = torch.cumprod(1.0 - terminal[:, 1:].float(), dim=1)
    before_end = torch.cat([torch.ones_like(not_ended[:, :1]), not_ended[:, :-1]], dim=1)
    n = reward.shape[1] - 1
    discounts = gamma ** torch.arange(n, dtype=reward.dtype, device=reward.device)
    returns = (discounts * alive * before_end * reward[:, 1:]).sum(dim=1)
    last = alive.sum(dim=1).long()  # frames 1..last belong to the stream
    valid = last > 0
    last = last.clamp(min=1)
    ended = not_ended.gather(1, (last - 1).unsqueeze(1)).squeeze(1)
    return returns, last, gamma ** last.to(reward.dtype) * ended, valid


def softmax_policy(q: list[float], temperature: float) -> list[float]:
    """Action probabilities from one state's Q-values, temperature in units of the Q spread.

    Dividing by the spread (std across actions) makes one temperature mean the same in worlds
    with large or small rewards, so the genome's temperatures transfer across worlds. Plain
    Python: for a handful of actions it is several times faster than numpy or torch.
    """
    mean = sum(q) / len(q)
    spread = max(math.sqrt(sum((v - mean) ** 2 for v in q) / len(q)), 1e-6)
    best = max(q)
    weights = [math.exp((v - best) / (temperature * spread)) for v in q]
    total = sum(weights)
    return [w / total for w in weights]


class FramesEncoder(nn.Module):
    """An observation encoder applied over any leading dims: (..., *obs_shape) -> (..., D)."""

    def __init__(self, encoder: nn.Module, obs_dims: int) -> None:
        super().__init__()
        self.encoder, self.obs_dims = encoder, obs_dims

    def forward(self, obs: Tensor) -> Tensor:
        lead = obs.shape[: obs.dim() - self.obs_dims]
        flat = self.encoder(obs.reshape(-1, *obs.shape[obs.dim() - self.obs_dims :]))
        return flat.view(*lead, -1)


class SystemB(nn.Module):
    def __init__(
        self, n_actions: int, genome: Genome, obs_shape: tuple[int, ...] | None = None
    ) -> None:
        """B on A's latents; given `obs_shape`, B on raw frames through an encoder of its own,
        trained by the TD loss alone (the model-free baseline: a DQN)."""
        super().__init__()
        self.genome = genome
        encoder: list[nn.Module] = []
        if obs_shape is not None:
            frames = make_encoder(obs_shape, genome.latent_dim, genome.hidden_dim)
            encoder.append(FramesEncoder(frames, len(obs_shape)))
        self.q = nn.Sequential(
            *encoder,
            nn.Linear(genome.latent_dim, genome.q_hidden),
            nn.LayerNorm(genome.q_hidden),
            nn.SiLU(),
            nn.Linear(genome.q_hidden, genome.q_hidden),
            nn.SiLU(),
            nn.Linear(genome.q_hidden, n_actions),
        )
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=genome.lr_b, fused=True)

    @torch.inference_mode()
    def policy(self, z: Tensor, temperature: float) -> list[float]:
        """Action probabilities for one latent state z (1, D)."""
        return softmax_policy(self.q(z)[0].tolist(), temperature)

    def values_and_targets(
        self,
        z: Tensor,
        reward: Tensor,
        first: Tensor,
        terminal: Tensor,
        encode: Callable[[Tensor], Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Q-values of frame 0 (B, A), with gradient, and its n-step double-Q targets (B,).

        Only two frames of each sequence are read: frame 0 and the one its return bootstraps
        from, which the online net picks an action for and the target net rates (double Q).
        `encode` (no gradient), if given, turns those frames of `z` into what the Q-network
        reads, so a caller need not embed the others. Returns (q, targets, valid), `valid` as in
        `n_step_returns`.
        """
        size = z.shape[0]
        returns, last, discount, valid = n_step_returns(reward, first, terminal, self.genome.gamma)
        read = torch.cat([z[:, 0], z[torch.arange(size, device=z.device), last]])
        if encode is not None:
            read = encode(read)
        z_last = read[size:]
        q = self.q(read)  # one pass: frame 0 learns, z_last bootstraps
        with torch.no_grad():
            greedy = q[size:].argmax(dim=-1, keepdim=True)
            bootstrap = self.q_target(z_last).gather(1, greedy).squeeze(1)
        return q[:size], returns + discount * bootstrap, valid

    def update(
        self,
        z: Tensor,
        action: Tensor,
        reward: Tensor,
        first: Tensor,
        terminal: Tensor,
        weight: Tensor | None = None,
        encode: Callable[[Tensor], Tensor] | None = None,
    ) -> dict[str, float] | None:
        """One TD step; None (and no step) when the loss is not finite.

        z: (B, n+1, D) detached latents of the frames (or the frames themselves when B has its
        own encoder); the other fields (B, n+1).

        `reward` already includes the intrinsic bonus M asked for. `weight` (B,) scales each
        sequence's TD loss: the trust in the teacher whose lead its first action followed.
        `encode` as in `values_and_targets`.
        """
        q, targets, valid = self.values_and_targets(z, reward, first, terminal, encode)
        q_taken = q.gather(1, action[:, 1:2]).squeeze(1)
        td = F.smooth_l1_loss(q_taken, targets, reduction="none")
        mask = valid.float() if weight is None else valid.float() * weight
        loss = (td * mask).sum() / valid.float().sum().clamp(min=1.0)
        if not torch.isfinite(loss).item():
            return None  # a poisoned batch must not reach the weights
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(
                list(self.q_target.parameters()),
                list(self.q.parameters()),
                self.genome.q_target_rate,
            )
        return {
            "b_td_loss": loss.item(),
            "b_value": q_taken.mean().item(),
            "b_value_error": (q_taken - targets).abs().mean().item(),
        }
