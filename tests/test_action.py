import pytest
import torch

from lifelong.genome import Genome
from lifelong.systems.action import SystemB, n_step_returns, softmax_policy


def n_step_targets(reward, first, terminal, bootstrap, gamma):
    """`n_step_returns` bootstrapped from every frame's value (B, n+1): the reference."""
    returns, last, discount, valid = n_step_returns(reward, first, terminal, gamma)
    return returns + discount * bootstrap.gather(1, last.unsqueeze(1)).squeeze(1), valid


def test_n_step_return_hand_computed():
    reward = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    zeros = torch.zeros(1, 4, dtype=torch.bool)
    bootstrap = torch.tensor([[0.0, 10.0, 20.0, 30.0]])
    targets, valid = n_step_targets(reward, zeros, zeros, bootstrap, gamma=0.5)
    assert targets.item() == pytest.approx(1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 30)
    assert valid.item()


def test_terminal_frame_stops_bootstrapping():
    reward = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    terminal = torch.tensor([[False, False, True, False]])
    first = torch.tensor([[False, False, False, True]])
    bootstrap = torch.tensor([[0.0, 10.0, 20.0, 30.0]])
    targets, _ = n_step_targets(reward, first, terminal, bootstrap, gamma=0.5)
    assert targets.item() == pytest.approx(1 + 0.5 * 2)


def test_truncated_stream_bootstraps_from_its_last_frame():
    reward = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    first = torch.tensor([[False, False, True, False]])
    zeros = torch.zeros(1, 4, dtype=torch.bool)
    bootstrap = torch.tensor([[0.0, 10.0, 20.0, 30.0]])
    targets, valid = n_step_targets(reward, first, zeros, bootstrap, gamma=0.5)
    assert targets.item() == pytest.approx(1 + 0.5 * 10)
    first = torch.tensor([[False, True, False, False]])
    assert not n_step_targets(reward, first, zeros, bootstrap, gamma=0.5)[1].item()


def test_b_rates_only_the_frame_each_return_bootstraps_from():
    """Bootstrapping from the last frame alone gives the targets of rating every frame."""
    torch.manual_seed(0)
    b = SystemB(3, Genome(latent_dim=8, q_hidden=16, gamma=0.9))
    z = torch.randn(5, 4, 8)
    reward = torch.randn(5, 4)
    first = torch.zeros(5, 4, dtype=torch.bool)
    first[1, 2] = first[2, 1] = True  # a stream cut short; one with nothing to learn from
    terminal = torch.zeros(5, 4, dtype=torch.bool)
    terminal[3, 2] = True
    with torch.no_grad():
        q, targets, valid = b.values_and_targets(z, reward, first, terminal)
        greedy = b.q(z).argmax(dim=-1, keepdim=True)
        bootstrap = b.q_target(z).gather(2, greedy).squeeze(2)
    expected, expected_valid = n_step_targets(reward, first, terminal, bootstrap, gamma=0.9)
    torch.testing.assert_close(targets, expected)
    torch.testing.assert_close(q, b.q(z[:, 0]).detach())
    assert valid.tolist() == expected_valid.tolist() == [True, True, False, True, True]
    # Given raw frames and how to encode them, only the two frames read are encoded.
    frames, projection = torch.randn(5, 4, 3), torch.randn(3, 8)
    encoded = []

    def encode(x):
        encoded.append(len(x))
        return x @ projection

    with torch.no_grad():
        q_raw, targets_raw, _ = b.values_and_targets(frames, reward, first, terminal, encode)
        q_all, targets_all, _ = b.values_and_targets(frames @ projection, reward, first, terminal)
    assert encoded == [10]
    torch.testing.assert_close(q_raw, q_all)
    torch.testing.assert_close(targets_raw, targets_all)


def test_softmax_temperature_sharpens_the_policy():
    q = [1.0, 2.0, 3.0]
    cold, hot = softmax_policy(q, 0.05), softmax_policy(q, 10.0)
    assert cold[2] > 0.99 and sum(cold) == pytest.approx(1.0)
    assert max(hot) - min(hot) < 0.1
    # Scale-free: multiplying rewards (and Q) by 100 gives the same policy.
    scaled = softmax_policy([100 * v for v in q], 1.0)
    assert scaled == pytest.approx(softmax_policy(q, 1.0))


def test_system_b_learns_a_contextual_bandit_on_latents():
    """Latent 0 or 1 tells which action pays; after training the greedy action is right."""
    torch.manual_seed(0)
    genome = Genome(latent_dim=4, q_hidden=32, n_step=1, lr_b=3e-3, gamma=0.0)
    system = SystemB(3, genome)
    for _ in range(400):
        context = torch.randint(0, 2, (64,))
        z = torch.nn.functional.one_hot(context, 4).float()
        z = torch.stack([z, z], dim=1)
        action = torch.randint(0, 3, (64,))
        reward = (action == context * 2).float()
        actions = torch.stack([torch.zeros_like(action), action], dim=1)
        rewards = torch.stack([torch.zeros_like(reward), reward], dim=1)
        flags = torch.zeros(64, 2, dtype=torch.bool)
        system.update(z, actions, rewards, flags, flags)
    assert system.policy(torch.eye(4)[:1], temperature=0.05)[0] > 0.9
    assert system.policy(torch.eye(4)[1:2], temperature=0.05)[2] > 0.9
