"""Worlds that keep changing: shifts on a schedule, task sequences, a noisy TV and teachers.

A lifelong learner is only tested by a world that changes under it, so these wrappers turn any
Gymnasium env into one: ``shift`` changes what actions do, how observations are laid out, the sign
or scale of reward or the physics of classic-control worlds; ``TaskSequence`` cycles through
several worlds so that old tasks come back (forgetting becomes measurable); ``noisy_tv`` adds the
classic trap for prediction-error curiosity; ``teacher`` adds demonstrators of chosen reliability.

Three conventions hold for all of them:

* **A life is continuing.** Changes happen at world-step counts, and the step counter survives
  episode resets. A reset *with a seed* starts a new life: it reseeds the wrapper's own random
  generator and restarts its schedule, so a seeded world is deterministic. A reset without one
  just chains the next episode into the same life.
* **Ground truth travels in ``info``.** ``info["shift"]`` names the regime (for metrics only; the
  agent must never read it), ``info["teacher"]``/``info["teachers"]`` carry demonstrations and
  ``info["tv"]``/``info["tv_action"]``/``info["tv_in_view"]`` mark the noisy TV.
* **Exact resume.** Every wrapper's ``state_dict`` holds its schedule, regime, permutations and
  random-generator state as plain data, plus ``"inner"``: the state of the world beneath when that
  world can be saved (``None`` otherwise).

``WRAPPERS`` maps the names used in world specs (``gym:CartPole-v1+shift(kind=gravity,
every=20000)+noisy_tv``) to factories called as ``factory(env, **params)``. Any mistake in the
parameters raises :class:`~lifelong.errors.UserError` with one line naming the wrapper, the bad
value and what is allowed.
"""

from __future__ import annotations

import copy
import inspect
import math
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import AcrobotEnv, CartPoleEnv, MountainCarEnv, PendulumEnv

from lifelong.errors import UserError

__all__ = [
    "WRAPPERS",
    "NoisyTV",
    "Schedule",
    "TaskSequence",
    "Teacher",
    "saved_completely",
    "shift",
]

Policy = Callable[[Any], Any]


# ---------------------------------------------------------------------------------------------
# Parameter checks: every message is one line naming the wrapper, the value and what is allowed.


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _positive_int(owner: str, name: str, value: Any) -> int:
    """Accept 20000 and 2e4 alike (specs may write either), refuse fractions and booleans."""
    if not _is_number(value) or not math.isfinite(value) or value != int(value) or value < 1:
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: a positive integer")
    return int(value)


def _finite(owner: str, name: str, value: Any, low: float = -math.inf) -> float:
    if not _is_number(value) or not math.isfinite(value) or value <= low:
        bound = "a finite number" if low == -math.inf else f"a finite number > {low:g}"
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: {bound}")
    return float(value)


def _probability(owner: str, name: str, value: Any) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise UserError(f"{owner}: {name}={value!r} is invalid; allowed: a number in [0, 1]")
    return float(value)


def _discrete(owner: str, space: gym.Space, why: str) -> spaces.Discrete:
    if not isinstance(space, spaces.Discrete):
        raise UserError(f"{owner}: {why} cannot use {space}; allowed: a Discrete action space")
    return space


def _salted_rng(seed: int | None, salt: str) -> np.random.Generator:
    """A generator of the wrapper's own, so stacked wrappers given one seed draw independently."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), zlib.crc32(salt.encode())])


def _inner_state(env: gym.Env) -> Any:
    """The state of the world beneath, looked up through Gymnasium's own wrappers."""
    try:
        return env.get_wrapper_attr("state_dict")()
    except AttributeError:
        return None


def _load_inner_state(env: gym.Env, state: Any) -> None:
    if state is not None:
        env.get_wrapper_attr("load_state_dict")(state)


def saved_completely(state: Any) -> bool:
    """Whether a world's saved state reaches all the way down, so that loading it continues the
    very same stream: each wrapper keeps the state of the world beneath in ``"inner"`` (a list,
    one per task, for a task sequence), None where that world cannot be saved."""
    if isinstance(state, dict) and "inner" in state:
        return saved_completely(state["inner"])
    if isinstance(state, list):
        return all(saved_completely(item) for item in state)
    return state is not None


def _noop_of(env: gym.Env) -> int | None:
    """The world's declared 'do nothing' action, searched through the wrappers and the base."""
    try:
        value = env.get_wrapper_attr("noop_action")
    except AttributeError:
        value = getattr(env.unwrapped, "noop_action", None)
    return None if value is None else int(value)


# ---------------------------------------------------------------------------------------------
# Schedule


class Schedule:
    """When the world changes: every N steps, at listed steps, or after heavy-tailed gaps.

    Step indices count world steps from 0. ``step()`` is called once per world step, before the
    step is taken, and returns True when a change happens at that step (so with ``every=100``
    steps 0..99 are regime 0 and step 100 is the first of regime 1).

    ``pareto=M`` draws gaps from a Pareto distribution with shape ``alpha`` and mean ``M``: most
    gaps are short but a few are very long, the way real worlds are calm for long stretches and
    then change. ``alpha`` must exceed 1 so the mean exists; near 1 the tail is heaviest.
    """

    def __init__(
        self,
        every: int | None = None,
        at: Sequence[int] | None = None,
        pareto: float | None = None,
        alpha: float = 1.5,
        *,
        owner: str = "schedule",
    ) -> None:
        given = [
            name for name, v in (("every", every), ("at", at), ("pareto", pareto)) if v is not None
        ]
        if len(given) != 1:
            raise UserError(
                f"{owner}: got {' and '.join(given) or 'no schedule'}; allowed: exactly one of "
                "every=, at=, pareto="
            )
        self.every = None if every is None else _positive_int(owner, "every", every)
        self.pareto = None if pareto is None else _finite(owner, "pareto", pareto, 0.0)
        if self.pareto is not None and self.pareto < 1.0:
            raise UserError(f"{owner}: pareto={pareto!r} is invalid; allowed: a mean gap >= 1 step")
        self.alpha = _finite(owner, "alpha", alpha, 1.0)
        self.at: list[int] | None = None
        if at is not None:
            self.at = self._check_at(owner, at)
        self._rng = np.random.default_rng()
        self._t = 0
        self._next: int | None = None
        self._restart()

    @staticmethod
    def _check_at(owner: str, at: Any) -> list[int]:
        allowed = "a sorted list of distinct non-negative integer steps"
        if isinstance(at, int | float) and not isinstance(at, bool):
            at = [at]  # a spec's at=500 means a single change
        if not isinstance(at, list | tuple) or not at:
            raise UserError(f"{owner}: at={at!r} is invalid; allowed: {allowed}")
        steps = []
        for value in at:
            if not _is_number(value) or value != int(value) or value < 0:
                raise UserError(f"{owner}: at={list(at)!r} is invalid; allowed: {allowed}")
            steps.append(int(value))
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise UserError(f"{owner}: at={list(at)!r} is invalid; allowed: {allowed}")
        return steps

    def reset(self, rng: np.random.Generator) -> None:
        """Start over from step 0 with randomness derived from ``rng`` (used by ``pareto``)."""
        self._rng = np.random.default_rng(rng.integers(2**63))
        self._restart()

    def _restart(self) -> None:
        self._t = 0
        if self.every is not None:
            self._next = self.every
        elif self.at is not None:
            self._next = self.at[0]
        else:
            self._next = self._gap()

    def _gap(self) -> int:
        """A Pareto(alpha) gap with mean ``pareto``: x_m (1 + Lomax), x_m = mean (alpha-1)/alpha."""
        assert self.pareto is not None
        scale = self.pareto * (self.alpha - 1.0) / self.alpha
        return max(1, round(scale * (1.0 + self._rng.pareto(self.alpha))))

    def _advance(self, now: int) -> int | None:
        if self.every is not None:
            return now + self.every
        if self.at is not None:
            later = [s for s in self.at if s > now]
            return later[0] if later else None
        return now + self._gap()

    @property
    def steps(self) -> int:
        """World steps counted so far."""
        return self._t

    def step(self) -> bool:
        """Count one world step; True when a change happens at this step."""
        now = self._t
        self._t += 1
        if self._next is None or now != self._next:
            return False
        self._next = self._advance(now)
        return True

    def state_dict(self) -> dict[str, Any]:
        return {
            "t": self._t,
            "next": self._next,
            "rng": copy.deepcopy(self._rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._t = int(state["t"])
        self._next = None if state["next"] is None else int(state["next"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])


# ---------------------------------------------------------------------------------------------
# shift: one name, several kinds of change


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
        self._rng = _salted_rng(None, f"shift:{self.kind}")
        self.schedule.reset(self._rng)
        # What the step applies; None means "leave it as it is" (set by `_refresh`).
        self._action_map: list[int] | None = None
        self._action_start = 0
        self._obs_perm: np.ndarray | None = None
        self._factor: float | None = None
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
            self._rng = _salted_rng(seed, f"shift:{self.kind}")
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
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            **self._extra_state(),
            "inner": _inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.regime = int(state["regime"])
        self.schedule.load_state_dict(state["schedule"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])
        self._load_extra_state(state)
        self._refresh()
        _load_inner_state(self.env, state["inner"])


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
        space = _discrete("shift", env.action_space, "kind='actions'")
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


# kind -> attributes scaled together, for each classic-control world. Acrobot's centre of mass
# moves with the link's length; CartPole's derived masses are refreshed in `_refresh_derived`.
_PHYSICS: dict[type, dict[str, tuple[str, ...]]] = {
    CartPoleEnv: {
        "gravity": ("gravity",),
        "length": ("length",),
        "masscart": ("masscart",),
        "masspole": ("masspole",),
        "force": ("force_mag",),
    },
    AcrobotEnv: {"length": ("LINK_LENGTH_1", "LINK_COM_POS_1"), "masspole": ("LINK_MASS_1",)},
    PendulumEnv: {"gravity": ("g",), "length": ("l",), "masspole": ("m",)},
    MountainCarEnv: {"gravity": ("gravity",), "force": ("force",)},
}
PHYSICS_KINDS = ("gravity", "length", "masscart", "masspole", "force")
REWARD_KINDS = ("reward_flip", "reward_scale")
SHIFT_KINDS = ("actions", "observations", *REWARD_KINDS, *PHYSICS_KINDS)


def _physics_table(env: gym.Env) -> dict[str, tuple[str, ...]]:
    for cls, table in _PHYSICS.items():
        if isinstance(env.unwrapped, cls):
            return table
    return {}


def supported_kinds(env: gym.Env) -> list[str]:
    """The shift kinds that make sense for ``env`` (used to explain a refusal)."""
    kinds = list(REWARD_KINDS)
    if isinstance(env.action_space, spaces.Discrete) and env.action_space.n >= 2:
        kinds.insert(0, "actions")
    obs = env.observation_space
    if isinstance(obs, spaces.Box) and len(obs.shape) > 0 and obs.shape[-1] >= 2:
        kinds.insert(len(kinds) - 2, "observations")
    return kinds + list(_physics_table(env))


class PhysicsShift(_Scheduled):
    """Multiply one physical parameter of a classic-control world by ``scale`` in odd regimes.

    Even regimes restore the original value, so a learner meets the old physics again and
    forgetting can be measured. Derived quantities (CartPole's total mass and pole mass-length)
    are recomputed so the world stays self-consistent.
    """

    def __init__(self, env: gym.Env, schedule: Schedule, kind: str, scale: float) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, schedule=schedule, kind=kind, scale=scale)
        table = _physics_table(env)
        if kind not in table:
            name = type(env.unwrapped).__name__
            raise UserError(
                f"shift: kind={kind!r} is not available for {name}; "
                f"it supports kinds: {', '.join(supported_kinds(env))}"
            )
        self.kind = kind
        self.scale = scale
        self.attributes = table[kind]
        self.original = {a: float(getattr(env.unwrapped, a)) for a in self.attributes}
        super().__init__(env, schedule)
        self._apply()

    def _on_regime(self, restart: bool) -> None:
        self._apply()

    def _apply(self) -> None:
        world = self.env.unwrapped
        factor = self.scale if self.regime % 2 else 1.0
        for attribute, value in self.original.items():
            setattr(world, attribute, value * factor)
        if isinstance(world, CartPoleEnv):
            world.total_mass = world.masspole + world.masscart
            world.polemass_length = world.masspole * world.length

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

    ``scale`` (default 2.0) applies to ``reward_scale`` and the physics kinds only; giving it to
    another kind is refused because it would silently do nothing.
    """
    if kind not in SHIFT_KINDS:
        raise UserError(f"shift: kind={kind!r} is invalid; allowed: {', '.join(SHIFT_KINDS)}")
    schedule = Schedule(every=every, at=at, pareto=pareto, alpha=alpha, owner="shift")
    scaled = kind == "reward_scale" or kind in PHYSICS_KINDS
    if scale is not None and not scaled:
        raise UserError(
            f"shift: scale= does nothing for kind={kind!r}; allowed: scale= only with "
            f"reward_scale, {', '.join(PHYSICS_KINDS)}"
        )
    if kind == "actions":
        return ActionShift(env, schedule)
    if kind == "observations":
        return ObservationShift(env, schedule)
    if kind == "reward_flip":
        return RewardShift(env, schedule, kind, -1.0)
    if kind == "reward_scale":
        return RewardShift(
            env, schedule, kind, _finite("shift", "scale", 2.0 if scale is None else scale)
        )
    return PhysicsShift(
        env, schedule, kind, _finite("shift", "scale", 2.0 if scale is None else scale, 0.0)
    )


# ---------------------------------------------------------------------------------------------
# TaskSequence


class TaskSequence(gym.Env):
    """Several worlds in turn, a -> b -> c -> a ..., switched on a schedule.

    Tasks come back, so forgetting can be measured. The spaces are unified: Discrete action spaces
    take the largest size (an action a task lacks performs its action 0), and image observations
    are zero-padded to the most channels (MinAtar games differ only there). Different heights,
    widths or vector sizes cannot be reconciled and are refused.

    At a switch the current episode ends with ``truncated=True`` and the next reset starts the
    next task; the first step of the new task is the schedule's change step (a change at step 0
    has no episode to end and is ignored). ``info["shift"]`` is the index of the task that
    produced the observation.
    """

    metadata = {"render_modes": []}

    def __init__(self, envs: list[gym.Env], **schedule_params: Any) -> None:
        owner = "sequence"
        if len(envs) < 2:
            raise UserError(f"{owner}: tasks has {len(envs)} world(s); allowed: at least 2")
        unknown = sorted(set(schedule_params) - {"every", "at", "pareto", "alpha"})
        if unknown:
            raise UserError(
                f"{owner}: unknown parameter {unknown[0]!r}; allowed: tasks, every, at, pareto, "
                "alpha"
            )
        self.envs = list(envs)
        self.schedule = Schedule(**schedule_params, owner=owner)
        self.observation_space = self._unify_observations(
            owner, [e.observation_space for e in envs]
        )
        self.action_space = self._unify_actions(owner, [e.action_space for e in envs])
        self.task = 0
        self._switch_pending = False
        self._rng = _salted_rng(None, "sequence")
        self._task_seeds: list[int | None] = [None] * len(envs)
        self.schedule.reset(self._rng)
        self.schedule.step()  # the schedule runs one step ahead: see `step`

    @staticmethod
    def _unify_observations(owner: str, obs_spaces: list[gym.Space]) -> spaces.Box:
        if not all(isinstance(s, spaces.Box) for s in obs_spaces):
            raise UserError(
                f"{owner}: observation spaces {obs_spaces} cannot be combined; allowed: Box spaces"
            )
        shapes = [s.shape for s in obs_spaces]
        if len({len(s) for s in shapes}) != 1 or len(shapes[0]) not in (1, 3):
            raise UserError(
                f"{owner}: observation shapes {shapes} cannot be combined; allowed: all vectors "
                "of one size or all images (H, W, C) of one H and W"
            )
        if len(shapes[0]) == 1 and len(set(shapes)) != 1:
            raise UserError(f"{owner}: vector sizes {shapes} differ; allowed: vectors of one size")
        if len(shapes[0]) == 3 and len({s[:2] for s in shapes}) != 1:
            raise UserError(
                f"{owner}: image sizes {[s[:2] for s in shapes]} differ; allowed: one H and W "
                "(only the channel count may differ)"
            )
        channels = max(s[-1] for s in shapes)
        lows = [_pad(s.low.astype(np.float64), channels) for s in obs_spaces]
        highs = [_pad(s.high.astype(np.float64), channels) for s in obs_spaces]
        dtypes = {s.dtype for s in obs_spaces}
        dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float32)
        low, high = np.minimum.reduce(lows), np.maximum.reduce(highs)
        return spaces.Box(low.astype(dtype), high.astype(dtype), low.shape, dtype)

    @staticmethod
    def _unify_actions(owner: str, action_spaces: list[gym.Space]) -> gym.Space:
        if all(isinstance(s, spaces.Discrete) for s in action_spaces):
            return spaces.Discrete(max(int(s.n) for s in action_spaces))
        if all(s == action_spaces[0] for s in action_spaces):
            return action_spaces[0]
        raise UserError(
            f"{owner}: action spaces {action_spaces} cannot be combined; allowed: Discrete spaces "
            "(of any sizes) or identical spaces"
        )

    @property
    def current(self) -> gym.Env:
        return self.envs[self.task]

    def _obs(self, obs: Any) -> np.ndarray:
        padded = _pad(np.asarray(obs), self.observation_space.shape[-1])
        return padded.astype(self.observation_space.dtype, copy=False)

    def _reset_current(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        seed, self._task_seeds[self.task] = self._task_seeds[self.task], None
        obs, info = self.current.reset(seed=seed, options=options)
        info["shift"] = self.task
        return self._obs(obs), info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None:  # a new life from task 0; each task gets its own seed
            self._rng = _salted_rng(seed, "sequence")
            self._task_seeds = [int(s) for s in self._rng.integers(2**31, size=len(self.envs))]
            self.schedule.reset(self._rng)
            self.schedule.step()
            self.task = 0
            self._switch_pending = False
        if self._switch_pending:
            self.task = (self.task + 1) % len(self.envs)
            self._switch_pending = False
        return self._reset_current(options)

    def step(self, action: Any):
        if self._switch_pending:  # the caller went on without a reset: start the next task here
            self.reset()
        action_space = self.current.action_space
        if isinstance(action_space, spaces.Discrete) and not action_space.contains(int(action)):
            action = int(action_space.start)
        obs, reward, terminated, truncated, info = self.current.step(action)
        info["shift"] = self.task
        # The schedule is one step ahead: if the *next* step is a change step, this one ends the
        # episode so that the change step is the first step of the next task.
        if self.schedule.step():
            self._switch_pending = True
            truncated = True
        return self._obs(obs), reward, terminated, truncated, info

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def state_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "switch_pending": self._switch_pending,
            "task_seeds": list(self._task_seeds),
            "schedule": self.schedule.state_dict(),
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            "inner": [_inner_state(env) for env in self.envs],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.task = int(state["task"])
        self._switch_pending = bool(state["switch_pending"])
        self._task_seeds = list(state["task_seeds"])
        self.schedule.load_state_dict(state["schedule"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])
        for env, inner in zip(self.envs, state["inner"], strict=True):
            _load_inner_state(env, inner)


def _pad(array: np.ndarray, channels: int) -> np.ndarray:
    """Zero-pad the last axis of an image to ``channels``; vectors pass unchanged."""
    if array.ndim != 3 or array.shape[-1] == channels:
        return array
    pad = np.zeros((*array.shape[:-1], channels - array.shape[-1]), dtype=array.dtype)
    return np.concatenate([array, pad], axis=-1)


# ---------------------------------------------------------------------------------------------
# noisy_tv


class Failure(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The world pays only for failing: reward -``penalty`` on a step that ends an episode by
    termination (the pole fell), 0 on every other step.

    CartPole pays +1 for every step the pole is up, the step that drops it included; in a life
    that never ends (the loop resets and goes on) every agent then earns exactly 1 per step and
    no reward curve can tell a balancer from a random policy. Paying for the fall instead makes
    the reward rate minus the rate of falls, which is what a continuing life should maximise.
    Truncation (a time limit) is not a failure and pays 0.
    """

    def __init__(self, env: gym.Env, penalty: float = 1.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, penalty=penalty)
        gym.Wrapper.__init__(self, env)
        if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty > 0):
            raise UserError(f"failure: penalty={penalty!r} is invalid; allowed: a number > 0")
        self.penalty = float(penalty)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, -self.penalty if terminated else 0.0, terminated, truncated, info


class NoisyTV(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """An unlearnable, attention-grabbing TV: the trap for prediction-error curiosity.

    Images show a ``size`` x ``size`` patch in the top-left corner whose every pixel in every
    channel is fresh noise at every step; vectors get ``size`` extra features of fresh noise. One
    extra action (the last) "changes the channel": the inner world takes its no-op (action 0 when
    it declares none) and the TV draws a new mean per channel. An agent rewarded for prediction
    error can waste its life here; one rewarded for learning progress should not.

    The noise is uniform around the channel's mean, strictly inside the bounds, and is drawn a
    block of many frames at a time (the step only copies a frame in); the block is part of
    ``state_dict``, so a restored TV shows the same noise. The patch is in every observation, so
    ``info["tv_in_view"]`` is always True (it overrides a False from a world beneath with a TV of
    its own: one TV in view is enough).
    """

    def __init__(self, env: gym.Env, size: int = 3) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, size=size)
        gym.Wrapper.__init__(self, env)
        self.size = _positive_int("noisy_tv", "size", size)
        inner = _discrete("noisy_tv", env.action_space, "the extra 'change channel' action")
        self.action_space = spaces.Discrete(int(inner.n) + 1, start=int(inner.start))
        self.tv_action = int(inner.start) + int(inner.n)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) not in (1, 3):
            raise UserError(
                f"noisy_tv: observation space {space} is not supported; allowed: Box images "
                "(H, W, C) or vectors"
            )
        self.image = len(space.shape) == 3
        if self.image and self.size > min(space.shape[:2]):
            raise UserError(
                f"noisy_tv: size={size} is invalid; allowed: 1..{min(space.shape[:2])} for "
                f"images of {space.shape[0]}x{space.shape[1]}"
            )
        self.bool_obs = space.dtype == np.bool_
        if self.image:
            self.observation_space = space
            self._patch = (slice(0, self.size), slice(0, self.size))
            self._low = _finite_or(space.low[self._patch], 0.0)
            self._high = _finite_or(space.high[self._patch], 1.0)
            channels = space.shape[-1]
        else:
            dtype = space.dtype if np.issubdtype(space.dtype, np.floating) else np.float32
            self._low, self._high = np.zeros(self.size), np.ones(self.size)
            self.observation_space = spaces.Box(
                np.concatenate([space.low, self._low]).astype(dtype),
                np.concatenate([space.high, self._high]).astype(dtype),
                (space.shape[0] + self.size,),
                dtype,
            )
            channels = self.size
        self._channels = channels
        # Noise is made in the observation's dtype when that is a float (then a frame is one
        # addition), else in float64 and cast when written in, as a cast would anyway.
        dtype = self.observation_space.dtype
        self._work = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
        self._span = self._high - self._low
        self._inline = self.image and not self.bool_obs
        self._unit_bounds = bool(np.all(self._low == 0.0) and np.all(self._span == 1.0))
        noop = _noop_of(env)
        self._noop = int(inner.start) if noop is None else noop
        # The block, drawn from `_rng` whose state just before the draw is `_block_rng`: for
        # each of `_block_size` frames, that frame's noise about a zero mean (`_frames`) and a
        # new programme (`_block_means`, with its frame of means `_offsets`) for when the
        # channel changes at that frame. `_pos` is the next frame.
        self._block_size = max(16, _TV_BLOCK_VALUES // int(np.prod(self._low.shape)))
        self._block_rng: dict[str, Any] | None = None
        self._frames: list[np.ndarray] = []
        self._offsets = np.empty((0, *self._low.shape))
        self._block_means = np.empty((0, channels))
        self._pos = self._block_size
        self._rng = _salted_rng(None, "noisy_tv")
        self._new_means()

    def _new_means(self) -> None:
        """A new programme: each channel's noise gets a new mean, away from the bounds."""
        if self._pos >= self._block_size:
            self._draw_block()
        self.means = self._block_means[self._pos]
        self._offset = self._offsets[self._pos]

    @property
    def noop_action(self) -> int | None:
        """The inner world's no-op: the TV adds no new way of doing nothing."""
        return _noop_of(self.env)

    def _draw_block(self) -> None:
        rng, size = self._rng, self._block_size
        self._block_rng = copy.deepcopy(rng.bit_generator.state)
        units = rng.random((size, *self._low.shape))
        self._block_means = rng.uniform(_TV_MEAN_LOW, _TV_MEAN_HIGH, (size, self._channels))
        if self.bool_obs:  # a pixel is on with its channel's probability
            self._frames = list(units)
        else:
            self._frames = list((units * (2.0 * _TV_HALF_WIDTH * self._span)).astype(self._work))
        self._offsets = self._offset_frames(self._block_means)
        self._pos = 0

    def _offset_frames(self, means: np.ndarray) -> np.ndarray:
        """Frames (or feature vectors) that the zero-mean noise is added to, for ``means``
        (channels on the last axis, any leading axes: one frame per row)."""
        values = means if self.bool_obs else means - _TV_HALF_WIDTH
        if self.image:  # one value per channel, repeated over the patch's pixels
            values = np.tile(values, self.size * self.size)
            values = values.reshape(*means.shape[:-1], *self._low.shape)
        if self.bool_obs:  # compared with the uniforms
            return values
        if not self._unit_bounds:
            values = self._low + values * self._span
        return values.astype(self._work)

    def _noise(self) -> np.ndarray:
        """The next frame of noise (``size`` x ``size`` x channels, or ``size`` features)."""
        if self._pos >= self._block_size:
            self._draw_block()
            self._offset = self._offset_frames(self.means)
        pos = self._pos
        self._pos = pos + 1
        if self.bool_obs:
            return self._frames[pos] < self._offset
        return self._frames[pos] + self._offset

    def _obs(self, obs: Any) -> np.ndarray:
        noise = self._noise()
        if self.image:
            obs = obs.copy() if type(obs) is np.ndarray else np.array(obs)
            obs[self._patch] = noise
            return obs
        return np.concatenate([obs, noise]).astype(self.observation_space.dtype)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = _salted_rng(seed, "noisy_tv")
            self._pos = self._block_size  # the next frame starts a block from the new generator
            self._new_means()
        obs, info = self.env.reset(seed=seed, options=options)
        info["tv"], info["tv_action"], info["tv_in_view"] = True, False, True
        return self._obs(obs), info

    def step(self, action: Any):
        changed = int(action) == self.tv_action
        if changed:
            self._new_means()
            action = self._noop
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["tv"] = True
        info["tv_action"] = changed
        info["tv_in_view"] = True  # the patch is part of every observation
        pos = self._pos
        if self._inline and pos < self._block_size:  # _obs, inlined for non-boolean images
            self._pos = pos + 1
            obs = obs.copy() if type(obs) is np.ndarray else np.array(obs)
            obs[self._patch] = self._frames[pos] + self._offset
            return obs, reward, terminated, truncated, info
        return self._obs(obs), reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        return {
            "means": self.means.tolist(),
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            "block": _block_state(self._block_rng, self._pos, self._block_size),
            "inner": _inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _load_blocks(self, state)
        self.means = np.asarray(state["means"], dtype=np.float64)
        self._offset = self._offset_frames(self.means)
        _load_inner_state(self.env, state["inner"])


# The noise: uniform within _TV_HALF_WIDTH of its channel's mean (as a fraction of the bounds),
# the means drawn in [_TV_MEAN_LOW, _TV_MEAN_HIGH], so it is broad but never reaches a bound.
_TV_MEAN_LOW, _TV_MEAN_HIGH, _TV_HALF_WIDTH = 0.25, 0.75, 0.225
_TV_BLOCK_VALUES = 1 << 15  # uniforms per block: 910 frames of a 3x3 patch of 4 channels


def _block_state(block_rng: dict[str, Any] | None, pos: int, size: int) -> dict[str, Any]:
    """A block of draws as plain data: the generator before it was drawn, the position, the size
    (drawing again from that state gives the same block)."""
    return {"rng": copy.deepcopy(block_rng), "pos": int(pos), "size": int(size)}


def _load_blocks(wrapper: Any, state: dict[str, Any]) -> None:
    """Restore a wrapper that draws its randomness in blocks: redraw the current block from the
    generator state saved before it, move to the saved position, then restore the generator."""
    block = state.get("block")
    if block is None or block["rng"] is None:  # no block drawn yet (or an older checkpoint)
        wrapper._pos, wrapper._block_rng = wrapper._block_size, None
    else:
        wrapper._rng.bit_generator.state = copy.deepcopy(block["rng"])
        wrapper._block_size = int(block["size"])
        wrapper._draw_block()
        wrapper._pos = int(block["pos"])
    wrapper._rng.bit_generator.state = copy.deepcopy(state["rng"])


def _finite_or(bound: np.ndarray, default: float) -> np.ndarray:
    bound = np.asarray(bound, dtype=np.float64)
    return np.where(np.isfinite(bound), bound, default)


# ---------------------------------------------------------------------------------------------
# teacher


def _cartpole_policy(obs: Any) -> int:
    """Push toward the pole's lean, anticipating with its angular velocity: keeps CartPole up
    for hundreds of steps, good enough to be worth imitating."""
    angle, angular_velocity = float(obs[2]), float(obs[3])
    return int(angle + 0.5 * angular_velocity > 0.0)


TEACHER_POLICIES = ("random", "cartpole", "noop")


class Teacher(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A demonstrator in view some of the time, right some of the time.

    At each step the teacher shows what it would do in the learner's *current* observation (the
    one just returned): with probability ``reliability`` its policy's action, else a uniformly
    random one. With probability ``visible`` the learner sees it: ``info["teachers"]`` gets
    ``{"source": name, "action": a}`` and ``info["teacher"]`` is the first teacher in view.
    Stacked teachers (different names and reliabilities) append to the same list, so an agent
    can learn whom to trust.

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
        )
        gym.Wrapper.__init__(self, env)
        if shows not in ("action", "outcome"):
            raise UserError(f"teacher: shows={shows!r} is invalid; allowed: action, outcome")
        if shows == "outcome" and not saved_completely(_inner_state(env)):
            raise UserError(
                f"teacher: shows='outcome' needs a world that can be saved and restored"
                f" (nursery, bandit, classic control, MinAtar); {type(env.unwrapped).__name__}"
                " cannot"
            )
        self.shows = shows
        self.space = _discrete("teacher", env.action_space, "a teacher")
        self.reliability = _probability("teacher", "reliability", reliability)
        self.visible = _probability("teacher", "visible", visible)
        if not isinstance(name, str) or not name:
            raise UserError(f"teacher: name={name!r} is invalid; allowed: a non-empty string")
        self.name = name
        self.policy = self._resolve(policy)
        # A built-in policy is a pure function of the observation (the random one is a uniform
        # action, which the block already holds), so it is only consulted when someone looks; a
        # caller's policy is consulted whenever the teacher is reliable, seen or not, as always.
        self._builtin = self.policy if isinstance(policy, str) else None
        self._random_policy = (
            self.policy if isinstance(policy, str) and policy == "random" else None
        )
        self._rng = _salted_rng(None, f"teacher:{name}")
        # The block: per step a reliability coin, a visibility coin and a uniform action, drawn
        # from `_rng` whose state just before the draw is `_block_rng`; `_pos` is the next step.
        self._block_size = _TEACHER_BLOCK
        self._block_rng: dict[str, Any] | None = None
        self._pos = self._block_size
        self._reliable: list[float] = []
        self._seen: list[float] = []
        self._actions: list[int] = []

    def _resolve(self, policy: Policy | str) -> Policy:
        if callable(policy):
            return policy
        if policy == "random":
            return lambda obs: int(self.space.start) + int(self._rng.integers(self.space.n))
        if policy == "noop":
            noop = _noop_of(self.env)
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
            from lifelong.life import load_policy  # a saved agent; lazy: life imports worlds

            return load_policy(policy)
        raise UserError(
            f"teacher: policy={policy!r} is invalid; allowed: a callable obs -> action, a run "
            f"directory holding a saved agent, or one of {', '.join(TEACHER_POLICIES)}"
        )

    def _outcome(self, action: int) -> Any:
        """The observation `action` would lead to, the world left exactly as it was."""
        state = _inner_state(self.env)
        next_obs = self.env.step(action)[0]
        _load_inner_state(self.env, state)
        return next_obs

    def _draw_block(self) -> None:
        rng, size = self._rng, self._block_size
        self._block_rng = copy.deepcopy(rng.bit_generator.state)
        # Both coins every step, so the random stream does not depend on the outcomes.
        coins = rng.random((2, size))
        self._reliable = coins[0].tolist()
        self._seen = coins[1].tolist()
        self._actions = (rng.integers(self.space.n, size=size) + int(self.space.start)).tolist()
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
                action = int(policy(obs))
            else:
                action = self._actions[pos]
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
            self._rng = _salted_rng(seed, f"teacher:{self.name}")
            self._pos, self._block_rng = self._block_size, None  # a new block from the new rng
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._demonstrate(obs, info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        ended = terminated or truncated
        return obs, reward, terminated, truncated, self._demonstrate(obs, info, ended)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            "block": _block_state(self._block_rng, self._pos, self._block_size),
            "inner": _inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _load_blocks(self, state)
        _load_inner_state(self.env, state["inner"])


_TEACHER_BLOCK = 1024  # steps of coins and random actions drawn at once


# ---------------------------------------------------------------------------------------------
# Names for world specs


def _checked(name: str, factory: Callable[..., gym.Env]) -> Callable[..., gym.Env]:
    """Refuse unknown parameters with a one-line UserError instead of Python's TypeError."""
    allowed = [p for p in inspect.signature(factory).parameters if p != "env"]

    def make(env: gym.Env, **params: Any) -> gym.Env:
        for key in params:
            if key not in allowed:
                raise UserError(f"{name}: unknown parameter {key!r}; allowed: {', '.join(allowed)}")
        return factory(env, **params)

    make.__name__ = name
    make.__doc__ = factory.__doc__
    return make


WRAPPERS: dict[str, Callable[..., gym.Env]] = {
    "shift": _checked("shift", shift),
    "noisy_tv": _checked("noisy_tv", NoisyTV),
    "failure": _checked("failure", Failure),
    "teacher": _checked("teacher", Teacher),
}
