"""Worlds that keep changing: shifts on a schedule, task sequences, a noisy TV and teachers.

A lifelong learner is only tested by a world that changes under it, so these wrappers turn any
Gymnasium env into one: ``shift`` changes what actions do, how observations are laid out, the sign
or scale of reward or the physics of classic-control worlds; ``TaskSequence`` cycles through
several worlds so that old tasks come back (forgetting becomes measurable); ``noisy_tv`` adds the
classic trap for prediction-error curiosity; ``teacher`` adds demonstrators of chosen reliability;
``messages`` adds informants who say which action to take, truthfully or not; ``nights`` stills
and darkens the world for long spells, so fresh experience is scarce.

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

Each lives in a module of its own: ``shifts`` (with the ``schedule`` they run on), ``sequence``,
``noisy_tv``, ``teachers``, ``informants`` (``messages``), ``nights`` and ``failure``; what they
share is in ``params`` (parameter checks) and ``state`` (own generators, saved state). This
module binds them: ``WRAPPERS`` maps the names used in world specs
(``gym:CartPole-v1+shift(kind=gravity, every=20000)+noisy_tv``) to factories called as
``factory(env, **params)``, or ``factory(env, load_policy, **params)`` to hand a teacher the
loader of saved agents (``make_world`` does; no spec can set it). Any mistake in the
parameters raises :class:`~lifelong.errors.UserError` with one line naming the wrapper, the bad
value and what is allowed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from lifelong.errors import UserError
from lifelong.worlds.failure import Failure
from lifelong.worlds.informants import Informants
from lifelong.worlds.nights import Nights
from lifelong.worlds.noisy_tv import NoisyTV
from lifelong.worlds.sequence import TaskSequence
from lifelong.worlds.shifts import shift
from lifelong.worlds.state import saved_completely
from lifelong.worlds.teachers import PolicyLoader, Teacher

# TaskSequence and saved_completely are re-exported: `lifelong.worlds` looks the sequence up here
# (`_wrappers_module_attr`) and `lifelong.life` imports saved_completely from here.
__all__ = ["WRAPPERS", "TaskSequence", "saved_completely"]


def _checked(name: str, factory: Callable[..., gym.Env]) -> Callable[..., gym.Env]:
    """Refuse unknown parameters with a one-line UserError instead of Python's TypeError.

    `load_policy` (positional, so no spec parameter can stand for it) reaches the factories that
    take one, the teacher's: a caller's loader of saved agents, never a spec's value.
    """
    taken = inspect.signature(factory).parameters
    allowed = [p for p in taken if p not in ("env", "load_policy")]

    def make(env: gym.Env, load_policy: PolicyLoader | None = None, /, **params: Any) -> gym.Env:
        for key in params:
            if key not in allowed:
                raise UserError(f"{name}: unknown parameter {key!r}; allowed: {', '.join(allowed)}")
        if load_policy is not None and "load_policy" in taken:
            params["load_policy"] = load_policy
        return factory(env, **params)

    make.__name__ = name
    make.__doc__ = factory.__doc__
    return make


WRAPPERS: dict[str, Callable[..., gym.Env]] = {
    "shift": _checked("shift", shift),
    "noisy_tv": _checked("noisy_tv", NoisyTV),
    "failure": _checked("failure", Failure),
    "teacher": _checked("teacher", Teacher),
    "messages": _checked("messages", Informants),
    "nights": _checked("nights", Nights),
}
