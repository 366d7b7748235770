import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lifelong.genome import Genome
from lifelong.systems.action import SystemB, sample_actions, softmax_policy
from lifelong.systems.observation import SystemA, spread, symexp, symlog
from lifelong.systems.planning import (
    candidate_sequences,
    imagine,
    lambda_returns,
    plan,
    rollout,
    rollout_scores,
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
    """Make A's reward head pay `rewards[action]` for that action, whatever the state (the head
    speaks symlog units)."""
    head = a.reward_head
    for p in head.parameters():
        p.zero_()
    for unit, (action, amount) in enumerate(rewards.items()):
        head.action.weight[action, unit] = 1.0
        head.out.weight[0, unit] = symlog(torch.tensor(amount)) / F.silu(torch.tensor(1.0))


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


def test_candidate_sequences_are_every_sequence_or_first_actions_to_continue():
    every = candidate_sequences(3, 2, limit=9, samples=4, device=torch.device("cpu"))
    assert every.shape == (9, 2) and len({tuple(row) for row in every.tolist()}) == 9
    assert every[:, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # grouped by first action
    sampled = candidate_sequences(3, 3, limit=26, samples=4, device=torch.device("cpu"))
    assert sampled.shape == (12, 1) and sampled[:, 0].tolist() == [0] * 4 + [1] * 4 + [2] * 4


@pytest.mark.parametrize("paying", [1, 2])
def test_planner_picks_the_action_that_leads_to_reward(paying):
    a, b, genome = make(plan_horizon=3, plan_uncertainty=0.0, gamma=0.9)
    pay(a, {paying: 1.0})
    value_nothing(b)
    action, info = plan(a, b, torch.randn(1, 8), genome, generator())
    assert action == paying
    # Best plan: paying at every step (every sequence is scored), worth 1 + 0.9 + 0.81.
    assert info["plan_score"] == pytest.approx(1 + 0.9 + 0.81, abs=1e-4)
    assert info["plan_spread"] > 0.3 and info["plan_uncertainty"] > 0.0
    # Sampling continuations instead (a limit below 3^3) finds the same first action.
    sampled, _ = plan(a, b, torch.randn(1, 8), genome.replace(plan_sequences=8), generator())
    assert sampled == paying


def test_uncertainty_penalty_turns_the_planner_away_from_an_unsure_action():
    a, b, genome = make(plan_horizon=1)
    a.predictor = ShiftPredictor(4, 8, N_ACTIONS, noisy=1)
    pay(a, {1: 1.0, 0: 0.5})  # action 1 pays more, but the model is unsure where it leads
    value_nothing(b)
    z = torch.randn(1, 8)
    bold, info = plan(a, b, z, genome.replace(plan_uncertainty=0.0), generator())
    assert bold == 1 and info["plan_score"] == pytest.approx(1.0, abs=1e-5)
    careful, info = plan(a, b, z, genome.replace(plan_uncertainty=10.0), generator())
    assert careful == 0 and info["plan_score"] == pytest.approx(0.5, abs=1e-5)


def test_plan_score_hand_computed_from_untouched_networks():
    """Horizon 1: score(a) = r(z0, a) + gamma V(mean z1) - penalty u(z1), V the min of the
    target twins at the online twins' greedy action."""
    a, b, genome = make(plan_horizon=1, plan_uncertainty=0.5, gamma=0.9)
    torch.nn.init.normal_(a.reward_head.out.weight)  # a head that pays something
    z = torch.randn(1, 8)
    action, info = plan(a, b, z, genome, generator())
    with torch.no_grad():
        z0 = z.expand(N_ACTIONS, -1)
        actions = torch.arange(N_ACTIONS)
        members = a.predictor(z0, actions)
        mean = members.mean(dim=0)
        greedy = b.q(mean).view(N_ACTIONS, 2, N_ACTIONS).mean(dim=1).argmax(dim=-1)
        twins = b.q_target(mean).view(N_ACTIONS, 2, N_ACTIONS)
        value = twins[torch.arange(N_ACTIONS), :, greedy].min(dim=-1).values
        uncertainty = spread(members).mean(dim=-1) / a.uncertainty_scale()
        scores = symexp(a.reward_head(z0, actions)) + 0.9 * value - 0.5 * uncertainty
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
        reward = symexp(a.reward_head(first.mean(dim=0), trip.actions[:, 1]))
    torch.testing.assert_close(trip.latents[:, 1], first.mean(dim=0))
    torch.testing.assert_close(trip.latents[:, 2], second.mean(dim=0))
    torch.testing.assert_close(trip.rewards[:, 1], reward)
    torch.testing.assert_close(trip.uncertainty[:, 1], spread(second).mean(dim=-1))


def test_lambda_returns_hand_computed():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    values = torch.tensor([[10.0, 20.0, 30.0]])  # V of frames 1..3
    last = 3 + 0.5 * 30
    middle = 2 + 0.5 * (0.25 * 20 + 0.75 * last)
    first = 1 + 0.5 * (0.25 * 10 + 0.75 * middle)
    torch.testing.assert_close(
        lambda_returns(rewards, values, gamma=0.5, lam=0.75), torch.tensor([[first, middle, last]])
    )
    # lam = 0: one-step TD on the model; lam = 1: the full imagined return.
    torch.testing.assert_close(
        lambda_returns(rewards, values, 0.5, 0.0), torch.tensor([[1 + 5.0, 2 + 10.0, 3 + 15.0]])
    )
    torch.testing.assert_close(
        lambda_returns(rewards, values, 0.5, 1.0)[:, 0], torch.tensor([1 + 1 + 0.75 + 3.75])
    )


def test_imagine_starts_where_the_model_is_sure_and_learns_lambda_returns():
    a, b, genome = make(imagine_horizon=3, gamma=0.9, imagine_keep=0.5, imagine_lambda=0.8)
    torch.nn.init.normal_(a.reward_head.out.weight)
    z_start = torch.randn(8, 8)
    batch = imagine(a, b, z_start, genome, generator())
    assert batch["z"].shape == (4, 3, 8) and batch["action"].shape == (4, 3)
    assert batch["target"].shape == (4, 3) and batch["keep"].all()
    assert batch["scale"] >= 1.0
    with torch.no_grad():
        # The starts kept are the four where the members disagree least about the first step.
        unsure = a.disagreement(batch["z"][:, 0], batch["action"][:, 0])
        chosen = [int((z_start == row).all(dim=1).nonzero()) for row in batch["z"][:, 0]]
        first_actions = sample_actions(b.values(z_start), genome.plan_temperature, generator())
        everyone = a.disagreement(z_start, first_actions)
        assert sorted(chosen) == sorted(everyone.argsort()[:4].tolist())
        torch.testing.assert_close(unsure, everyone[chosen])
        # Targets: lambda-returns of the predicted rewards and B's values of frames 1..3.
        members = a.predictor(batch["z"][:, 0], batch["action"][:, 0])
        torch.testing.assert_close(batch["z"][:, 1], members.mean(dim=0))
        rewards = symexp(
            a.reward_head(batch["z"], batch["action"])
        )  # reward on arriving at frames 1..3
        frames = torch.cat([batch["z"][:, 1:], members.new_zeros(4, 1, 8)], dim=1)
        frames[:, 2] = a.predictor(
            a.predictor(members, batch["action"][:, 1]), batch["action"][:, 2]
        ).mean(dim=0)
        values = b.bootstrap(frames.flatten(0, 1)).view(4, 3)
        expected = lambda_returns(rewards, values, 0.9, 0.8)
    torch.testing.assert_close(batch["target"], expected)

    # And B can learn from it: the loss it reports is both twins' Huber loss to the targets,
    # over the returns' scale, and one step lowers it.
    def imagined_loss():
        with torch.no_grad():
            taken = b.twins_taken(batch["z"].flatten(0, 1), batch["action"].flatten(0, 1))
            wanted = batch["target"].reshape(-1, 1).expand_as(taken)
            return F.smooth_l1_loss(taken, wanted).item() / batch["scale"]

    before = imagined_loss()
    info = b.learn_imagined(batch["z"], batch["action"], batch["target"], batch["scale"])
    assert info == {"b_imagined_loss": pytest.approx(before, rel=1e-6)} and before > 0
    assert imagined_loss() < before


def test_imagine_success_only_keeps_the_trajectories_that_find_reward():
    """B values nothing (0); only action 1 pays: with the switch on, a trajectory is kept
    exactly when an action 1 was imagined; with it off, every one is."""
    a, b, genome = make(imagine_horizon=2, imagine_keep=1.0)
    pay(a, {1: 1.0})
    value_nothing(b)
    batch = imagine(a, b, torch.randn(64, 8), genome.replace(imagine_success_only=1), generator())
    paid = (batch["action"] == 1).any(dim=1)
    assert torch.equal(batch["keep"], paid)
    assert 0 < int(paid.sum()) < 64  # both kinds were imagined
    assert imagine(a, b, torch.randn(64, 8), genome, generator())["keep"].all()
