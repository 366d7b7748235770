import math

import pytest
import torch
from conftest import train_a_alone

from lifelong.genome import Genome
from lifelong.systems.observation import (
    VARIANCE_FLOOR,
    PredictorEnsemble,
    RewardHead,
    SystemA,
    covariance_loss,
    inverse_dynamics_loss,
    latent_prediction_loss,
    make_encoder,
    normalise,
    reward_prediction_loss,
    scale_gradient,
    symexp,
    symlog,
    variance_loss,
    world_model_loss,
)


def a_loss(system, obs, actions, alive, target, reward=None):
    """A's loss alone on a batch: frame 0 through the online encoder."""
    return world_model_loss(
        system, system.encoder(obs[:, 0]), target, actions, alive, reward, system.genome
    )


def test_variance_loss_penalises_collapse_only():
    torch.manual_seed(0)
    assert variance_loss(torch.zeros(64, 8)) == pytest.approx(VARIANCE_FLOOR, abs=0.02)
    assert variance_loss(3.0 * torch.randn(256, 8)) == 0.0


def test_variance_hinge_lets_go_of_healthy_layer_normalised_latents():
    """Layer-normalised latents have per-dimension variances averaging at most 1, so VICReg's
    target of 1 never let go (issue 26); spread-out ones clear the floor, collapsed ones don't."""
    torch.manual_seed(0)
    healthy = normalise(torch.randn(256, 64)).requires_grad_()
    loss = variance_loss(healthy)
    loss.backward()
    assert loss.item() == 0.0 and healthy.grad.abs().max().item() == 0.0
    collapsed = normalise(torch.randn(1, 64) + 0.1 * torch.randn(256, 64))
    assert variance_loss(collapsed).item() > 0.3


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


def test_encoder_by_shape_with_latents_of_fixed_scale():
    image = make_encoder((7, 7, 8), 16, 32)
    vector = make_encoder((5,), 16, 32)
    assert image(torch.zeros(3, 7, 7, 8)).shape == (3, 16)
    assert vector(torch.zeros(3, 5)).shape == (3, 16)
    # Whatever the input's scale, each latent has zero mean and unit variance over its dims.
    for scale in (1e-3, 1.0, 1e3):
        z = vector(scale * torch.randn(4, 5))
        torch.testing.assert_close(z.mean(dim=-1), torch.zeros(4), atol=1e-4, rtol=0)
        torch.testing.assert_close(z.var(dim=-1, correction=0), torch.ones(4), atol=1e-2, rtol=0)
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
    torch.testing.assert_close(out[2], normalise(z + h @ layers[2].weight[2] + layers[2].bias[2]))
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
    before = a_loss(system, obs, actions, torch.ones(256, 3), system.embed_sequences(obs))[1][
        "a_prediction_loss"
    ]
    for _ in range(300):
        obs, actions = deterministic_sequences()
        train_a_alone(system, obs, actions, alive)
    obs, actions = deterministic_sequences(256)
    info = a_loss(system, obs, actions, torch.ones(256, 3), system.embed_sequences(obs))[1]
    assert info["a_prediction_loss"] < 0.2 * before
    # Not by collapse: the embeddings keep their spread.
    z = system.embed(torch.eye(6))
    assert z.std(dim=0).mean() > 0.5
    mean_error, ratio_to_copy_last = error()
    assert mean_error < 0.5 and ratio_to_copy_last < 0.5


def test_symlog_is_inverted_by_symexp_and_compresses_large_values():
    x = torch.tensor([-1000.0, -2.0, -0.01, 0.0, 0.01, 3.0, 1e4])
    torch.testing.assert_close(symexp(symlog(x)), x, rtol=1e-5, atol=1e-6)
    assert symlog(torch.tensor(1e4)).item() < 10.0
    assert symlog(torch.tensor(0.01)).item() == pytest.approx(0.01, rel=0.01)


def test_reward_prediction_loss_is_in_symlog_units_and_respects_the_mask():
    predicted = torch.tensor([[1.0, 5.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [math.e - 1.0, 100.0]])  # symlog: 1.0 where it counts
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # the large errors are masked out
    assert reward_prediction_loss(predicted, target, mask).item() == pytest.approx((1 + 1) / 2)
    members = predicted.expand(3, 2, 2)
    assert reward_prediction_loss(members, target, mask).item() == pytest.approx(1.0)


def test_inverse_dynamics_loss_hand_computed():
    logits = torch.zeros(3, 4)
    logits[1, 2] = 100.0  # certain and right: no loss
    action = torch.tensor([0, 2, 1])
    mask = torch.tensor([1.0, 1.0, 0.0])  # row 2 (uniform, wrong) does not count
    expected = (math.log(4) + 0.0) / 2
    assert inverse_dynamics_loss(logits, action, mask).item() == pytest.approx(expected, abs=1e-5)


def test_reward_head_starts_at_zero_and_reads_state_and_action():
    head = RewardHead(latent_dim=4, n_actions=3, hidden_dim=8)
    z = torch.randn(2, 5, 4)
    assert torch.equal(head(z, torch.ones(5, dtype=torch.long)), torch.zeros(2, 5))
    torch.nn.init.normal_(head.out.weight)
    action = torch.tensor([0, 1, 2, 0, 1])
    assert head(z, action).shape == (2, 5)
    assert not torch.allclose(head(z, action), head(z, (action + 1) % 3))


def ring_rewards(obs):
    """Reward 1 on arriving at position 0 of the ring (frame 0 arrived from nowhere: 0)."""
    reward = obs[..., 0].clone()
    reward[:, 0] = 0.0
    return reward


def test_reward_head_learns_the_reward_of_arriving_along_the_rollout():
    torch.manual_seed(0)
    genome = Genome(latent_dim=8, hidden_dim=32, horizon=3, lr_a=3e-3)
    system = SystemA((6,), 3, genome)

    def reward_loss():
        obs, actions = deterministic_sequences(256)
        target = system.embed_sequences(obs)
        alive = torch.ones(256, 3)
        return a_loss(system, obs, actions, alive, target, ring_rewards(obs))[1]["a_reward_loss"]

    # Predicts 0 everywhere: about the 1/6 of arrivals at 0, in symlog units.
    untrained = reward_loss()
    assert untrained == pytest.approx(math.log(2) ** 2 / 6, abs=0.03)
    for _ in range(300):
        obs, actions = deterministic_sequences()
        train_a_alone(system, obs, actions, torch.ones(32, 3), ring_rewards(obs))
    assert reward_loss() < 0.3 * untrained  # 0.05-0.2 over seeds 0-3


def test_without_rewards_the_reward_head_is_left_alone():
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=16))
    before = [p.clone() for p in system.reward_head.parameters()]
    obs, actions = deterministic_sequences()
    info = train_a_alone(system, obs, actions, torch.ones(32, 3))
    assert "a_reward_loss" not in info and "a_inverse_loss" in info
    for old, new in zip(before, system.reward_head.parameters(), strict=True):
        assert torch.equal(old, new)
    # With rewards, it moves.
    train_a_alone(system, obs, actions, torch.ones(32, 3), ring_rewards(obs))
    assert not torch.equal(before[-1], system.reward_head.out.bias)


def test_inverse_dynamics_recovers_the_actions_of_a_deterministic_world():
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=32, lr_a=3e-3))

    def accuracy():
        obs, actions = deterministic_sequences(512, length=2)
        guessed, confidence = system.infer_action(obs[:, 0], obs[:, 1])
        assert guessed.shape == confidence.shape == (512,)
        assert ((confidence >= 1 / 3 - 1e-6) & (confidence <= 1.0)).all()
        return (guessed == actions[:, 1]).float().mean().item(), confidence.mean().item()

    untrained, _ = accuracy()
    for _ in range(300):
        obs, actions = deterministic_sequences()
        train_a_alone(system, obs, actions, torch.ones(32, 3))
    trained, confidence = accuracy()
    assert untrained < 0.6 and trained > 0.95  # chance is 1/3
    assert confidence > 0.8


def test_a_reset_hides_the_transition_from_the_inverse_head():
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=16))
    obs, actions = deterministic_sequences()
    target = system.embed_sequences(obs)
    dead = torch.zeros(32, 3)  # every frame 1 starts a new stream: nothing to learn from
    info = a_loss(system, obs, actions, dead, target, ring_rewards(obs))[1]
    assert info["a_inverse_loss"] == 0.0 and info["a_reward_loss"] == 0.0


def test_target_encoder_is_the_running_average_of_the_online_one_early_in_life():
    """Bias-corrected EMA: after n updates the target is the mean of the n online encoders, so
    a young agent's online and target latents do not differ by the weights of its birth."""
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=16, target_rate=0.01))
    seen = []
    for _ in range(5):
        with torch.no_grad():
            for p in system.encoder.parameters():
                p.add_(torch.randn_like(p))
        seen.append([p.clone() for p in system.encoder.parameters()])
        system.update_target()
    for index, target in enumerate(system.target_encoder.parameters()):
        expected = torch.stack([weights[index] for weights in seen]).mean(dim=0)
        torch.testing.assert_close(target, expected)
    # Later the rate is target_rate: a slow average, as before.
    system.target_updates.fill_(10_000)
    before = [p.clone() for p in system.target_encoder.parameters()]
    system.update_target()
    for old, new, online in zip(
        before, system.target_encoder.parameters(), system.encoder.parameters(), strict=True
    ):
        torch.testing.assert_close(new, old + 0.01 * (online - old))


def test_world_model_loss_is_pure():
    """A's loss writes nothing: no buffer, no weight, no gradient step."""
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=16))
    obs, actions = deterministic_sequences()
    target = system.embed_sequences(obs)
    state = {k: v.clone() for k, v in system.state_dict().items()}
    first = a_loss(system, obs, actions, torch.ones(32, 3), target, ring_rewards(obs))
    second = a_loss(system, obs, actions, torch.ones(32, 3), target, ring_rewards(obs))
    assert first[1] == second[1]
    assert first[2].shape == (system.predictor.members, 32, 3, 8)
    for key, value in system.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("share", [0.0, 0.25, 1.0])
def test_scale_gradient_keeps_the_value_and_scales_what_flows_back(share):
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = scale_gradient(x, share)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, share * torch.tensor([1.0, 2.0, 3.0]))


def test_with_no_share_a_learns_its_heads_and_leaves_the_encoder_alone():
    """`encoder_share` 0: A's loss moves its predictor and heads, not the encoder B reads."""
    torch.manual_seed(0)
    system = SystemA((6,), 3, Genome(latent_dim=8, hidden_dim=16))
    obs, actions = deterministic_sequences()
    target = system.embed_sequences(obs)
    z0 = scale_gradient(system.encoder(obs[:, 0]), 0.0)
    loss, _, _ = world_model_loss(
        system, z0, target, actions, torch.ones(32, 3), ring_rewards(obs), system.genome
    )
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in system.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in system.predictor.parameters())
