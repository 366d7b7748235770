"""Worlds an agent can live in, named by a spec string.

`make_world(spec)` is the one way the rest of the library obtains a world, so a spec means the same
thing on the command line, in config.yaml, in benchmarks and in tests. The grammar lives in
`spec.py`; this module turns a parsed spec into an env:

    base                        what it builds
    nursery, nursery-small, ... Nursery(**PRESETS[name], **params), the built-in continuing world
    bandit                      PiecewiseBandit(**params), arms whose best one changes by segments
    lure                        Lure(**params), a small reward by the start, a large one beyond
    gym:ID                      gymnasium.make(ID, **params), through the array adapter
                                (discrete or bounded continuous actions; MuJoCo ids such as
                                HalfCheetah-v5 need the optional `mujoco` package)
    minatar:GAME                one of MinAtar's five games (breakout, asterix, freeway, ...)
    minigrid:ID                 a MiniGrid env, its symbolic image one-hot encoded
    sequence(tasks=A|B,...)     TaskSequence over the worlds A, B, ... (each a spec)

then applies each `+wrapper(...)` from `wrappers.WRAPPERS` in order. A teacher whose policy is a
run directory holding a saved agent needs `load_policy` (directory -> policy), handed in by the
caller (a life passes `lifelong.policies.load_policy`): the worlds import nothing above them, so
a saved agent is loaded before the world is, by its caller's code. Every mistake (a name, a
parameter, a value the constructor rejects, a missing optional package) is a `UserError` whose one
line names the problem and what is allowed: parameters are checked against the constructor's
signature before anything is built.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym

from lifelong.errors import UserError
from lifelong.worlds import nursery as nursery_module
from lifelong.worlds.adapters import MINATAR_GAMES, ArrayWorld, MinAtarWorld, needs
from lifelong.worlds.bandit import PiecewiseBandit
from lifelong.worlds.lure import Lure
from lifelong.worlds.mujoco_worlds import is_mujoco_entry_point
from lifelong.worlds.nursery import Nursery
from lifelong.worlds.spec import SPEC_FILE_SUFFIXES, Part, WorldSpec, load_spec_file, parse_spec

__all__ = [
    "WORLDS",
    "WorldSpec",
    "adopt_world",
    "make_world",
    "noop_action",
    "parse_spec",
    "resolve_spec",
    "world_names",
]

# Turns a run directory holding a saved agent into its policy, obs -> action (a teacher's).
PolicyLoader = Callable[[str], Callable[[Any], Any]]

# Keyword arguments `gymnasium.make` itself takes, on top of the env constructor's.
_GYM_MAKE_PARAMS = {"max_episode_steps", "disable_env_checker", "render_mode"}

PRESETS: dict[str, dict[str, Any]] = getattr(
    nursery_module,
    "PRESETS",
    {
        "nursery": {},
        "nursery-small": dict(size=8, view=5, n_food=2, n_hazards=2, season_length=1000),
    },
)


# ----------------------------------------------------------------------------------------------
# Builders: one per base, each (the part after "prefix:" or the name, params) -> env.


def _nursery(name: str, params: dict[str, Any]) -> gym.Env:
    _check_params(f"world {name!r}", params, Nursery)
    return _construct(f"world {name!r}", Nursery, **{**PRESETS[name], **params})


def _bandit(name: str, params: dict[str, Any]) -> gym.Env:
    _check_params(f"world {name!r}", params, PiecewiseBandit)
    return _construct(f"world {name!r}", PiecewiseBandit, **params)


def _lure(name: str, params: dict[str, Any]) -> gym.Env:
    _check_params(f"world {name!r}", params, Lure)
    return _construct(f"world {name!r}", Lure, **params)


def _gym(env_id: str, params: dict[str, Any], prefix: str = "gym") -> gym.Env:
    what = f"world '{prefix}:{env_id}'"
    try:
        registration = gym.spec(env_id)
    except gym.error.Error as error:
        raise UserError(f"unknown gym id {env_id!r}: {_first_line(error)}") from None
    creator = registration.entry_point
    if is_mujoco_entry_point(creator):
        for package in ("mujoco", "imageio"):  # Gymnasium's MuJoCo envs import both
            needs(package, f"{prefix}:{env_id}", extra="mujoco")
    if isinstance(creator, str):
        try:
            creator = gym.envs.registration.load_env_creator(creator)
        except (ImportError, gym.error.DependencyNotInstalled) as error:
            raise UserError(f"{what} cannot be loaded: {_first_line(error)}") from None
    # Arguments the registration already supplies count as given, and may still be overridden.
    registered = set(registration.kwargs)
    _check_params(what, params, creator, extra=_GYM_MAKE_PARAMS, provided=registered)
    env = _construct(what, gym.make, env_id, **params)
    return _adapt(env)


def _minigrid(env_id: str, params: dict[str, Any]) -> gym.Env:
    needs("minigrid", f"minigrid:{env_id}")  # importing it registers the MiniGrid ids
    return _gym(env_id, params, prefix="minigrid")


def _minatar(game: str, params: dict[str, Any]) -> gym.Env:
    needs("minatar", f"minatar:{game}")
    if game not in MINATAR_GAMES:
        raise UserError(f"unknown MinAtar game {game!r}; games: {', '.join(MINATAR_GAMES)}")
    _check_params(f"world 'minatar:{game}'", params, MinAtarWorld, skip=("game",))
    return _construct(f"world 'minatar:{game}'", MinAtarWorld, game, **params)


def _sequence(
    name: str, params: dict[str, Any], load_policy: PolicyLoader | None = None
) -> gym.Env:
    task_sequence = _wrappers_module_attr("TaskSequence")
    if task_sequence is None:
        raise UserError("world 'sequence' needs lifelong.worlds.wrappers, which is missing")
    first = next(iter(inspect.signature(task_sequence).parameters))
    _check_params("world 'sequence'", params, task_sequence, skip=(first,), extra={"tasks"})
    if "tasks" not in params:
        raise UserError(
            "world 'sequence' needs tasks=A|B|..., e.g. minatar:breakout|minatar:asterix"
        )
    tasks = params["tasks"]
    tasks = tasks if isinstance(tasks, list) else [tasks]
    envs: list[gym.Env] = []
    try:
        for task in tasks:
            envs.append(make_world(task, load_policy=load_policy))
    except BaseException:
        for env in envs:
            env.close()
        raise
    rest = {key: value for key, value in params.items() if key != "tasks"}
    return _construct("world 'sequence'", task_sequence, envs, **rest)


# name -> (builder, description): the bases that are whole names.
_BASES: dict[str, tuple[Callable[[str, dict[str, Any]], gym.Env], str]] = {
    name: (
        _nursery,
        "the built-in world: seasons, hazards, a teacher and a noisy TV"
        if not preset
        else "Nursery with " + ", ".join(f"{k}={v}" for k, v in preset.items()),
    )
    for name, preset in PRESETS.items()
}
_BASES["bandit"] = (
    _bandit,
    "Bernoulli arms whose best arm changes each segment (arms=5, every=1000, pareto=shape)",
)
_BASES["lure"] = (
    _lure,
    "a lure next to the start, a goal `distance` moves on: planning pays (size, distance, lure,"
    " goal, patience)",
)
_BASES["sequence"] = (_sequence, "tasks=A|B|... one after another (every=N steps, see wrappers)")

# prefix -> (builder, placeholder, description): the bases written "prefix:REST".
_PREFIXES: dict[str, tuple[Callable[[str, dict[str, Any]], gym.Env], str, str]] = {
    "gym": (
        _gym,
        "ID",
        "any Gymnasium env with discrete or bounded continuous actions, e.g. gym:CartPole-v1,"
        " gym:Pendulum-v1, gym:HalfCheetah-v5 (MuJoCo: pip install 'lifelong[mujoco]')",
    ),
    "minatar": (_minatar, "GAME", "MinAtar: " + ", ".join(MINATAR_GAMES)),
    "minigrid": (_minigrid, "ID", "MiniGrid, e.g. minigrid:MiniGrid-DoorKey-5x5-v0"),
}

# Every base for listings (`lifelong worlds`): name -> (builder, description).
WORLDS: dict[str, tuple[Callable[[str, dict[str, Any]], gym.Env], str]] = {
    **_BASES,
    **{f"{p}:{ph}": (builder, text) for p, (builder, ph, text) in _PREFIXES.items()},
}


def world_names() -> list[str]:
    """The bases and prefixes a spec may start with, for help text and error messages."""
    return sorted(WORLDS)


# ----------------------------------------------------------------------------------------------
# Building.


def resolve_spec(spec: str | WorldSpec) -> WorldSpec:
    """A spec in any accepted form (string, YAML file path, parsed) as a parsed `WorldSpec`."""
    if isinstance(spec, WorldSpec):
        return spec
    if isinstance(spec, str) and spec.strip().endswith(SPEC_FILE_SUFFIXES):
        return load_spec_file(Path(spec.strip()))
    return parse_spec(spec)


def make_world(spec: str | WorldSpec, load_policy: PolicyLoader | None = None) -> gym.Env:
    """Build the world a spec names: the base, then each wrapper around it in order.

    `load_policy` loads a teacher's saved agent, `teacher(policy=runs/x)`
    (`lifelong.policies.load_policy`); without it such a teacher is a UserError.
    """
    parsed = resolve_spec(spec)
    env = _build_base(parsed.base, load_policy)
    try:
        for part in parsed.wrappers:
            env = _wrap(env, part, load_policy)
    except BaseException:
        env.close()
        raise
    return env


def _build_base(part: Part, load_policy: PolicyLoader | None = None) -> gym.Env:
    if part.name == "sequence":  # its tasks are worlds, which may have teachers of their own
        return _sequence(part.name, dict(part.params), load_policy)
    if part.name in _BASES:
        return _BASES[part.name][0](part.name, dict(part.params))
    prefix, colon, rest = part.name.partition(":")
    if colon and prefix in _PREFIXES:
        if not rest:
            raise UserError(f"world {part.name!r} needs a name after '{prefix}:'")
        return _PREFIXES[prefix][0](rest, dict(part.params))
    raise UserError(f"unknown world {part.name!r}; available: {', '.join(world_names())}")


def _wrap(env: gym.Env, part: Part, load_policy: PolicyLoader | None = None) -> gym.Env:
    factories: dict[str, Callable[..., gym.Env]] = _wrappers_module_attr("WRAPPERS") or {}
    if part.name not in factories:
        allowed = ", ".join(sorted(factories)) or "none are available"
        raise UserError(f"unknown wrapper {part.name!r}; wrappers: {allowed}")
    factory = factories[part.name]
    first = next(iter(inspect.signature(factory).parameters), None)
    skip = (first,) if first else ()
    _check_params(f"wrapper {part.name!r}", part.params, factory, skip=skip)
    if load_policy is not None:  # positional: every factory in WRAPPERS takes it there
        return _construct(f"wrapper {part.name!r}", factory, env, load_policy, **part.params)
    return _construct(f"wrapper {part.name!r}", factory, env, **part.params)


def _adapt(env: gym.Env) -> gym.Env:
    try:
        return ArrayWorld(env)
    except BaseException:
        env.close()
        raise


def adopt_world(env: gym.Env) -> gym.Env:
    """A Gymnasium env given from Python, seen as every world is (ArrayWorld: float32 arrays)."""
    return ArrayWorld(env)


def noop_action(world: gym.Env) -> int | None:
    """The world's 'do nothing' action, if it (or any wrapper) declares one: used to watch."""
    try:
        value: Any = world.get_wrapper_attr("noop_action")
    except AttributeError:
        return None
    return None if value is None else int(value)


# ----------------------------------------------------------------------------------------------
# Helpers.


def _wrappers_module_attr(name: str) -> Any:
    """An attribute of lifelong.worlds.wrappers, or None while that module does not exist.

    Only the module's absence is tolerated: an error inside it is a bug and propagates.
    """
    if importlib.util.find_spec("lifelong.worlds.wrappers") is None:
        return None
    return getattr(importlib.import_module("lifelong.worlds.wrappers"), name, None)


def _check_params(
    what: str,
    params: dict[str, Any],
    target: Callable[..., Any],
    skip: tuple[str, ...] = (),
    extra: set[str] | frozenset[str] = frozenset(),
    provided: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Refuse parameters the constructor does not take, naming the ones it does.

    A constructor with **kwargs accepts anything here, and its own error (if any) is reported by
    `_construct`. `provided` names arguments supplied elsewhere (a gym registration's kwargs).
    """
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: let it judge its arguments
        return
    named = [
        p
        for p in signature.parameters.values()
        if p.name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    allowed = {p.name for p in named} | set(extra)
    for key in params:
        if key not in allowed:
            listed = ", ".join(sorted(allowed)) or "none"
            raise UserError(f"unknown parameter {key!r} for {what}; allowed: {listed}")
    for p in named:
        if (
            p.default is p.empty
            and p.name not in {*params, *provided}
            and p.kind is not p.POSITIONAL_ONLY
        ):
            raise UserError(f"{what} needs parameter {p.name!r}")


def _construct(what: str, factory: Callable[..., gym.Env], *args: Any, **params: Any) -> gym.Env:
    """Call a constructor, turning its complaint about a value into a one-line `UserError`."""
    try:
        return factory(*args, **params)
    except (ValueError, TypeError, gym.error.Error) as error:
        if isinstance(error, UserError):
            raise
        raise UserError(f"{what}: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
