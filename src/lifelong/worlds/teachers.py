"""``teacher``: demonstrators of chosen reliability and visibility, shown in ``info``.

The built-in policies (random, cartpole, noop) live here. A run directory holding a saved agent
is loaded, when a spec names one, by the ``load_policy`` the caller hands in (``make_world``
passes it down; a life hands in ``lifelong.policies.load_policy``, which builds the agent): the
worlds never import anything above them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import CartPoleEnv

from lifelong.errors import UserError
from lifelong.worlds.params import noop_of, probability
from lifelong.worlds.state import (
    block_state,
    inner_state,
    load_blocks,
    load_inner_state,
    rng_state,
    salted_rng,
    saved_completely,
)

Policy = Callable[[Any], Any]
PolicyLoader = Callable[[str], Policy]  # a run directory holding a saved agent -> its policy


def _cartpole_policy(obs: Any) -> int:
    """Push toward the pole's lean, anticipating with its angular velocity: keeps CartPole up
    for hundreds of steps, good enough to be worth imitating."""
    angle, angular_velocity = float(obs[2]), float(obs[3])
    return int(angle + 0.5 * angular_velocity > 0.0)


TEACHER_POLICIES = ("random", "cartpole", "noop")


def _action_space(space: gym.Space) -> spaces.Discrete | spaces.Box:
    """The actions a teacher can show: Discrete, or a bounded float Box vector (continuous)."""
    if isinstance(space, spaces.Discrete):
        return space
    if (
        isinstance(space, spaces.Box)
        and np.issubdtype(space.dtype, np.floating)
        and len(space.shape) == 1
        and space.is_bounded("both")
    ):
        return space
    raise UserError(
        f"teacher: a teacher cannot use {space}; allowed: a Discrete action space or a bounded"
        " float Box of shape (N,)"
    )


class Teacher(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A demonstrator in view some of the time, right some of the time.

    At each step the teacher shows what it would do in the learner's *current* observation (the
    one just returned): with probability ``reliability`` its policy's action, else a uniformly
    random one. With probability ``visible`` the learner sees it: ``info["teachers"]`` gets
    ``{"source": name, "action": a}`` and ``info["teacher"]`` is the first teacher in view.
    Actions are ints for a Discrete world; for continuous actions (a bounded Box) float32
    arrays in the world's units: the random action uniform within the bounds, ``noop`` zeros
    clipped into them, a caller's policy returning an array in the world's units.
    Stacked teachers (different names and reliabilities) append to the same list, so an agent
    can learn whom to trust.

    A policy that names a run directory holding a saved agent is loaded by ``load_policy``,
    handed in by whoever builds the world (it is not a spec parameter).

    ``shows="outcome"`` demonstrates without saying the action: the demo carries ``next_obs``,
    the observation the teacher's action leads to (the world is stepped and restored through its
    ``state_dict``, so only worlds that can be saved allow it), and the learner must infer the
    action itself (System A's inverse dynamics: latent actions). On the step that ends an
    episode it shows nothing: no action leads anywhere from there, and the world must not be
    stepped past its episode's end.

    The coins and random actions are drawn a block of steps at a time; the block is part of
    ``state_dict``, so a restored teacher goes on identically.
    """

    def __init__(
        self,
        env: gym.Env,
        policy: Policy | str = "random",
        reliability: float = 1.0,
        visible: float = 1.0,
        name: str = "teacher",
        shows: str = "action",
        load_policy: PolicyLoader | None = None,
    ) -> None:
        # Not deep-copied: a caller's policy is shared as given, not cloned with its agent.
        gym.utils.RecordConstructorArgs.__init__(
            self,
            _disable_deepcopy=True,
            policy=policy,
            reliability=reliability,
            visible=visible,
            name=name,
            shows=shows,
            load_policy=load_policy,
        )
        gym.Wrapper.__init__(self, env)
        if shows not in ("action", "outcome"):
            raise UserError(f"teacher: shows={shows!r} is invalid; allowed: action, outcome")
        if shows == "outcome" and not saved_completely(inner_state(env)):
            raise UserError(
                f"teacher: shows='outcome' needs a world that can be saved and restored"
                f" (nursery, bandit, classic control, MinAtar); {type(env.unwrapped).__name__}"
                " cannot"
            )
        self.shows = shows
        self.space = _action_space(env.action_space)
        self.continuous = isinstance(self.space, spaces.Box)
        self.reliability = probability("teacher", "reliability", reliability)
        self.visible = probability("teacher", "visible", visible)
        if not isinstance(name, str) or not name:
            raise UserError(f"teacher: name={name!r} is invalid; allowed: a non-empty string")
        self.name = name
        self._load_policy = load_policy
        self.policy = self._resolve(policy)
        # A built-in policy is a pure function of the observation (the random one is a uniform
        # action, which the block already holds), so it is only consulted when someone looks; a
        # caller's policy is consulted whenever the teacher is reliable, seen or not, as always.
        self._builtin = self.policy if isinstance(policy, str) else None
        self._random_policy = (
            self.policy if isinstance(policy, str) and policy == "random" else None
        )
        self._rng = salted_rng(None, f"teacher:{name}")
        # The block: per step a reliability coin, a visibility coin and a uniform action, drawn
        # from `_rng` whose state just before the draw is `_block_rng`; `_pos` is the next step.
        self._block_size = _TEACHER_BLOCK
        self._block_rng: dict[str, Any] | None = None
        self._pos = self._block_size
        self._reliable: list[float] = []
        self._seen: list[float] = []
        self._actions: list[Any] = []

    def _resolve(self, policy: Policy | str) -> Policy:
        if callable(policy):
            return policy
        if policy == "random":
            if self.continuous:
                return lambda obs: self._rng.uniform(self.space.low, self.space.high).astype(
                    np.float32
                )
            return lambda obs: int(self.space.start) + int(self._rng.integers(self.space.n))
        if policy == "noop" and self.continuous:
            zeros = np.zeros(self.space.shape, dtype=np.float32)
            action = np.clip(zeros, self.space.low, self.space.high).astype(np.float32)
            return lambda obs: action.copy()
        if policy == "noop":
            noop = noop_of(self.env)
            action = int(self.space.start) if noop is None else noop
            return lambda obs: action
        if policy == "cartpole":
            # Other wrappers may sit between (a noisy TV appends features and an action); the
            # controller reads only the pole's angle and spin and pushes with actions 0 and 1.
            shape = self.env.observation_space.shape
            if not isinstance(self.env.unwrapped, CartPoleEnv) or len(shape) != 1 or shape[0] < 4:
                raise UserError(
                    f"teacher: policy='cartpole' cannot drive {type(self.env.unwrapped).__name__} "
                    f"with observations {shape}; allowed: a CartPole world with its 4 features"
                )
            return _cartpole_policy
        if isinstance(policy, str) and (Path(policy) / "config.yaml").exists():
            if self._load_policy is None:
                raise UserError(
                    f"teacher: policy={policy!r} names a saved agent, which only a life can load"
                    " (make_world(spec, load_policy=lifelong.policies.load_policy)); allowed"
                    f" here: a callable obs -> action, or one of {', '.join(TEACHER_POLICIES)}"
                )
            return self._load_policy(policy)
        raise UserError(
            f"teacher: policy={policy!r} is invalid; allowed: a callable obs -> action, a run "
            f"directory holding a saved agent, or one of {', '.join(TEACHER_POLICIES)}"
        )

    def _shown(self, action: Any) -> Any:
        """A policy's action as ``info`` shows it: an int, or a float32 array in world units."""
        if self.continuous:
            return np.array(action, dtype=np.float32).reshape(self.space.shape)  # a copy
        return int(action)

    def _outcome(self, action: Any) -> Any:
        """The observation `action` would lead to, the world left exactly as it was."""
        state = inner_state(self.env)
        next_obs = self.env.step(action)[0]
        load_inner_state(self.env, state)
        return next_obs

    def _draw_block(self) -> None:
        rng, size = self._rng, self._block_size
        self._block_rng = rng_state(rng)
        # Both coins every step, so the random stream does not depend on the outcomes.
        coins = rng.random((2, size))
        self._reliable = coins[0].tolist()
        self._seen = coins[1].tolist()
        if self.continuous:  # uniform within the bounds, one row per step
            space = self.space
            draws = rng.uniform(space.low, space.high, size=(size, *space.shape))
            self._actions = list(draws.astype(np.float32))
        else:
            actions = rng.integers(self.space.n, size=size) + int(self.space.start)
            self._actions = actions.tolist()
        self._pos = 0

    def _demonstrate(self, obs: Any, info: dict[str, Any], ended: bool = False) -> dict[str, Any]:
        pos = self._pos
        if pos >= self._block_size:
            self._draw_block()
            pos = 0
        self._pos = pos + 1
        policy = self.policy
        reliable = self._reliable[pos] < self.reliability
        if self._seen[pos] < self.visible:
            if reliable and policy is not self._random_policy:
                action = self._shown(policy(obs))
            else:
                action = self._actions[pos]
                if self.continuous:
                    action = action.copy()  # the caller may change what it is shown
            demo: dict[str, Any] = {"source": self.name, "action": action}
            if self.shows == "outcome":
                if ended:
                    return info
                demo = {"source": self.name, "next_obs": self._outcome(action)}
            teachers = info.get("teachers")
            info["teachers"] = [demo] if teachers is None else [*teachers, demo]
            if "teacher" not in info:
                info["teacher"] = demo
        elif reliable and policy is not self._builtin:
            policy(obs)
        return info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = salted_rng(seed, f"teacher:{self.name}")
            self._pos, self._block_rng = self._block_size, None  # a new block from the new rng
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._demonstrate(obs, info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        ended = terminated or truncated
        return obs, reward, terminated, truncated, self._demonstrate(obs, info, ended)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": rng_state(self._rng),
            "block": block_state(self._block_rng, self._pos, self._block_size),
            "inner": inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_blocks(self, state)
        load_inner_state(self.env, state["inner"])


_TEACHER_BLOCK = 1024  # steps of coins and random actions drawn at once
