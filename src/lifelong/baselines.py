"""Baselines: the agents the A-B-M agent is measured against, on the same interfaces.

Each baseline is the `Agent` with one thing changed, so a comparison isolates that thing: a
factory builds it with its own controller (who picks the mode) or settings (`world_model`,
`curious`, `extrinsic_weight`). `abm` itself is built the same way, its ablations (`ablate`) being
System M with rule families disabled. `random` and the bandits are small classes without
networks instead; they keep only what a life reads of an agent.

    frozen     M replaced by the status quo: a human schedule (observe, then act and learn) for the
               first `frozen_after` steps, then every weight frozen for the rest of the life
    a_only     M always explores; B's only reward is A's disagreement (curiosity), never the world's
    b_only     no System A and no M: n-step double DQN on raw frames, its encoder trained by TD
               alone (the same encoder and value heads as the full agent's)
    a_plus_b   A and B sharing one encoder, no M: always EXPLOIT at the exploit temperature, no
               curiosity. With b_only, it answers "does A help B?" without M in the way
    timer_m    A and B unchanged, modes from a fixed timer (`timer_cycle`, `mode_mix` proportions)
    random_m   A and B unchanged, modes drawn at random with `mode_mix` frequencies (the bench
               passes the full agent's measured frequencies)
    random     uniform random actions, no learning: the floor every metric is normalised by
    sw_ucb     sliding-window UCB, cusum_ucb CUSUM-UCB: bandit algorithms, the reference points for
               M's change detection in the `bandits` suite (they ignore observations)

The Stable-Baselines3 agents cannot step inside our loop; `sb3_life.py` runs them through the
same world and writes the same records.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.agent import COUNTERS, Agent
from lifelong.config import Config, parse_mode_mix
from lifelong.genome import Genome
from lifelong.modes import Mode
from lifelong.signals import MetaState, ModeReturns, Telemetry
from lifelong.systems.control import MetaAction, MetaController

# --- Controllers that replace System M -----------------------------------------------------------


class FixedController(MetaController):
    """One mode for the whole life; `learns=False` freezes every weight."""

    uses_detector = False

    def __init__(self, genome: Genome, mode: Mode, rule: str, learns: bool = True) -> None:
        super().__init__(genome)
        self.mode, self.rule, self.learns = mode, rule, learns

    def _choose(self, state: MetaState) -> tuple[Mode, str]:
        return self.mode, self.rule

    def action_for(self, mode: Mode, rule: str, intervene: bool = False) -> MetaAction:
        return replace(super().action_for(mode, rule), learns=self.learns)


class FrozenSchedule(MetaController):
    """Observe for the first fifth of `after` ticks, explore for the rest, then exploit frozen.

    The schedule has no SLEEP, so ticks and world steps coincide.
    """

    uses_detector = False

    def __init__(self, genome: Genome, after: int) -> None:
        super().__init__(genome)
        self.after, self.tick = after, 0

    def _choose(self, state: MetaState) -> tuple[Mode, str]:
        self.tick += 1
        if self.tick <= self.after // 5:
            return Mode.OBSERVE, "schedule: observe"
        if self.tick <= self.after:
            return Mode.EXPLORE, "schedule: act and learn"
        return Mode.EXPLOIT, "schedule: frozen"

    def action_for(self, mode: Mode, rule: str, intervene: bool = False) -> MetaAction:
        return replace(super().action_for(mode, rule), learns=self.tick <= self.after)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tick": self.tick}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tick = int(state["tick"])


class TimerController(MetaController):
    """Cycles OBSERVE -> EXPLORE -> EXPLOIT -> SLEEP, each for its share of `cycle` ticks."""

    uses_detector = False

    def __init__(self, genome: Genome, mix: dict[str, float], cycle: int) -> None:
        super().__init__(genome)
        self.tick = 0
        self.ends: list[tuple[float, Mode]] = []
        total = 0.0
        for name, share in mix.items():
            total += share * cycle
            self.ends.append((total, Mode(name)))

    def _choose(self, state: MetaState) -> tuple[Mode, str]:
        position = self.tick % (self.ends[-1][0] or 1.0)
        self.tick += 1
        mode = next((m for end, m in self.ends if position < end), self.ends[-1][1])
        return mode, "timer"

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tick": self.tick}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tick = int(state["tick"])


class RandomController(MetaController):
    """A mode drawn from `mix` every `min_dwell` ticks: M's frequencies without M's reasons."""

    uses_detector = False

    def __init__(self, genome: Genome, mix: dict[str, float], seed: int) -> None:
        super().__init__(genome)
        self.modes = [Mode(name) for name in mix]
        self.weights = list(mix.values())
        self.rng = np.random.default_rng([seed, 7919])
        self.tick = 0

    def _choose(self, state: MetaState) -> tuple[Mode, str]:
        self.tick += 1
        if (self.tick - 1) % self.genome.min_dwell:
            return self.mode, self.rule
        return self.modes[self.rng.choice(len(self.modes), p=self.weights)], "random"

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tick": self.tick, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tick = int(state["tick"])
        self.rng.bit_generator.state = state["rng"]


# --- Agents built from the A-B-M agent -----------------------------------------------------------
# Each is the `Agent` with its own controller (who picks the mode) and settings; `learner` turns
# the two into a factory with `build_agent`'s signature.
ControllerFor = Callable[[Config, Genome], MetaController]


def learner(controller_for: ControllerFor, **settings: Any) -> Factory:
    """A factory of `Agent`s whose controller is `controller_for(config, genome)`; `settings`
    are the Agent's own (world_model, curious, extrinsic_weight)."""

    def build(
        config: Config,
        observation_space: gym.Space,
        action_space: gym.Space,
        genome: Genome,
        noop_action: int | None = None,
    ) -> Agent:
        return Agent(
            observation_space,
            action_space,
            genome,
            seed=config.seed,
            device=config.device,
            noop_action=noop_action,
            controller=controller_for(config, genome),
            **settings,
        )

    return build


def system_m(config: Config, genome: Genome) -> MetaController:
    """System M, with the rule families `config.ablate` names switched off (an ablation)."""
    return MetaController(genome, disabled=frozenset(filter(None, config.ablate.split(","))))


# --- Agents without networks ----------------------------------------------------------------------


class RandomAgent:
    """Uniform random actions and no learning: the floor every metric is normalised by.

    It has no networks and no memory: it keeps only what a life reads of every agent (counters,
    the telemetry of the world's reward and body, realised returns), kept the way `Agent` keeps
    them, so its records read like the others'. Its mode is always EXPLOIT, so the life never
    asks it to sleep or imagine; it has no policy to teach with (`policies.load_policy`).
    """

    def __init__(
        self,
        config: Config,
        observation_space: gym.Space,
        action_space: gym.Space,
        genome: Genome,
        noop_action: int | None = None,
    ) -> None:
        if not isinstance(action_space, gym.spaces.Discrete | gym.spaces.Box):
            raise ValueError(
                f"the agent acts in a Discrete or a bounded Box action space, got {action_space}"
            )
        self.genome = genome
        self.action_space = action_space
        self.n_actions = (
            int(action_space.n) if isinstance(action_space, gym.spaces.Discrete) else None
        )
        self.rng = np.random.default_rng(config.seed)
        self.telemetry = Telemetry.from_genome(genome)
        self.meta = replace(MetaController(genome).action_for(Mode.EXPLOIT, "random"), learns=False)
        self.alarm = False  # a change detector fired this tick (the bandits' own)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.losses: dict[str, float] = {}  # it never learns
        self.returns = ModeReturns(genome.gamma, genome.n_step)

    def begin(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self._count_faults(obs, 0.0)
        self.returns.clear()  # returns are counted within one stream

    def decide(self) -> MetaAction:
        self.telemetry.change_pending = False  # heard, as M would have
        self.counters["ticks"] += 1
        return self.meta

    def act(self) -> int | np.ndarray:
        space = self.action_space
        if isinstance(space, gym.spaces.Box):  # uniform within the bounds
            return self.rng.uniform(space.low, space.high).astype(space.dtype)
        return int(self.rng.integers(self.n_actions))

    def observe(
        self, action: int, obs: np.ndarray, reward: float, terminated: bool, info: dict[str, Any]
    ) -> None:
        self._count_faults(obs, reward)
        reward = reward if math.isfinite(reward) else 0.0
        self.returns.add(self.meta.mode.value, reward)
        teacher = info.get("teacher")
        in_view = None if teacher is None else str(teacher.get("source", "teacher"))
        self.telemetry.on_world_step(reward, info.get("body"), in_view)
        self.counters["env_steps"] += 1
        self.counters["faints"] += int(bool(info.get("fainted", False)))

    def realised_returns(self) -> dict[str, float]:
        return self.returns.means()

    def _count_faults(self, obs: np.ndarray, reward: float) -> None:
        """Non-finite observations and rewards are counted as `Agent` counts those it cleans."""
        self.counters["sanitized"] += int(not math.isfinite(float(obs.sum())))
        self.counters["sanitized"] += int(not math.isfinite(reward))

    # Checkpoints hold the keys of `Agent.state_dict` this agent keeps.
    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "telemetry": self.telemetry.state_dict(),
            **self.returns.state_dict(),
            "counters": dict(self.counters),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.telemetry.load_state_dict(state["telemetry"])
        self.returns.load_state_dict(state)
        self.counters = {name: int(state["counters"][name]) for name in COUNTERS}


class SlidingWindowUCB:
    """SW-UCB (Garivier & Moulines 2011): UCB over the last `window` plays only."""

    def __init__(self, arms: int, window: int = 500, xi: float = 0.6) -> None:
        self.arms, self.window, self.xi = arms, window, xi
        self.plays: deque[tuple[int, float]] = deque(maxlen=window)
        self.t = 0

    def choose(self, rng: np.random.Generator) -> int:
        counts, sums = [0] * self.arms, [0.0] * self.arms
        for arm, reward in self.plays:
            counts[arm] += 1
            sums[arm] += reward
        unplayed = [arm for arm in range(self.arms) if counts[arm] == 0]
        if unplayed:
            return int(unplayed[rng.integers(len(unplayed))])
        log_t = math.log(min(self.t, self.window))
        index = [
            sums[a] / counts[a] + math.sqrt(self.xi * log_t / counts[a]) for a in range(self.arms)
        ]
        return int(np.argmax(index))

    def update(self, arm: int, reward: float) -> bool:
        self.plays.append((arm, reward))
        self.t += 1
        return False  # no detector

    def state_dict(self) -> dict:
        return {"plays": [list(p) for p in self.plays], "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.plays = deque(((int(a), float(r)) for a, r in state["plays"]), maxlen=self.window)
        self.t = int(state["t"])


class CusumUCB:
    """CUSUM-UCB (Liu, Lee & Shroff 2018): UCB restarted when a two-sided CUSUM on an arm fires.

    Each arm's first `warmup` rewards after a restart estimate its mean u; then
    g+ <- max(0, g+ + x - u - eps) and g- <- max(0, g- + u - x - eps) and an alarm when either
    exceeds `threshold` restarts every arm's statistics (the global restart variant). With
    probability `alpha` an arm is drawn uniformly so every detector keeps getting samples.
    Defaults suit Bernoulli rewards: a stationary arm raises a false alarm about once in 10^5
    of its samples, a jump of 0.3 in its mean is found after about 110.
    """

    def __init__(
        self,
        arms: int,
        warmup: int = 50,
        eps: float = 0.1,
        threshold: float = 20.0,
        alpha: float = 0.05,
    ) -> None:
        self.arms, self.warmup, self.eps = arms, warmup, eps
        self.threshold, self.alpha = threshold, alpha
        self._restart()

    def _restart(self) -> None:
        self.counts = [0] * self.arms
        self.sums = [0.0] * self.arms
        self.g_up = [0.0] * self.arms
        self.g_down = [0.0] * self.arms

    def choose(self, rng: np.random.Generator) -> int:
        if rng.random() < self.alpha:
            return int(rng.integers(self.arms))
        unplayed = [arm for arm in range(self.arms) if self.counts[arm] == 0]
        if unplayed:
            return int(unplayed[rng.integers(len(unplayed))])
        log_n = math.log(sum(self.counts))
        index = [
            self.sums[a] / self.counts[a] + math.sqrt(2 * log_n / self.counts[a])
            for a in range(self.arms)
        ]
        return int(np.argmax(index))

    def update(self, arm: int, reward: float) -> bool:
        """Record a play; True when the change detector fired (and everything restarted)."""
        self.counts[arm] += 1
        self.sums[arm] += reward
        if self.counts[arm] <= self.warmup:
            return False
        mean = self.sums[arm] / self.counts[arm]  # the pre-change estimate after warm-up
        self.g_up[arm] = max(0.0, self.g_up[arm] + reward - mean - self.eps)
        self.g_down[arm] = max(0.0, self.g_down[arm] + mean - reward - self.eps)
        if max(self.g_up[arm], self.g_down[arm]) > self.threshold:
            self._restart()
            return True
        return False

    def state_dict(self) -> dict:
        return {
            "counts": list(self.counts),
            "sums": list(self.sums),
            "g_up": list(self.g_up),
            "g_down": list(self.g_down),
        }

    def load_state_dict(self, state: dict) -> None:
        self.counts = [int(c) for c in state["counts"]]
        self.sums = [float(s) for s in state["sums"]]
        self.g_up = [float(g) for g in state["g_up"]]
        self.g_down = [float(g) for g in state["g_down"]]


BANDITS = {"sw_ucb": SlidingWindowUCB, "cusum_ucb": CusumUCB}


class BanditAgent(RandomAgent):
    """The bandit algorithm `config.agent` names in the agent's place: arms are actions,
    observations are ignored."""

    def __init__(
        self,
        config: Config,
        observation_space: gym.Space,
        action_space: gym.Space,
        genome: Genome,
        noop_action: int | None = None,
    ) -> None:
        super().__init__(config, observation_space, action_space, genome, noop_action)
        self.algorithm = BANDITS[config.agent](self.n_actions)

    def act(self) -> int:
        return self.algorithm.choose(self.rng)

    def observe(
        self, action: int, obs: np.ndarray, reward: float, terminated: bool, info: dict[str, Any]
    ) -> None:
        super().observe(action, obs, reward, terminated, info)
        self.alarm = self.algorithm.update(action, reward if math.isfinite(reward) else 0.0)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "algorithm": self.algorithm.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.algorithm.load_state_dict(state["algorithm"])


# --- Who lives ------------------------------------------------------------------------------------

Factory = Callable[[Config, gym.Space, gym.Space, Genome, int | None], Agent | RandomAgent]

AGENTS: dict[str, Factory] = {
    "abm": learner(system_m),
    "frozen": learner(lambda config, genome: FrozenSchedule(genome, config.frozen_after)),
    "a_only": learner(
        lambda config, genome: FixedController(genome, Mode.EXPLORE, "curiosity only"),
        extrinsic_weight=0.0,
    ),
    "b_only": learner(
        lambda config, genome: FixedController(genome, Mode.EXPLOIT, "model-free"),
        world_model=False,
    ),
    "a_plus_b": learner(
        lambda config, genome: FixedController(genome, Mode.EXPLOIT, "A and B, no M"),
        curious=False,
    ),
    "timer_m": learner(
        lambda config, genome: TimerController(
            genome, parse_mode_mix(config.mode_mix), config.timer_cycle
        )
    ),
    "random_m": learner(
        lambda config, genome: RandomController(
            genome, parse_mode_mix(config.mode_mix), config.seed
        )
    ),
    "random": RandomAgent,
    "sw_ucb": BanditAgent,
    "cusum_ucb": BanditAgent,
}
# The agents whose lives learn a policy (B's values), which a later life can follow as a teacher.
LEARNERS = tuple(name for name, build in AGENTS.items() if build not in (RandomAgent, BanditAgent))


def build_agent(
    config: Config,
    observation_space: gym.Space,
    action_space: gym.Space,
    genome: Genome,
    noop_action: int | None = None,
) -> Agent | RandomAgent:
    """The agent `config.agent` names, built for the world's spaces."""
    if config.agent not in AGENTS:
        raise ValueError(f"agent {config.agent!r} does not live in a Life (see sb3_life.py)")
    return AGENTS[config.agent](config, observation_space, action_space, genome, noop_action)
