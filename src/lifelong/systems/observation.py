"""System A: learning from observation, a JEPA-style latent world model that shares its encoder.

An encoder maps an observation to a latent z of fixed scale (layer-normalised, without a learned
gain: early-life latents are on the same scale as late ones). An ensemble of action-conditioned
predictors maps (z_t, a_t) to z_{t+1}; it is trained on multi-step rollouts against the
embeddings of an EMA target encoder under stop-gradient (the JEPA recipe), with VICReg variance
and covariance terms on the online embeddings so the latent space cannot collapse to a constant
that is trivially predictable.

The encoder is the one System B reads: B's TD loss and A's prediction loss train it together in
one backward pass (mind.py `_update`), the recipe of SPR, BBF and TD-MPC2. A's role stays its
own: `world_model_loss` below is everything A asks of the encoder and its heads.

The ensemble is one batched tensor operation (weights shaped (members, in, out)), so its cost does
not grow with a Python loop over members. Its spread is A's uncertainty: the intrinsic reward of
System B and one of M's signals.

Two small heads make the latent model usable beyond prediction:
- a reward head, r(z_t, a_{t+1}) -> reward received on arriving at o_{t+1} (in symlog units),
  trained along the same k-step rollout, so that PLAN and IMAGINE (`planning.py`) can score
  latent trajectories;
- an inverse dynamics head, (z_t, z_{t+1}) -> the action that led from o_t to o_{t+1}, so that the
  agent can infer the latent actions of a demonstrator it only watches (imitation). Its gradient
  also keeps the encoder aware of what the agent controls.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lifelong.genome import Genome

# ----------------------------------------------------------------------------------------------
# Losses: small functions, each tested on its own.


def spread(x: Tensor, dim: int = 0) -> Tensor:
    """Unbiased variance along `dim`, written out: `Tensor.var(dim=0)` is ~25x slower on CPU."""
    centred = x - x.mean(dim=dim, keepdim=True)
    return centred.pow(2).sum(dim=dim) / max(x.shape[dim] - 1, 1)


# The spread below which VICReg's variance hinge pushes a latent dimension apart. Latents are
# layer-normalised, so their per-dimension variances average at most 1: VICReg's own target of 1
# could never be met, its hinge never let go, and it made up 75-85% of A's gradient on the
# encoder (issue 26). Half of it is a floor against collapse that healthy latents clear.
VARIANCE_FLOOR = 0.5


def variance_loss(z: Tensor, gamma: float = VARIANCE_FLOOR) -> Tensor:
    """VICReg variance hinge: mean over dimensions of relu(gamma - std), batch (N, D)."""
    std = torch.sqrt(spread(z) + 1e-4)
    return F.relu(gamma - std).mean()


def covariance_loss(z: Tensor) -> Tensor:
    """VICReg covariance term: squared off-diagonal covariance, summed and divided by D."""
    n, d = z.shape
    z = z - z.mean(dim=0)
    cov = (z.T @ z) / max(n - 1, 1)
    off_diagonal = cov - torch.diag(torch.diag(cov))
    return off_diagonal.pow(2).sum() / d


def symlog(x: Tensor) -> Tensor:
    """sign(x) log(1 + |x|): compresses large rewards, leaves small ones almost linear."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: Tensor) -> Tensor:
    """The inverse of `symlog`."""
    return torch.sign(x) * torch.expm1(x.abs())


def latent_prediction_loss(predicted: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Masked MSE between predicted (K, B, H, D) and target (B, H, D) latents; mask (B, H)."""
    error = (predicted - target.unsqueeze(0)).pow(2).mean(dim=-1)  # (K, B, H)
    weights = mask.unsqueeze(0).expand_as(error)
    return (error * weights).sum() / weights.sum().clamp(min=1.0)


def reward_prediction_loss(predicted: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Masked MSE in symlog units between predicted (..., B, H) and target (B, H) rewards.

    `predicted` is already in symlog units (the head's output); the target is mapped there. MSE on
    symlog targets rather than TD-MPC2's two-hot regression: as well scaled for the small rewards
    of the Nursery and not thrown off by a world whose rewards are hundreds, at a fraction of
    the cost. mask (B, H).
    """
    error = (predicted - symlog(target)).pow(2)
    weights = mask.expand_as(error)
    return (error * weights).sum() / weights.sum().clamp(min=1.0)


def inverse_dynamics_loss(logits: Tensor, action: Tensor, mask: Tensor) -> Tensor:
    """Masked cross-entropy of action logits (B, A) against the action taken (B,); mask (B,)."""
    error = F.cross_entropy(logits, action, reduction="none")
    return (error * mask).sum() / mask.sum().clamp(min=1.0)


def inverse_regression_loss(mean: Tensor, log_std: Tensor, action: Tensor, mask: Tensor) -> Tensor:
    """Masked Gaussian negative log-likelihood (up to a constant) of continuous actions (B, d)
    under the predicted mean and log-std (B, d); mask (B,). The std learns how sure to be."""
    error = 0.5 * ((action - mean) / log_std.exp()).pow(2) + log_std
    return (error.sum(dim=-1) * mask).sum() / mask.sum().clamp(min=1.0)


# ----------------------------------------------------------------------------------------------
# Networks.


def normalise(z: Tensor) -> Tensor:
    """Latents of fixed scale: zero mean and unit variance across each latent's dimensions.

    Applied at the encoder's output and the predictor's, so encoded and predicted latents live on
    the same sphere: B's values read both, and A's errors mean the same early and late in life.
    """
    return F.layer_norm(z, z.shape[-1:])


class Normalised(nn.Module):
    """`normalise` as a layer, the encoders' last."""

    def forward(self, z: Tensor) -> Tensor:
        return normalise(z)


def make_encoder(obs_shape: tuple[int, ...], latent_dim: int, hidden_dim: int) -> nn.Module:
    """A small CNN for images (H, W, C channels last), an MLP for vectors; latents normalised."""
    if len(obs_shape) == 3:
        return nn.Sequential(ConvEncoder(obs_shape, latent_dim), Normalised())
    if len(obs_shape) == 1:
        return nn.Sequential(
            nn.Linear(obs_shape[0], hidden_dim),
            nn.LayerNorm(hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, latent_dim),
            Normalised(),
        )
    raise ValueError(f"System A handles image (H, W, C) or vector observations, got {obs_shape}")


class ConvEncoder(nn.Module):
    def __init__(self, obs_shape: tuple[int, int, int], latent_dim: int, channels: int = 16):
        super().__init__()
        height, width, depth = obs_shape
        # Two 3x3 convolutions without padding see a 5x5 neighbourhood: enough for a small view;
        # larger images are first strided down so the cost stays small.
        stride = 1 if max(height, width) <= 16 else 2
        self.conv = nn.Sequential(
            nn.Conv2d(depth, channels, 3, stride=stride),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, stride=stride),
            nn.SiLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, depth, height, width)).shape[1]
        self.head = nn.Linear(flat, latent_dim)

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.conv(obs.permute(0, 3, 1, 2)))


class EnsembleLinear(nn.Module):
    """K independent linear layers applied as one batched matmul: (K, N, in) -> (K, N, out)."""

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(members, in_features, out_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(members, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class PredictorEnsemble(nn.Module):
    """K residual MLPs predicting z_{t+1} from (z_t, a_t): normalise(z_t + delta).

    A discrete action enters as its one-hot code (width `n_actions`), a continuous one as its
    vector in [-1, 1]^d (width d, `continuous`)."""

    def __init__(
        self,
        members: int,
        latent_dim: int,
        n_actions: int,
        hidden_dim: int,
        continuous: bool = False,
    ) -> None:
        super().__init__()
        self.members, self.n_actions, self.continuous = members, n_actions, continuous
        self.layer1 = EnsembleLinear(members, latent_dim + n_actions, hidden_dim)
        self.layer2 = EnsembleLinear(members, hidden_dim, hidden_dim)
        self.layer3 = EnsembleLinear(members, hidden_dim, latent_dim)

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        """z (K, N, D) or (N, D) shared by all members; action (N,) int64 or (N, d) -> (K, N, D)."""
        if z.dim() == 2:
            z = z.unsqueeze(0).expand(self.members, -1, -1)
        code = action.to(z.dtype) if self.continuous else F.one_hot(action, self.n_actions)
        a = code.to(z.dtype).unsqueeze(0).expand(self.members, -1, -1)
        h = F.silu(self.layer1(torch.cat([z, a], dim=-1)))
        h = F.silu(self.layer2(h))
        return normalise(z + self.layer3(h))


class RewardHead(nn.Module):
    """Reward received on arriving at o_{t+1}, predicted from (z_t, a_{t+1}) in symlog units.

    Conditioned on the state the action is taken in, not on the predicted next latent: rewards
    follow from acting (eating the food one steps onto), and the JEPA latent of the next frame is
    trained to be predictable, not to keep what the reward depended on (eaten food is gone from
    o_{t+1}). The reward gradient then also reaches the online encoder through z_t, as in TD-MPC2.

    The first layer, a linear map of cat(z, one_hot(a)), is written as a Linear of z plus an
    Embedding of a: the same function in fewer tensor operations, which is what costs on CPU.
    A continuous action (d,) enters through a Linear map of its vector instead.
    """

    def __init__(
        self, latent_dim: int, n_actions: int, hidden_dim: int, continuous: bool = False
    ) -> None:
        super().__init__()
        self.state = nn.Linear(latent_dim, hidden_dim)
        self.action: nn.Module
        if continuous:
            self.action = nn.Linear(n_actions, hidden_dim, bias=False)
        else:
            self.action = nn.Embedding(n_actions, hidden_dim)
        bound = 1.0 / math.sqrt(latent_dim + n_actions)
        nn.init.uniform_(self.action.weight, -bound, bound)
        self.out = nn.Linear(hidden_dim, 1)
        # Zero output at birth: an untrained head predicts no reward rather than random ones, so
        # early plans are not driven by noise.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        """z (..., D) and action (int64, or (..., d) floats) matching z's leading dims -> (...)."""
        return self.out(F.silu(self.state(z) + self.action(action))).squeeze(-1)


class InverseHead(nn.Module):
    """The action that led from z_t to z_{t+1}: (B, D), (B, D) -> (B, A) logits of a discrete
    action, or (B, 2d) the mean (in [-1, 1]) and log-std of a continuous one (a regression that
    knows how sure it is).

    z_t comes from the online encoder (the gradient shapes it: features the agent controls) and
    z_{t+1} from the target encoder, already computed for A's targets: a second online pass
    would add about a tenth to the cost of A's update.
    """

    def __init__(
        self, latent_dim: int, n_actions: int, hidden_dim: int, continuous: bool = False
    ) -> None:
        super().__init__()
        self.continuous = continuous
        self.net = nn.Sequential(
            nn.Linear(2 * latent_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, 2 * n_actions if continuous else n_actions),
        )

    def forward(self, z: Tensor, next_z: Tensor) -> Tensor:
        return self.net(torch.cat([z, next_z], dim=-1))

    def gaussian(self, z: Tensor, next_z: Tensor) -> tuple[Tensor, Tensor]:
        """A continuous head's mean (B, d) in [-1, 1] and log-std (B, d)."""
        mean, log_std = self(z, next_z).chunk(2, dim=-1)
        return torch.tanh(mean), log_std.clamp(-5.0, 2.0)

    def loss(self, z: Tensor, next_z: Tensor, action: Tensor, mask: Tensor) -> Tensor:
        if self.continuous:
            return inverse_regression_loss(*self.gaussian(z, next_z), action, mask)
        return inverse_dynamics_loss(self(z, next_z), action, mask)


# ----------------------------------------------------------------------------------------------
# A's loss: everything A asks of the shared encoder and of its own heads.


def scale_gradient(x: Tensor, share: float) -> Tensor:
    """`x` unchanged going forward; going back, only `share` of the gradient passes through.

    How much A's losses shape the encoder B also reads (`encoder_share`): at 0 A learns its
    predictor and heads on B's latents without moving them."""
    if share == 1.0:
        return x
    return x.detach() + share * (x - x.detach())


def world_model_loss(
    a: SystemA,
    z0: Tensor,
    target: Tensor,
    action: Tensor,
    alive: Tensor,
    reward: Tensor | None,
    genome: Genome,
    keep_terms: dict[str, Tensor] | None = None,
) -> tuple[Tensor, dict[str, float], Tensor]:
    """Multi-step latent prediction from sequences, with reward and inverse dynamics heads.

    A pure function of the networks, the batch and the genome's weights: it writes no buffer and
    takes no step, so the agent can add it to B's TD loss and run one backward pass.

    z0 (B, D): the online encoder's latent of frame 0, with gradient (B's TD loss reads it too);
    target (B, L, D): the target encoder's latents of frames 0..L-1 (`SystemA.embed_sequences`);
    action (B, L) (or (B, L, d) continuous) where action[:, k] led to o_k;
    alive (B, L-1): frame k+1 continues the stream of frame 0 (no reset in between);
    reward (B, L): reward[:, k] received on arriving at o_k (memory's convention), or None to
    leave the reward head untrained.
    Returns (loss, info, predicted (K, B, H, D)): the members' predicted latents of frames 1..H,
    which B also learns values on, so that planning bootstraps on latents its values have seen.
    Given a dict `keep_terms`, each weighted term of the loss is put in it too, with its graph
    (`benchmarks/encoder_gradients.py` measures what each one asks of the encoder).
    """
    horizon = min(genome.horizon, target.shape[1] - 1)
    mask = alive[:, :horizon].float()
    future = target[:, 1 : horizon + 1]  # (B, H, D): the target latents of frames 1..H
    z = z0
    predictions = []
    for k in range(horizon):
        z = a.predictor(z, action[:, k + 1])
        predictions.append(z)
    predicted = torch.stack(predictions, dim=2)  # (K, B, H, D)
    prediction = latent_prediction_loss(predicted, future, mask)
    variance = variance_loss(z0)
    covariance = covariance_loss(z0)
    terms = {
        "prediction": prediction,
        "variance": genome.variance_weight * variance,
        "covariance": genome.covariance_weight * covariance,
    }
    info = {
        "a_prediction_loss": prediction.item(),
        "a_variance_loss": variance.item(),
        "a_covariance_loss": covariance.item(),
    }
    if reward is not None and genome.reward_weight > 0:
        # Along the same rollout, from the ensemble's mean latent where each action is taken:
        # a quarter of the cost of one head pass per member, and what planning reads.
        means = predicted[:, :, : horizon - 1].mean(dim=0)
        starts = torch.cat([z0.unsqueeze(1), means], dim=1)  # (B, H, D)
        predicted_reward = a.reward_head(starts, action[:, 1 : horizon + 1])
        reward_loss = reward_prediction_loss(predicted_reward, reward[:, 1 : horizon + 1], mask)
        terms["reward"] = genome.reward_weight * reward_loss
        info["a_reward_loss"] = reward_loss.item()
    if genome.inverse_weight > 0:
        inverse_loss = a.inverse_head.loss(z0, future[:, 0], action[:, 1], mask[:, 0])
        terms["inverse"] = genome.inverse_weight * inverse_loss
        info["a_inverse_loss"] = inverse_loss.item()
    if keep_terms is not None:
        keep_terms.update(terms)
    total = terms.pop("prediction")
    for term in terms.values():
        total = total + term
    return total, info, predicted


# ----------------------------------------------------------------------------------------------
# System A.


class SystemA(nn.Module):
    """Encoder (shared with B), EMA target encoder, predictor ensemble, reward and inverse heads."""

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        n_actions: int,
        genome: Genome,
        continuous: bool = False,
    ) -> None:
        """`n_actions`: the number of discrete actions, or with `continuous` the dimension d of
        continuous ones (vectors in [-1, 1]^d)."""
        super().__init__()
        self.genome, self.continuous = genome, continuous
        self.encoder = make_encoder(obs_shape, genome.latent_dim, genome.hidden_dim)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        d, hidden = genome.latent_dim, genome.hidden_dim
        self.predictor = PredictorEnsemble(genome.ensemble_size, d, n_actions, hidden, continuous)
        self.reward_head = RewardHead(d, n_actions, hidden, continuous)
        self.inverse_head = InverseHead(d, n_actions, hidden, continuous)
        # Running mean variance of target embeddings: errors are reported relative to it, so a
        # latent space that spreads out (as VICReg asks) does not look like worse prediction.
        self.register_buffer("target_variance", torch.zeros(()))  # 0: not measured yet
        self.register_buffer("target_updates", torch.zeros((), dtype=torch.long))
        # The encoder is B's to step (`ValueLearner._read_through`): A's losses reach it through
        # the one backward pass, and it learns at the same rate with or without them.
        trained = [self.predictor, self.reward_head, self.inverse_head]
        self.optimizer = torch.optim.Adam(
            [p for module in trained for p in module.parameters()], lr=genome.lr_a, fused=True
        )

    @torch.no_grad()  # not inference_mode: B's update trains on these
    def embed(self, obs: Tensor) -> Tensor:
        """The target encoder's latents of observations (N, ...): what A predicts (B's slow
        latents, which B bootstraps from, with `shared_target`). B acts on the online encoder
        (`Agent.b_input`)."""
        return self.target_encoder(obs)

    @torch.no_grad()
    def embed_sequences(self, obs: Tensor) -> Tensor:
        """`embed` for a batch of sequences (B, L, ...) -> (B, L, D)."""
        return self.target_encoder(obs.flatten(0, 1)).view(*obs.shape[:2], -1)

    @torch.no_grad()
    def track_scale(self, target: Tensor) -> None:
        """Follow the variance of target latents (B, L, D) that errors are reported against."""
        variance = spread(target.flatten(0, -2)).mean()
        # Fast enough to follow the target encoder's spread as it grows early in life.
        rate = 0.1 if self.target_variance.item() > 0 else 1.0
        self.target_variance.lerp_(variance, rate)

    @torch.no_grad()
    def update_target(self, shared: nn.Module | None = None) -> None:
        """Move the target encoder towards the online one, bias-corrected early in life; or,
        given B's slow encoder `shared` (`shared_target`: A learns to predict its latents),
        copy that, so that A's errors are measured, and its actions inferred, in the latent
        space it learns to predict.

        The rate is max(target_rate, 1 / (n + 1)) at the n-th update: until 1 / target_rate
        updates the target is the plain average of every online encoder so far, so it is never
        dominated by the random weights of birth (the online and target latents of a young agent
        would otherwise disagree by orders of magnitude).

        Without a shared target the default rate is 1: the target is the online encoder itself,
        without gradient, as in TD-MPC2. A's predictions are then made and scored in one latent
        space, which matters because PLAN, IMAGINE and curiosity feed them back into A and B: in
        the Nursery the full agent gained in 5 of 5 lives over a slow average. B's slow target
        (SPR) won on fresh seeds since, for `abm` too (docs/benchmarks.md, issue 26).
        """
        n = int(self.target_updates.item())
        rate = 1.0 if shared is not None else max(self.genome.target_rate, 1.0 / (n + 1))
        source = self.encoder if shared is None else shared
        torch._foreach_lerp_(
            list(self.target_encoder.parameters()), list(source.parameters()), rate
        )
        self.target_updates += 1

    @torch.no_grad()
    def disagreement(self, z: Tensor, action: Tensor) -> Tensor:
        """Variance of the members' predictions, averaged over latent dims: (N,)."""
        return spread(self.predictor(z, action)).mean(dim=-1)

    @torch.no_grad()
    def telemetry(
        self, obs: Tensor, action: Tensor
    ) -> tuple[list[float], list[float], list[float]]:
        """A's one-step error on fresh transitions (obs (N+1, ...), action (N+1,)).

        Returns per transition the MSE of the ensemble mean against the target embedding of the
        next frame, the members' variance, and the error of the copy-last baseline (predicting
        z_{t+1} = z_t), all relative to the variance of the target embeddings seen in training
        (1.0: no better than guessing the average embedding). Until A has trained once that
        scale is unknown and nothing is reported.
        """
        if self.target_variance.item() <= 0:
            return [], [], []
        z = self.encoder(obs[:-1])
        target = self.target_encoder(obs)
        predicted = self.predictor(z, action[1:])
        scale = self.target_variance.clamp(min=1e-8)
        squared = (predicted.mean(dim=0) - target[1:]).pow(2).mean(dim=-1)
        copy_last = (target[:-1] - target[1:]).pow(2).mean(dim=-1)
        disagreement = spread(predicted).mean(dim=-1) / scale
        return (squared / scale).tolist(), disagreement.tolist(), (copy_last / scale).tolist()

    @torch.inference_mode()
    def infer_action(self, obs: Tensor, next_obs: Tensor) -> tuple[Tensor, Tensor]:
        """The actions most likely to have led from obs (N, ...) to next_obs (N, ...).

        For imitation of a demonstrator whose actions are not given: its latent actions, read
        off its frames by the inverse dynamics head. Returns (actions (N,) int64, confidence (N,)
        the head's probability of that action), so a caller can skip unsure inferences. For
        continuous actions: (the mean (N, d) in [-1, 1], confidence 1 - the mean predicted std
        (a std of half the [-1, 1] half-range reads 0.5), clipped to [0, 1]).
        """
        z, next_z = self.encoder(obs), self.target_encoder(next_obs)
        if self.continuous:
            mean, log_std = self.inverse_head.gaussian(z, next_z)
            return mean, (1.0 - log_std.exp().mean(dim=-1)).clamp(0.0, 1.0)
        probs = self.inverse_head(z, next_z).softmax(-1)
        confidence, actions = probs.max(dim=-1)
        return actions, confidence

    def uncertainty_scale(self) -> float:
        """The variance of target embeddings seen in training (1.0 before any): disagreement and
        errors divided by it are relative, comparable across worlds and over a life."""
        variance = self.target_variance.item()
        return variance if variance > 0 else 1.0
