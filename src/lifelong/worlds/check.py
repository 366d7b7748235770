"""`lifelong check-world SPEC`: does a world keep our contract, and what is it like to live in?

Runs Gymnasium's own environment checker, then our contract checks (the agent needs a Discrete
action space and a float32 Box observation; observations stay in their space; the same seed gives
the same stream; a world that can be saved continues identically after a restore), then steps the
world with random actions and reports its spaces, speed, episodes and the regimes it went through.
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

from lifelong.worlds import make_world


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


def _rollout(world: gym.Env, actions: list[int], seed: int) -> list[np.ndarray]:
    obs, _ = world.reset(seed=seed)
    stream = [obs]
    for action in actions:
        obs, _, terminated, truncated, _ = world.step(action)
        stream.append(obs)
        if terminated or truncated:
            obs, _ = world.reset()
            stream.append(obs)
    return stream


def check_world(spec: str, steps: int = 5000, seed: int = 0) -> WorldReport:
    """Check and profile the world `spec` (UserError for a spec that names nothing)."""
    world = make_world(spec)
    report = WorldReport(spec, str(world.observation_space), str(world.action_space))

    def gymnasium_checker() -> str:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(make_world(spec), skip_render_check=True)
        return f"{len(caught)} warning(s)" if caught else ""

    def spaces() -> str:
        if not isinstance(world.action_space, gym.spaces.Discrete):
            raise TypeError(f"the agent needs a Discrete action space, got {world.action_space}")
        space = world.observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.float32):
            raise TypeError(f"the agent needs a float32 Box observation, got {space}")
        return f"{len(space.shape)}-d observation"

    rng = np.random.default_rng(seed)
    actions = [int(a) for a in rng.integers(0, getattr(world.action_space, "n", 1), size=300)]

    def deterministic() -> str:
        first, second = (
            _rollout(make_world(spec), actions, seed),
            _rollout(make_world(spec), actions, seed),
        )
        if len(first) != len(second) or any(
            not np.array_equal(a, b) for a, b in zip(first, second, strict=False)
        ):
            raise AssertionError("two worlds with the same seed and actions diverged")
        return f"{len(actions)} steps identical"

    def restorable() -> str:
        original = make_world(spec)
        if not hasattr(original, "state_dict"):
            return "not saveable: a resumed life starts a new stream"
        original.reset(seed=seed)
        for action in actions[:50]:
            original.step(action)
        copy = make_world(spec)
        copy.reset(seed=seed + 1)
        copy.load_state_dict(original.state_dict())
        for action in actions[50:]:
            a, b = original.step(action), copy.step(action)
            if not np.array_equal(a[0], b[0]) or a[1] != b[1]:
                raise AssertionError("a restored world diverged from the original")
            if a[2] or a[3]:
                break
        return "restored world continues identically"

    _check(report, "gymnasium env checker", gymnasium_checker)
    _check(report, "spaces the agent can use", spaces)
    _check(report, "same seed, same stream", deterministic)
    _check(report, "state_dict round trip", restorable)

    world.reset(seed=seed)
    n = getattr(world.action_space, "n", 1)
    draws = rng.integers(0, n, size=steps).tolist()
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
