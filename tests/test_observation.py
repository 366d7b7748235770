import pytest
import torch

from lifelong.genome import Genome
from lifelong.systems.observation import (
    PredictorEnsemble,
    SystemA,
    covariance_loss,
    latent_prediction_loss,
    make_encoder,
    variance_loss,
)


def test_variance_loss_penalises_collapse_only():
    torch.manual_seed(0)
    assert variance_loss(torch.zeros(64, 8)) == pytest.approx(1.0, abs=0.02)
    assert variance_loss(3.0 * torch.randn(256, 8)) == 0.0


def test_covariance_loss_hand_computed():
    # Two perfectly correlated dims with variance 1: off-diagonal cov = 1 twice, / D = 2 -> 1.0
    x = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    assert covariance_loss(x / (2**0.5) * (2**0.5)).item() == pytest.approx(4.0)
    assert covariance_loss(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])).item() == 0.0


def test_latent_prediction_loss_respects_the_mask():
    predicted = torch.zeros(2, 3, 2, 4)
    target = torch.ones(3, 2, 4)
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    target[:, 1] = 100.0  # masked out: must not count
    assert latent_prediction_loss(predicted, target, mask).item() == pytest.approx(1.0)


def test_encoder_by_shape():
    image = make_encoder((7, 7, 8), 16, 32)
    vector = make_encoder((5,), 16, 32)
    assert image(torch.zeros(3, 7, 7, 8)).shape == (3, 16)
    assert vector(torch.zeros(3, 5)).shape == (3, 16)
    with pytest.raises(ValueError, match="image"):
        make_encoder((2, 3), 16, 32)


def test_ensemble_is_one_batched_operation_equal_to_separate_members():
    torch.manual_seed(0)
    ensemble = PredictorEnsemble(members=4, latent_dim=6, n_actions=3, hidden_dim=8)
    z, action = torch.randn(5, 6), torch.tensor([0, 1, 2, 1, 0])
    out = ensemble(z, action)
    assert out.shape == (4, 5, 6)
    # Member 2 computed by hand from its own slice of the batched weights.
    x = torch.cat([z, torch.nn.functional.one_hot(action, 3).float()], dim=-1)
    layers = [ensemble.layer1, ensemble.layer2, ensemble.layer3]
    h = torch.nn.functional.silu(x @ layers[0].weight[2] + layers[0].bias[2])
    h = torch.nn.functional.silu(h @ layers[1].weight[2] + layers[1].bias[2])
    torch.testing.assert_close(out[2], z + h @ layers[2].weight[2] + layers[2].bias[2])
    # Members differ (independent initialisation gives a non-zero disagreement).
    assert out.var(dim=0).mean() > 0


def deterministic_sequences(batch=32, length=4, size=6):
    """A toy world: a one-hot position on a ring, moved by the action (0: stay, 1: +1, 2: -1)."""
    position = torch.randint(0, size, (batch,))
    actions = torch.randint(0, 3, (batch, length))
    obs = []
    for k in range(length):
        if k > 0:
            position = (position + torch.tensor([0, 1, -1])[actions[:, k]]) % size
        obs.append(torch.nn.functional.one_hot(position, size).float())
    return torch.stack(obs, dim=1), actions


def test_system_a_learns_to_predict_a_deterministic_world():
    torch.manual_seed(0)
    genome = Genome(latent_dim=8, hidden_dim=32, horizon=3, lr_a=3e-3)
    system = SystemA((6,), 3, genome)
    alive = torch.ones(32, 3)

    def error():
        obs, actions = deterministic_sequences(256)
        errors, _, copy_last = system.telemetry(obs[0], actions[0])
        return sum(errors) / len(errors), sum(errors) / sum(copy_last)

    obs, actions = deterministic_sequences(256)
    before = system.loss(obs, actions, torch.ones(256, 3), system.embed_sequences(obs))[1][
        "a_prediction_loss"
    ]
    for _ in range(300):
        obs, actions = deterministic_sequences()
        system.update(obs, actions, alive, system.embed_sequences(obs))
    obs, actions = deterministic_sequences(256)
    info = system.loss(obs, actions, torch.ones(256, 3), system.embed_sequences(obs))[1]
    assert info["a_prediction_loss"] < 0.2 * before
    # Not by collapse: the embeddings keep their spread.
    z = system.embed(torch.eye(6))
    assert z.std(dim=0).mean() > 0.5
    mean_error, ratio_to_copy_last = error()
    assert mean_error < 0.5 and ratio_to_copy_last < 0.5
