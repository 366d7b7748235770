"""System M's rules, checked by their effect on what the agent does and learns."""

import numpy as np
import pytest
import torch
from conftest import TINY

import lifelong.mind as mind_module
from lifelong.agent import Agent
from lifelong.agents import build_agent
from lifelong.config import Config
from lifelong.genome import Genome
from lifelong.life import open_life
from lifelong.modes import Mode
from lifelong.systems.control import meta_action
from lifelong.worlds import make_world, noop_action


def newborn(world: str = "nursery-small", **genes) -> tuple[Agent, object]:
    env = make_world(world)
    genome = Genome(**{**TINY, **genes})
    agent = build_agent(Config(seed=0), env.observation_space, env.action_space, genome)
    agent.begin(*env.reset(seed=0))
    return agent, env


def live(agent: Agent, env, steps: int) -> None:
    for _ in range(steps):
        agent.decide()
        action = agent.act()
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(action, obs, float(reward), terminated, info)


def in_mode(agent: Agent, mode: Mode) -> None:
    agent.meta = meta_action(agent.genome, mode, "test")


def test_in_plan_mode_the_action_comes_from_the_planner(monkeypatch):
    agent, _ = newborn()
    calls = []

    def planner(a, b, obs, genome, generator):
        calls.append(obs.shape)
        return 4, {}

    monkeypatch.setattr(mind_module, "plan", planner)
    in_mode(agent, Mode.PLAN)
    assert [agent.act() for _ in range(3)] == [4, 4, 4] and len(calls) == 3
    in_mode(agent, Mode.EXPLOIT)
    agent.act()
    assert len(calls) == 3


def test_pain_aborts_the_plan_on_that_very_step(monkeypatch):
    agent, _ = newborn(min_dwell=100)
    monkeypatch.setattr(mind_module, "plan", lambda *args: (4, {}))
    agent.controller.mode, agent.controller.dwell = Mode.PLAN, 1  # mid-plan, dwell not over
    agent.telemetry.on_world_step(0.0, {"energy": 1.0, "pain": 0.9})
    meta = agent.decide()
    assert (meta.mode, meta.rule) == (Mode.EXPLOIT, "pain")


def test_sleep_and_imagination_take_no_world_step(tmp_path, monkeypatch):
    life = open_life(
        tmp_path,
        world="nursery-small",
        config_changes={"tensorboard": False, "log_every": 100},
        genome_changes=TINY,
    )
    steps = 0
    step = life.world.step

    def counting(action):
        nonlocal steps
        steps += 1
        return step(action)

    monkeypatch.setattr(life.world, "step", counting)
    modes = iter([Mode.SLEEP] * 30 + [Mode.IMAGINE] * 30)

    def decide():
        mode = next(modes, Mode.EXPLOIT)
        life.agent.meta = meta_action(life.agent.genome, mode, "test")
        life.agent.counters["ticks"] += 1
        return life.agent.meta

    monkeypatch.setattr(life.agent, "decide", decide)
    life.run(100)
    counters = life.agent.counters
    assert counters["sleep_ticks"] == 30 and counters["imagine_ticks"] == 30
    assert steps == counters["env_steps"] == 100


def test_observing_follows_the_teacher_in_view_and_remembers_whose_lead_it_was():
    agent, env = newborn()
    for _ in range(2000):  # live until a teacher is in view
        if agent.teacher_action is not None:
            break
        live(agent, env, 1)
    assert agent.teacher_action is not None, "no teacher came into view"
    in_mode(agent, Mode.OBSERVE)
    action, teacher = agent.act(), agent.teacher_source
    assert action == agent.teacher_action and agent.followed == teacher
    obs, reward, terminated, _, info = env.step(action)
    agent.observe(action, obs, float(reward), terminated, info)
    newest = (agent.mind.memory._head - 1) % agent.mind.memory.recent_capacity
    assert agent.mind.sources == [teacher] and agent.mind.memory._recent["source"][newest] == 0
    agent.decide()  # on its own again: its own choices are stored as source -1
    in_mode(agent, Mode.EXPLOIT)
    action = agent.act()
    obs, reward, terminated, _, info = env.step(action)
    agent.observe(action, obs, float(reward), terminated, info)
    assert agent.mind.memory._recent["source"][newest + 1] == -1


def test_observing_with_nobody_in_view_keeps_still(tmp_path):
    life = open_life(
        tmp_path, world="nursery-small", config_changes={"tensorboard": False}, genome_changes=TINY
    )
    agent = life.agent
    assert agent.noop_action == noop_action(life.world) == 0  # the life set it: "stay"
    agent.teacher_action = agent.teacher_source = None
    in_mode(agent, Mode.OBSERVE)
    assert [agent.act() for _ in range(5)] == [0] * 5
    assert agent.followed is None
    life.close()


def test_imagination_leaves_a_s_weights_alone():
    agent, env = newborn()
    live(agent, env, 400)
    in_mode(agent, Mode.IMAGINE)
    before = {k: v.clone() for k, v in agent.mind.a.state_dict().items()}
    b_before = [p.detach().clone() for p in agent.mind.b.parameters()]
    for _ in range(20):
        agent.imagine()
    assert agent.counters["imagined_kept"] > 0  # B did learn from the dream...
    assert any(
        not torch.equal(p, q) for p, q in zip(b_before, agent.mind.b.parameters(), strict=True)
    )
    for key, value in agent.mind.a.state_dict().items():  # ...and A, the dreamer, did not move
        assert torch.equal(value, before[key]), key


def test_imagination_teaches_b_only_from_trajectories_that_beat_its_values():
    agent, env = newborn()
    live(agent, env, 400)  # past warm-up, A and B trained a little
    in_mode(agent, Mode.IMAGINE)
    before = agent.counters["updates_b"]
    for _ in range(20):
        agent.imagine()
    kept = agent.counters["imagined_kept"]
    assert 0 < kept < 20 * agent.genome.imagine_batch
    assert agent.counters["updates_b"] > before


def test_an_agreed_change_resets_units_and_boosts_learning_rates_once():
    agent, env = newborn(reinit_fraction=0.1)  # TINY's 32 units: 2% would be no unit at all
    live(agent, env, 1000)  # units observed long enough to be judged (plasticity: maturity)
    lr = agent.mind.b.optimizer.param_groups[0]["lr"]
    weights = [p.detach().clone() for p in agent.mind.b.q.parameters()]
    agent.controller.mode, agent.controller.dwell = Mode.EXPLOIT, 100  # awake, free to switch
    agent.telemetry.sleep_pressure = 0.0
    agent.telemetry.change_pending = True  # one stream alarmed: explore, nothing costly
    meta = agent.decide()
    assert meta.rule == "change detected" and agent.counters["interventions"] == 0
    agent.telemetry.agreement_pending = True  # the other stream confirms it
    meta = agent.decide()
    assert agent.counters["interventions"] == 1
    assert not agent.telemetry.agreement_pending  # M has heard of it
    assert agent.mind.b.optimizer.param_groups[0]["lr"] == pytest.approx(lr * agent.genome.lr_boost)
    changed = [
        not torch.equal(a, b) for a, b in zip(weights, agent.mind.b.q.parameters(), strict=True)
    ]
    assert any(changed)
    agent.decide()  # still exploring, dwelling: no second intervention
    assert agent.counters["interventions"] == 1


def test_the_meta_action_log_is_reproducible(tmp_path):
    logs = []
    for name in ("one", "two"):
        life = open_life(
            tmp_path / name,
            world="nursery-small",
            seed=3,
            config_changes={"tensorboard": False, "log_every": 100},
            genome_changes=TINY,
        )
        life.run(600)
        logs.append((tmp_path / name / "events.jsonl").read_text())
    assert logs[0] == logs[1] and '"rule"' in logs[0]


def test_m_reads_signals_only_and_keeps_its_genome():
    agent, env = newborn()
    genome = agent.controller.genome
    before = genome.to_dict()  # a snapshot: a genome changed in place would differ from it
    live(agent, env, 300)
    assert agent.controller.genome is genome and genome.to_dict() == before


def test_a_teacher_can_show_the_outcome_and_leave_the_world_as_it_was():
    shown = make_world("nursery-small(teachers=0)+teacher(policy=random, shows=outcome)")
    plain = make_world("nursery-small(teachers=0)")
    obs, info = shown.reset(seed=4)
    plain.reset(seed=4)
    for step in range(30):
        demo = info["teacher"]
        assert "action" not in demo and demo["next_obs"].shape == obs.shape
        # The world still runs as if nobody had looked ahead.
        obs, _, _, _, info = shown.step(step % 5)
        expected = plain.step(step % 5)[0]
        assert np.array_equal(obs, expected)


def test_shows_outcome_needs_a_world_that_can_be_saved():
    from lifelong.errors import UserError

    for spec in ("gym:FrozenLake-v1", "gym:FrozenLake-v1+shift(kind=actions,every=10)"):
        with pytest.raises(UserError, match="needs a world that can be saved"):
            make_world(f"{spec}+teacher(shows=outcome)")
    make_world("gym:CartPole-v1+shift(kind=gravity,every=10)+teacher(shows=outcome)")


def test_the_agent_copies_an_inferred_action_only_when_a_is_confident(monkeypatch):
    agent, _ = newborn(infer_confidence=0.6)
    obs = agent.obs
    sure = (torch.tensor([3]), torch.tensor([0.9]))
    unsure = (torch.tensor([3]), torch.tensor([0.3]))
    monkeypatch.setattr(agent.mind.a, "infer_action", lambda o, n: sure)
    agent._perceive(obs, {"teacher": {"source": "t", "next_obs": obs}})
    assert (agent.teacher_action, agent.teacher_source) == (3, "t")
    monkeypatch.setattr(agent.mind.a, "infer_action", lambda o, n: unsure)
    agent._perceive(obs, {"teacher": {"source": "t", "next_obs": obs}})
    assert agent.teacher_action is None and agent.teacher_source == "t"
