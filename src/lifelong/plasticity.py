"""Plasticity interventions that System M can trigger: unit resets, shrink-and-perturb, LR boosts.

Networks trained on a stream that keeps changing lose the ability to learn: units die or go
dormant, weights grow, features collapse (Dohare et al. 2024, "Loss of plasticity in deep
continual learning"). Three cheap remedies, each a drop-in that needs no change to the networks:

- `UnitUtility` + `reinitialize_units`: selective reinitialisation, as in continual backprop.
  Forward hooks keep a running estimate of every hidden unit's contribution utility,
  E|h_i| x sum_k |w_ki| (its mean activation size times the size of its outgoing weights); on
  command the least useful mature units get fresh incoming weights and zero outgoing weights, so
  they can learn something new without disturbing what the network computes now.
- `shrink_and_perturb`: w <- shrink * w + noise * fresh_init (Ash & Adams 2020), a whole-network
  nudge back towards the initial distribution.
- `LearningRateBoost`: a temporary learning-rate multiplier that decays back to 1, M's "learn
  faster now" after a detected change.

Hidden units are found by running the network once on example inputs and reading the order in
which its leaf modules are called, so one mechanism covers `nn.Sequential` MLPs, modules that
call their layers from `forward` (the ConvEncoder's convolutions feeding a Linear head through
`nn.Flatten`) and functional activations (the PredictorEnsemble's `F.silu` between
EnsembleLinear layers, recognised by checking the next layer's input against known activation
functions). A chain that does not match is skipped, with the reason kept in `skipped`. Which
modules' outputs are hidden units at all is `is_activation`, the package's one definition:
diagnostics.py measures dormancy and effective rank on the same units.

Everything random takes a `torch.Generator`; all state is tensors and floats in plain dicts, so it
goes through `torch.save(..., weights_only=True)` checkpoints.

This module stays over 600 lines because finding a network's hidden units, measuring their
utility and resetting them all work on one description of a layer of units (`UnitLayer`: the
layer that computes them, the one that reads them, how their weights are laid out); split apart,
each part would reach into the others' private layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ----------------------------------------------------------------------------------------------
# Finding hidden units.

# Elementwise activations a network may call as functions rather than modules, tried in turn on
# the output of a layer to see whether it is what the next layer reads.
FUNCTIONAL_ACTIVATIONS: tuple[Callable[[Tensor], Tensor], ...] = (
    F.silu,
    F.relu,
    F.gelu,
    torch.tanh,
    torch.sigmoid,
    F.elu,
    F.leaky_relu,
    F.softplus,
    F.mish,
    F.hardswish,
    F.relu6,
)
# Modules of torch.nn.modules.activation that are not elementwise, so their outputs are no units.
NOT_ELEMENTWISE = (
    nn.Softmax,
    nn.LogSoftmax,
    nn.Softmin,
    nn.Softmax2d,
    nn.GLU,
    nn.MultiheadAttention,
)
# Modules that may sit between an activation and the next layer without changing unit values.
PASS_THROUGH = (nn.Dropout, nn.Identity)
# True while `find_unit_layers` runs its probe pass: trackers already attached ignore it, so
# making a second tracker does not feed the first one the example inputs.
_probing = False


def layer_kind(module: nn.Module) -> str | None:
    """'linear', 'conv' or 'ensemble' for a layer whose hidden units can be reset, else None.

    'ensemble' is a batched linear layer with weight (members, in, out) and bias
    (members, 1, out), like System A's EnsembleLinear; recognised by shape so that this module
    does not import the systems that will use it.
    """
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        return "conv"
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    if (
        isinstance(weight, nn.Parameter)
        and isinstance(bias, nn.Parameter)
        and weight.dim() == 3
        and bias.dim() == 3
        and bias.shape[1] == 1
        and bias.shape[0] == weight.shape[0]
        and bias.shape[2] == weight.shape[2]
    ):
        return "ensemble"
    return None


def is_activation(module: nn.Module) -> bool:
    """Whether the outputs of `module` are hidden units: it is an elementwise activation.

    The one definition of a hidden unit, shared by the unit resets here (an activation between
    two weight layers, see `find_unit_layers`) and by diagnostics.py's dormancy and effective
    rank (every activation module a network calls), so both speak of the same units. Every
    class of torch.nn.modules.activation counts except those in NOT_ELEMENTWISE, so no list of
    torch's activations has to be kept up to date; classes defined elsewhere, subclasses of
    torch's included, do not (their `forward` could compute anything).
    """
    return type(module).__module__ == "torch.nn.modules.activation" and not isinstance(
        module, NOT_ELEMENTWISE
    )


@dataclass(eq=False)
class UnitLayer:
    """One layer of hidden units: the layer that computes them and the layer that reads them.

    incoming -> [norm] -> activation -> [Flatten] -> outgoing. `members` independent copies of
    `units` units each (an ensemble's members; 1 otherwise); `spatial` is how many inputs of the
    outgoing Linear each unit feeds after a Flatten of a convolution's map (1 otherwise).
    """

    name: str
    kind: str  # of incoming: 'linear', 'conv' or 'ensemble'
    incoming: nn.Module
    outgoing: nn.Module
    norm: nn.LayerNorm | None
    members: int
    units: int
    spatial: int


@dataclass(eq=False)
class _Call:
    name: str
    module: nn.Module
    input: Tensor | None
    output: Tensor


def find_unit_layers(module: nn.Module, *example_inputs: Any) -> tuple[list[UnitLayer], list[str]]:
    """The hidden-unit layers of `module`, found from one forward pass on `example_inputs`.

    Returns the layers in call order and, for each pair of consecutive weight layers that was not
    taken, why (so nothing is skipped silently). Taken: Linear, Conv and ensemble layers
    followed by an optional LayerNorm, an elementwise activation (module or function), optional
    Dropout/Identity and an optional Flatten, then the next weight layer reading exactly that.
    """
    names = {m: n for n, m in module.named_modules()}
    calls: list[_Call] = []

    def record(m: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        first = args[0] if args and isinstance(args[0], Tensor) else None
        if isinstance(output, Tensor):
            calls.append(_Call(names[m], m, first, output))

    global _probing
    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(record) for m in leaves]
    probing, _probing = _probing, True
    try:
        with torch.no_grad():
            module(*example_inputs)
    finally:
        _probing = probing
        for handle in handles:
            handle.remove()

    weighted = [i for i, call in enumerate(calls) if layer_kind(call.module) is not None]
    times: dict[nn.Module, int] = {}
    for i in weighted:
        times[calls[i].module] = times.get(calls[i].module, 0) + 1
    layers: list[UnitLayer] = []
    skipped: list[str] = []
    for p, q in zip(weighted, weighted[1:], strict=False):
        prev, nxt = calls[p], calls[q]
        if times[prev.module] > 1 or times[nxt.module] > 1:
            skipped.append(f"{prev.name} -> {nxt.name}: a layer is called more than once")
            continue
        layer_or_reason = _match_chain(prev, calls[p + 1 : q], nxt)
        if isinstance(layer_or_reason, str):
            skipped.append(f"{prev.name} -> {nxt.name}: {layer_or_reason}")
        else:
            layers.append(layer_or_reason)
    return layers, skipped


def _match_chain(prev: _Call, between: list[_Call], nxt: _Call) -> UnitLayer | str:
    """A UnitLayer if prev -> between -> nxt is a chain of hidden units, else the reason not."""
    kind, next_kind = layer_kind(prev.module), layer_kind(nxt.module)
    assert kind is not None and next_kind is not None
    weight = prev.module.weight
    members, units = (weight.shape[0], weight.shape[2]) if kind == "ensemble" else (1, len(weight))
    rest = list(between)
    norm = None
    if rest and isinstance(rest[0].module, nn.LayerNorm):
        norm = rest.pop(0).module
        if kind != "linear" or tuple(norm.normalized_shape) != (units,):
            return "a LayerNorm that does not normalise over the units alone"
    activation = rest.pop(0) if rest and is_activation(rest[0].module) else None
    while rest and isinstance(rest[0].module, PASS_THROUGH):
        rest.pop(0)
    flatten = rest.pop(0).module if rest and isinstance(rest[0].module, nn.Flatten) else None
    if rest:
        return "unsupported modules in between: " + ", ".join(c.name for c in rest)
    if nxt.input is None:
        return "the next layer's input was not seen"
    last = between[-1].output if between else prev.output
    if activation is None:
        if last.shape == nxt.input.shape and torch.equal(last, nxt.input):
            return "no activation in between"
        if not any(_same(f(last), nxt.input) for f in FUNCTIONAL_ACTIVATIONS):
            return "the next layer does not read an elementwise activation of this one"
    elif not _same(last, nxt.input):
        return "the next layer does not read the activation directly"

    spatial = 1
    if kind == "conv" and next_kind == "linear":
        if flatten is None or flatten.start_dim != 1 or flatten.end_dim != -1:
            return "a convolution read by a Linear without nn.Flatten()"
        spatial = math.prod(prev.output.shape[2:])
    elif flatten is not None:
        return "a Flatten after a non-convolutional layer"
    if kind == "ensemble":
        if next_kind != "ensemble" or nxt.module.weight.shape[:2] != (members, units):
            return "ensemble layers of mismatched shapes"
    elif next_kind == "linear":
        if nxt.module.in_features != units * spatial:
            return "the next Linear does not read exactly these units"
    elif next_kind == "conv":
        if kind != "conv" or nxt.module.in_channels != units or nxt.module.groups != 1:
            return "the next convolution does not read exactly these channels"
    else:
        return f"a {kind} layer read by an ensemble layer"
    return UnitLayer(prev.name, kind, prev.module, nxt.module, norm, members, units, spatial)


def _same(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def _units_last(layer: UnitLayer, x: Tensor) -> Tensor:
    """The outgoing layer's input as (members, samples, units): one row per observation."""
    if layer.kind == "ensemble":
        return x
    if layer.kind == "conv":
        if layer.spatial > 1 or x.dim() == 2:  # flattened map (N, C * S)
            x = x.reshape(x.shape[0], layer.units, -1)
        else:
            x = x.flatten(2)  # (N, C, S)
        return x.transpose(1, 2).reshape(1, -1, layer.units)
    return x.reshape(1, -1, layer.units)


def _outgoing_magnitude(layer: UnitLayer) -> Tensor:
    """Sum of |outgoing weights| of each unit: (members, units)."""
    w = layer.outgoing.weight.detach().abs()
    if layer.kind == "ensemble":
        return w.sum(dim=2)  # (K, H, out)
    if isinstance(layer.outgoing, nn.Linear):
        return w.view(w.shape[0], layer.units, layer.spatial).sum(dim=(0, 2)).unsqueeze(0)
    return w.transpose(0, 1).flatten(1).sum(dim=1).unsqueeze(0)  # conv (O, C, k...)


# ----------------------------------------------------------------------------------------------
# Utility tracking.


@dataclass(eq=False)
class _Stats:
    """Running means of one layer's units, kept as EMAs from zero plus each unit's birth.

    The hook then touches no per-unit counter: a unit's age is `observations - birth`, and the
    bias of an EMA started at zero is divided out when read (as in Adam).
    """

    mean_abs: Tensor  # (members, units) EMA of |h|
    mean: Tensor  # (members, units) EMA of h: what a reset unit's bias transfer adds
    birth: Tensor  # (members, units) value of `observations` when the unit was (re)born
    observations: int = 0  # updates of the EMAs
    calls: int = 0  # hook calls while tracking (every `every`-th one updates)

    def age(self) -> Tensor:
        return self.observations - self.birth

    def debiased(self, ema: Tensor, decay: float) -> Tensor:
        """The EMA divided by its weight 1 - decay^age; 0 for a unit never observed."""
        weight = 1.0 - torch.pow(decay, self.age())
        return torch.where(weight > 0, ema / weight.clamp(min=1e-12), torch.zeros_like(ema))


class UnitUtility:
    """Running contribution utility of every hidden unit of `module`, fed by forward hooks.

    A pre-hook on each layer that reads hidden units sees exactly the units' activations (its
    input), so it needs no extra forward work: when tracking, every `every`-th call it reduces
    the batch to per-unit means of |h| and h and folds them into EMAs with `decay` (two to four
    small tensor operations per layer). The EMAs are debiased per unit when read, so a newly
    reset unit's estimate is not pulled towards zero.

    The utility itself, mean|h| x sum|outgoing weights|, is formed on demand from the current
    weights: continual backprop averages the product at every step, but weights move slowly,
    and taking them now keeps the hooks to two reductions per layer.

    Set `track` False (or `detach()`) while acting if the hooks are not wanted there; the
    hooks then cost one Python call per layer, or nothing once detached.
    """

    def __init__(
        self,
        module: nn.Module,
        example_inputs: tuple[Any, ...],
        decay: float = 0.99,
        every: int = 1,
    ) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.module = module
        self.decay, self.every, self.track = decay, every, True
        self.layers, self.skipped = find_unit_layers(module, *example_inputs)
        self.stats: dict[str, _Stats] = {}
        for layer in self.layers:
            like = layer.incoming.weight
            shape = (layer.members, layer.units)
            zeros = [torch.zeros(shape, dtype=like.dtype, device=like.device) for _ in range(3)]
            self.stats[layer.name] = _Stats(*zeros)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self.attach()

    def attach(self) -> None:
        """Register the hooks (done at construction; a no-op when already attached)."""
        if self._handles:
            return
        for layer in self.layers:
            hook = self._hook_for(layer, self.stats[layer.name])
            self._handles.append(layer.outgoing.register_forward_pre_hook(hook))

    def detach(self) -> None:
        """Remove the hooks: no overhead at all until `attach()`; the estimates are kept."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook_for(self, layer: UnitLayer, stats: _Stats) -> Callable[[nn.Module, tuple], None]:
        def hook(_module: nn.Module, args: tuple) -> None:
            if not self.track or _probing:
                return
            stats.calls += 1
            if stats.calls % self.every:
                return
            # Detached inputs and buffers without grad: nothing is recorded for autograd.
            h = _units_last(layer, args[0].detach())
            h = h[:, 0] if h.shape[1] == 1 else h  # acting: one sample, nothing to average
            mean_abs, mean = (h.abs(), h) if h.dim() == 2 else (h.abs().mean(1), h.mean(1))
            torch._foreach_lerp_([stats.mean_abs, stats.mean], [mean_abs, mean], 1.0 - self.decay)
            stats.observations += 1

        return hook

    def utility(self) -> dict[str, Tensor]:
        """Contribution utility per layer name: (members, units), 0 for a unit never observed."""
        with torch.no_grad():
            return {
                layer.name: self.stats[layer.name].debiased(
                    self.stats[layer.name].mean_abs, self.decay
                )
                * _outgoing_magnitude(layer)
                for layer in self.layers
            }

    def state_dict(self) -> dict[str, Tensor]:
        """Flat dict of tensors (`torch.save(..., weights_only=True)`-safe)."""
        state: dict[str, Tensor] = {}
        for name, stats in self.stats.items():
            state[f"{name}.mean_abs"] = stats.mean_abs.clone()
            state[f"{name}.mean"] = stats.mean.clone()
            state[f"{name}.birth"] = stats.birth.clone()
            state[f"{name}.observations"] = torch.tensor(stats.observations)
            state[f"{name}.calls"] = torch.tensor(stats.calls)
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(
                f"unit utility state does not fit this network: missing "
                f"{sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}"
            )
        for name, stats in self.stats.items():
            for field in ("mean_abs", "mean", "birth"):
                getattr(stats, field).copy_(state[f"{name}.{field}"])
            stats.observations = int(state[f"{name}.observations"])
            stats.calls = int(state[f"{name}.calls"])


# ----------------------------------------------------------------------------------------------
# Interventions.


def _fresh(param: Tensor, fan_in: int, generator: torch.Generator | None) -> Tensor:
    """A sample of PyTorch's default init for Linear/Conv weights and biases (and System A's
    EnsembleLinear): uniform in +-1/sqrt(fan_in). (kaiming_uniform_ with a = sqrt(5) is exactly
    this bound; drawing it directly lets a generator make it reproducible.)"""
    bound = 1.0 / math.sqrt(fan_in)
    out = torch.empty_like(param, memory_format=torch.contiguous_format)
    return out.uniform_(-bound, bound, generator=generator)


def _fan_in(module: nn.Module, kind: str) -> int:
    weight = module.weight
    return weight.shape[1] if kind == "ensemble" else weight[0].numel()


def _unit_masks(layer: UnitLayer, chosen: Tensor) -> Iterator[tuple[str, nn.Parameter, Tensor]]:
    """(role, parameter, bool mask of the entries that belong to the chosen units)."""
    incoming, outgoing = layer.incoming, layer.outgoing
    if layer.kind == "ensemble":
        yield "in", incoming.weight, chosen.unsqueeze(1).expand_as(incoming.weight)
        yield "in", incoming.bias, chosen.unsqueeze(1)
        yield "out", outgoing.weight, chosen.unsqueeze(2).expand_as(outgoing.weight)
        return
    row = chosen[0]
    w = incoming.weight
    yield "in", w, row.view(-1, *[1] * (w.dim() - 1)).expand_as(w)
    if incoming.bias is not None:
        yield "in", incoming.bias, row
    if layer.norm is not None and layer.norm.weight is not None:
        yield "norm_weight", layer.norm.weight, row
    if layer.norm is not None and layer.norm.bias is not None:
        yield "norm_bias", layer.norm.bias, row
    w = outgoing.weight
    if isinstance(outgoing, nn.Linear):
        yield "out", w, row.repeat_interleave(layer.spatial).unsqueeze(0).expand_as(w)
    else:
        yield "out", w, row.view(1, -1, *[1] * (w.dim() - 2)).expand_as(w)


def _transfer_mean(layer: UnitLayer, chosen: Tensor, mean: Tensor) -> None:
    """Add the chosen units' mean contribution to the outgoing bias (continual backprop's bias
    correction): with their outgoing weights zeroed, the next layer's output is unchanged on
    average, and exactly for units whose activation is constant (dead or saturated)."""
    out = layer.outgoing
    if out.bias is None:
        return
    removed = mean * chosen  # (members, units)
    if layer.kind == "ensemble":
        out.bias.add_(torch.bmm(removed.unsqueeze(1), out.weight))  # (K,1,H) @ (K,H,out)
    elif isinstance(out, nn.Linear):
        out.bias.add_(out.weight @ removed[0].repeat_interleave(layer.spatial))
    else:  # conv: every output position sums the kernel over a constant input channel
        out.bias.add_(out.weight.flatten(2).sum(dim=2) @ removed[0])


def reinitialize_units(
    module: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    fraction: float,
    utility: UnitUtility,
    *,
    maturity: int = 100,
    generator: torch.Generator | None = None,
    transfer_mean: bool = True,
) -> dict[str, int]:
    """Reset the `fraction` least useful hidden units of every tracked layer of `module`.

    Per layer (per ensemble member), ceil(fraction x units) units (at least one whenever the
    fraction is above 0: floor(0.02 x 16) would leave a 16-channel convolution, and so the
    encoder, untouched by every reset) with the lowest utility among
    those observed at least `maturity` times (fewer if not enough are mature: a just-reset unit
    has zero outgoing weights, hence zero utility, and must get time to prove itself) get:
    incoming weights and bias drawn afresh from the layer's default init, LayerNorm gain and
    shift back to 1 and 0, outgoing weights zero (the new unit adds nothing until it learns,
    so the network's function is not disturbed), and, with `transfer_mean`, their old mean
    contribution moved into the outgoing bias. Their entries of every optimiser state tensor
    shaped like the parameter (Adam's exp_avg, exp_avg_sq, max_exp_avg_sq; SGD's momentum) are
    zeroed, so stale moments do not steer them; `step` is left alone.

    The function is unchanged only up to the removed units' fluctuation around their mean: exact
    for constant units (the dead and dormant ones that plasticity loss produces). Behind a
    LayerNorm (SystemB.q's first hidden layer) it changes slightly more: the norm's mean and
    variance include the fresh unit's pre-activation, so the other units shift a little too.
    Returns the number of units reset per layer name.
    """
    if utility.module is not module:
        raise ValueError("utility tracks a different module")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    state = optimizer.state if optimizer is not None else {}
    scores = utility.utility()
    reset: dict[str, int] = {}
    with torch.no_grad():
        for layer in utility.layers:
            stats = utility.stats[layer.name]
            count = math.ceil(fraction * layer.units - 1e-9)
            mature = stats.age() >= maturity
            score = scores[layer.name].masked_fill(~mature, math.inf)
            order = torch.argsort(score, dim=1, stable=True)[:, :count]
            chosen = torch.zeros_like(mature).scatter_(1, order, True) & mature
            reset[layer.name] = int(chosen.sum())
            if not reset[layer.name]:
                continue
            if transfer_mean:
                _transfer_mean(layer, chosen, stats.debiased(stats.mean, utility.decay))
            fan_in = _fan_in(layer.incoming, layer.kind)
            for role, param, mask in _unit_masks(layer, chosen):
                if role == "in":
                    param.copy_(torch.where(mask, _fresh(param, fan_in, generator), param))
                else:  # outgoing weights and LayerNorm shift to 0, LayerNorm gain to 1
                    param.masked_fill_(mask, 1.0 if role == "norm_weight" else 0.0)
                for key, value in state.get(param, {}).items():
                    if key != "step" and isinstance(value, Tensor) and value.shape == param.shape:
                        value.masked_fill_(mask, 0.0)
            stats.mean_abs.masked_fill_(chosen, 0.0)
            stats.mean.masked_fill_(chosen, 0.0)
            stats.birth.masked_fill_(chosen, float(stats.observations))
    return reset


NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase)


def shrink_and_perturb(
    module: nn.Module, shrink: float, noise: float, generator: torch.Generator | None = None
) -> list[str]:
    """w <- shrink * w + noise * fresh_init for every Linear, Conv and ensemble weight and bias.

    Shrinking pulls grown weights back and the noise restores the diversity of a fresh init
    (Ash & Adams 2020); shrink=1, noise=0 is the identity and shrink=0, noise=1 a fresh init.
    Normalisation layers (LayerNorm, ...) are left as they are: their init is constant (gain 1,
    shift 0), so "noise x fresh init" would only inflate gains, and a LayerNorm already undoes
    the shrink of the layer before it. Optimiser state is not touched. Raises for parameters of
    any other kind of layer rather than skipping them silently; returns the names perturbed.
    """
    perturbed: list[str] = []
    with torch.no_grad():
        for name, sub in module.named_modules():
            own = list(sub.named_parameters(recurse=False))
            if not own or isinstance(sub, NORMS):
                continue
            kind = layer_kind(sub)
            if kind is None:
                raise ValueError(f"shrink_and_perturb does not know how to initialise {name!r}")
            fan_in = _fan_in(sub, kind)
            for pname, param in own:
                param.mul_(shrink).add_(_fresh(param, fan_in, generator), alpha=noise)
                perturbed.append(f"{name}.{pname}" if name else pname)
    return perturbed


class LearningRateBoost:
    """A temporary multiplier on an optimiser's learning rates: M's "learn faster now".

    `start(factor, duration)` multiplies every group's lr by `factor` at once; each `step()`
    (call it after each update) moves the multiplier geometrically back towards 1, reaching the
    base lr exactly after `duration` steps: factor^(1 - t / duration). Geometric, because a
    tenfold boost should spend as long between 10x and 3x as between 3x and 1x; a factor below 1
    is a temporary slow-down. Starting again while boosted replaces the boost (it does not stack)
    and keeps the original base rates.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.factor, self.duration, self.elapsed = 1.0, 0, 0
        self.base_lrs: list[float] = []

    @property
    def active(self) -> bool:
        return self.elapsed < self.duration

    @property
    def multiplier(self) -> float:
        return self.factor ** (1.0 - self.elapsed / self.duration) if self.active else 1.0

    def start(self, factor: float, duration: int) -> None:
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"factor must be a positive number, got {factor}")
        if duration < 0:
            raise ValueError(f"duration must be >= 0, got {duration}")
        if not self.active:
            self.base_lrs = [float(group["lr"]) for group in self.optimizer.param_groups]
        self.factor, self.duration, self.elapsed = float(factor), int(duration), 0
        self._apply()

    def step(self) -> None:
        if self.active:
            self.elapsed += 1
            self._apply()

    def _apply(self) -> None:
        multiplier = self.multiplier
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            lr = base * multiplier if self.active else base  # exactly the base at the end
            if isinstance(group["lr"], Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "duration": self.duration,
            "elapsed": self.elapsed,
            "base_lrs": list(self.base_lrs),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a boost; the optimiser's lrs are set to match when it is still running."""
        self.factor = float(state["factor"])
        self.duration, self.elapsed = int(state["duration"]), int(state["elapsed"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        if self.active:
            self._apply()
