"""A wrapper's own randomness and its saved state, the same for every wrapper.

Two promises rest on this: a seeded world is deterministic (each wrapper draws from a generator of
its own, salted with its name, so stacked wrappers given one seed draw independently) and a saved
world continues the very same stream (each wrapper's ``state_dict`` holds the state of the world
beneath in ``"inner"``, and randomness drawn in blocks is saved as the generator state before the
block plus the position in it).
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

import gymnasium as gym
import numpy as np


def salted_rng(seed: int | None, salt: str) -> np.random.Generator:
    """A generator of the wrapper's own, so stacked wrappers given one seed draw independently."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), zlib.crc32(salt.encode())])


def rng_state(generator: np.random.Generator) -> dict[str, Any]:
    """A generator's state as plain data: a copy, which drawing on leaves as it was."""
    return copy.deepcopy(generator.bit_generator.state)


def restore_rng(target: np.random.Generator | gym.Env, state: dict[str, Any]) -> None:
    """Put back a state that `rng_state` saved, into a generator or into a world's ``np_random``.

    A generator takes it as it is (it must be of the saved kind). A world's ``np_random`` is read
    through Gymnasium's property, which creates one for a world never reset (as a resumed life's
    world is); when that generator is of another kind than the saved one, the world is given a
    new generator of the saved kind first.
    """
    state = copy.deepcopy(state)
    if isinstance(target, np.random.Generator):
        target.bit_generator.state = state
        return
    bit_generator = getattr(np.random, state["bit_generator"])
    if type(target.np_random.bit_generator) is not bit_generator:
        target.np_random = np.random.Generator(bit_generator())
    target.np_random.bit_generator.state = state


def inner_state(env: gym.Env) -> Any:
    """The state of the world beneath, looked up through Gymnasium's own wrappers."""
    try:
        return env.get_wrapper_attr("state_dict")()
    except AttributeError:
        return None


def load_inner_state(env: gym.Env, state: Any) -> None:
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


def block_state(block_rng: dict[str, Any] | None, pos: int, size: int) -> dict[str, Any]:
    """A block of draws as plain data: the generator before it was drawn, the position, the size
    (drawing again from that state gives the same block)."""
    return {"rng": copy.deepcopy(block_rng), "pos": int(pos), "size": int(size)}


def load_blocks(wrapper: Any, state: dict[str, Any]) -> None:
    """Restore a wrapper that draws its randomness in blocks: redraw the current block from the
    generator state saved before it, move to the saved position, then restore the generator."""
    block = state.get("block")
    if block is None or block["rng"] is None:  # no block drawn yet (or an older checkpoint)
        wrapper._pos, wrapper._block_rng = wrapper._block_size, None
    else:
        restore_rng(wrapper._rng, block["rng"])
        wrapper._block_size = int(block["size"])
        wrapper._draw_block()
        wrapper._pos = int(block["pos"])
    restore_rng(wrapper._rng, state["rng"])
