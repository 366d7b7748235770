"""``shift``: one wrapper name, several kinds of change on a schedule.

What actions do (a fresh permutation), how observations are laid out (permuted channels or
features), the sign or scale of reward, one physical parameter of a classic-control or MuJoCo
world, or the gains of a continuous body's actuators (``kind=gains``: each change redraws every
actuator's gain, its sign and size, so the change costs reward whichever way it goes).
Each kind is a small subclass of `_Scheduled`, which owns the schedule, the regime counter, the
``info["shift"]`` tag and the saved state; ``shift(env, kind=..., ...)`` picks the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import (
    AcrobotEnv,
    CartPoleEnv,
    Continuous_MountainCarEnv,
    MountainCarEnv,
    PendulumEnv,
)

from lifelong.errors import UserError
from lifelong.worlds.mujoco_worlds import MUJOCO_KINDS, MujocoPhysics, is_mujoco
from lifelong.worlds.oracles import controller_for
from lifelong.worlds.params import discrete, finite
from lifelong.worlds.schedule import Schedule
from lifelong.worlds.state import (
    inner_state,
    load_inner_state,
    restore_rng,
    rng_state,
    salted_rng,
)


class _Scheduled(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Shared machinery: own generator, schedule, regime counter, ``info["shift"]``, state.

    The step is the hot path, so everything a regime decides (the ``info["shift"]`` tag, the
    action table, the observation permutation, the reward factor) is worked out once when the
    regime changes (`_refresh`) and the step only reads it.

    Each kind records its constructor arguments first thing (Gymnasium keeps the first record),
    so ``env.spec`` can rebuild it: Gymnasium's environment checker does. The schedule is
    recorded as a copy taken before it runs, so a rebuilt wrapper starts from step 0.
    """

    kind = "shift"

    def __init__(self, env: gym.Env, schedule: Schedule) -> None:
        gym.Wrapper.__init__(self, env)
        self.schedule = schedule
        self.regime = 0
        self._rng = salted_rng(None, f"shift:{self.kind}")
        self.schedule.reset(self._rng)
        # What the step applies; None means "leave it as it is" (set by `_refresh`).
        self._action_map: list[int] | None = None
        self._action_start = 0
        self._obs_perm: np.ndarray | None = None
        self._factor: float | None = None
        self._action_fn: Callable[[Any], Any] | None = None  # continuous actions, transformed
        self._tag = ""
        self._inner_key: Any = _NO_KEY  # the last regime reported from below, and its tag
        self._inner_tag = ""
        self._refresh()

    def _refresh(self) -> None:
        """Work out what the current regime does; subclasses add their own part."""
        self._tag = f"{self.kind}:{self.regime}"
        self._inner_key = _NO_KEY

    def _tag_info(self, info: dict[str, Any]) -> dict[str, Any]:
        """Combine this wrapper's regime with any regime reported from below (``inner|kind:n``)."""
        inner = info.get("shift")
        if inner is None:
            info["shift"] = self._tag
        elif inner is self._inner_key:
            info["shift"] = self._inner_tag
        else:
            info["shift"] = self._retag(inner)
        return info

    def _retag(self, inner: Any) -> str:
        tag = f"{inner}|{self._tag}"
        # Cache on the inner value when it is a plain str or int (an identity test will then
        # hit every step: the inner shift hands back its own cached string).
        if type(inner) in (str, int):
            self._inner_key, self._inner_tag = inner, tag
        return tag

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # a new life: same seed, same changes at the same steps
            self._rng = salted_rng(seed, f"shift:{self.kind}")
            self.schedule.reset(self._rng)
            self.regime = 0
            self._on_regime(restart=True)
            self._refresh()
        obs, info = self.env.reset(seed=seed, options=options)
        if self._obs_perm is not None:
            obs = np.asarray(obs).take(self._obs_perm, -1)
        return obs, self._tag_info(info)

    def step(self, action: Any):
        if self.schedule.step():
            self.regime += 1
            self._on_regime(restart=False)
            self._refresh()
        action_map = self._action_map
        if action_map is not None:
            action = action_map[int(action) - self._action_start]
        elif self._action_fn is not None:
            action = self._action_fn(action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        perm = self._obs_perm
        if perm is not None:
            obs = np.asarray(obs).take(perm, -1)
        if self._factor is not None:
            reward = reward * self._factor
        return obs, reward, terminated, truncated, self._tag_info(info)

    # Hooks for the kinds; the defaults change nothing.
    def _on_regime(self, restart: bool) -> None:
        """Enter ``self.regime`` (regime 0 and ``restart=True`` after a seeded reset)."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "regime": self.regime,
            "schedule": self.schedule.state_dict(),
            "rng": rng_state(self._rng),
            **self._extra_state(),
            "inner": inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.regime = int(state["regime"])
        self.schedule.load_state_dict(state["schedule"])
        restore_rng(self._rng, state["rng"])
        self._load_extra_state(state)
        self._refresh()
        load_inner_state(self.env, state["inner"])


_NO_KEY = object()  # an inner regime that never matches: nothing cached yet


def _fresh_permutation(rng: np.random.Generator, current: np.ndarray) -> np.ndarray:
    """A random permutation that differs from ``current``, so every change is a real change
    (with two actions a plain draw would leave them as they were half of the time)."""
    while True:
        candidate = rng.permutation(len(current))
        if not np.array_equal(candidate, current):
            return candidate


class ActionShift(_Scheduled):
    """Action ``a`` performs the inner action ``perm[a]``; a fresh permutation at each change."""

    kind = "actions"

    def __init__(self, env: gym.Env, schedule: Schedule) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule)
        space = discrete("shift", env.action_space, "kind='actions'")
        if space.n < 2:
            raise UserError("shift: kind='actions' got 1 action; allowed: at least 2 actions")
        self.perm = np.arange(space.n)
        self._start = int(space.start)
        super().__init__(env, schedule)

    def _on_regime(self, restart: bool) -> None:
        identity = np.arange(len(self.perm))
        self.perm = identity if restart else _fresh_permutation(self._rng, self.perm)

    def _refresh(self) -> None:
        super()._refresh()
        # Action a (counted from the space's start) performs inner action perm[a] + start.
        self._action_start = self._start
        self._action_map = [int(p) + self._start for p in self.perm]

    def _extra_state(self) -> dict[str, Any]:
        return {"perm": self.perm.tolist()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.perm = np.asarray(state["perm"], dtype=np.int64)


class ObservationShift(_Scheduled):
    """Permute the last axis of observations: channels of images, features of vectors.

    The observation space's bounds are made the same along that axis (the loosest of them), so a
    permuted observation always lies inside the declared space.
    """

    kind = "observations"

    def __init__(self, env: gym.Env, schedule: Schedule) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) == 0 or space.shape[-1] < 2:
            raise UserError(
                f"shift: kind='observations' cannot permute {space}; allowed: a Box with at "
                "least 2 channels or features on its last axis"
            )
        self.perm = np.arange(space.shape[-1])
        super().__init__(env, schedule)
        low = np.broadcast_to(space.low.min(axis=-1, keepdims=True), space.shape)
        high = np.broadcast_to(space.high.max(axis=-1, keepdims=True), space.shape)
        self.observation_space = spaces.Box(low, high, space.shape, space.dtype)

    def _on_regime(self, restart: bool) -> None:
        identity = np.arange(len(self.perm))
        self.perm = identity if restart else _fresh_permutation(self._rng, self.perm)

    def _refresh(self) -> None:
        super()._refresh()
        # Always a fresh array, even for the identity: the caller may keep the observation.
        self._obs_perm = np.ascontiguousarray(self.perm, dtype=np.intp)

    def _extra_state(self) -> dict[str, Any]:
        return {"perm": self.perm.tolist()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.perm = np.asarray(state["perm"], dtype=np.int64)


class RewardShift(_Scheduled):
    """Multiply reward by ``factor`` in odd regimes: -1 for ``reward_flip``, ``scale`` for
    ``reward_scale``. What was good becomes bad, then good again."""

    def __init__(self, env: gym.Env, schedule: Schedule, kind: str, factor: float) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule, kind=kind, factor=factor)
        self.kind = kind
        self.factor = factor
        super().__init__(env, schedule)

    def _refresh(self) -> None:
        super()._refresh()
        self._factor = self.factor if self.regime % 2 else None


class GainShift(_Scheduled):
    """Each actuator of a continuous body drives the world with a gain: the action ``a`` becomes
    ``c + g * (a - c)`` (``c`` the middle of the action's bounds), clipped to the bounds. Regime 0
    is the body as built (every gain 1); each change redraws every gain, its size log-uniform in
    [1/scale, scale] and its sign at random, so that at least one actuator's sign flips.

    Why this change rather than a physical parameter: a heavier pole or a slipperier floor can
    make a world easier as often as harder, so recovering from it mixes recovery with learning a
    new, perhaps better, skill. A flipped or rescaled actuator leaves the task as it was and
    makes the body the agent has learned wrong, whichever way the draw goes: reward falls at
    the change and recovery measures recovery.

    The world's oracle (`oracle_action` beneath, or `oracles.controller_for` the task) keeps its
    ceiling here: this wrapper inverts its gains around it (an action out of reach at a small
    gain is clipped, as the body's limits would).
    """

    kind = "gains"

    def __init__(self, env: gym.Env, schedule: Schedule, scale: float) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule, scale=scale)
        space = env.action_space
        if not (isinstance(space, spaces.Box) and space.is_bounded("both")):
            raise UserError(
                f"shift: kind='gains' cannot use {space}; allowed: a bounded Box of continuous"
                " actions"
            )
        if scale < 1.0:
            raise UserError(f"shift: scale={scale!r} is invalid for kind='gains'; allowed: >= 1")
        self.scale = scale
        self.gains = np.ones(space.shape, dtype=np.float64)
        self._low = np.asarray(space.low, dtype=np.float64)
        self._high = np.asarray(space.high, dtype=np.float64)
        self._centre = (self._low + self._high) / 2.0
        self._dtype = space.dtype
        super().__init__(env, schedule)

    def _on_regime(self, restart: bool) -> None:
        if restart:
            self.gains = np.ones_like(self.gains)
            return
        size = np.exp(self._rng.uniform(-1.0, 1.0, self.gains.shape) * np.log(self.scale))
        while True:
            signs = self._rng.choice((-1.0, 1.0), self.gains.shape)
            if np.any(signs != np.sign(self.gains)):  # at least one actuator flips
                break
        self.gains = signs * size

    def _refresh(self) -> None:
        super()._refresh()
        self._action_fn = self._drive

    def _drive(self, action: Any) -> np.ndarray:
        """What the body does with `action` under the current gains."""
        driven = self._centre + self.gains * (np.asarray(action, np.float64) - self._centre)
        return np.clip(driven, self._low, self._high).astype(self._dtype)

    @property
    def oracle_action(self) -> Callable[[], np.ndarray] | None:
        """The world's oracle with these gains inverted around it (None if it has none)."""
        try:
            inner = self.env.get_wrapper_attr("oracle_action")
        except AttributeError:
            inner = None
        inner = inner if callable(inner) else controller_for(self.env)
        if inner is None:
            return None
        wanted_of: Callable[[], Any] = inner

        def act() -> np.ndarray:
            wanted = np.asarray(wanted_of(), dtype=np.float64)
            action = self._centre + (wanted - self._centre) / self.gains
            return np.clip(action, self._low, self._high).astype(self._dtype)

        return act

    def _extra_state(self) -> dict[str, Any]:
        return {"gains": self.gains.tolist()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.gains = np.asarray(state["gains"], dtype=np.float64).reshape(self.gains.shape)


# kind -> attributes scaled together, for each classic-control world. Acrobot's centre of mass
# moves with the link's length; CartPole's derived masses are refreshed in `_Attributes.apply`.
# Pendulum's mass is `mass` (`masspole` is kept as its older name). MountainCarContinuous's
# gravity is a literal in its step (0.0025), so only its engine's `power` can change.
# MuJoCo worlds have kinds of their own (`mujoco_worlds.MUJOCO_KINDS`).
_PHYSICS: dict[type, dict[str, tuple[str, ...]]] = {
    CartPoleEnv: {
        "gravity": ("gravity",),
        "length": ("length",),
        "masscart": ("masscart",),
        "masspole": ("masspole",),
        "force": ("force_mag",),
    },
    AcrobotEnv: {"length": ("LINK_LENGTH_1", "LINK_COM_POS_1"), "masspole": ("LINK_MASS_1",)},
    PendulumEnv: {"gravity": ("g",), "length": ("l",), "mass": ("m",), "masspole": ("m",)},
    MountainCarEnv: {"gravity": ("gravity",), "force": ("force",)},
    Continuous_MountainCarEnv: {"power": ("power",)},
}
PHYSICS_KINDS = (
    "gravity",
    "length",
    "mass",
    "masscart",
    "masspole",
    "force",
    "power",
    *(kind for kind in MUJOCO_KINDS if kind not in ("gravity", "mass")),
)
REWARD_KINDS = ("reward_flip", "reward_scale")
SHIFT_KINDS = ("actions", "observations", *REWARD_KINDS, *PHYSICS_KINDS, "gains")


def _physics_table(env: gym.Env) -> dict[str, tuple[str, ...]]:
    for cls, table in _PHYSICS.items():
        if isinstance(env.unwrapped, cls):
            return table
    return {}


def _physics_kinds(env: gym.Env) -> list[str]:
    return list(MUJOCO_KINDS) if is_mujoco(env) else list(_physics_table(env))


def supported_kinds(env: gym.Env) -> list[str]:
    """The shift kinds that make sense for ``env`` (used to explain a refusal)."""
    kinds = list(REWARD_KINDS)
    if isinstance(env.action_space, spaces.Discrete) and env.action_space.n >= 2:
        kinds.insert(0, "actions")
    obs = env.observation_space
    if isinstance(obs, spaces.Box) and len(obs.shape) > 0 and obs.shape[-1] >= 2:
        kinds.insert(len(kinds) - 2, "observations")
    if isinstance(env.action_space, spaces.Box):
        kinds.append("gains")
    return kinds + _physics_kinds(env)


class _Attributes:
    """Classic-control parameters: attributes of the env, scaled together from their values when
    the shift was built. Derived quantities (CartPole's total mass and pole mass-length) are
    recomputed so the world stays self-consistent."""

    def __init__(self, world: gym.Env, attributes: tuple[str, ...]) -> None:
        self.world = world
        self.original = {a: float(getattr(world, a)) for a in attributes}

    def apply(self, factor: float) -> None:
        world = self.world
        for attribute, value in self.original.items():
            setattr(world, attribute, value * factor)
        if isinstance(world, CartPoleEnv):
            world.total_mass = world.masspole + world.masscart
            world.polemass_length = world.masspole * world.length


class PhysicsShift(_Scheduled):
    """Multiply one physical parameter of a classic-control or MuJoCo world by ``scale`` in odd
    regimes (``info["shift"]``: ``kind:0``, ``kind:1``, ...).

    Even regimes restore the original values exactly (those when the shift was built), so a
    learner meets the old physics again and forgetting can be measured. The regime is saved, and
    a loaded shift applies its physics again (`_load_extra_state`).
    """

    def __init__(self, env: gym.Env, schedule: Schedule, kind: str, scale: float) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule, kind=kind, scale=scale)
        if kind not in _physics_kinds(env):
            name = type(env.unwrapped).__name__
            raise UserError(
                f"shift: kind={kind!r} is not available for {name}; "
                f"it supports kinds: {', '.join(supported_kinds(env))}"
            )
        self.kind = kind
        self.scale = scale
        self.parameters: _Attributes | MujocoPhysics = (
            MujocoPhysics(env, kind)
            if is_mujoco(env)
            else _Attributes(env.unwrapped, _physics_table(env)[kind])
        )
        super().__init__(env, schedule)
        self._apply()

    def _on_regime(self, restart: bool) -> None:
        self._apply()

    def _apply(self) -> None:
        self.parameters.apply(self.scale if self.regime % 2 else 1.0)

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self._apply()


def shift(
    env: gym.Env,
    kind: str | None = None,
    every: int | None = None,
    at: Sequence[int] | None = None,
    pareto: float | None = None,
    alpha: float = 1.5,
    scale: float | None = None,
) -> gym.Wrapper:
    """Change the world on a schedule; ``kind`` says what changes (see ``SHIFT_KINDS``).

    ``scale`` (default 2.0) applies to ``reward_scale``, the physics kinds and ``gains`` (the
    largest size of a gain, the smallest being 1/scale) only; giving it to another kind is
    refused because it would silently do nothing.
    """
    if kind not in SHIFT_KINDS:
        raise UserError(f"shift: kind={kind!r} is invalid; allowed: {', '.join(SHIFT_KINDS)}")
    schedule = Schedule(every=every, at=at, pareto=pareto, alpha=alpha, owner="shift")
    scaled = kind in ("reward_scale", "gains") or kind in PHYSICS_KINDS
    if scale is not None and not scaled:
        raise UserError(
            f"shift: scale= does nothing for kind={kind!r}; allowed: scale= only with "
            f"reward_scale, gains, {', '.join(PHYSICS_KINDS)}"
        )
    if kind == "actions":
        return ActionShift(env, schedule)
    if kind == "observations":
        return ObservationShift(env, schedule)
    if kind == "reward_flip":
        return RewardShift(env, schedule, kind, -1.0)
    if kind == "gains":
        return GainShift(env, schedule, finite("shift", "scale", 2.0 if scale is None else scale))
    if kind == "reward_scale":
        return RewardShift(
            env, schedule, kind, finite("shift", "scale", 2.0 if scale is None else scale)
        )
    return PhysicsShift(
        env, schedule, kind, finite("shift", "scale", 2.0 if scale is None else scale, 0.0)
    )
