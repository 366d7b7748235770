import pytest
import torch

from lifelong.genome import Genome
from lifelong.systems.action import NStep, SystemB, doubt, n_step_returns, softmax_policy


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


def test_b_bootstraps_by_double_q_on_the_min_of_its_target_twins():
    """Bootstrapping from the last frame alone gives the targets of rating every frame, each
    rated by the min of the target twins at the online twins' greedy action."""
    torch.manual_seed(0)
    b = SystemB(3, Genome(latent_dim=8, q_hidden=16, gamma=0.9))
    with torch.no_grad():  # make the target twins differ from the online ones and each other
        for p in b.q_target.parameters():
            p.add_(0.3 * torch.randn_like(p))
    z = torch.randn(5, 4, 8)
    reward = torch.randn(5, 4)
    first = torch.zeros(5, 4, dtype=torch.bool)
    first[1, 2] = first[2, 1] = True  # a stream cut short; one with nothing to learn from
    terminal = torch.zeros(5, 4, dtype=torch.bool)
    terminal[3, 2] = True
    steps = NStep.of(first, terminal, 0.9)
    last = steps.last
    with torch.no_grad():
        targets, valid = b.targets(z[torch.arange(5), last], reward, steps), steps.valid
        greedy = b.q(z).view(5, 4, 2, 3).mean(dim=2).argmax(dim=-1, keepdim=True)
        rated = b.q_target(z).view(5, 4, 2, 3)
        pessimistic = rated.gather(3, greedy.unsqueeze(2).expand(-1, -1, 2, -1)).amin(dim=2)
    expected, expected_valid = n_step_targets(reward, first, terminal, pessimistic[..., 0], 0.9)
    torch.testing.assert_close(targets, expected)
    assert valid.tolist() == expected_valid.tolist() == [True, True, False, True, True]


def step(b, loss):
    b.optimizer.zero_grad()
    loss.backward()
    b.optimizer.step()
    b.update_targets()


def bandit_batch(size=64):
    """Latent 0 or 1 tells which action pays (action 0 or 2)."""
    context = torch.randint(0, 2, (size,))
    z = torch.nn.functional.one_hot(context, 4).float()
    action = torch.randint(0, 3, (size,))
    reward = (action == context * 2).float()
    rewards = torch.stack([torch.zeros_like(reward), reward], dim=1)
    flags = torch.zeros(size, 2, dtype=torch.bool)
    return z, action, rewards, flags


def test_softmax_temperature_sharpens_the_policy():
    q = [1.0, 2.0, 3.0]
    cold, hot = softmax_policy(q, 0.05), softmax_policy(q, 10.0)
    assert cold[2] > 0.99 and sum(cold) == pytest.approx(1.0)
    assert max(hot) - min(hot) < 0.1
    # Scale-free: multiplying rewards (and Q) by 100 gives the same policy.
    scaled = softmax_policy([100 * v for v in q], 1.0)
    assert scaled == pytest.approx(softmax_policy(q, 1.0))


def test_system_b_learns_a_contextual_bandit_on_latents():
    """After training on the bandit the greedy action is right in both contexts."""
    torch.manual_seed(0)
    genome = Genome(latent_dim=4, q_hidden=32, n_step=1, lr_b=3e-3, gamma=0.0)
    system = SystemB(3, genome)
    for _ in range(400):
        z, action, rewards, flags = bandit_batch()
        step(
            system,
            system.extrinsic_loss(
                z, z, action, rewards, NStep.of(flags, flags, system.genome.gamma)
            )[0],
        )
    assert system.policy(torch.eye(4)[:1], temperature=0.05)[0] > 0.9
    assert system.policy(torch.eye(4)[1:2], temperature=0.05)[2] > 0.9


def test_curiosity_has_its_own_head_and_leaves_the_extrinsic_values_alone():
    """The intrinsic head learns the bonus (the action B values least is novel); Q_ext and the
    encoder's input are untouched; EXPLORE (curiosity > 0) turns towards the novel action."""
    torch.manual_seed(0)
    genome = Genome(latent_dim=4, q_hidden=32, n_step=1, lr_b=3e-3, gamma=0.0)
    system = SystemB(3, genome)
    z = torch.eye(4)[:1].expand(64, -1).clone().requires_grad_(True)
    q_ext = system.values(z[:1]).detach().clone()
    novel = int(q_ext.argmin())
    for _ in range(300):
        action = torch.randint(0, 3, (64,))
        bonus = 5.0 * (action == novel).float().unsqueeze(1) + 0.1 * torch.rand(64, 1)
        flags = torch.zeros(64, 2, dtype=torch.bool)
        loss, info = system.intrinsic_loss(
            z, z.detach(), action, bonus, NStep.of(flags, flags, system.genome.gamma)
        )
        step(system, loss)
        system.track_intrinsic_scale(info["b_intrinsic_spread"])
    assert z.grad is None  # novelty does not shape the shared features
    torch.testing.assert_close(system.values(z[:1]), q_ext)
    # Scaled by the spread of its returns (std of a 1/3-vs-2/3 mix of 5 and 0: about 2.4).
    assert 2.0 < system.intrinsic_scale.item() < 2.8
    q_int = system.q_int(z[:1])[0]
    assert q_int.argmax().item() == novel and q_int[novel] > 1.5
    exploit = system.policy(z[:1].detach(), temperature=0.1)
    explore = system.policy(z[:1].detach(), temperature=0.1, curiosity=1.0)
    assert explore[novel] > 0.9 and exploit[novel] < 0.1


def test_values_on_predicted_latents_learn_what_the_real_ones_are_worth():
    torch.manual_seed(0)
    genome = Genome(latent_dim=4, q_hidden=32, lr_b=3e-3)
    system = SystemB(3, genome)
    real = torch.randn(64, 2, 4)
    with torch.no_grad():  # make the real latents worth something different from the predicted
        for p in system.q_target.parameters():
            p.add_(0.5 * torch.randn_like(p))
    predicted = real + 0.5  # a model's biased prediction of the same frames
    mask = torch.ones(64, 2)
    before = system.predicted_value_loss(predicted, real, mask)[0].item()
    for _ in range(300):
        loss, _ = system.predicted_value_loss(predicted, real, mask)
        system.optimizer.zero_grad()
        loss.backward()
        system.optimizer.step()
    assert system.predicted_value_loss(predicted, real, mask)[0].item() < 0.1 * before
    # Masked frames do not count.
    mask[:, 1] = 0.0
    half = system.predicted_value_loss(predicted, real, mask)[0]
    far = real.clone()
    far[:, 1] += 100.0
    torch.testing.assert_close(system.predicted_value_loss(predicted, far, mask)[0], half)


def test_doubt_softens_the_policy_where_b_has_not_learned_and_only_there():
    """The twins agree where training reached and keep their independent starts elsewhere, so
    `doubt_temperature` leaves a learned state near-greedy and an unseen one soft."""
    torch.manual_seed(0)
    genome = Genome(
        latent_dim=4, q_hidden=32, n_step=1, lr_b=3e-3, gamma=0.0, doubt_temperature=0.0
    )
    system = SystemB(3, genome)
    seen, unseen = torch.eye(4)[:1], torch.eye(4)[3:]
    newborn = doubt(system.twins(seen)[0].tolist())
    for _ in range(400):
        z, action, rewards, flags = bandit_batch()
        loss = system.extrinsic_loss(z, z, action, rewards, NStep.of(flags, flags, 0.0))[0]
        step(system, loss)
    learned = doubt(system.twins(seen)[0].tolist())
    assert learned < 0.2 * newborn
    assert doubt(system.twins(unseen)[0].tolist()) > 3 * learned
    doubting = SystemB(3, genome.replace(doubt_temperature=1.0))
    doubting.load_state_dict(system.state_dict())
    assert doubting.policy(seen, temperature=0.05)[0] > 0.9  # greedy where it learned
    assert max(doubting.policy(unseen, 0.05)) < max(system.policy(unseen, 0.05)) - 0.1
