"""The one registry of agents: every name that can live, what it is made of and where it runs.

Each entry says which controller decides (System M or a baseline's schedule, `baselines.py`),
which mind acts and learns (the A-B-M mind, `mind.py`, with its settings; or a small one), the
kinds of action it can take, which loop runs it (ours, Stable-Baselines3's own through
`sb3_life.py`, or the oracle's, `baselines.run_oracle_life`), whether its life leaves a policy
a teacher can follow, and one line saying what it is. Everything that lists, checks or builds
agents reads this table; `lifelong agents` prints it.

An ablation of the full agent is named `abm-no_<family>[+<family>...]` (`split_ablation`): System
M with those rule families switched off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import gymnasium as gym

from lifelong.actions import action_kind
from lifelong.agent import Agent, Birth, Mind
from lifelong.baselines import (
    BanditMind,
    FixedController,
    FrozenSchedule,
    RandomController,
    RandomMind,
    TimerController,
)
from lifelong.config import Config, parse_mode_mix
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.mind import ABMMind
from lifelong.modes import Mode
from lifelong.systems.control import Controller, MetaController

ControllerFor = Callable[[Config, Genome], Controller]
BOTH = ("Discrete", "Box")
ABLATED = "abm-no_"  # abm-no_plan+imagine: System M without those rule families


@dataclass(frozen=True)
class AgentEntry:
    description: str
    controller: ControllerFor | None = None  # None: another loop runs it
    mind: Callable[..., Mind] | None = None  # called with the Birth and `settings`
    settings: dict[str, Any] = field(default_factory=dict)
    acts_in: tuple[str, ...] = BOTH  # the kinds of action space it can act in
    # "ours" (`Life`, `make_agent`), "sb3" (`sb3_life.py`) or "oracle" (a world's scripted
    # policy, `baselines.run_oracle_life`)
    loop: str = "ours"
    teaches: bool = False  # its life leaves a policy (B's values) a later life can follow
    # How the body listens to informants (`advice.MODES`): only System M is vigilant; an agent
    # that ignores messages lives as if there were none.
    advice: str = "ignored"


def system_m(config: Config, genome: Genome) -> Controller:
    """System M, with the rule families `config.ablate` names switched off (an ablation)."""
    return MetaController(genome, disabled=frozenset(filter(None, config.ablate.split(","))))


def fixed(mode: Mode, rule: str, learns: bool = True) -> ControllerFor:
    return lambda config, genome: FixedController(genome, mode, rule, learns)


def timer(config: Config, genome: Genome) -> Controller:
    """Modes in turn, each for its `mode_mix` share of `timer_cycle` ticks."""
    return TimerController(genome, parse_mode_mix(config.mode_mix), config.timer_cycle)


def random_modes(config: Config, genome: Genome) -> Controller:
    """Modes drawn with the `mode_mix` frequencies, seeded by the life."""
    return RandomController(genome, parse_mode_mix(config.mode_mix), config.seed)


def learner(
    description: str, controller: ControllerFor, advice: str = "ignored", **settings: Any
) -> AgentEntry:
    """An agent with the A-B-M mind (`settings` are its own), whose life leaves a policy;
    `advice` says how it listens to informants."""
    return AgentEntry(description, controller, ABMMind, settings, teaches=True, advice=advice)


AGENTS: dict[str, AgentEntry] = {
    "abm": learner(
        "Systems A, B and M: the agent of the paper (trusts informants as they earn it)",
        system_m,
        advice="vigilant",
    ),
    "frozen": learner(
        "a human schedule (observe, then act and learn) for `frozen_after` steps, then frozen",
        lambda config, genome: FrozenSchedule(genome, config.frozen_after),
    ),
    "a_only": learner(
        "A learns and drives curiosity; nothing learns from the world's reward",
        fixed(Mode.EXPLORE, "curiosity only"),
        extrinsic_weight=0.0,
    ),
    "b_only": learner(
        "model-free n-step double DQN on raw observations: no world model, no M",
        fixed(Mode.EXPLOIT, "model-free"),
        world_model=False,
    ),
    "a_plus_b": learner(
        "A and B sharing one encoder, no M: always exploit, no curiosity",
        fixed(Mode.EXPLOIT, "A and B, no M"),
        curious=False,
    ),
    "timer_m": learner(
        "A and B as in abm, modes switched by a fixed timer in the `mode_mix` proportions", timer
    ),
    "random_m": learner(
        "A and B as in abm, modes drawn at random with the `mode_mix` frequencies", random_modes
    ),
    "abm_deaf": learner("abm that ignores what informants say (messages)", system_m),
    "abm_credulous": learner(
        "abm that believes every informant blindly (trust fixed at 0.99)",
        system_m,
        advice="credulous",
    ),
    "abm_oracle": learner(
        "abm told each informant's true reliability: the ceiling of listening",
        system_m,
        advice="oracle",
    ),
    "random": AgentEntry(
        "uniform random actions, no learning: the floor of every metric",
        fixed(Mode.EXPLOIT, "random", learns=False),
        RandomMind,
    ),
    "sw_ucb": AgentEntry(
        "sliding-window UCB (bandit reference, Garivier & Moulines 2011)",
        fixed(Mode.EXPLOIT, "random", learns=False),
        partial(BanditMind, algorithm="sw_ucb"),
        acts_in=("Discrete",),
    ),
    "cusum_ucb": AgentEntry(
        "CUSUM-UCB (bandit reference with a change detector, Liu et al. 2018)",
        fixed(Mode.EXPLOIT, "random", learns=False),
        partial(BanditMind, algorithm="cusum_ucb"),
        acts_in=("Discrete",),
    ),
    "oracle": AgentEntry(
        "the world's scripted oracle, reading its truth: the ceiling of the headroom",
        loop="oracle",
    ),
    "sb3_dqn": AgentEntry(
        "Stable-Baselines3 DQN learning for the whole life (the `baseline` extra)",
        acts_in=("Discrete",),
        loop="sb3",
    ),
    "sb3_ppo": AgentEntry(
        "Stable-Baselines3 PPO learning for the whole life (the `baseline` extra)", loop="sb3"
    ),
    "sb3_sac": AgentEntry(
        "Stable-Baselines3 SAC, for worlds with continuous (Box) actions (`baseline`)",
        acts_in=("Box",),
        loop="sb3",
    ),
    "sb3_td3": AgentEntry(
        "Stable-Baselines3 TD3, for worlds with continuous (Box) actions (`baseline`)",
        acts_in=("Box",),
        loop="sb3",
    ),
}
# The agents whose lives learn a policy, which a later life can follow as a teacher.
TEACHERS = tuple(name for name, entry in AGENTS.items() if entry.teaches)


def split_ablation(name: str) -> tuple[str, str]:
    """'abm-no_plan+imagine' -> ('abm', 'plan,imagine'): an A-B-M agent without those rules."""
    if not name.startswith(ABLATED):
        return name, ""
    return "abm", ",".join(name[len(ABLATED) :].split("+"))


def entry(name: str) -> AgentEntry:
    """The registry's entry for an agent (or an ablation's: abm's); a UserError naming the
    agents there are for any other name."""
    base, _ = split_ablation(name)
    if base not in AGENTS:
        raise UserError(f"unknown agent {name!r}; agents: {', '.join(AGENTS)}")
    return AGENTS[base]


def check_fits(agent: str, action_space: Any, world: str = "this world") -> None:
    """Refuse, in one line naming the agents that fit, an agent that cannot act in a world's
    action space (a gymnasium space)."""
    kinds = entry(agent).acts_in
    kind = type(action_space).__name__
    if kind in kinds:
        return
    if kind not in BOTH:
        raise UserError(
            f"agents act in a Discrete or a bounded Box action space, but {world} has"
            f" {action_space}"
        )
    fitting = [name for name, known in AGENTS.items() if kind in known.acts_in]
    raise UserError(
        f"agent {agent!r} acts in a {' or '.join(kinds)} action space, but {world} has"
        f" {action_space}; agents for {kind} actions: {', '.join(fitting)}"
    )


def check_ours(agent: str) -> AgentEntry:
    """The entry of an agent that lives in our loop; a UserError for one that runs its own."""
    known = entry(agent)
    if known.loop != "ours":
        whose = {"sb3": "Stable-Baselines3", "oracle": "the world's oracle"}[known.loop]
        raise UserError(
            f"agent {agent!r} lives only in benchmarks (`lifelong bench`): {whose} runs its own"
            " loop"
        )
    return known


def build_agent(
    config: Config,
    observation_space: gym.Space,
    action_space: gym.Space,
    genome: Genome,
    noop_action: int | None = None,
    subjects: Mapping[str, Sequence[str]] | None = None,
) -> Agent:
    """The agent `config.agent` names, built for the world's spaces: the body with the entry's
    controller and mind. `subjects` is what the world's informants may claim about objects
    (`worlds.messages.subjects_of`): a listening body is born believing about them."""
    known = check_ours(config.agent)
    check_fits(config.agent, action_space)

    def mind(birth: Birth) -> Mind:
        return known.mind(birth, **known.settings)

    return Agent(
        known.controller(config, genome),
        mind,
        observation_space,
        action_kind(action_space),
        genome,
        seed=config.seed,
        device=config.device,
        noop_action=noop_action,
        advice=known.advice,
        subjects=subjects,
    )


def describe() -> list[str]:
    """One line per agent, for `lifelong agents`: name, kinds of action, loop, description."""
    lines = []
    for name, known in AGENTS.items():
        teaches = "teaches" if known.teaches else ""
        kinds = "/".join(known.acts_in)
        lines.append(f"{name:<13} {kinds:<13} {known.loop:<5} {teaches:<8} {known.description}")
    return lines
