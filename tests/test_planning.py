import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lifelong.genome import Genome
from lifelong.systems.action import SystemB, softmax_policy
from lifelong.systems.observation import SystemA, spread
from lifelong.systems.planning import (
    imagine,
    plan,
    rollout,
    rollout_scores,
    sample_actions,
)

N_ACTIONS = 3
OBS = (5,)


def make(**changes) -> tuple[SystemA, SystemB, Genome]:
    genome = Genome(latent_dim=8, hidden_dim=16, q_hidden=16, ensemble_size=4, **changes)
    torch.manual_seed(0)
    return SystemA(OBS, N_ACTIONS, genome), SystemB(N_ACTIONS, genome), genome


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def pay(a: SystemA, rewards: dict[int, float]) -> None:
    """Make A's reward head pay `rewards[action]` for that action, whatever the state."""
    head = a.reward_head
    for p in head.parameters():
        p.zero_()
    for unit, (action, amount) in enumerate(rewards.items()):
        head.action.weight[action, unit] = 1.0
        head.out.weight[0, unit] = amount / F.silu(torch.tensor(1.0))


@torch.no_grad()
def value_nothing(b: SystemB) -> None:
    """B rates every latent 0 (online and target nets), so its policy is uniform."""
    for net in (b.q, b.q_target):
        net[-1].weight.zero_()
        net[-1].bias.zero_()


class ShiftPredictor(nn.Module):
    """A hand-built ensemble: each action moves z by its own shift; the members agree, except
    after action `noisy`, where each adds its own offset (a model unsure of that action)."""

    def __init__(self, members: int, latent_dim: int, n_actions: int, noisy: int) -> None:
        super().__init__()
        self.members, self.n_actions, self.noisy = members, n_actions, noisy
        self.shift = torch.randn(n_actions, latent_dim)
        self.offsets = torch.randn(members, 1, latent_dim)

    def forward(self, z, action):
        if z.dim() == 2:
            z = z.unsqueeze(0).expand(self.members, -1, -1)
        unsure = (action == self.noisy).float()[None, :, None]
        return z + self.shift[action] + unsure * self.offsets


def test_sample_actions_is_softmax_policy_batched():
    q = torch.tensor([[1.0, 2.0, 3.0]]).expand(20_000, 3)
    counts = torch.bincount(sample_actions(q, 1.0, generator()), minlength=3) / 20_000
    expected = torch.tensor(softmax_policy([1.0, 2.0, 3.0], 1.0))
    torch.testing.assert_close(counts, expected, atol=0.015, rtol=0.0)
    cold = sample_actions(torch.tensor([[0.0, 5.0, 1.0], [9.0, 0.0, 1.0]]), 1e-3, generator())
    assert cold.tolist() == [1, 0]


def test_rollout_scores_hand_computed():
    rewards = torch.tensor([[1.0, 2.0]])
    value = torch.tensor([10.0])
    uncertainty = torch.tensor([[0.1, 0.2]])
    score = rollout_scores(rewards, value, uncertainty, gamma=0.5, penalty=2.0)
    assert score.item() == pytest.approx(1 + 0.5 * 2 + 0.25 * 10 - 2 * 0.3)


@pytest.mark.parametrize("paying", [1, 2])
def test_planner_picks_the_action_that_leads_to_reward(paying):
    a, b, genome = make(plan_horizon=3, plan_samples=64, plan_uncertainty=0.0, gamma=0.9)
    pay(a, {paying: 1.0})
    value_nothing(b)
    action, info = plan(a, b, torch.randn(1, *OBS), genome, generator())
    assert action == paying
    # Best plan: paying at every step (found among 64 samples), worth 1 + 0.9 + 0.81.
    assert info["plan_score"] == pytest.approx(1 + 0.9 + 0.81, abs=1e-5)
    assert info["plan_spread"] > 0.3 and info["plan_uncertainty"] > 0.0


def test_uncertainty_penalty_turns_the_planner_away_from_an_unsure_action():
    a, b, genome = make(plan_horizon=1, plan_samples=4)
    a.predictor = ShiftPredictor(4, 8, N_ACTIONS, noisy=1)
    pay(a, {1: 1.0, 0: 0.5})  # action 1 pays more, but the model is unsure where it leads
    value_nothing(b)
    obs = torch.randn(1, *OBS)
    bold, info = plan(a, b, obs, genome.replace(plan_uncertainty=0.0), generator())
    assert bold == 1 and info["plan_score"] == pytest.approx(1.0)
    careful, info = plan(a, b, obs, genome.replace(plan_uncertainty=10.0), generator())
    assert careful == 0 and info["plan_score"] == pytest.approx(0.5)


def test_plan_score_hand_computed_from_untouched_networks():
    """Horizon 1: score(a) = r(z0, a) + gamma max Q_target(mean z1) - penalty u(z1)."""
    a, b, genome = make(plan_horizon=1, plan_samples=1, plan_uncertainty=0.5, gamma=0.9)
    torch.nn.init.normal_(a.reward_head.out.weight)  # a head that pays something
    obs = torch.randn(1, *OBS)
    action, info = plan(a, b, obs, genome, generator())
    with torch.no_grad():
        z0 = a.target_encoder(obs).expand(N_ACTIONS, -1)  # B acts on the target embedding
        actions = torch.arange(N_ACTIONS)
        members = a.predictor(z0, actions)
        value = b.q_target(members.mean(dim=0)).max(dim=-1).values
        uncertainty = spread(members).mean(dim=-1) / a.uncertainty_scale()
        scores = a.reward_head(z0, actions) + 0.9 * value - 0.5 * uncertainty
    assert action == int(scores.argmax())
    assert info["plan_score"] == pytest.approx(scores.max().item(), abs=1e-5)
    assert info["plan_spread"] == pytest.approx(scores.std(correction=0).item(), abs=1e-5)
    assert info["plan_uncertainty"] == pytest.approx(uncertainty.mean().item(), abs=1e-5)


def test_rollout_follows_the_members_chains_under_shared_actions():
    a, b, genome = make()
    z = torch.randn(6, 8)
    with torch.no_grad():
        trip = rollout(a, b, z, horizon=2, temperature=1.0, generator=generator())
        first = a.predictor(z, trip.actions[:, 0])
        second = a.predictor(first, trip.actions[:, 1])
        reward = a.reward_head(first.mean(dim=0), trip.actions[:, 1])
    torch.testing.assert_close(trip.latents[:, 1], first.mean(dim=0))
    torch.testing.assert_close(trip.latents[:, 2], second.mean(dim=0))
    torch.testing.assert_close(trip.rewards[:, 1], reward)
    torch.testing.assert_close(trip.uncertainty[:, 1], spread(second).mean(dim=-1))


def test_imagine_returns_a_batch_in_system_b_conventions():
    a, b, genome = make(imagine_horizon=3, gamma=0.9)
    torch.nn.init.normal_(a.reward_head.out.weight)
    z_start = a.embed(torch.randn(5, *OBS))  # an inference tensor, as the agent has it
    batch = imagine(a, b, z_start, genome, generator())
    assert batch["z"].shape == (5, 4, 8)
    for name in ("action", "reward", "first", "terminal", "uncertainty"):
        assert batch[name].shape == (5, 4), name
    assert batch["action"].dtype == torch.int64 and batch["first"].dtype == torch.bool
    assert batch["keep"].shape == batch["return"].shape == batch["value"].shape == (5,)
    torch.testing.assert_close(batch["z"][:, 0], z_start)
    assert (batch["action"][:, 0] == 0).all() and (batch["reward"][:, 0] == 0).all()
    assert not batch["first"].any() and not batch["terminal"].any()
    with torch.no_grad():  # frame 1: action[:, 1] taken at frame 0, reward[:, 1] on arriving
        members = a.predictor(z_start, batch["action"][:, 1])
        torch.testing.assert_close(batch["z"][:, 1], members.mean(dim=0))
        reward = a.reward_head(z_start, batch["action"][:, 1])
        torch.testing.assert_close(batch["reward"][:, 1], reward)
        # The return B will learn: rewards of frames 1..3, then the double-Q value of frame 3.
        z = batch["z"]
        last = b.q_target(z[:, 3]).gather(1, b.q(z[:, 3]).argmax(dim=1, keepdim=True))[:, 0]
        rewards = batch["reward"]
        expected = rewards[:, 1] + 0.9 * rewards[:, 2] + 0.81 * rewards[:, 3] + 0.729 * last
        value = b.q(z[:, 0]).max(dim=1).values
    torch.testing.assert_close(batch["return"], expected)
    torch.testing.assert_close(batch["value"], value)
    assert torch.equal(batch["keep"], expected > value)
    # And B can learn from it.
    fields = ("z", "action", "reward", "first", "terminal")
    info = b.update(*(batch[name] for name in fields))
    assert info is not None and info["b_td_loss"] >= 0.0


def test_imagine_keeps_the_trajectories_that_find_reward():
    """B values nothing (0); only action 1 pays: kept exactly when an action 1 was imagined."""
    a, b, genome = make(imagine_horizon=2)
    pay(a, {1: 1.0})
    value_nothing(b)
    batch = imagine(a, b, torch.randn(64, 8), genome, generator())
    paid = (batch["action"][:, 1:] == 1).any(dim=1)
    assert torch.equal(batch["keep"], paid)
    assert 0 < int(paid.sum()) < 64  # both kinds were imagined
