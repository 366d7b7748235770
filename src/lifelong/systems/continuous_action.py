"""System B for continuous actions: a squashed-Gaussian actor and twin critics Q(z, a) (SAC).

What is the same as the discrete B (`systems/action.py`), and shared with it as code:
- the latents it reads (A's shared encoder, or an encoder of its own for the model-free
  `b_only`), trained in its optimizer, and its EMA target of them; the n-step targets
  (`NStep`), the Huber TD loss (`td_loss`) and the MLP of each value head (`value_net`);
- twin critics whose EMA targets bootstrap with the min of the two (TD3, TD-MPC2);
- one optimizer for the critics and the encoder, the one M's learning-rate boosts act on;
- when exploring with curiosity, acting by a softmax over the values of the actions on offer
  plus the curiosity head's, at M's temperature in units of their spread (`softmax_policy`).

Where it differs, and why:
- otherwise the agent acts by one draw of the actor: its entropy, tuned by alpha, is its
  exploration. Taking the best of several draws at the exploit temperature, as the discrete
  B's softmax would, made the critics' data collapse onto the bounds: on a reaching task the
  agent missed by 1.4 (chance: 1.1) where single draws missed by 0.23 (tests/test_continuous.py);
- the actions on offer when exploring are `proposals` draws of the actor plus its mean, not
  every action (a continuous space cannot be listed);
- the value heads read (z, a) and give one value per twin, not a value per action;
- returns bootstrap from the soft value min_i Q_target_i(z', a') - alpha log pi(a' | z'), a'
  drawn from the actor, so the entropy the actor keeps is worth something;
- the actor is learned, by its own step after the critics' (`learn_policy`): maximise
  min_i Q_i(z, a) - alpha log pi(a | z) on latents detached from the encoder, and the entropy
  temperature alpha is tuned towards a target entropy of -d (Haarnoja et al. 2018).

Actions live in [-1, 1]^d here; the agent maps them to the world's bounds (`actions.BoxActions`).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lifelong.genome import Genome
from lifelong.systems.action import ValueLearner, softmax_policy, value_net

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0  # the actor's spread stays between ~0.007 and ~7


class TwinCritic(nn.Module):
    """Two value heads Q_i(z, a), each its own MLP of cat(z, a): (N, D), (N, d) -> (N, 2)."""

    def __init__(self, latent_dim: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(value_net(latent_dim + action_dim, hidden, 1) for _ in "ab")

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        x = torch.cat([z, a], dim=-1)
        return torch.cat([head(x) for head in self.heads], dim=-1)


class Actor(nn.Module):
    """pi(a | z): a Gaussian squashed by tanh into [-1, 1]^d, with its log-density."""

    def __init__(self, latent_dim: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = value_net(latent_dim, hidden, 2 * action_dim)

    def forward(
        self, z: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """A sample (reparameterised: gradients flow through it), its log pi, and the mean."""
        mean, log_std = self.net(z).chunk(2, dim=-1)
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        pre = mean + log_std.exp() * noise
        action = torch.tanh(pre)
        gaussian = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        # tanh's change of variables, in the numerically stable form log(1 - tanh(x)^2).
        squash = 2.0 * (math.log(2.0) - pre - F.softplus(-2.0 * pre))
        return action, (gaussian - squash).sum(dim=-1), torch.tanh(mean)


class ContinuousB(ValueLearner):
    """B for continuous actions: twin critics of (z, a) and an actor (see the module's doc)."""

    continuous = True

    def __init__(
        self,
        action_dim: int,
        genome: Genome,
        encoder: nn.Module | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """B reading `encoder`'s latents (`ValueLearner._read_through`): A's shared one, or one
        of its own trained by the critics' TD loss alone (the model-free control, a SAC)."""
        super().__init__()
        # The draws of learning (targets' and the actor's actions) have their own stream, saved
        # with B, so that a resumed life learns what an uninterrupted one would.
        seed = int(torch.randint(2**62, ()).item())  # from the agent's seeded global stream
        self.noise = torch.Generator(device=device).manual_seed(seed)
        self.genome, self.action_dim = genome, action_dim
        trained = self._read_through(encoder)
        d, hidden = genome.latent_dim, genome.q_hidden
        self.q = TwinCritic(d, action_dim, hidden)
        self.q_int = value_net(d + action_dim, hidden, 1)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.q_int_target = copy.deepcopy(self.q_int).requires_grad_(False)
        self.actor = Actor(d, action_dim, hidden)
        self.log_alpha = nn.Parameter(torch.zeros(()))  # alpha = 1 at birth, then tuned
        self.target_entropy = -float(action_dim)
        self.register_buffer("intrinsic_scale", torch.zeros(()))
        trained += [self.q, self.q_int]
        self.optimizer = torch.optim.AdamW(
            [p for module in trained for p in module.parameters()],
            lr=genome.lr_b,
            weight_decay=genome.weight_decay,
        )
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=genome.lr_b)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=genome.lr_b)

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.exp().detach()

    # --- Values --------------------------------------------------------------------------------
    def values(self, z: Tensor, a: Tensor) -> Tensor:
        """The habit's value of actions a (N, d) in states z (N, D): the twins' mean (N,)."""
        return self.q(z, a).mean(dim=-1)

    def twins_taken(self, z: Tensor, action: Tensor) -> Tensor:
        """Both critics' values (N, 2) of actions (N, d) in states z (N, D)."""
        return self.q(z, action)

    def intrinsic_taken(self, z: Tensor, action: Tensor) -> Tensor:
        return self.q_int(torch.cat([z, action], dim=-1)).squeeze(-1)

    def intrinsic_bootstrap(self, z: Tensor) -> Tensor:
        """The curiosity value of z, at the actor's mean action."""
        mean = self.actor(z, self.noise)[2]
        return self.q_int_target(torch.cat([z, mean], dim=-1)).squeeze(-1)

    @torch.no_grad()
    def bootstrap(self, z: Tensor) -> Tensor:
        """The soft value (N,) returns bootstrap from: the min of the target twins at an action
        the actor draws, less alpha times its log-density."""
        action, log_pi, _ = self.actor(z, self.noise)
        return self.q_target(z, action).amin(dim=-1) - self.alpha * log_pi

    def draw(self, z: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
        """One action (N, d) per latent state (N, D) for rollouts in A's model: the actor's draw
        (its entropy is its temperature; M's is not applied)."""
        return self.actor(z, generator)[0]

    def habit_value(self, z: Tensor) -> Tensor:
        """What the habit expects from states z (N, D): the twins' mean at the actor's mean."""
        return self.values(z, self.actor(z, self.noise)[2])

    @torch.inference_mode()
    def choose(
        self,
        z: Tensor,
        temperature: float,
        curiosity: float,
        rng: np.random.Generator,
        generator: torch.Generator,
    ) -> np.ndarray:
        """An action in [-1, 1]^d for one latent state z (1, D): a draw of the actor; when
        exploring with `curiosity` > 0, one of its proposals (its mean and `proposals` draws)
        drawn by `softmax_policy` of Q_ext + curiosity * Q_int at `temperature`."""
        if curiosity <= 0.0:
            action, _, _ = self.actor(z, generator)
            return action[0].cpu().numpy()
        zs = z.expand(self.genome.proposals, -1)
        samples, _, mean = self.actor(zs, generator)
        offered = torch.cat([mean[:1], samples], dim=0)
        zs = z.expand(offered.shape[0], -1)
        q = self.values(zs, offered)
        q = q + curiosity * self.q_int(torch.cat([zs, offered], dim=-1)).squeeze(-1)
        u = rng.random()
        for i, p in enumerate(softmax_policy(q.tolist(), temperature)):
            u -= p
            if u < 0.0:
                return offered[i].cpu().numpy()
        return offered[-1].cpu().numpy()

    def greedy(self, z: Tensor) -> np.ndarray:
        """The actor's mean action in [-1, 1]^d for latent state z (1, D)."""
        _, _, mean = self.actor(z)
        return mean[0].cpu().numpy()

    # --- Steps ---------------------------------------------------------------------------------
    def learn_policy(self, z: Tensor) -> dict[str, float]:
        """One step of the actor and of alpha on latents z (B, D), after the critics' step.

        The critics rate the actor's samples but are not stepped by this loss (their gradients
        from it are dropped); z is detached, so the encoder is shaped by the critics alone.
        """
        z = z.detach()
        action, log_pi, _ = self.actor(z, self.noise)
        rated = self.q(z, action).amin(dim=-1)
        actor_loss = (self.alpha * log_pi - rated).mean()
        if not torch.isfinite(actor_loss).item():
            return {}
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()
        self.q.zero_grad(set_to_none=True)
        alpha_loss = -(self.log_alpha * (log_pi.detach() + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_optimizer.step()
        return {
            "b_actor_loss": actor_loss.item(),
            "b_entropy": -log_pi.mean().item(),
            "b_alpha": self.alpha.item(),
        }

    def predicted_value_loss(
        self, predicted: Tensor, target: Tensor, mask: Tensor
    ) -> tuple[Tensor, dict[str, float]]:
        """The critics on A's predicted latents (B, H, D) agree with the target critics on the
        real ones, both rated at the actor's mean action in the real latent (the discrete B
        compares every action's value; a continuous one can only compare at some)."""
        with torch.no_grad():
            action = self.actor(target, self.noise)[2]
            wanted = self.q_target(target, action)
        error = (self.q(predicted.detach(), action) - wanted).pow(2).mean(dim=-1)
        loss = (error * mask).sum() / mask.sum().clamp(min=1.0)
        return loss, {"b_predicted_value_loss": loss.item()}

    # The actor's and alpha's optimizers and the learning draws' stream travel with the module's
    # state_dict (the agent saves `optimizer`, the critics', itself).
    def get_extra_state(self) -> dict[str, Any]:
        return {
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "noise": self.noise.get_state(),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
        self.noise.set_state(state["noise"])
