"""MuJoCo worlds (Gymnasium's HalfCheetah, Hopper, Ant, ...): saving them, and their physics.

The `mujoco` package is optional (``pip install 'lifelong[mujoco]'``), so nothing here imports
it, or Gymnasium's MuJoCo envs, until a MuJoCo world exists; `is_mujoco` answers False while
they are not loaded.

Saving (`mujoco_state`): a MuJoCo world's state is its `MjData`, most of which is recomputed
from a few arrays at every step. `mj_getState(..., mjSTATE_INTEGRATION)` gives those arrays:
time, qpos, qvel, act, the controls and applied forces, and the solver's warm start (the
constraint solver starts from the last step's accelerations and stops at a tolerance, so its
answer depends on that start in the last bits). Body positions are saved too: after a step they
still hold the positions at the start of its last substep, and Ant (Humanoid, Reacher, ...)
measure progress from them before stepping again. The saved values are plain floats: float64
survives a JSON round trip exactly. Only the envs listed in `SAVEABLE_MUJOCO`, each checked to
continue bit for bit after a restore, are saved; any other MuJoCo env resumes on a new episode.

Physics (`MujocoPhysics`): one kind of parameter of the model, scaled relative to the values it
had when the shift was built, and written back exactly when the scale is 1:
  friction       ``geom_friction`` of every geom (sliding, torsional, rolling) and of explicit
                 contact pairs: a contact takes the larger friction of its two geoms, so scaling
                 every geom scales every contact's friction by exactly the scale (scaling the
                 floor alone would leave contacts where the body's own friction is larger);
  mass           ``body_mass`` and ``body_inertia`` together (the same shapes, denser), then
                 `mj_setConst` recomputes what the compiler derived from them (subtree masses,
                 inverse weights that set contact softness, mean inertia that scales the solver's
                 tolerance); back at scale 1 it recomputes exactly the compiled values;
  gravity        ``opt.gravity``;
  actuator_gain  ``actuator_gainprm`` (and, for servos, ``actuator_biasprm``) rather than
                 ``actuator_gear``: the gain is force per unit of control, so scaling it scales
                 each actuator's force by exactly the scale and changes nothing else. The gear is
                 the transmission: it scales a motor's joint torque too, but also the actuator's
                 length and velocity, so a servo's stiffness would change by scale squared and
                 its set point would move, and it enters constants the compiler derives
                 (``actuator_acc0``, ``actuator_length0``). Forces clamped by a ``forcerange``
                 stay clamped at that range (HalfCheetah, Hopper and Ant set none).
"""

from __future__ import annotations

import sys
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.errors import UserError

MUJOCO_KINDS = ("friction", "mass", "gravity", "actuator_gain")

# Gymnasium's MuJoCo envs that continue bit for bit after a restore (module, class). Exact types
# only: a subclass may keep state of its own.
_SAVEABLE = (
    ("ant_v5", "AntEnv"),
    ("half_cheetah_v5", "HalfCheetahEnv"),
    ("hopper_v5", "HopperEnv"),
    ("humanoid_v5", "HumanoidEnv"),
    ("humanoidstandup_v5", "HumanoidStandupEnv"),
    ("inverted_double_pendulum_v5", "InvertedDoublePendulumEnv"),
    ("inverted_pendulum_v5", "InvertedPendulumEnv"),
    ("pusher_v5", "PusherEnv"),
    ("reacher_v5", "ReacherEnv"),
    ("swimmer_v5", "SwimmerEnv"),
    ("walker2d_v5", "Walker2dEnv"),
)
SAVEABLE_MUJOCO = tuple(name for _, name in _SAVEABLE)
# Derived arrays an env may read before it steps (see the module docstring).
_LAGGING = ("xpos", "xipos")
_GYM_MUJOCO = "gymnasium.envs.mujoco"


def is_mujoco(env: gym.Env) -> bool:
    """Whether ``env`` (or the env beneath its wrappers) is one of Gymnasium's MuJoCo envs."""
    if f"{_GYM_MUJOCO}.mujoco_env" not in sys.modules:  # none can exist before it is imported
        return False
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    return isinstance(env.unwrapped, MujocoEnv)


def saveable_mujoco(task: gym.Env) -> bool:
    """Whether ``task`` (an unwrapped env) is a MuJoCo env that `mujoco_state` saves exactly."""
    package, _, module = type(task).__module__.rpartition(".")
    return package == _GYM_MUJOCO and (module, type(task).__name__) in _SAVEABLE


def mujoco_state(task: gym.Env) -> dict[str, Any]:
    """The simulation's state as plain data (the env's generator is saved by the caller)."""
    import mujoco

    signature = int(mujoco.mjtState.mjSTATE_INTEGRATION)
    values = np.empty(mujoco.mj_stateSize(task.model, signature), np.float64)
    mujoco.mj_getState(task.model, task.data, values, signature)
    return {
        "signature": signature,
        "values": values.tolist(),
        **{name: getattr(task.data, name).tolist() for name in _LAGGING},
    }


def load_mujoco_state(task: gym.Env, state: dict[str, Any]) -> None:
    """Restore what `mujoco_state` saved into a task of the same kind and model."""
    import mujoco

    signature = int(state["signature"])
    values = np.asarray(state["values"], dtype=np.float64)
    size = mujoco.mj_stateSize(task.model, signature)
    if values.shape != (size,):
        raise ValueError(f"a saved MuJoCo state of {values.size} numbers does not fit {size}")
    mujoco.mj_setState(task.model, task.data, values, signature)
    for name in _LAGGING:
        getattr(task.data, name)[:] = np.asarray(state[name], dtype=np.float64)


class MujocoPhysics:
    """One kind of physical parameter of a MuJoCo model (see the module docstring).

    The arrays are the model's own (MuJoCo reads them in place); their values when this was built
    are kept, and `apply(factor)` writes ``original * factor``, or the originals themselves.
    """

    def __init__(self, env: gym.Env, kind: str) -> None:
        import mujoco

        self.model = env.unwrapped.model
        self.kind = kind
        model = self.model
        self.set_const = kind == "mass"
        arrays: list[tuple[np.ndarray, Any]] = []  # (the model's array, which entries)
        if kind == "friction":
            arrays.append((model.geom_friction, ...))
            if model.npair:
                arrays.append((model.pair_friction, ...))
        elif kind == "mass":
            arrays += [(model.body_mass, ...), (model.body_inertia, ...)]
        elif kind == "gravity":
            arrays.append((model.opt.gravity, ...))
        elif kind == "actuator_gain":
            gain, bias = mujoco.mjtGain, mujoco.mjtBias
            affine_bias = int(bias.mjBIAS_AFFINE)
            gains, biases = model.actuator_gaintype, model.actuator_biastype
            usable = np.isin(gains, (int(gain.mjGAIN_FIXED), int(gain.mjGAIN_AFFINE))) & np.isin(
                biases, (int(bias.mjBIAS_NONE), affine_bias)
            )
            if model.nu == 0 or not usable.all():
                what = "no actuators" if model.nu == 0 else f"{int((~usable).sum())} other"
                raise UserError(
                    f"shift: kind='actuator_gain' cannot scale {type(env.unwrapped).__name__}'s "
                    f"actuators ({what}); allowed: motors and servos (fixed or affine gain, "
                    "no or affine bias)"
                )
            # force = gain(ctrl) + bias(length, velocity), each affine in its first 3 numbers.
            arrays += [(model.actuator_gainprm, (..., slice(0, 3)))]
            servos = np.flatnonzero(biases == affine_bias)
            if servos.size:
                arrays.append((model.actuator_biasprm, (servos, slice(0, 3))))
        else:
            raise UserError(
                f"shift: kind={kind!r} is not available for {type(env.unwrapped).__name__}; "
                f"it supports kinds: {', '.join(MUJOCO_KINDS)}"
            )
        self._arrays = arrays
        self.original = [array[index].copy() for array, index in arrays]

    def apply(self, factor: float) -> None:
        for (array, index), original in zip(self._arrays, self.original, strict=True):
            array[index] = original if factor == 1.0 else original * factor
        if self.set_const:
            import mujoco

            # A scratch MjData: mj_setConst works at qpos0 and must not touch the world's state.
            mujoco.mj_setConst(self.model, mujoco.MjData(self.model))


def is_mujoco_entry_point(entry_point: Any) -> bool:
    """Whether a Gymnasium registration's entry point is one of Gymnasium's MuJoCo envs."""
    if isinstance(entry_point, str):
        return entry_point.startswith(f"{_GYM_MUJOCO}.")
    return getattr(entry_point, "__module__", "").startswith(f"{_GYM_MUJOCO}.")
