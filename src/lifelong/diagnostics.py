"""Diagnostics: periodic measurements of an agent's networks on a fixed, held-out probe set.

The signals M reads are measured on the agent's own fresh experience, which changes as its
behaviour changes, so they cannot say whether the *networks* got better or worse over a life.
The diagnostics here are measured on a `ProbeSet`: transitions collected once, by a fixed policy
(uniform random actions) in a fresh copy of the world seeded apart from the life's own stream.
The same probe is shown to the agent at every measurement, so values compare across a life
(METRICS.md, "System A" and "System B and plasticity"):

    diag_error_ratio_k{1,2,4,8}  A's k-step latent error / the copy-last baseline's (< 1: A beats
                                 predicting no change; a raw error could be won by collapse)
    diag_probe_r2                R^2 of a ridge probe from A's embedding to the world's truth
    diag_probe_r2_floor          the same from a randomly initialised encoder of A's architecture
    diag_erank_a, diag_erank_b   effective rank of A's embedding and of B's penultimate features
    diag_dormant_a, _b           dormant fraction of hidden units, averaged over activation layers

Everything runs under `torch.inference_mode` in chunks of `CHUNK` frames, so a measurement neither
touches the agent's training state nor needs memory proportional to the probe.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor, nn

from lifelong.actions import BoxActions
from lifelong.errors import UserError
from lifelong.metrics import dormant_fraction, effective_rank, linear_probe_r2
from lifelong.plasticity import is_activation
from lifelong.policies import load_policy
from lifelong.worlds import make_world

# Mixed into every probe seed, so a probe built with a life's seed never replays that life's own
# stream (the life resets its world with the plain seed).
PROBE_SALT = 0x5EED_D1A6
# Frames per forward pass: bounds the memory of a measurement whatever the probe's length.
CHUNK = 256
# Prediction horizons of the k-step error (METRICS.md).
HORIZONS = (1, 2, 4, 8)
# Seed of the randomly initialised encoder behind diag_probe_r2_floor.
FLOOR_SEED = 0x0F1005


@dataclass(eq=False)
class ProbeSet:
    """Held-out frames in the memory's convention (see memory.py).

    Frame i holds the observation o_i, the action a_{i-1} that led to it (0 on a first frame) and
    `first[i]`: o_i starts a new stream (after a reset), so the transition into frame i is valid
    only when `first[i]` is false. `truth[i]` holds the world's ground-truth variables at frame i,
    named by `truth_names`, or is None when the world exposes none.
    """

    obs: np.ndarray  # (N, *obs_shape) float32
    action: np.ndarray  # (N,) int64
    first: np.ndarray  # (N,) bool
    truth: np.ndarray | None  # (N, V) float32
    truth_names: list[str]
    # Values that depend only on the probe and an architecture (the random-encoder floor).
    cache: dict[Any, float] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.obs)


# ----------------------------------------------------------------------------------------------
# Collecting a probe.


def probe_seeds(seed: int) -> tuple[int, int]:
    """(world reset seed, policy seed) for a probe: salted, so unlike any life's own seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"probe seed must be an integer >= 0, got {seed!r}")
    reset_seed, policy_seed = np.random.SeedSequence([PROBE_SALT, int(seed)]).generate_state(2)
    return int(reset_seed), int(policy_seed)


def collect_probe(world_spec: str, seed: int, steps: int = 1024) -> ProbeSet:
    """`steps` frames of uniformly random behaviour in a fresh world, the same for (spec, seed).

    A terminated or truncated episode is followed by a reset, whose frame is marked `first`. The
    ground truth is `info["truth"]` (a dict of floats) when the world provides it at every frame.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise UserError(f"probe steps must be an integer >= 2, got {steps!r}")
    reset_seed, policy_seed = probe_seeds(seed)
    world = make_world(world_spec, load_policy=load_policy)
    try:
        space = world.action_space
        # Continuous actions are drawn uniformly and kept as the agent keeps them, in [-1, 1]^d.
        scale = BoxActions(space) if isinstance(space, gym.spaces.Box) else None
        if scale is None and not isinstance(space, gym.spaces.Discrete):
            raise UserError(f"a probe needs a Discrete or Box action space, got {space}")
        no_action: Any = 0 if scale is None else np.zeros(scale.shape, dtype=np.float32)
        rng = np.random.default_rng(policy_seed)
        frames: list[np.ndarray] = []
        actions: list[Any] = []
        firsts: list[bool] = []
        truths: list[Any] = []
        obs, info = world.reset(seed=reset_seed)
        action, first, ended = no_action, True, False
        while True:
            frames.append(np.array(obs, dtype=np.float32))  # a copy: worlds may reuse buffers
            actions.append(action)
            firsts.append(first)
            truths.append(info.get("truth"))
            if len(frames) == steps:
                break
            if ended:
                obs, info = world.reset()
                action, first, ended = no_action, True, False
            else:
                if scale is None:
                    action = int(rng.integers(space.n))
                    obs, _, terminated, truncated, info = world.step(action)
                else:
                    action = rng.uniform(-1.0, 1.0, scale.shape).astype(np.float32)
                    step = world.step(scale.to_world(action))
                    obs, _, terminated, truncated, info = step
                first, ended = False, bool(terminated or truncated)
    finally:
        world.close()
    truth, names = _truth_table(truths)
    return ProbeSet(
        obs=np.stack(frames),
        action=np.asarray(actions, dtype=np.int64 if scale is None else np.float32),
        first=np.asarray(firsts, dtype=bool),
        truth=truth,
        truth_names=names,
    )


def _truth_table(truths: list[Any]) -> tuple[np.ndarray | None, list[str]]:
    """Per-frame truth dicts as an (N, V) array, or None unless every frame has the same keys."""
    if not truths or not all(isinstance(t, dict) and t for t in truths):
        return None, []
    names = list(truths[0])
    if any(set(t) != set(names) for t in truths):
        return None, []
    return np.asarray([[float(t[n]) for n in names] for t in truths], dtype=np.float32), names


# ----------------------------------------------------------------------------------------------
# Measuring an agent.


@torch.inference_mode()
def diagnose(mind: Any, probe: ProbeSet) -> dict[str, float]:
    """The diag_* values of a mind with networks (`mind.ABMMind`) on a probe; a key that
    cannot be computed is left out.

    Reads `mind.a` (System A, or None in a model-free mind), `mind.b` (System B) and
    `mind.b_input` (what B sees of observations) on `mind.device`. Values that come out NaN or
    infinite are left out too, so a record never carries a number JSON cannot hold.
    """
    a, b = mind.a, mind.b
    obs = torch.as_tensor(probe.obs, device=torch.device(mind.device))
    values: dict[str, float] = {}
    if a is not None:
        values.update(_diagnose_a(a, obs, probe))
    if b is not None and not b.continuous:  # a critic of (z, a): left out
        values.update(_diagnose_b(b.q, _chunked(mind.b_input, obs)))
    return {key: float(v) for key, v in values.items() if math.isfinite(v)}


def _diagnose_a(a: Any, obs: Tensor, probe: ProbeSet) -> dict[str, float]:
    """k-step error ratios, probe R^2 and its floor, erank and dormancy of System A."""
    online, layers = forward_with_activations(a.encoder, obs)
    target = _chunked(a.embed, obs)
    action = torch.as_tensor(probe.action, device=obs.device)
    first = torch.as_tensor(probe.first, device=obs.device)
    values = {
        f"diag_error_ratio_k{k}": ratio
        for k, ratio in k_step_error_ratios(a.predictor, online, target, action, first).items()
    }
    values["diag_erank_a"] = _effective_rank(target)
    if layers:
        values["diag_dormant_a"] = _mean_dormant(layers)
    if probe.truth is not None:
        values["diag_probe_r2"] = _probe_r2(target.cpu().numpy(), probe.truth)
        floor = probe_floor(a.encoder, probe)
        if floor is not None:
            values["diag_probe_r2_floor"] = floor
    return values


def _diagnose_b(q: nn.Module, inputs: Tensor) -> dict[str, float]:
    """Dormancy of B's hidden layers and the effective rank of its penultimate features."""
    _, layers = forward_with_activations(q, inputs)
    if not layers:
        return {}
    return {
        "diag_dormant_b": _mean_dormant(layers),
        "diag_erank_b": _effective_rank(layers[-1]),
    }


def k_step_error_ratios(
    predictor: Callable[[Tensor, Tensor], Tensor],
    online: Tensor,
    target: Tensor,
    action: Tensor,
    first: Tensor,
    horizons: tuple[int, ...] = HORIZONS,
) -> dict[int, float]:
    """A's k-step latent error over the copy-last baseline's, for each horizon k.

    From every frame t whose stream lasts to t + k, the ensemble rolls z_t (online embedding) k
    steps with the logged actions, each member along its own trajectory as in training, and the
    members' mean is compared with the target embedding of o_{t+k}; copy-last predicts the target
    embedding of o_t. Both are summed squared errors over the same starts (mean over latent dims):
    their ratio equals that of SystemA.telemetry's normalised MSEs, whose scale cancels. A ratio
    of sums, not a mean of per-start ratios, which explode where the world does not change.
    A horizon that no start reaches, or where copy-last is exact, is left out.
    """
    n = online.shape[0]
    longest = max(horizons)
    zero = online.new_zeros((), dtype=torch.float64)
    error = dict.fromkeys(horizons, zero)
    baseline = dict.fromkeys(horizons, zero)
    for lo in range(0, n - 1, CHUNK):
        start = torch.arange(lo, min(lo + CHUNK, n - 1), device=online.device)
        z, origin = online[start], target[start]
        alive = torch.ones_like(start, dtype=torch.bool)
        for k in range(1, longest + 1):
            frame = (start + k).clamp(max=n - 1)
            alive = alive & (start + k < n) & ~first[frame]  # still the stream of frame t
            if not alive.any():
                break
            z = predictor(z, action[frame])  # (members, starts, D)
            if k in error:
                wanted = target[frame]
                missed = (z.mean(dim=0) - wanted).pow(2).mean(dim=-1)
                copied = (origin - wanted).pow(2).mean(dim=-1)
                error[k] = error[k] + missed[alive].sum(dtype=torch.float64)
                baseline[k] = baseline[k] + copied[alive].sum(dtype=torch.float64)
    return {k: (error[k] / baseline[k]).item() for k in horizons if baseline[k].item() > 0}


def probe_floor(encoder: nn.Module, probe: ProbeSet) -> float | None:
    """diag_probe_r2 of a randomly initialised copy of `encoder`, cached on the probe.

    The copy is seeded (FLOOR_SEED), so the floor is a property of the probe and the architecture
    alone and is computed once. None when the architecture cannot be re-initialised (a module
    holding parameters without `reset_parameters`) or the probe has no truth.
    """
    if probe.truth is None:
        return None
    key = ("probe_r2_floor", repr(encoder), probe.obs.shape[1:])
    if key not in probe.cache:
        random_encoder = randomly_initialised(encoder, FLOOR_SEED)
        if random_encoder is None:
            return None
        device = next(encoder.parameters()).device
        features = _chunked(random_encoder, torch.as_tensor(probe.obs, device=device))
        probe.cache[key] = _probe_r2(features.cpu().numpy(), probe.truth)
    return probe.cache[key]


def randomly_initialised(module: nn.Module, seed: int) -> nn.Module | None:
    """A copy of `module` with every parameter re-drawn by its layer's own initialiser, seeded.

    None when some module holds parameters but has no `reset_parameters` (it cannot be re-drawn).
    The global torch RNG is left as it was.
    """
    owners = [m for m in module.modules() if next(m.parameters(recurse=False), None) is not None]
    if any(not callable(getattr(m, "reset_parameters", None)) for m in owners):
        return None
    devices = [p.device for p in module.parameters() if p.device.type == "cuda"]
    # Outside inference mode: a copy made inside it would hold tensors no initialiser may write.
    with torch.inference_mode(False), torch.no_grad(), torch.random.fork_rng(devices=devices[:1]):
        clone = copy.deepcopy(module)
        torch.manual_seed(seed)
        for m in clone.modules():
            if next(m.parameters(recurse=False), None) is not None:
                m.reset_parameters()
    return clone


def _probe_r2(features: np.ndarray, truth: np.ndarray) -> float:
    """Ridge probe fit on the first half of the probe, R^2 on the second (later, unseen) half.

    Variables that never vary in the first half are left out: nothing can be learnt about them
    (a probe shorter than a season sees one season until its last frames), and their slightly
    negative R^2 would only shift the value and its floor alike. NaN when none is left.
    """
    if not np.isfinite(features).all():
        return math.nan  # numpy's least squares would raise; the key is left out
    half = len(features) // 2
    varies = truth[:half].std(axis=0) > 0
    if not varies.any():
        return math.nan
    truth = truth[:, varies]
    return linear_probe_r2(features[:half], truth[:half], features[half:], truth[half:])


# ----------------------------------------------------------------------------------------------
# Helpers.


def forward_with_activations(module: nn.Module, inputs: Tensor) -> tuple[Tensor, list[Tensor]]:
    """module(inputs) in chunks, and the output of every activation module it called.

    Activation modules are those whose outputs are hidden units by `plasticity.is_activation`,
    so dormancy is measured on the units that the plasticity interventions reset. Activations
    called as functions (`F.silu`) have no module to hook and are not seen; no network measured
    here calls one.

    Returns the output (N, ...) and one (N, units) tensor per activation call, in call order.
    Convolutional activations (N, C, ...) are reduced to one unit per channel by their mean
    absolute value, the channel-wise dormancy of Sokar et al. (2023).
    """
    calls: list[Tensor] = []

    def record(_module: nn.Module, _args: Any, output: Tensor) -> None:
        calls.append(output if output.dim() == 2 else output.abs().flatten(2).mean(dim=2))

    handles = [m.register_forward_hook(record) for m in module.modules() if is_activation(m)]
    outputs: list[Tensor] = []
    layers: list[list[Tensor]] = []
    try:
        for chunk in inputs.split(CHUNK):
            calls.clear()
            outputs.append(module(chunk))
            if not layers:
                layers = [[] for _ in calls]
            for layer, activation in zip(layers, calls, strict=True):
                layer.append(activation)
    finally:
        for handle in handles:
            handle.remove()
    return torch.cat(outputs), [torch.cat(layer) for layer in layers]


def _chunked(fn: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    return torch.cat([fn(chunk) for chunk in inputs.split(CHUNK)])


def _effective_rank(features: Tensor) -> float:
    """`effective_rank` of (N, D) features, handed over as the (D, D) R of their QR factors.

    R has the same singular values as the features (Q is orthonormal), so erank is unchanged,
    but numpy's SVD then runs on D x D instead of N x D: on a busy two-core machine a 1024 x 64
    SVD in numpy's threaded LAPACK took 11 ms (median, tails to 0.6 s), 64 x 64 about 1 ms.
    """
    if not torch.isfinite(features).all():
        return math.nan  # numpy's SVD would raise; the key is left out
    if features.shape[0] <= features.shape[1]:
        return effective_rank(features.double().cpu().numpy())
    r = torch.linalg.qr(features.double(), mode="r")[1]
    return effective_rank(r.cpu().numpy())


def _mean_dormant(layers: list[Tensor]) -> float:
    return float(np.mean([dormant_fraction(layer.cpu().numpy()) for layer in layers]))
