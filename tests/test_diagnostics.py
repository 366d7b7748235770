from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import TINY, train_a_alone
from torch import nn

from lifelong.agent import Agent
from lifelong.agents import build_agent
from lifelong.config import Config
from lifelong.diagnostics import (
    HORIZONS,
    ProbeSet,
    collect_probe,
    diagnose,
    forward_with_activations,
    k_step_error_ratios,
    randomly_initialised,
)
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.plasticity import UnitUtility
from lifelong.systems.action import value_net
from lifelong.systems.observation import ConvEncoder, SystemA, make_encoder
from lifelong.worlds import make_world
from lifelong.worlds.nursery import Nursery

A_KEYS = {
    "diag_error_ratio_k1",
    "diag_error_ratio_k2",
    "diag_error_ratio_k4",
    "diag_error_ratio_k8",
    "diag_probe_r2",
    "diag_probe_r2_floor",
    "diag_erank_a",
    "diag_dormant_a",
}
B_KEYS = {"diag_dormant_b", "diag_erank_b"}


@pytest.fixture(scope="module")
def nursery_probe() -> ProbeSet:
    return collect_probe("nursery-small", seed=0, steps=256)


def parts(a=None, b=None, b_input=None) -> SimpleNamespace:
    """What `diagnose` reads of a mind: its systems, B's input and the device."""
    return SimpleNamespace(a=a, b=b, b_input=b_input, device="cpu")


@pytest.fixture
def agent() -> Agent:
    world = make_world("nursery-small")
    try:
        return build_agent(
            Config(seed=3), world.observation_space, world.action_space, Genome(**TINY)
        )
    finally:
        world.close()


# --- Probes -----------------------------------------------------------------------------------
def test_nursery_probe_is_deterministic_and_shaped():
    probe = collect_probe("nursery-small", seed=0, steps=64)
    again = collect_probe("nursery-small", seed=0, steps=64)
    other = collect_probe("nursery-small", seed=1, steps=64)
    assert probe.obs.shape == (64, 5, 5, len(Nursery.CHANNELS))
    assert probe.obs.dtype == np.float32 and probe.action.dtype == np.int64
    assert probe.first.dtype == bool and probe.first.shape == (64,)
    assert probe.first[0] and not probe.first[1:].any()  # a continuing world: one stream
    assert probe.action[0] == 0 and set(probe.action[1:]) <= set(range(6))
    assert len(set(probe.action[1:].tolist())) > 3  # random behaviour, not one repeated action
    assert set(probe.truth_names) == {"y", "x", "energy", "season", "night"}
    assert probe.truth.shape == (64, 5) and probe.truth.dtype == np.float32
    for field in ("obs", "action", "first", "truth"):
        np.testing.assert_array_equal(getattr(probe, field), getattr(again, field))
    assert not np.array_equal(probe.obs, other.obs)
    assert len(probe) == 64


def test_gym_probe_resets_after_episodes_and_has_no_truth():
    probe = collect_probe("gym:CartPole-v1", seed=5, steps=300)
    again = collect_probe("gym:CartPole-v1", seed=5, steps=300)
    np.testing.assert_array_equal(probe.obs, again.obs)
    np.testing.assert_array_equal(probe.first, again.first)
    assert probe.obs.shape == (300, 4)
    assert probe.truth is None and probe.truth_names == []
    starts = np.flatnonzero(probe.first)
    assert starts[0] == 0 and len(starts) > 3  # random CartPole episodes last ~20 steps
    assert (probe.action[starts] == 0).all()
    # CartPole starts every episode with all four state values within 0.05 of zero.
    assert np.abs(probe.obs[starts]).max() <= 0.05
    assert np.abs(probe.obs[starts[1:] - 1]).max() > 0.2  # the frame before a reset ended one


def test_probe_is_seeded_apart_from_the_life_stream():
    world = make_world("gym:CartPole-v1")
    life_start, _ = world.reset(seed=3)
    world.close()
    assert not np.allclose(collect_probe("gym:CartPole-v1", seed=3, steps=2).obs[0], life_start)


@pytest.mark.parametrize("kwargs", [dict(seed=0, steps=1), dict(seed=-1), dict(seed=1.5)])
def test_probe_rejects_bad_arguments(kwargs):
    with pytest.raises(UserError, match="probe"):
        collect_probe("nursery-small", **kwargs)


# --- k-step error ratio -----------------------------------------------------------------------
def members(*increments: float):
    """A fake ensemble: member m moves every latent by increments[m] * action per step."""
    inc = torch.tensor(increments).view(-1, 1, 1)

    def predict(z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z.unsqueeze(0).expand(len(increments), -1, -1)
        return z + inc * action.view(1, -1, 1).float()

    return predict


def line_world(n: int, resets: tuple[int, ...] = ()):
    """1-D latents moved by each frame's action; a reset jumps far away (first frames)."""
    action = torch.tensor([0] + [1 + (i % 3) for i in range(n - 1)])
    first = torch.zeros(n, dtype=torch.bool)
    first[[0, *resets]] = True
    z = torch.cumsum(action.float(), 0)
    for r in resets:
        z[r:] += 1000.0
    z = z.unsqueeze(1)
    action[first] = 0
    return z, action, first


def test_k_step_ratio_hand_computed():
    z, action, first = line_world(40)
    # Members moving 1x and 2x the true step: mean 1.5x, error (0.5 d)^2 vs copy-last d^2.
    ratios = k_step_error_ratios(members(1.0, 2.0), z, z, action, first)
    assert ratios == {k: pytest.approx(0.25) for k in (1, 2, 4, 8)}
    # The mean of the members' errors would be ((0)^2 + (1 d)^2) / 2 = 0.5: not what is asked.
    exact = k_step_error_ratios(members(1.0, 1.0), z, z, action, first)
    assert exact == {k: pytest.approx(0.0) for k in (1, 2, 4, 8)}
    copy = k_step_error_ratios(members(0.0, 0.0), z, z, action, first)
    assert copy == {k: pytest.approx(1.0) for k in (1, 2, 4, 8)}


def test_k_step_ratio_stays_within_streams():
    # An exact model is exact only if no start is rolled across a reset (a jump of 1000).
    z, action, first = line_world(23, resets=(7, 15))  # streams of 7, 8 and 8 frames
    ratios = k_step_error_ratios(members(1.0), z, z, action, first)
    assert ratios == {1: 0.0, 2: 0.0, 4: 0.0}  # no start has 8 more frames in its stream
    z, action, first = line_world(24, resets=(7, 15))  # the last stream has 9 frames
    assert k_step_error_ratios(members(1.0), z, z, action, first) == dict.fromkeys(HORIZONS, 0.0)


# --- diagnose ---------------------------------------------------------------------------------
def test_diagnose_a_fresh_agent(agent, nursery_probe):
    params = [p.clone() for p in [*agent.mind.a.parameters(), *agent.mind.b.parameters()]]
    rng = torch.get_rng_state()
    values = diagnose(agent.mind, nursery_probe)
    assert set(values) == A_KEYS | B_KEYS
    assert all(np.isfinite(v) and isinstance(v, float) for v in values.values())
    # A's rollouts start from the online embedding and end at the target one, on the probe's
    # own actions and stream starts: the same ratios as asked of k_step_error_ratios directly.
    a, obs = agent.mind.a, torch.as_tensor(nursery_probe.obs)
    with torch.no_grad():
        expected = k_step_error_ratios(
            a.predictor,
            a.encoder(obs),
            a.embed(obs),
            torch.as_tensor(nursery_probe.action),
            torch.as_tensor(nursery_probe.first),
        )
    assert set(expected) == set(HORIZONS)
    ratios = {k: values[f"diag_error_ratio_k{k}"] for k in HORIZONS}
    assert ratios == pytest.approx(expected, rel=1e-5)
    # An untrained model does worse than copying the last frame, and the further it rolls the
    # worse (seeds 0-3: k1 1.8-3.2, k8 29-63).
    assert 1 < ratios[1] < ratios[2] < ratios[4] < ratios[8]
    assert values["diag_probe_r2"] <= 1 and values["diag_probe_r2_floor"] <= 1
    assert 1.0 <= values["diag_erank_a"] <= TINY["latent_dim"]
    assert 1.0 <= values["diag_erank_b"] <= TINY["q_hidden"]
    assert 0.0 <= values["diag_dormant_a"] <= 1 and 0.0 <= values["diag_dormant_b"] <= 1
    # A measurement: nothing learns, no randomness is drawn, the same agent measures the same.
    assert all(
        torch.equal(p, q)
        for p, q in zip(
            params, [*agent.mind.a.parameters(), *agent.mind.b.parameters()], strict=True
        )
    )
    assert torch.equal(torch.get_rng_state(), rng)
    assert diagnose(agent.mind, nursery_probe) == values
    assert len(nursery_probe.cache) == 1  # the floor, computed once


def test_diagnose_leaves_out_what_it_cannot_compute(agent, nursery_probe):
    full = diagnose(agent.mind, nursery_probe)
    a_only = diagnose(parts(a=agent.mind.a), nursery_probe)
    assert a_only == {k: v for k, v in full.items() if k in A_KEYS}
    b_only = diagnose(parts(b=agent.mind.b, b_input=agent.mind.b_input), nursery_probe)
    assert b_only == {k: v for k, v in full.items() if k in B_KEYS}
    assert diagnose(parts(), nursery_probe) == {}
    world = make_world("gym:CartPole-v1")
    cartpole = build_agent(Config(), world.observation_space, world.action_space, Genome(**TINY))
    world.close()
    values = diagnose(cartpole.mind, collect_probe("gym:CartPole-v1", seed=0, steps=128))
    assert set(values) == (A_KEYS | B_KEYS) - {"diag_probe_r2", "diag_probe_r2_floor"}


def vector_probe(n: int = 400) -> ProbeSet:
    """Vector observations whose truth is a linear function of them, and a variable that only
    changes late in the probe (like a season), which the probe's first half cannot teach."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, 6)).astype(np.float32)
    late = (np.arange(n) >= n - 20).astype(float)
    truth = np.stack([obs[:, 0] - 2 * obs[:, 1], 3 * obs[:, 2], late], axis=1)
    first = np.zeros(n, dtype=bool)
    first[0] = True
    return ProbeSet(
        obs=obs,
        action=rng.integers(0, 3, n),
        first=first,
        truth=truth.astype(np.float32),
        truth_names=["a", "b", "late"],
    )


def test_probe_r2_near_one_when_the_embedding_holds_the_truth_linearly():
    probe = vector_probe()
    torch.manual_seed(0)
    a = SystemA((6,), 3, Genome(**TINY))
    a.target_encoder = nn.Linear(6, TINY["latent_dim"])
    with torch.no_grad():
        a.target_encoder.weight.zero_()
        a.target_encoder.weight[:6].copy_(torch.eye(6))
        a.target_encoder.bias.zero_()
    values = diagnose(parts(a=a), probe)
    assert values["diag_probe_r2"] == pytest.approx(1.0, abs=1e-4)  # "late" is left out
    assert values["diag_erank_a"] == pytest.approx(6.0, abs=0.05)  # six equal-scale directions


def test_constant_encoder_is_collapsed_and_all_dormant():
    probe = vector_probe()
    a = SystemA((6,), 3, Genome(**TINY))
    dead = nn.Linear(6, 8)
    with torch.no_grad():
        dead.weight.zero_()
        dead.bias.fill_(-1.0)  # ReLU(-1) = 0 for every input
    a.encoder = nn.Sequential(dead, nn.ReLU(), nn.Linear(8, TINY["latent_dim"]))
    a.target_encoder = a.encoder
    values = diagnose(parts(a=a), probe)
    assert values["diag_dormant_a"] == 1.0
    assert values["diag_erank_a"] == pytest.approx(1.0)  # every row the same vector: rank one
    # Copy-last is exact on a constant embedding, so no ratio is defined; nothing is decodable.
    assert not any(k.startswith("diag_error_ratio") for k in values)
    assert values["diag_probe_r2"] <= 0.0


# --- Helpers ----------------------------------------------------------------------------------
def test_activation_hooks_see_conv_channels_and_are_removed():
    torch.manual_seed(0)
    encoder = ConvEncoder((5, 5, 4), latent_dim=8, channels=16)
    obs = torch.rand(300, 5, 5, 4)  # more than one chunk
    with torch.inference_mode():
        out, layers = forward_with_activations(encoder, obs)
        expected = encoder(obs)
    torch.testing.assert_close(out, expected)
    assert [layer.shape for layer in layers] == [(300, 16), (300, 16)]  # one unit per channel
    # One unit per channel: the mean absolute activation over the channel's positions.
    with torch.inference_mode():
        first = encoder.conv[1](encoder.conv[0](obs.permute(0, 3, 1, 2)))  # (300, 16, 3, 3)
        second = encoder.conv[3](encoder.conv[2](first))  # (300, 16, 1, 1)
    torch.testing.assert_close(layers[0], first.abs().mean(dim=(2, 3)))
    torch.testing.assert_close(layers[1], second.abs().mean(dim=(2, 3)))
    assert all(not m._forward_hooks for m in encoder.modules())


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: make_encoder((6,), 8, 16), (6,)),  # Linear, LayerNorm, SiLU, Linear
        (lambda: value_net(8, 16, 4), (8,)),  # B's Q: two hidden layers
        (lambda: make_encoder((5, 5, 4), 8, 16), (5, 5, 4)),  # conv, conv, Flatten, Linear
        # Softsign is elementwise, so its outputs are hidden units; Softmax's are not.
        (
            lambda: nn.Sequential(nn.Linear(6, 8), nn.Softsign(), nn.Linear(8, 3), nn.Softmax(-1)),
            (6,),
        ),
    ],
    ids=["mlp_encoder", "value_net", "conv_encoder", "softsign"],
)
def test_dormancy_is_measured_on_the_units_plasticity_resets(make, shape):
    """diagnostics and plasticity share one definition of a hidden unit (is_activation): on
    these networks each layer diagnostics records is a layer that plasticity tracks, in the same
    order, with the same mean |h| per unit (per channel of a convolution)."""
    torch.manual_seed(0)
    net, x = make(), torch.randn(40, *shape)
    tracker = UnitUtility(net, (x[:1],), decay=0.5)
    with torch.no_grad():
        _, layers = forward_with_activations(net, x)  # one chunk: one observation per layer
    assert tracker.skipped == [] and len(tracker.layers) == len(layers) > 0
    for unit_layer, activation in zip(tracker.layers, layers, strict=True):
        stats = tracker.stats[unit_layer.name]
        assert stats.observations == 1
        torch.testing.assert_close(
            stats.debiased(stats.mean_abs, tracker.decay)[0], activation.abs().mean(dim=0)
        )
    tracker.detach()


def test_randomly_initialised_copies_are_seeded_and_leave_the_rng_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.SiLU(), nn.Linear(8, 2))
    rng = torch.get_rng_state()
    one, two = randomly_initialised(net, 7), randomly_initialised(net, 7)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(p, q) for p, q in zip(one.parameters(), two.parameters(), strict=True))
    assert not torch.equal(one[0].weight, net[0].weight)
    assert not torch.equal(randomly_initialised(net, 8)[0].weight, one[0].weight)

    class Raw(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(3))

    assert randomly_initialised(Raw(), 7) is None


def test_training_a_improves_its_diagnostics():
    """A short bout of SystemA.update on Nursery data beats the newborn on held-out frames."""
    torch.manual_seed(0)
    genome = Genome(**TINY)
    probe = collect_probe("nursery-small", seed=0, steps=512)
    train = collect_probe("nursery-small", seed=1, steps=2048)
    a = SystemA(probe.obs.shape[1:], 6, genome)
    agent = parts(a=a)
    birth = diagnose(agent, probe)
    obs, action = torch.as_tensor(train.obs), torch.as_tensor(train.action)
    length = genome.horizon + 1
    rng = np.random.default_rng(0)
    for _ in range(150):  # one stream (the Nursery never resets), so every window is alive
        index = torch.as_tensor(rng.integers(1, len(obs) - length, 32))[:, None]
        index = index + torch.arange(length)
        batch_obs = obs[index]
        alive = torch.ones(32, length - 1)
        train_a_alone(a, batch_obs, action[index], alive)
    after = diagnose(agent, probe)
    assert after["diag_error_ratio_k1"] < 0.5 * birth["diag_error_ratio_k1"]
    assert after["diag_error_ratio_k4"] < 0.5 * birth["diag_error_ratio_k4"]
    # The probe R^2 is not asserted: JEPA training need not make every truth variable more
    # decodable early on (with the default genome it dips below birth before it recovers).
    assert after["diag_probe_r2_floor"] == birth["diag_probe_r2_floor"]  # a property of the probe
