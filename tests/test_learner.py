"""The learner underneath A-B-M (issue 26): each test failed on the learning step before it.

What was wrong: B bootstrapped through A's fast target encoder with slow heads while `b_only`
moved both together; the shared encoder learned at A's rate with A and at B's without; M's
learning-rate boost on A decayed once per A update, four times slower than set; surprise kept
only the last of 32 measurements; a policy could collapse onto one action; updates were tied to
one every `train_every` steps.
"""

import math

import numpy as np
import pytest
import torch
from conftest import TINY

from lifelong.agents import build_agent
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.mind import updates_due
from lifelong.modes import ROUTES, Mode
from lifelong.signals import Telemetry
from lifelong.systems.action import SystemB
from lifelong.systems.control import meta_action
from lifelong.systems.observation import world_model_loss
from lifelong.worlds import make_world


def grown(agent_name: str, steps: int = 200, **genes) -> tuple:
    """An agent of `agent_name` after `steps` world steps of the nursery, acting by B."""
    world = make_world("nursery")
    genome = Genome(**{**TINY, "warmup": 32, **genes})
    agent = build_agent(
        Config(agent=agent_name, seed=0), world.observation_space, world.action_space, genome
    )
    obs, info = world.reset(seed=0)
    agent.begin(obs, info)
    meta = meta_action(genome, Mode.EXPLOIT, "test")
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = int(rng.integers(world.action_space.n))
        obs, reward, terminated, truncated, _ = world.step(action)
        agent.mind.observe(action, obs, float(reward), terminated, None)
        agent.counters["env_steps"] += 1
        agent.mind.learn(meta)
    return agent, genome


@pytest.mark.parametrize("name", ["b_only", "a_plus_b"])
def test_every_agent_bootstraps_through_b_s_own_slow_copy_of_the_encoder(name):
    """B's target encoder is an EMA of the encoder it reads at B's target rate, in `b_only` and
    `a_plus_b` alike: after n updates from one start it sits (1 - tau)^n of the way back."""
    agent, genome = grown(name, steps=31)  # still warming up: no update yet
    b = agent.mind.b
    pairs = zip(b.encoder.parameters(), b.target_encoder.parameters(), strict=True)
    assert all(torch.equal(online, target) for online, target in pairs)
    start = [p.clone() for p in b.target_encoder.parameters()]
    online = []
    meta = meta_action(genome, Mode.EXPLOIT, "test")
    for _ in range(3):
        agent.mind._learn(meta, ROUTES[Mode.EXPLOIT])
        online.append([p.clone() for p in b.encoder.parameters()])
    tau = genome.q_target_rate
    expected = start
    for step in online:
        expected = [e + tau * (o - e) for e, o in zip(expected, step, strict=True)]
    for want, got in zip(expected, b.target_encoder.parameters(), strict=True):
        torch.testing.assert_close(got, want)
    assert not torch.equal(online[-1][0], next(b.target_encoder.parameters()))
    if name == "a_plus_b":  # the encoder B reads is A's, shared
        assert b.encoder is agent.mind.a.encoder


def test_the_encoder_learns_at_b_s_rate_with_or_without_a():
    """`a_plus_b` and `b_only` differ only in A's losses: B's optimizer steps the encoder in
    both, at `lr_b`; A's optimizer holds only A's own networks."""
    for name in ("b_only", "a_plus_b"):
        agent, genome = grown(name, steps=1, lr_a=2e-3, lr_b=1e-3)
        mind = agent.mind
        encoder = {id(p) for p in mind.b.encoder.parameters()}
        in_b = {id(p): g["lr"] for g in mind.b.optimizer.param_groups for p in g["params"]}
        assert encoder <= set(in_b) and {in_b[i] for i in encoder} == {genome.lr_b}
        if mind.a is not None:
            in_a = {id(p) for g in mind.a.optimizer.param_groups for p in g["params"]}
            assert not encoder & in_a


def test_a_learning_rate_boost_lasts_as_many_steps_of_its_weights_as_set():
    """A boost for 8 updates is over once the weights it speeds up have moved 8 times: the
    shared encoder (B's optimiser) after 8 learning steps, A's own networks after 8 of A's steps
    (one learning step in `a_every`). Before, the encoder sat in A's optimiser, whose boost
    counted A's steps: boosted 4 times longer than set."""
    agent, genome = grown("abm", steps=40, a_every=4)
    mind = agent.mind
    base_b = [g["lr"] for g in mind.b.optimizer.param_groups]
    base_a = [g["lr"] for g in mind.a.optimizer.param_groups]
    for boost in mind.boosts.values():
        boost.start(4.0, 8)
    meta = meta_action(genome, Mode.EXPLOIT, "test")
    a_steps = agent.counters["updates_a"]
    for _ in range(8):
        mind._learn(meta, ROUTES[Mode.EXPLOIT])
    assert agent.counters["updates_a"] - a_steps == 2
    assert [g["lr"] for g in mind.b.optimizer.param_groups] == base_b
    encoder = next(mind.a.encoder.parameters())  # the shared one, which B reads
    groups = [*mind.a.optimizer.param_groups, *mind.b.optimizer.param_groups]
    rates = [g["lr"] for g in groups if any(p is encoder for p in g["params"])]
    assert rates == [genome.lr_b]  # whichever optimiser steps it, the encoder's boost is over
    assert [g["lr"] for g in mind.a.optimizer.param_groups] != base_a  # 2 of A's 8 steps
    for _ in range(24):
        mind._learn(meta, ROUTES[Mode.EXPLOIT])
    assert [g["lr"] for g in mind.a.optimizer.param_groups] == base_a


@pytest.mark.parametrize(
    ("ratio", "steps", "expected"), [(0.125, 64, 8), (0.25, 10, 2), (1.0, 7, 7), (2.0, 5, 10)]
)
def test_the_replay_ratio_is_met_exactly(ratio, steps, expected):
    assert sum(updates_due(step, ratio) for step in range(1, steps + 1)) == expected
    assert sum(updates_due(step, 0.1) for step in range(1, 1001)) == 100  # 10 x 0.1 is 1


def test_the_replay_ratio_sets_the_learning_steps_of_a_life():
    for ratio, updates in ((0.25, 43), (2.0, 338)):  # world steps 32..200 learn
        agent, _ = grown("b_only", steps=200, replay_ratio=ratio)
        assert agent.counters["learn_steps"] == updates


def test_an_old_genome_s_train_every_is_read_as_its_replay_ratio():
    assert Genome.from_dict({"train_every": 4}).replay_ratio == 0.25


def test_no_policy_falls_below_the_exploration_floor():
    """At a near-greedy temperature, with one action worth far more, every action keeps at
    least epsilon / A of the probability: a habit that settled early still meets the others."""
    torch.manual_seed(0)
    b = SystemB(4, Genome(latent_dim=8, q_hidden=16, epsilon=0.04))
    with torch.no_grad():
        b.q[-1].bias.copy_(torch.tensor([100.0, 0, 0, 0] * 2))
    probs = b.policy(torch.zeros(1, 8), temperature=0.01)
    assert min(probs) == pytest.approx(0.01, rel=1e-6)
    assert sum(probs) == pytest.approx(1.0)
    greedy = SystemB(4, Genome(latent_dim=8, q_hidden=16, epsilon=0.0))
    greedy.load_state_dict(b.state_dict())
    assert min(greedy.policy(torch.zeros(1, 8), temperature=0.01)) < 1e-6


def test_surprise_is_the_largest_of_a_measured_block_not_its_last():
    """A block's worst error against earlier blocks' worst: an event early in a block is
    surprising for that block, and only for it."""
    telemetry = Telemetry(0.05, 0.005, 0.001, 0.02, 0.7)
    for b in range(20):
        calm = [1.0 + 0.1 * math.sin(b + k) for k in range(32)]
        telemetry.on_predictions(calm, [0.1] * 32, [2.0] * 32)
    assert abs(telemetry.surprise) < 2.0
    block = [1.0] * 32
    block[10] = 5.0  # one surprising transition early in the block
    telemetry.on_predictions(block, [0.1] * 32, [2.0] * 32)
    assert telemetry.surprise > 10.0
    telemetry.on_predictions([1.0] * 32, [0.1] * 32, [2.0] * 32)
    assert telemetry.surprise < 2.0


def test_a_life_saved_by_the_old_learner_is_refused_in_one_line():
    """Before issue 26 A's optimiser held the encoder: such a checkpoint cannot be loaded into
    today's networks, and says so instead of failing inside torch."""
    agent, _ = grown("a_plus_b", steps=40)
    state = agent.mind.state_dict()
    del state["learner"]  # as saved before the version was recorded
    with pytest.raises(UserError, match="learner version 1 .* version 2"):
        agent.mind.load_state_dict(state)
    agent.mind.load_state_dict(agent.mind.state_dict())  # today's own loads


def test_a_periodic_reset_redraws_b_s_heads_and_shrinks_its_encoder():
    """Every `reset_every` learning steps (BBF): fresh heads, the encoder half its old self and
    half a fresh draw, their optimiser moments forgotten, the EMA targets left to carry on."""
    agent, genome = grown("b_only", steps=31, reset_every=3, reset_shrink=0.5, replay_ratio=1.0)
    mind, meta = agent.mind, meta_action(genome, Mode.EXPLOIT, "test")
    for _ in range(2):
        mind._learn(meta, ROUTES[Mode.EXPLOIT])
    b = mind.b
    mind._update(meta, ROUTES[Mode.EXPLOIT])  # the third step's update, by hand: see it before
    before = {name: p.clone() for name, p in b.named_parameters()}
    targets = [p.clone() for p in b.q_target.parameters()]
    rng = mind.model_rng.get_state()
    mind._reset_b()
    mind.model_rng.set_state(rng)
    head, encoder = b.q[0].weight, b.encoder[0].conv[0].weight
    fresh_head = torch.empty_like(head)
    assert not torch.equal(head, before["q.0.weight"])
    assert head.std().item() == pytest.approx(
        torch.nn.init.uniform_(fresh_head, -1, 1).std().item() / math.sqrt(head.shape[1]), rel=0.2
    )
    old = before["encoder.0.conv.0.weight"]
    moved = (encoder - 0.5 * old).std() / old.std()
    assert 0.3 < moved.item() < 0.8  # half a fresh draw on top of half the old weights
    assert head not in b.optimizer.state and encoder not in b.optimizer.state
    assert all(torch.equal(x, y) for x, y in zip(targets, b.q_target.parameters(), strict=True))
    # And learning calls it: every third learning step resets.
    calls = []
    mind._reset_b = lambda: calls.append(agent.counters["learn_steps"])
    for _ in range(6):
        mind._learn(meta, ROUTES[Mode.EXPLOIT])
    assert calls == [3, 6]


@pytest.mark.parametrize("name", ["b_only", "abm"])
def test_the_kept_terms_of_a_learning_step_add_up_to_its_loss(name):
    """`loss_on(..., keep=...)` hands out each weighted term (what benchmarks/
    encoder_gradients.py differentiates alone): together they are the loss, nothing left out."""
    agent, genome = grown(name, steps=80)
    mind, meta = agent.mind, meta_action(genome, Mode.EXPLOIT, "test")
    terms: dict = {}
    loss, _, _ = mind.loss_on(mind.sample(meta), a_learns=mind.a is not None, keep=terms)
    expected = {"td"} | (
        set()
        if mind.a is None
        else {"a_prediction", "a_variance", "a_covariance", "a_reward", "a_inverse"}
        | {"predicted_value", "curiosity"}
    )
    assert set(terms) == expected
    torch.testing.assert_close(sum(terms.values()), loss, rtol=1e-5, atol=1e-7)


def test_with_a_shared_target_a_predicts_the_latents_b_bootstraps_from():
    """`shared_target` 1 (SPR): A's targets are B's slow encoder's latents, and A's own copy is
    not read in the learning step at all."""
    agent, genome = grown("a_plus_b", steps=80, shared_target=1)
    mind, meta = agent.mind, meta_action(genome, Mode.EXPLOIT, "test")

    def refused(obs):
        raise AssertionError("A's own target encoder was read")

    mind.a.embed_sequences = refused
    batch = mind.sample(meta)
    terms: dict = {}
    mind.loss_on(batch, a_learns=True, keep=terms)
    with torch.no_grad():  # A's loss recomputed against B's slow latents of every frame
        obs = batch["obs"]
        target = mind.b.target_encoder(obs.flatten(0, 1)).view(*obs.shape[:2], -1)
        alive = torch.cumprod(1.0 - batch["first"][:, 1:].float(), dim=1)
        expected: dict = {}
        world_model_loss(
            mind.a,
            mind.b.encoder(obs[:, 0]),
            target,
            batch["action"],
            alive,
            batch["reward"],
            genome,
            keep_terms=expected,
        )
    assert torch.allclose(terms["a_prediction"], genome.model_weight * expected["prediction"])


def test_with_a_shared_target_a_measures_its_errors_against_b_s_slow_latents():
    """After a learning step A's target encoder is a copy of B's slow one, so the errors M reads
    (and the actions A infers) are in the latent space A learns to predict; without the shared
    target it follows the online encoder."""
    shared, _ = grown("a_plus_b", steps=80, shared_target=1)
    own, _ = grown("a_plus_b", steps=80, shared_target=0)
    for agent, follows in ((shared, shared.mind.b.target_encoder), (own, own.mind.b.encoder)):
        assert agent.mind.counters["updates_a"] > 0
        pairs = zip(agent.mind.a.target_encoder.parameters(), follows.parameters(), strict=True)
        assert all(torch.equal(mine, theirs) for mine, theirs in pairs)
    b = shared.mind.b
    distinct = zip(b.target_encoder.parameters(), b.encoder.parameters(), strict=True)
    assert not all(torch.equal(slow, online) for slow, online in distinct)
