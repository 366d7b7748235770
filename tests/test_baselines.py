"""Baselines: each differs from the A-B-M agent in exactly the way its name says."""

import inspect
import json
from collections import Counter

import numpy as np
import pytest
import torch
from conftest import TINY

from lifelong import agents as registry
from lifelong.actions import action_kind
from lifelong.agent import Agent
from lifelong.agents import AGENTS, TEACHERS, build_agent
from lifelong.baselines import (
    BanditMind,
    CusumUCB,
    FixedController,
    FrozenSchedule,
    RandomController,
    RandomMind,
    SlidingWindowUCB,
    TimerController,
)
from lifelong.config import Config, parse_mode_mix
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.life import open_life, read_metrics
from lifelong.mind import ABMMind
from lifelong.modes import ROUTES, Mode
from lifelong.policies import load_policy
from lifelong.signals import MetaState
from lifelong.systems import action as action_module
from lifelong.systems.control import MetaController
from lifelong.worlds import make_world

SB3_AGENTS = {"sb3_dqn", "sb3_ppo", "sb3_sac", "sb3_td3"}
OWN_LOOPS = SB3_AGENTS | {"oracle"}  # living in loops of their own (the oracle: issue 27)


def test_every_agent_of_our_loop_is_built_from_a_controller_and_a_mind():
    ours = {name for name, entry in AGENTS.items() if entry.loop == "ours"}
    assert set(AGENTS) - ours == OWN_LOOPS
    assert all(AGENTS[name].controller and AGENTS[name].mind for name in ours)
    assert all(AGENTS[name].controller is None for name in OWN_LOOPS)


def test_unknown_agent_and_bad_mix_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown agent 'dreamer'; agents: abm, frozen"):
        registry.entry("dreamer")
    with pytest.raises(UserError, match="unknown agent 'dreamer'"):
        open_life(tmp_path / "x", world="nursery-small", config_changes={"agent": "dreamer"})
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="mode_mix"):
        Config(mode_mix="observe=0.5,dance=0.5")
    with pytest.raises(UserError, match="positive weight"):
        Config(mode_mix="observe=0,sleep=0")


def test_mode_mix_is_normalised():
    assert parse_mode_mix("explore=1,exploit=3") == {
        "observe": 0.0,
        "explore": 0.25,
        "exploit": 0.75,
        "sleep": 0.0,
        "plan": 0.0,
        "imagine": 0.0,
    }


def _modes(controller, ticks: int) -> list[Mode]:
    return [controller.decide(MetaState()).mode for _ in range(ticks)]


def test_timer_cycles_through_the_modes_in_proportion():
    mix = parse_mode_mix("observe=0.1,explore=0.2,exploit=0.6,sleep=0.1")
    modes = _modes(TimerController(Genome(), mix, cycle=10), 20)
    one_cycle = [Mode.OBSERVE] + [Mode.EXPLORE] * 2 + [Mode.EXPLOIT] * 6 + [Mode.SLEEP]
    assert modes == one_cycle * 2


def test_random_modes_match_the_frequencies_in_blocks_of_min_dwell():
    genome = Genome(min_dwell=4)
    mix = parse_mode_mix("observe=0.1,explore=0.2,exploit=0.6,sleep=0.1")
    modes = _modes(RandomController(genome, mix, seed=3), 40_000)
    counts = Counter(modes)
    for mode, share in mix.items():
        assert abs(counts[Mode(mode)] / len(modes) - share) < 0.02
    blocks = [modes[i : i + 4] for i in range(0, len(modes), 4)]
    assert all(len(set(block)) == 1 for block in blocks)
    again = _modes(RandomController(genome, mix, seed=3), 400)
    assert again == modes[:400]


def test_frozen_schedule_observes_then_learns_then_stops_learning():
    controller = FrozenSchedule(Genome(), after=10)
    actions = [controller.decide(MetaState()) for _ in range(14)]
    assert [a.mode for a in actions[:2]] == [Mode.OBSERVE] * 2
    assert [a.mode for a in actions[2:10]] == [Mode.EXPLORE] * 8
    assert all(a.learns for a in actions[:10])
    assert [(a.mode, a.learns) for a in actions[10:]] == [(Mode.EXPLOIT, False)] * 4


def _life(tmp_path, agent: str, world: str = "nursery-small", **config):
    return open_life(
        tmp_path / agent,
        world=world,
        seed=1,
        config_changes=dict(agent=agent, tensorboard=False, log_every=100, **config),
        genome_changes=TINY,
    )


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_frozen_agent_learns_until_its_schedule_ends_then_never_again(tmp_path):
    life = _life(tmp_path, "frozen", frozen_after=300)
    life.run(300)
    assert life.agent.counters["updates_b"] > 0
    updates = dict(life.agent.counters)
    a, b = _weights(life.agent.mind.a), _weights(life.agent.mind.b)
    life.run(600)
    for key in ("updates_a", "updates_b", "learn_steps"):
        assert life.agent.counters[key] == updates[key]
    assert all(torch.equal(x, y) for x, y in zip(a, _weights(life.agent.mind.a), strict=True))
    assert all(torch.equal(x, y) for x, y in zip(b, _weights(life.agent.mind.b), strict=True))


def test_a_only_never_learns_from_the_worlds_reward(tmp_path, monkeypatch):
    # CartPole pays +1 every step: the extrinsic heads must see none of it, and the curiosity
    # head, which the agent acts on, learns A's disagreement, normalised: its n-step returns
    # divided by their running std (the first batch's own, then an EMA of the batches', rate
    # 0.01), so CartPole's +1 or any other scale would show.
    life = _life(tmp_path, "a_only", world="gym:CartPole-v1")
    extrinsic, intrinsic, targets = [], [], []
    b = life.agent.mind.b
    extrinsic_loss, intrinsic_loss = b.extrinsic_loss, b.intrinsic_loss
    td_loss = action_module.td_loss

    def spy_extrinsic(z0, z_last, action, reward, *rest):
        extrinsic.append(reward.clone())
        return extrinsic_loss(z0, z_last, action, reward, *rest)

    def spy_intrinsic(z0, z_last, action, bonus, steps):
        scale = b.intrinsic_scale.item()
        loss, info = intrinsic_loss(z0, z_last, action, bonus, steps)
        with torch.no_grad():  # what the head was asked to learn, less its bootstrap
            learned = targets[-1] - steps.discount * b.intrinsic_bootstrap(z_last)
        returns = steps.returns(torch.cat([torch.zeros_like(bonus[:, :1]), bonus], dim=1))
        intrinsic.append((bonus.clone(), returns[steps.valid], learned[steps.valid], scale, info))
        return loss, info

    def spy_td_loss(q_taken, wanted, valid):
        targets.append(wanted.detach().clone())
        return td_loss(q_taken, wanted, valid)

    monkeypatch.setattr(b, "extrinsic_loss", spy_extrinsic)
    monkeypatch.setattr(b, "intrinsic_loss", spy_intrinsic)
    monkeypatch.setattr(action_module, "td_loss", spy_td_loss)
    life.run(300)
    assert extrinsic and len(intrinsic) > 10
    assert all(torch.all(r == 0) for r in extrinsic)
    assert all(torch.all(bonus > 0) for bonus, *_ in intrinsic)
    expected_scale = 0.0  # unmeasured before the first batch
    for _, returns, learned, scale, info in intrinsic:
        spread = returns.std(correction=0).item()
        assert info["b_intrinsic_spread"] == pytest.approx(spread, rel=1e-5)
        assert scale == pytest.approx(expected_scale, rel=1e-5)
        used = scale if scale > 0 else spread
        torch.testing.assert_close(learned, returns / used, rtol=1e-4, atol=1e-6)
        expected_scale = (
            spread if expected_scale == 0 else expected_scale + 0.01 * (spread - expected_scale)
        )
    first_returns, first_learned = intrinsic[0][1], intrinsic[0][2]
    assert first_learned.std(correction=0).item() == pytest.approx(1.0, rel=1e-4)
    assert first_returns.std(correction=0).item() != pytest.approx(1.0, rel=0.05)
    assert b.intrinsic_scale.item() == pytest.approx(expected_scale, rel=1e-5)


def test_b_only_has_no_world_model_and_trains_its_own_encoder(tmp_path):
    life = _life(tmp_path, "b_only")
    assert life.agent.mind.a is None and life.agent.mind.b.encoder is not None
    encoder = _weights(life.agent.mind.b.encoder)
    life.run(300)
    assert life.agent.counters["updates_b"] > 0 and life.agent.counters["updates_a"] == 0
    assert any(
        not torch.equal(x, y)
        for x, y in zip(encoder, _weights(life.agent.mind.b.encoder), strict=True)
    )


def test_a_plus_b_shares_one_encoder_that_b_trains_between_a_s_steps(tmp_path, monkeypatch):
    """B reads A's online encoder, and its TD loss alone moves it on the learning steps where
    A's loss is not due; A learns too; M never leaves EXPLOIT and curiosity is never learned."""
    life = _life(tmp_path, "a_plus_b")
    agent = life.agent
    assert agent.mind.b.encoder is agent.mind.a.encoder and not agent.mind.curious
    life.run(300)
    assert agent.counters["updates_a"] > 0
    assert agent.counters["updates_b"] > agent.counters["updates_a"]
    assert "b_intrinsic_loss" not in agent.losses
    # One learning step without A's loss: the encoder still moves (B's gradient), the
    # predictor does not.
    while (agent.counters["learn_steps"] + 1) % agent.genome.a_every == 0:
        agent.counters["learn_steps"] += 1  # the next step is not one of A's
    encoder, predictor = _weights(agent.mind.a.encoder), _weights(agent.mind.a.predictor)
    updates_a = agent.counters["updates_a"]
    agent.mind._learn(agent.meta, ROUTES[Mode.EXPLOIT])
    assert agent.counters["updates_a"] == updates_a
    moved = zip(encoder, _weights(agent.mind.a.encoder), strict=True)
    assert any(not torch.equal(x, y) for x, y in moved)
    kept = zip(predictor, _weights(agent.mind.a.predictor), strict=True)
    assert all(torch.equal(x, y) for x, y in kept)
    assert all(r["mode_exploit"] == 1.0 for r in read_metrics(tmp_path / "a_plus_b"))


def test_the_agent_decides_with_the_controller_it_is_given():
    world, genome = make_world("nursery-small"), Genome(**TINY)
    spaces = world.observation_space, world.action_space
    controller = FixedController(genome, Mode.OBSERVE, "injected")
    agent = Agent(controller, ABMMind, spaces[0], action_kind(spaces[1]), genome)
    assert agent.controller is controller
    assert [(m.mode, m.rule) for m in (agent.decide(), agent.decide())] == [
        (Mode.OBSERVE, "injected")
    ] * 2
    default = build_agent(Config(), *spaces, genome)
    assert type(default.controller) is MetaController and not default.controller.disabled
    ablated = build_agent(Config(agent="abm", ablate="pain,plan"), *spaces, genome)
    assert ablated.controller.disabled == {"pain", "plan"}


@pytest.mark.parametrize("agent", ["random", "sw_ucb", "cusum_ucb"])
def test_agents_without_a_policy_hold_no_networks(agent):
    world = make_world("nursery-small")
    built = build_agent(
        Config(agent=agent), world.observation_space, world.action_space, Genome(**TINY)
    )
    assert isinstance(built.mind, RandomMind) and agent not in TEACHERS
    assert not any(isinstance(value, torch.nn.Module) for value in vars(built.mind).values())
    for cls in (RandomMind, BanditMind):
        source = inspect.getsource(cls)
        assert "torch" not in source and "System" not in source


def test_every_agent_that_teaches_has_the_a_b_m_mind():
    world = make_world("nursery-small")
    for name in TEACHERS:
        built = build_agent(
            Config(agent=name), world.observation_space, world.action_space, Genome(**TINY)
        )
        assert isinstance(built.mind, ABMMind), name


@pytest.mark.parametrize(
    ("agent", "ablate"), [("b_only", ""), ("a_plus_b", ""), ("abm", "change,plan")]
)
def test_a_baseline_or_an_ablation_can_teach(tmp_path, agent, ablate):
    """`load_policy` builds the agent its life was: b_only has no A, and an abm without the
    `change` rules has no unit trackers; a plain agent could load neither."""
    life = _life(tmp_path, agent, ablate=ablate)
    life.run(150)
    policy = load_policy(life.directory)
    obs, _ = make_world("nursery-small").reset(seed=3)
    with torch.inference_mode():
        z = life.agent.mind.b_input(torch.as_tensor(obs).unsqueeze(0))
        expected = int(life.agent.mind.b.values(z).argmax().item())
    assert policy(obs) == expected


def test_an_agent_without_a_policy_cannot_teach(tmp_path):
    _life(tmp_path, "sw_ucb").run(100)
    with pytest.raises(UserError, match="agent 'sw_ucb', which learns no policy.*abm, frozen"):
        load_policy(tmp_path / "sw_ucb")


def test_random_agent_acts_uniformly_and_learns_nothing(tmp_path):
    life = _life(tmp_path, "random")
    actions = Counter(life.agent.act() for _ in range(6000))
    assert len(actions) == life.agent.actions.n
    assert min(actions.values()) > 6000 / life.agent.actions.n * 0.85
    life.run(300)
    assert life.agent.counters["learn_steps"] == 0


@pytest.mark.parametrize("agent", ["frozen", "b_only", "timer_m", "random_m", "cusum_ucb"])
def test_baseline_lives_resume_exactly(tmp_path, agent):
    whole = _life(tmp_path / "whole", agent, frozen_after=200)
    whole.run(400)
    # Split inside a record interval (100) and before the frozen baseline's freeze (200).
    halves = _life(tmp_path / "halves", agent, frozen_after=200)
    halves.run(150)
    again = open_life(halves.directory)
    assert again.agent.counters["env_steps"] == 150
    again.run(400)
    strip = ("wall_time", "steps_per_s")
    ours = [{k: v for k, v in r.items() if k not in strip} for r in read_metrics(whole.directory)]
    theirs = [{k: v for k, v in r.items() if k not in strip} for r in read_metrics(again.directory)]
    assert ours == theirs
    paths = [life.directory / "events.jsonl" for life in (whole, again)]
    events = [path.read_text() if path.exists() else "" for path in paths]
    assert events[0] == events[1]


def test_events_log_every_mode_switch_and_regime_change(tmp_path):
    life = _life(tmp_path, "timer_m", timer_cycle=50)
    life.run(1200)  # nursery-small changes season every 1000 steps
    events = [
        json.loads(line) for line in (life.directory / "events.jsonl").read_text().splitlines()
    ]
    assert [e["step"] for e in events] == sorted(e["step"] for e in events)
    regimes = [e for e in events if e["kind"] == "regime"]
    assert [e["step"] for e in regimes][:1] == [1000]
    modes = [e["mode"] for e in events if e["kind"] == "mode"]
    assert set(modes) == {"observe", "explore", "exploit", "sleep"}
    assert all(a != b for a, b in zip(modes[:-1], modes[1:], strict=True))


def _bernoulli(rng, p: float) -> float:
    return float(rng.random() < p)


@pytest.mark.parametrize("algorithm", [SlidingWindowUCB, CusumUCB])
def test_bandit_references_find_the_best_arm_and_follow_a_change(algorithm):
    rng = np.random.default_rng(0)
    bandit = algorithm(3)
    means = [0.2, 0.8, 0.5]
    for t in range(6000):
        if t == 3000:
            means = [0.9, 0.1, 0.5]
        arm = bandit.choose(rng)
        bandit.update(arm, _bernoulli(rng, means[arm]))
        if t == 2999:
            before = Counter(bandit.choose(rng) for _ in range(200))
    after = Counter(bandit.choose(rng) for _ in range(200))
    assert before.most_common(1)[0][0] == 1
    assert after.most_common(1)[0][0] == 0


def test_cusum_detects_a_jump_soon_and_stays_quiet_without_one():
    rng = np.random.default_rng(1)
    quiet = CusumUCB(2, alpha=0.5)
    alarms = sum(quiet.update(int(rng.integers(2)), _bernoulli(rng, 0.5)) for _ in range(20_000))
    assert alarms == 0
    detector = CusumUCB(1)
    for _ in range(500):
        detector.update(0, _bernoulli(rng, 0.2))
    delay = next(t for t in range(2000) if detector.update(0, _bernoulli(rng, 0.8)))
    assert delay < 100


def test_build_agent_refuses_sb3_names():
    world = make_world("nursery-small")
    with pytest.raises(UserError, match="Stable-Baselines3 runs its own loop"):
        build_agent(Config(agent="sb3_dqn"), world.observation_space, world.action_space, Genome())
