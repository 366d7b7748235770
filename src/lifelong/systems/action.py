"""System B: learning from action, n-step double Q-learning on latents System A shares.

B reads latents, never observations: those of A's online encoder, which B's TD loss trains
(in B's optimizer) together with A's prediction loss (mind.py `_update`), and bootstraps from
those of B's own EMA target of that encoder. Without A (the `b_only` control) B owns an encoder
of the same shape, trained by its TD loss alone: the two differ only in A's losses.

B keeps two kinds of value, so that curiosity never biases what the agent believes it will earn:
- extrinsic: twin Q heads learn the world's reward; their mean is the habit (EXPLOIT), the min
  of the target twins is what returns bootstrap from (and PLAN and IMAGINE with them);
- intrinsic: one head learns A's ensemble disagreement (curiosity), scaled by a running estimate
  of the spread of its returns; EXPLORE acts on Q_ext + beta * Q_int, M setting beta.

Its reward shaping lives here too: which rewards each head learns from. Who chose an action
does not change what happened, so a transition that followed a teacher is learned from like any
other; trust decides whom M follows (OBSERVE), not what B may learn.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lifelong.genome import Genome


@dataclass(frozen=True)
class NStep:
    """Where each n-step return of a batch runs, from its frames' `first` and `terminal` (B, n+1):
    computed once per learning step and shared by every return of it (the world's reward, the
    curiosity bonus) and by the choice of the frame to bootstrap from.

    The return follows the stream of frame 0 until a frame that starts a new stream (`first`)
    and stops discounting at a terminal frame. `weights` (B, n): the discount of the reward
    received on arriving at frame k+1 (0 outside the stream or after its end); `last` (B,): the
    frame to bootstrap from (the last one still in the stream); `discount` (B,): the factor its
    value enters with (0 after a terminal); `valid` (B,): whether there is a transition to learn
    from at all (False where frame 1 already starts a new stream).
    """

    weights: Tensor
    last: Tensor
    discount: Tensor
    valid: Tensor

    @classmethod
    def of(cls, first: Tensor, terminal: Tensor, gamma: float) -> NStep:
        alive = torch.cumprod(1.0 - first[:, 1:].float(), dim=1)  # (B, n): frame k+1 in stream
        not_ended = torch.cumprod(1.0 - terminal[:, 1:].float(), dim=1)
        before_end = torch.cat([torch.ones_like(not_ended[:, :1]), not_ended[:, :-1]], dim=1)
        n = alive.shape[1]
        discounts = gamma ** torch.arange(n, dtype=alive.dtype, device=alive.device)
        last = alive.sum(dim=1).long()  # frames 1..last belong to the stream
        valid = last > 0
        last = last.clamp(min=1)
        ended = not_ended.gather(1, (last - 1).unsqueeze(1)).squeeze(1)
        return cls(
            discounts * alive * before_end, last, gamma ** last.to(alive.dtype) * ended, valid
        )

    def returns(self, reward: Tensor) -> Tensor:
        """The discounted n-step returns (B,) of rewards (B, n+1), before bootstrapping
        (reward[:, k] was received on arriving at frame k)."""
        return (self.weights * reward[:, 1:]).sum(dim=1)


def n_step_returns(
    reward: Tensor, first: Tensor, terminal: Tensor, gamma: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(returns, last, discount, valid) of `NStep` for one reward sequence (B, n+1)."""
    steps = NStep.of(first, terminal, gamma)
    return steps.returns(reward), steps.last, steps.discount, steps.valid


def softmax_policy(q: list[float], temperature: float) -> list[float]:
    """Action probabilities from one state's Q-values, temperature in units of the Q spread.

    Dividing by the spread (std across actions) makes one temperature mean the same in worlds
    with large or small rewards, so the genome's temperatures transfer across worlds. Plain
    Python: for a handful of actions it is several times faster than numpy or torch.
    """
    spread = spread_of(q)
    best = max(q)
    weights = [math.exp((v - best) / (temperature * spread)) for v in q]
    total = sum(weights)
    return [w / total for w in weights]


def spread_of(q: list[float]) -> float:
    """The std of one state's values across actions (at least 1e-6): the unit of B's
    temperature, and of its doubt."""
    mean = sum(q) / len(q)
    return max(math.sqrt(sum((v - mean) ** 2 for v in q) / len(q)), 1e-6)


def doubt(twins: list[list[float]]) -> float:
    """How little B knows in one state: the twin heads' mean disagreement (2, A) over the
    spread of their mean across actions. Both twins fit the same targets, so they agree where
    B has learned and keep their independent starts where it has not; next to the spread, the
    ratio says whether B's ranking of the actions can be trusted, at any reward scale."""
    first, second = twins
    pairs = list(zip(first, second, strict=True))
    gap = sum(abs(a - b) for a, b in pairs) / len(pairs)
    return gap / spread_of([(a + b) / 2 for a, b in pairs])


def sample_actions(q: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
    """One action per row of Q-values q (N, A): `softmax_policy`, batched.

    The temperature is measured in units of the Q spread across actions, as in B's own policy,
    so the same gene means the same thing in worlds with large or small rewards.
    """
    scale = q.std(dim=-1, correction=0, keepdim=True).clamp(min=1e-6)
    logits = (q - q.amax(dim=-1, keepdim=True)) / (temperature * scale)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)


def draw(probs: list[float], rng: np.random.Generator) -> int:
    """One action from `probs` with one uniform draw of `rng`: B's own draw, and the draw of a
    policy shaped by advice (`advice.py`), so advice that moves nothing changes no life."""
    u = rng.random()
    for action, p in enumerate(probs):
        u -= p
        if u < 0.0:
            return action
    return len(probs) - 1  # u landed in the rounding error of the last probability


def td_loss(q_taken: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """Huber loss of Q (B, ...) against its targets, over valid sequences (B,)."""
    error = F.smooth_l1_loss(q_taken, targets.expand_as(q_taken), reduction="none")
    error = error.view(error.shape[0], -1).mean(dim=1)
    mask = valid.float()
    return (error * mask).sum() / valid.float().sum().clamp(min=1.0)


def value_net(latent_dim: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(latent_dim, hidden),
        nn.LayerNorm(hidden),
        nn.SiLU(),
        nn.Linear(hidden, hidden),
        nn.SiLU(),
        nn.Linear(hidden, outputs),
    )


class ValueLearner(nn.Module):
    """What every System B shares, whatever its actions: the encoder it may own, n-step targets,
    the TD losses of its twin heads and curiosity head, imagined targets, EMA targets.

    A subclass says how its heads read an action (`twins_taken`, `intrinsic_taken`) and what a
    state is worth (`bootstrap`, `intrinsic_bootstrap`): `SystemB` below for discrete actions,
    `continuous_action.ContinuousB` for continuous ones. Subclasses define `q`, `q_int`, their
    target copies `q_target`, `q_int_target`, and `optimizer`.
    """

    genome: Genome
    encoder: nn.Module | None
    target_encoder: nn.Module | None

    def _read_through(self, encoder: nn.Module | None) -> list[nn.Module]:
        """B reads the latents of `encoder` (A's, shared; or B's own in `b_only`) and trains it
        through its TD loss, in its own optimizer at its own rate, in every agent: `a_plus_b` and
        `b_only` then differ only in A's losses. Its returns bootstrap from an EMA target of the
        encoder moved with the heads' targets (`update_targets`), in every agent, as in SPR and
        BBF: a slow head never reads latents of a faster encoder than the one it was fit to.
        Returns the modules B's optimizer trains (none without an encoder: B on given latents).
        """
        self.encoder, self.target_encoder = encoder, None
        if encoder is None:
            return []
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        return [encoder]

    def bootstrap(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def twins_taken(self, z: Tensor, action: Tensor) -> Tensor:
        raise NotImplementedError

    def intrinsic_taken(self, z: Tensor, action: Tensor) -> Tensor:
        raise NotImplementedError

    def intrinsic_bootstrap(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def targets(self, z_last: Tensor, reward: Tensor, steps: NStep) -> Tensor:
        """n-step targets (B,): the n-step return of `reward` (B, n+1) plus the discounted
        `bootstrap` of the frame it ends at (latents z_last (B, D))."""
        return steps.returns(reward) + steps.discount * self.bootstrap(z_last)

    # --- Losses ----------------------------------------------------------------------------------
    def extrinsic_loss(
        self,
        z0: Tensor,
        z_last: Tensor,
        action: Tensor,
        reward: Tensor,
        steps: NStep,
    ) -> tuple[Tensor, dict[str, float]]:
        """n-step TD loss of both twins at frame 0.

        z0 (B, D) latents of frame 0 (with gradient when B trains the encoder); z_last (B, D)
        target latents of the frame each return bootstraps from (`steps.last`); action (B,) or
        (B, d) taken at frame 0; reward (B, n+1) received on arriving at each frame.
        """
        targets = self.targets(z_last, reward, steps)
        taken = self.twins_taken(z0, action)  # (B, 2)
        loss = td_loss(taken, targets.unsqueeze(1), steps.valid)
        q_taken = taken.mean(dim=1)
        return loss, {
            "b_td_loss": loss.item(),
            "b_value": q_taken.mean().item(),
            "b_value_error": (q_taken - targets).abs().mean().item(),
        }

    def intrinsic_loss(
        self,
        z0: Tensor,
        z_last: Tensor,
        action: Tensor,
        bonus: Tensor,
        steps: NStep,
    ) -> tuple[Tensor, dict[str, float]]:
        """n-step TD of the curiosity head on A's disagreement.

        bonus (B, n): the disagreement about frames 1..n, divided here by the running std of its
        n-step returns (`track_intrinsic_scale`; not a batch mean: the scale then follows the
        life, not the batch, and a world that grows predictable earns less bonus). The head
        reads z0 detached: novelty must not shape the features the agent's values share (a
        noisy TV would).
        """
        reward = torch.cat([torch.zeros_like(bonus[:, :1]), bonus], dim=1)
        raw, discount, valid = steps.returns(reward), steps.discount, steps.valid
        with torch.no_grad():
            spread_now = raw[valid].std(correction=0) if valid.sum() > 1 else raw.new_zeros(())
            measured = self.intrinsic_scale.item() > 0
            scale = (self.intrinsic_scale if measured else spread_now).clamp(min=1e-8)
            bootstrap = self.intrinsic_bootstrap(z_last.detach())
            targets = raw / scale + discount * bootstrap
        q_taken = self.intrinsic_taken(z0.detach(), action)
        loss = td_loss(q_taken, targets, valid)
        return loss, {
            "b_intrinsic_loss": loss.item(),
            "b_intrinsic_value": q_taken.mean().item(),
            "b_intrinsic_spread": spread_now.item(),
        }

    @torch.no_grad()
    def track_intrinsic_scale(self, spread_now: float) -> None:
        """Fold one batch's spread of intrinsic returns into the running scale (after a step:
        a skipped, poisoned batch leaves it alone)."""
        if math.isfinite(spread_now) and spread_now > 0:
            rate = 0.01 if self.intrinsic_scale.item() > 0 else 1.0
            self.intrinsic_scale.lerp_(torch.tensor(spread_now), rate)

    # --- Steps ---------------------------------------------------------------------------------
    @torch.no_grad()
    def update_targets(self) -> None:
        """EMA of the value heads and of the encoder B reads."""
        online = [*self.q.parameters(), *self.q_int.parameters()]
        target = [*self.q_target.parameters(), *self.q_int_target.parameters()]
        if self.encoder is not None:
            online += list(self.encoder.parameters())
            target += list(self.target_encoder.parameters())
        torch._foreach_lerp_(target, online, self.genome.q_target_rate)

    def learn_imagined(
        self, z: Tensor, action: Tensor, targets: Tensor, scale: float
    ) -> dict[str, float] | None:
        """One step of both twins towards imagined targets; None (no step) if not finite.

        z (N, H, D) imagined latents, action (N, H) or (N, H, d) taken at each, targets (N, H)
        their lambda-returns; the loss is divided by `scale` (max(1, the returns' spread):
        DreamerV3's return normalisation), so large imagined returns cannot swamp what B learned
        awake.
        """
        taken = self.twins_taken(z.flatten(0, 1), action.flatten(0, 1))
        loss = F.smooth_l1_loss(taken, targets.reshape(-1, 1).expand_as(taken)) / scale
        if not torch.isfinite(loss).item():
            return None
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.update_targets()
        return {"b_imagined_loss": loss.item()}


class SystemB(ValueLearner):
    """B for discrete actions: twin heads of a value per action, acting by a softmax of them."""

    continuous = False  # B for continuous actions: systems/continuous_action.py

    def __init__(self, n_actions: int, genome: Genome, encoder: nn.Module | None = None) -> None:
        """B reading `encoder`'s latents (`_read_through`): A's shared one, or one of its own
        trained by the TD loss alone (the model-free control, a DQN)."""
        super().__init__()
        self.genome, self.n_actions = genome, n_actions
        trained = self._read_through(encoder)
        self.q = value_net(genome.latent_dim, genome.q_hidden, 2 * n_actions)  # twin heads
        self.q_int = value_net(genome.latent_dim, genome.q_hidden, n_actions)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.q_int_target = copy.deepcopy(self.q_int).requires_grad_(False)
        # Running std of the intrinsic n-step returns (0: not measured yet): the bonus's scale.
        self.register_buffer("intrinsic_scale", torch.zeros(()))
        trained += [self.q, self.q_int]
        self.optimizer = torch.optim.AdamW(
            [p for module in trained for p in module.parameters()],
            lr=genome.lr_b,
            weight_decay=genome.weight_decay,
            fused=True,
        )

    # --- Values --------------------------------------------------------------------------------
    def twins(self, z: Tensor, target: bool = False) -> Tensor:
        """Both extrinsic heads' Q-values (N, 2, A), online or target."""
        return (self.q_target if target else self.q)(z).view(-1, 2, self.n_actions)

    def values(self, z: Tensor) -> Tensor:
        """The habit's Q-values (N, A): the mean of the online twins."""
        return self.twins(z).mean(dim=1)

    def twins_taken(self, z: Tensor, action: Tensor) -> Tensor:
        """Both twins' values (N, 2) of the actions (N,) taken in states z (N, D)."""
        return self.twins(z).gather(2, action.view(-1, 1, 1).expand(-1, 2, 1)).squeeze(2)

    @torch.no_grad()
    def bootstrap(self, z: Tensor) -> Tensor:
        """V(z) (N,) that returns bootstrap from: the online twins pick the action (double Q),
        the min of the target twins rates it (a pessimistic value, as in TD3 and TD-MPC2)."""
        greedy = self.values(z).argmax(dim=-1)
        rated = self.twins(z, target=True)[torch.arange(z.shape[0], device=z.device), :, greedy]
        return rated.amin(dim=-1)

    def intrinsic_taken(self, z: Tensor, action: Tensor) -> Tensor:
        return self.q_int(z).gather(1, action.unsqueeze(1)).squeeze(1)

    def intrinsic_bootstrap(self, z: Tensor) -> Tensor:
        """The curiosity value of z: double Q, as the extrinsic one (online picks, target rates)."""
        greedy = self.q_int(z).argmax(dim=-1, keepdim=True)
        return self.q_int_target(z).gather(1, greedy).squeeze(1)

    def draw(self, z: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
        """One action (N,) per latent state (N, D) for rollouts in A's model: B's softmax on
        the extrinsic values, batched (`sample_actions`)."""
        return sample_actions(self.values(z), temperature, generator)

    def habit_value(self, z: Tensor) -> Tensor:
        """What the habit expects from states z (N, D): the best action's value (N,)."""
        return self.values(z).amax(dim=-1)

    @torch.inference_mode()
    def choose(
        self,
        z: Tensor,
        temperature: float,
        curiosity: float,
        rng: np.random.Generator,
        generator: torch.Generator | None = None,
    ) -> int:
        """An action for one latent state z (1, D), drawn with `rng` from `policy`. The same
        call as the continuous B's (whose actor draws with `generator`)."""
        return draw(self.policy(z, temperature, curiosity), rng)

    def greedy(self, z: Tensor) -> int:
        """The action B values most in latent state z (1, D)."""
        return int(self.values(z).argmax(dim=-1).item())

    @torch.inference_mode()
    def policy(self, z: Tensor, temperature: float, curiosity: float = 0.0) -> list[float]:
        """Action probabilities for one latent state z (1, D): a softmax over Q_ext, plus
        `curiosity` times Q_int when exploring, mixed with a uniform draw of share `epsilon`.

        The temperature is in units of the values' spread, so a low one is near-greedy at any
        reward scale; the uniform share is a floor that no policy falls below, so a habit that
        settled early on one action still meets the others (issue 26: a life stuck at a quarter
        of a random policy's reward for 100k steps). `doubt_temperature` warms the softmax in
        states where B's twins disagree (`doubt`): soft where B has not learned, as greedy as
        M asks where it has."""
        twins = self.twins(z)
        q = twins.mean(dim=1)
        if self.genome.doubt_temperature > 0.0:
            temperature += self.genome.doubt_temperature * doubt(twins[0].tolist())
        if curiosity > 0.0:
            q = q + curiosity * self.q_int(z)
        floor = self.genome.epsilon / self.n_actions
        share = 1.0 - self.genome.epsilon
        return [share * p + floor for p in softmax_policy(q[0].tolist(), temperature)]

    def predicted_value_loss(
        self, predicted: Tensor, target: Tensor, mask: Tensor
    ) -> tuple[Tensor, dict[str, float]]:
        """Q on A's predicted latents (B, H, D) agrees with the target Q on the real ones.

        Planning and imagination bootstrap on latents A predicted; without this B would rate
        them blind (they were never its inputs). The target twins on B's target latents of the
        same frames (B, H, D) set what they are worth, as in B's own bootstrap; mask (B, H)
        keeps each stream's own.
        """
        with torch.no_grad():
            wanted = self.q_target(target)
        error = (self.q(predicted.detach()) - wanted).pow(2).mean(dim=-1)
        loss = (error * mask).sum() / mask.sum().clamp(min=1.0)
        return loss, {"b_predicted_value_loss": loss.item()}

    def learn_policy(self, z: Tensor) -> dict[str, float]:
        """Nothing: the discrete B's policy is a softmax of its values (a continuous B learns an
        actor here)."""
        return {}
