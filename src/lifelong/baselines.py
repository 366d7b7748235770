"""The parts baselines are made of: controllers that replace System M, and minds without networks.

Each baseline is the body (`agent.py`) with one part changed, so a comparison isolates that part;
the registry (`agents.py`) names which controller and which mind make each. The controllers here
follow a plan instead of the meta-state, each implementing `Controller` (`decide`, `current`,
state); the minds here implement `Mind` without networks and learn nothing but their own
statistics, so their lives' records read like every other's (the body keeps the books):

    FixedController   one mode for the whole life (b_only, a_plus_b, a_only)
    FrozenSchedule    the status quo: a human schedule (observe, then act and learn) for the first
                      `frozen_after` ticks, then every weight frozen (frozen)
    TimerController   modes from a fixed timer in `mode_mix` proportions (timer_m)
    RandomController  modes drawn at random with `mode_mix` frequencies (random_m)
    RandomMind        uniform random actions, no learning: the floor every metric is normalised by
    BanditMind        a bandit algorithm (sliding-window UCB, CUSUM-UCB) playing actions as arms,
                      blind to observations: the reference points for M's change detection

and the oracle, which is no mind at all: a world's scripted policy that reads the world's truth
(`oracle_for`), living in a loop of its own (`run_oracle_life`) because no mind is handed the
world. Its score is the ceiling of the world's headroom (METRICS.md, "Share of the headroom").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.agent import Birth
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.modes import Mode
from lifelong.records import Recorder
from lifelong.signals import MetaState
from lifelong.systems.control import MetaAction, meta_action
from lifelong.worlds.oracles import controller_for

# --- Controllers that replace System M -----------------------------------------------------------


class Schedule:
    """A controller that follows a plan, not the meta-state: `next_mode` says what comes at each
    tick (`self.tick` counts them from 1). It never intervenes and raises no alarms."""

    uses_detector = False
    intervenes = False

    def __init__(self, genome: Genome, mode: Mode = Mode.EXPLORE, rule: str = "birth") -> None:
        self.genome = genome
        self.mode, self.rule = mode, rule  # the mode of the last tick (at birth: none chosen)
        self.tick = 0

    def next_mode(self) -> tuple[Mode, str]:
        raise NotImplementedError

    def decide(self, state: MetaState) -> MetaAction:
        self.tick += 1
        self.mode, self.rule = self.next_mode()
        return self.current()

    def current(self) -> MetaAction:
        return meta_action(self.genome, self.mode, self.rule)

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "rule": self.rule, "tick": self.tick}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Also reads the state of a life saved when baselines subclassed M (extra keys), and
        of a `random` or bandit life saved before they had a controller (none: as born)."""
        self.mode = Mode(state.get("mode", self.mode.value))
        self.rule = str(state.get("rule", self.rule))
        self.tick = int(state.get("tick", 0))


class FixedController(Schedule):
    """One mode for the whole life; `learns=False` freezes every weight."""

    def __init__(self, genome: Genome, mode: Mode, rule: str, learns: bool = True) -> None:
        super().__init__(genome, mode)
        self.fixed, self.learns = (mode, rule), learns
        self.action = replace(meta_action(genome, mode, rule), learns=learns)  # every tick's

    def decide(self, state: MetaState) -> MetaAction:
        self.tick += 1
        self.mode, self.rule = self.fixed
        return self.action

    def current(self) -> MetaAction:
        return replace(super().current(), learns=self.learns)


class FrozenSchedule(Schedule):
    """Observe for the first fifth of `after` ticks, explore for the rest, then exploit frozen.

    The schedule has no SLEEP, so ticks and world steps coincide.
    """

    def __init__(self, genome: Genome, after: int) -> None:
        super().__init__(genome)
        self.after = after

    def next_mode(self) -> tuple[Mode, str]:
        if self.tick <= self.after // 5:
            return Mode.OBSERVE, "schedule: observe"
        if self.tick <= self.after:
            return Mode.EXPLORE, "schedule: act and learn"
        return Mode.EXPLOIT, "schedule: frozen"

    def current(self) -> MetaAction:
        return replace(super().current(), learns=self.tick <= self.after)


class TimerController(Schedule):
    """Cycles through the modes of `mix` in its order, each for its share of `cycle` ticks."""

    def __init__(self, genome: Genome, mix: dict[str, float], cycle: int) -> None:
        super().__init__(genome)
        self.ends: list[tuple[float, Mode]] = []
        total = 0.0
        for name, share in mix.items():
            total += share * cycle
            self.ends.append((total, Mode(name)))

    def next_mode(self) -> tuple[Mode, str]:
        position = (self.tick - 1) % (self.ends[-1][0] or 1.0)
        return next((m for end, m in self.ends if position < end), self.ends[-1][1]), "timer"


class RandomController(Schedule):
    """A mode drawn from `mix` every `min_dwell` ticks: M's frequencies without M's reasons."""

    def __init__(self, genome: Genome, mix: dict[str, float], seed: int) -> None:
        super().__init__(genome)
        self.modes = [Mode(name) for name in mix]
        self.weights = list(mix.values())
        self.rng = np.random.default_rng([seed, 7919])

    def next_mode(self) -> tuple[Mode, str]:
        if (self.tick - 1) % self.genome.min_dwell:
            return self.mode, self.rule
        return self.modes[self.rng.choice(len(self.modes), p=self.weights)], "random"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.rng.bit_generator.state = state["rng"]


# --- Minds without networks -----------------------------------------------------------------------


class RandomMind:
    """Uniform random actions and no learning. Its controller keeps it in EXPLOIT, so it is
    never asked to sleep or imagine; it has no policy to teach with (`policies.load_policy`)."""

    def __init__(self, birth: Birth) -> None:
        self.actions = birth.actions
        self.rng = np.random.default_rng(birth.seed)
        self.losses: dict[str, float] = {}  # it never learns

    def begin(self, obs: np.ndarray) -> None:
        pass

    def act(self, obs: np.ndarray, meta: MetaAction, lead: Any = None) -> Any:
        return lead if lead is not None else self.actions.uniform(self.rng)

    def observe(
        self, action: Any, obs: np.ndarray, reward: float, terminated: bool, followed: str | None
    ) -> bool:
        return False

    def learn(self, meta: MetaAction) -> None:
        pass

    def sleep(self, meta: MetaAction) -> None:
        pass

    def imagine(self, meta: MetaAction) -> None:
        pass

    def intervene(self, meta: MetaAction) -> None:
        pass

    def infer_action(self, obs: np.ndarray, next_obs: Any) -> Any:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


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


class BanditMind(RandomMind):
    """A bandit algorithm (`BANDITS`) in the mind's place: arms are the actions, observations are
    ignored, and its own change detector (CUSUM-UCB's) raises the body's alarm."""

    def __init__(self, birth: Birth, algorithm: str) -> None:
        super().__init__(birth)
        self.algorithm = BANDITS[algorithm](self.actions.n)

    def act(self, obs: np.ndarray, meta: MetaAction, lead: Any = None) -> Any:
        return lead if lead is not None else self.algorithm.choose(self.rng)

    def observe(
        self, action: Any, obs: np.ndarray, reward: float, terminated: bool, followed: str | None
    ) -> bool:
        return self.algorithm.update(action, reward)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "algorithm": self.algorithm.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.algorithm.load_state_dict(state["algorithm"])


# --- The oracle: a world's scripted policy, reading its truth -----------------------------------

# Shift kinds under which a world's oracle would be wrong: permuted actions make its moves
# others, a flipped reward makes its best the worst. Its score would then be no ceiling.
ORACLE_UNDONE = ("actions", "reward_flip")
WITH_ORACLES = (
    "nursery and its presets (nursery-small, nursery-hard, nursery(...)), bandit, lure,"
    " gym:Pendulum-v1"
)


def oracle_for(env: gym.Env, world: str = "this world") -> Callable[[], Any]:
    """The world's scripted oracle: a callable of no arguments giving the action for the next
    step. A world offers one by a `scripted_oracle()` method returning it (the Nursery's
    `nursery_oracle.NurseryOracle`) or by an `oracle_action()` method (the bandit's best arm,
    the lure's best move, a gain shift's inversion of the oracle beneath), found through any
    wrappers; a Gymnasium task with a scripted controller (`worlds.oracles.controller_for`:
    Pendulum) has that one. A world without one, or with a wrapper that undoes it
    (`ORACLE_UNDONE`), is a one-line UserError naming the worlds that have one."""
    layer = env
    while isinstance(layer, gym.Wrapper):
        kind = getattr(layer, "kind", None)
        if kind in ORACLE_UNDONE:
            raise UserError(
                f"agent 'oracle' cannot lead in {world}: its shift(kind={kind}) changes what the"
                f" oracle's actions do or earn; worlds with an oracle: {WITH_ORACLES}, with any"
                " wrapper but shift(kind=actions) and shift(kind=reward_flip)"
            )
        layer = layer.env
    for name in ("scripted_oracle", "oracle_action"):
        try:
            found = env.get_wrapper_attr(name)
        except AttributeError:
            continue
        if callable(found):
            return found() if name == "scripted_oracle" else found
    controller = controller_for(env)
    if controller is not None:
        return controller
    raise UserError(
        f"agent 'oracle' needs a world with a scripted oracle; {world} has none."
        f" Worlds with an oracle: {WITH_ORACLES}"
    )


def run_oracle_life(directory: str | Path, config: Config, steps: int) -> None:
    """Live `steps` world steps led by the world's oracle (`oracle_for`), recording as a Life
    does (`records.Recorder`), so metrics and benchmarks read it like any other life.

    No mind is handed the world in our loop, so the oracle lives in this one. It learns nothing
    and keeps nothing but the world, so an interrupted life starts again from birth (it costs a
    world step and a search per step, seconds for 100,000 steps). A world without an oracle is
    refused before anything is written.
    """
    from lifelong.policies import load_policy
    from lifelong.worlds import make_world

    directory = Path(directory)
    env = make_world(config.world, load_policy=load_policy)
    try:
        act = oracle_for(env, config.world)
        directory.mkdir(parents=True, exist_ok=True)
        config.save(directory / "config.yaml")
        for name in ("metrics.jsonl", "events.jsonl"):
            (directory / name).unlink(missing_ok=True)  # an interrupted life starts again
        recorder = Recorder(directory, config.bin_width)
        env.reset(seed=config.seed)
        learned = {"learn_steps": 0, "updates_a": 0, "updates_b": 0}  # as every life records
        for step in range(1, steps + 1):
            _, reward, terminated, truncated, info = env.step(act())
            recorder.world_step(step, float(reward), info)
            if terminated or truncated:
                env.reset()
            if step % config.log_every == 0:
                recorder.write(step, learned)
        recorder.flush_events()
    finally:
        env.close()
