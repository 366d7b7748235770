"""The body every agent shares: a Controller and a Mind injected, the books kept in one place."""

from typing import Any

import numpy as np
import pytest
from conftest import TINY

from lifelong.actions import action_kind
from lifelong.agent import Agent, Birth
from lifelong.agents import AGENTS, build_agent, check_fits, entry
from lifelong.baselines import RandomMind
from lifelong.bench import SUITES
from lifelong.cli import main
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState
from lifelong.systems.control import MetaAction, meta_action
from lifelong.worlds import make_world


class Script:
    """A controller that plays a list of modes, then EXPLOIT: the Controller protocol only."""

    uses_detector = False
    intervenes = False

    def __init__(self, genome: Genome, modes: list[Mode]) -> None:
        self.genome, self.modes, self.heard = genome, list(modes), []

    def decide(self, state: MetaState) -> MetaAction:
        self.heard.append(state)
        return meta_action(self.genome, self.modes.pop(0) if self.modes else Mode.EXPLOIT, "script")

    def current(self) -> MetaAction:
        return meta_action(self.genome, Mode.EXPLOIT, "birth")

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class Journal(RandomMind):
    """A mind that writes down which of its verbs the body called, and always takes action 1."""

    def __init__(self, birth: Birth) -> None:
        super().__init__(birth)
        self.calls: list[str] = []

    def act(self, obs: np.ndarray, meta: MetaAction, lead: Any = None) -> Any:
        self.calls.append("act" if lead is None else f"follow {lead}")
        return 1 if lead is None else lead

    def learn(self, meta: MetaAction) -> None:
        self.calls.append("learn")

    def sleep(self, meta: MetaAction) -> None:
        self.calls.append("sleep")

    def imagine(self, meta: MetaAction) -> None:
        self.calls.append("imagine")


def _body(modes: list[Mode], world: str = "nursery-small") -> tuple[Agent, Any]:
    env = make_world(world)
    genome = Genome(**TINY)
    agent = Agent(
        Script(genome, modes),
        Journal,
        env.observation_space,
        action_kind(env.action_space),
        genome,
        noop_action=4,
    )
    agent.begin(*env.reset(seed=0))
    return agent, env


def test_the_route_decides_whether_a_tick_takes_a_world_step():
    modes = [Mode.SLEEP, Mode.IMAGINE, Mode.EXPLOIT, Mode.PLAN, Mode.OBSERVE]
    agent, env = _body(modes)
    actions = [agent.tick() for _ in modes]
    assert [a is not None for a in actions] == [ROUTES[m].steps_world for m in modes]
    # Nobody in view when observing: the body hands the mind the world's no-op to keep still.
    assert agent.mind.calls == ["sleep", "imagine", "act", "act", "follow 4"]
    assert agent.counters["sleep_ticks"] == agent.counters["imagine_ticks"] == 1
    assert agent.counters["ticks"] == 5 and agent.counters["env_steps"] == 0


def test_the_body_keeps_the_books_of_any_mind():
    """Counters, cleaning and the telemetry M reads are the body's: a mind of a few lines gets
    them all without a copy."""
    agent, env = _body([])
    for step in range(40):
        action = agent.tick()
        obs, reward, terminated, _, info = env.step(action)
        if step == 3:
            obs, reward = np.full_like(obs, np.nan), float("inf")
        agent.observe(action, obs, float(reward), terminated, info)
    assert agent.counters["env_steps"] == 40 and agent.counters["ticks"] == 40
    assert agent.counters["sanitized"] == 2  # one observation, one reward
    assert agent.mind.calls.count("learn") == 40
    assert agent.telemetry.meta_state().energy < 1.0  # the Nursery's body reached M's signals
    assert "return_after_exploit" in agent.realised_returns()
    assert len(agent.controller.heard) == 40


def test_news_of_a_change_is_heard_once():
    agent, _ = _body([])
    agent.telemetry.change_pending = agent.telemetry.agreement_pending = True
    assert agent.telemetry.meta_state().change_detected == 1.0  # a record's read leaves it
    agent.decide()
    agent.decide()
    first, second = agent.controller.heard
    assert (first.change_detected, first.change_agreed) == (1.0, 1.0)
    assert (second.change_detected, second.change_agreed) == (0.0, 0.0)


def test_a_body_saved_with_any_mind_resumes_and_an_old_random_life_too():
    agent, env = _body([Mode.EXPLOIT] * 5)
    for _ in range(5):
        action = agent.tick()
        agent.observe(action, *env.step(action)[:3], {})
    state = agent.state_dict()
    again, _ = _body([])
    again.load_state_dict(state)
    assert again.counters == agent.counters and np.array_equal(again.obs, agent.obs)
    # A `random` life saved before the body was shared kept neither controller nor view.
    old = {k: v for k, v in state.items() if k not in ("controller", "obs", "teacher_action")}
    built = build_agent(Config(agent="random"), env.observation_space, env.action_space, Genome())
    built.load_state_dict(old)
    assert built.counters["env_steps"] == 5 and built.meta.mode == Mode.EXPLOIT


def test_every_list_of_agents_is_the_registry(capsys):
    named = {agent for suite in SUITES.values() for agent in suite.agents}
    assert all(entry(agent) for agent in named)  # ablations are abm's entry
    assert main(["agents"]) == 0
    printed = capsys.readouterr().out
    assert all(f"\n{name} " in printed for name in AGENTS)
    with pytest.raises(UserError, match="agents for Box actions: abm, frozen.*sb3_sac, sb3_td3"):
        check_fits("sb3_dqn", make_world("gym:Pendulum-v1").action_space)
