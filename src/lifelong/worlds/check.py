"""`lifelong check-world SPEC`: does a world keep our contract, and what is it like to live in?

Runs Gymnasium's own environment checker, then our contract checks (the agent needs a Discrete
action space or a bounded float32 Box vector of continuous actions, and a float32 Box
observation; observations stay in their space; the same seed gives the same stream; a world that
can be saved continues identically after a restore, and one that cannot is reported as resuming
on a new episode), then steps the world with random actions (uniform in a Box's bounds) and
reports its spaces, speed, episodes and the regimes it went through. Messages informants send
(``info["messages"]``, lifelong/worlds/messages.py) must use the world's declared vocabulary and
be the same under the same seed and after a restore. Every episode that ends is
reset before the next step: the checks never step a world past an episode's end.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

from lifelong.worlds import PolicyLoader, make_world
from lifelong.worlds.messages import MESSAGES, check_messages, vocabulary_of
from lifelong.worlds.state import saved_completely

# A step as the checks compare it: observation, reward, terminated, truncated.
Transition = tuple[np.ndarray, float, bool, bool]


@dataclass
class WorldReport:
    spec: str
    observation_space: str = ""
    action_space: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (name, passed, detail)
    steps: int = 0
    steps_per_s: float = 0.0
    episodes: int = 0
    regimes: Counter = field(default_factory=Counter)
    changes: int = 0
    info_keys: set[str] = field(default_factory=set)
    teacher_steps: int = 0
    message_steps: int = 0  # steps on which some source spoke (info["messages"] not empty)
    mean_reward: float = 0.0

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def _check(report: WorldReport, name: str, test: Any) -> None:
    try:
        detail = test()
        report.checks.append((name, True, detail or ""))
    except Exception as error:  # a failed check is a finding to report, not a crash
        report.checks.append((name, False, f"{type(error).__name__}: {error}".splitlines()[0]))


def _random_actions(space: gym.Space, rng: np.random.Generator, count: int) -> list[Any]:
    """``count`` random actions: uniform in a Box's bounds, else integers below ``space.n``
    (zeros for an unbounded Box, which the spaces check reports)."""
    if isinstance(space, gym.spaces.Box):
        if not space.is_bounded("both"):
            return list(np.zeros((count, *space.shape), space.dtype))
        draws = rng.uniform(space.low, space.high, size=(count, *space.shape))
        return list(draws.astype(space.dtype))
    return rng.integers(0, getattr(space, "n", 1), size=count).tolist()


def _continuous(space: gym.Space) -> bool:
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.float32
        and len(space.shape) == 1
        and space.is_bounded("both")
    )


def _play(world: gym.Env, actions: list[Any]) -> list[Transition]:
    """Step `world` with `actions`, resetting it (without a seed: the same life goes on) as soon
    as an episode ends; a reset is recorded as a transition with reward 0."""
    stream: list[Transition] = []
    for action in actions:
        obs, reward, terminated, truncated, _ = world.step(action)
        stream.append((obs, float(reward), bool(terminated), bool(truncated)))
        if terminated or truncated:
            obs, _ = world.reset()
            stream.append((obs, 0.0, False, False))
    return stream


def _rollout(world: gym.Env, actions: list[Any], seed: int) -> list[Transition]:
    obs, _ = world.reset(seed=seed)
    return [(obs, 0.0, False, False), *_play(world, actions)]


def _same(first: list[Transition], second: list[Transition]) -> bool:
    return len(first) == len(second) and all(
        np.array_equal(a[0], b[0]) and a[1:] == b[1:] for a, b in zip(first, second, strict=True)
    )


def _saved_state(world: gym.Env) -> Any:
    """The world's `state_dict()`, or None for a world that has none."""
    state_dict = getattr(world, "state_dict", None)
    return None if state_dict is None else state_dict()


def check_world(
    spec: str, steps: int = 5000, seed: int = 0, load_policy: PolicyLoader | None = None
) -> WorldReport:
    """Check and profile the world `spec` (UserError for a spec that names nothing).

    `load_policy` loads a teacher's saved agent, as `make_world` takes it.
    """

    def build() -> gym.Env:
        return make_world(spec, load_policy=load_policy)

    world = build()
    report = WorldReport(spec, str(world.observation_space), str(world.action_space))

    def gymnasium_checker() -> str:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(build(), skip_render_check=True)
        return f"{len(caught)} warning(s)" if caught else ""

    def spaces() -> str:
        actions = world.action_space
        continuous = _continuous(actions)
        if not (isinstance(actions, gym.spaces.Discrete) or continuous):
            raise TypeError(
                "the agent needs a Discrete or a bounded float32 Box (N,) action space, "
                f"got {actions}"
            )
        space = world.observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.float32):
            raise TypeError(f"the agent needs a float32 Box observation, got {space}")
        kind = f"{actions.shape[0]} continuous actions" if continuous else "discrete actions"
        return f"{len(space.shape)}-d observation, {kind}"

    rng = np.random.default_rng(seed)
    actions = _random_actions(world.action_space, rng, 300)

    def deterministic() -> str:
        first = _rollout(build(), actions, seed)
        second = _rollout(build(), actions, seed)
        if not _same(first, second):
            raise AssertionError("two worlds with the same seed and actions diverged")
        return f"{len(actions)} steps identical"

    def restorable() -> str:
        original = build()
        original.reset(seed=seed)
        _play(original, actions[:50])
        state = _saved_state(original)
        if not saved_completely(state):
            return "cannot be saved exactly: resumes as a new episode"
        copy = build()  # never reset, as a resumed life's world is
        copy.load_state_dict(state)
        if not _same(_play(original, actions[50:]), _play(copy, actions[50:])):
            raise AssertionError("a restored world diverged from the original")
        return f"a restored world continues identically for {len(actions) - 50} steps"

    def messages() -> str:
        """The message channel (lifelong/worlds/messages.py): every step's info["messages"] in the
        declared vocabulary, the same under the same seed, and after a restore."""
        vocabulary = vocabulary_of(world)

        def said(env: gym.Env, moves: list[Any], seed: int | None = None) -> list[Any]:
            heard = []
            if seed is not None:
                heard.append(env.reset(seed=seed)[1].get(MESSAGES))
            for action in moves:
                _, _, terminated, truncated, info = env.step(action)
                heard.append(info.get(MESSAGES))
                if terminated or truncated:
                    heard.append(env.reset()[1].get(MESSAGES))
            return heard

        stream = said(build(), actions, seed)
        for step, heard in enumerate(stream):
            if heard is not None:
                try:
                    check_messages(heard, vocabulary)
                except ValueError as error:
                    raise ValueError(f"step {step}: {error}") from None
        count = sum(len(heard or ()) for heard in stream)
        if count == 0:
            return "no messages" if vocabulary is None else "no messages in these steps"
        if said(build(), actions, seed) != stream:
            raise AssertionError("two worlds with the same seed and actions said different things")
        original = build()
        said(original, actions[:50], seed)
        state = _saved_state(original)
        if saved_completely(state):
            copy = build()
            copy.load_state_dict(state)
            if said(copy, actions[50:]) != said(original, actions[50:]):
                raise AssertionError("a restored world said different things")
        return f"{count} messages in {len(vocabulary or ())} words, seeded and restored alike"

    _check(report, "gymnasium env checker", gymnasium_checker)
    _check(report, "spaces the agent can use", spaces)
    _check(report, "same seed, same stream", deterministic)
    _check(report, "state_dict round trip", restorable)
    _check(report, "messages keep the channel's contract", messages)

    world.reset(seed=seed)
    draws = _random_actions(world.action_space, rng, steps)
    in_space, total_reward, last_regime = True, 0.0, None
    start = time.perf_counter()
    for action in draws:
        obs, reward, terminated, truncated, info = world.step(action)
        total_reward += float(reward)
        in_space = in_space and world.observation_space.contains(obs)
        report.info_keys.update(info)
        regime = info.get("shift")
        report.regimes[str(regime)] += 1
        if last_regime is not None and regime != last_regime:
            report.changes += 1
        last_regime = regime
        report.teacher_steps += "teacher" in info
        report.message_steps += bool(info.get(MESSAGES))
        if terminated or truncated:
            report.episodes += 1
            world.reset()
    elapsed = time.perf_counter() - start
    report.steps = steps
    report.steps_per_s = steps / max(elapsed, 1e-9)
    report.mean_reward = total_reward / max(steps, 1)
    report.checks.append(("observations stay in their space", in_space, f"{steps} random steps"))
    world.close()
    return report
