"""Episodic memory: a ring of the recent past and a reservoir that samples the whole life.

An agent that never stops learning needs two kinds of memory. The recent past tells it how the
world behaves *now*, so most replay comes from a large ring buffer of the newest frames. But a
ring forgets everything older than its capacity, and a world that changes and changes back would
then have to be relearned from scratch. So the memory also keeps a long-term reservoir: a uniform
random sample of fixed-length segments drawn from the entire life, maintained online with
reservoir sampling. System M decides how much replay comes from each (`recent_fraction`).

Frames follow the DreamerV3 convention. Frame ``t`` holds the observation ``o_t``, the action
``a_{t-1}`` that led to it, the reward ``r_t`` received on arriving, ``first`` (``o_t`` starts a
new stream, after a reset; its action and reward are 0) and ``terminal`` (``o_t`` ended an
episode). Within a sampled sequence, transition ``k`` is ``(obs[k], action[k+1], reward[k+1],
obs[k+1])`` and is valid only if ``first[k+1]`` is false. Sequences may therefore cross episode
boundaries; the flags say where.

Everything is preallocated numpy, so adding a frame costs one copy of the observation and
sampling is a single fancy-indexing gather per field.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

_FIELDS = ("obs", "action", "reward", "first", "terminal", "source")


class Memory:
    """Recent ring buffer + long-term reservoir of fixed-length segments.

    Every ``segment_length`` frames appended to the ring form a segment (the segments tile the
    life without overlapping), and each segment is offered to the reservoir with Vitter's
    algorithm R. The reservoir therefore always holds a uniform sample of every segment the
    agent has lived through, however long the life, while the ring holds the recent past in full.

    All randomness (reservoir replacement and sampling) comes from one numpy ``Generator`` seeded
    by ``seed``; its state is part of :meth:`state_dict`, so a restored memory continues exactly.
    """

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        recent_capacity: int = 50_000,
        longterm_capacity: int = 2_000,
        segment_length: int = 8,
        seed: int = 0,
        obs_dtype: Any = np.float32,
        action_shape: tuple[int, ...] = (),
    ) -> None:
        """`action_shape` () stores one int64 action per frame (a Discrete space); (d,) stores
        float32 vectors (a Box space: continuous actions)."""
        if recent_capacity < 1:
            raise ValueError(f"recent_capacity must be positive, got {recent_capacity}")
        if longterm_capacity < 1:
            raise ValueError(f"longterm_capacity must be positive, got {longterm_capacity}")
        if segment_length < 2:
            raise ValueError(f"segment_length must be at least 2, got {segment_length}")
        if recent_capacity < segment_length:
            # A segment is copied out of the ring when it completes, so the ring must hold one.
            raise ValueError(
                f"recent_capacity ({recent_capacity}) must be at least "
                f"segment_length ({segment_length})"
            )
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.action_shape = tuple(int(d) for d in action_shape)
        self.recent_capacity = int(recent_capacity)
        self.longterm_capacity = int(longterm_capacity)
        self.segment_length = int(segment_length)
        self._rng = np.random.default_rng(seed)

        self._recent = _allocate(
            (self.recent_capacity,), self.obs_shape, self.obs_dtype, self.action_shape
        )
        self._head = 0  # next slot of the ring to write
        self._size = 0  # frames currently in the ring
        self._frames_seen = 0
        self._since_offer = 0  # frames appended since the last segment was offered

        segments = (self.longterm_capacity, self.segment_length)
        self._longterm = _allocate(segments, self.obs_shape, self.obs_dtype, self.action_shape)
        self._longterm_size = 0
        self._segments_offered = 0

    # ------------------------------------------------------------------ writing

    def add(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        first: bool,
        terminal: bool = False,
        source: int = -1,
    ) -> None:
        """Append one frame (see the module docstring for what each field means).

        `source`: whose lead the action that led here followed (an index the agent keeps), -1
        for the agent's own choice. Kept for analysis: B learns from every transition alike (who
        chose an action does not change what happened; trust decides only whom M follows).
        """
        obs = np.asarray(obs)
        if obs.shape != self.obs_shape:
            raise ValueError(f"obs has shape {obs.shape}, expected {self.obs_shape}")
        i = self._head
        self._recent["obs"][i] = obs
        self._recent["action"][i] = action
        self._recent["reward"][i] = reward
        self._recent["first"][i] = first
        self._recent["terminal"][i] = terminal
        self._recent["source"][i] = source
        self._head = (i + 1) % self.recent_capacity
        self._size = min(self._size + 1, self.recent_capacity)
        self._frames_seen += 1
        self._since_offer += 1
        if self._since_offer == self.segment_length:
            self._since_offer = 0
            self._offer_newest_segment()

    def _offer_newest_segment(self) -> None:
        """Algorithm R: after n offers each segment is in the reservoir with equal probability."""
        self._segments_offered += 1
        if self._longterm_size < self.longterm_capacity:
            slot = self._longterm_size
            self._longterm_size += 1
        else:
            slot = int(self._rng.integers(self._segments_offered))
            if slot >= self.longterm_capacity:
                return
        newest = np.arange(self._head - self.segment_length, self._head) % self.recent_capacity
        for name in _FIELDS:
            self._longterm[name][slot] = self._recent[name][newest]

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        """Frames currently in the recent ring."""
        return self._size

    @property
    def frames_seen(self) -> int:
        """Total frames ever added, including those the ring has since forgotten."""
        return self._frames_seen

    @property
    def longterm_size(self) -> int:
        """Segments currently held by the long-term reservoir."""
        return self._longterm_size

    def can_sample(self, length: int) -> bool:
        """Whether at least one full sequence of ``length`` frames can be drawn.

        Raises ValueError for a length that :meth:`sample` could never serve (below 1 or above
        ``segment_length``), because answering False forever would silently stall a learner
        waiting for data.
        """
        self._check_length(length)
        # The reservoir is filled from the ring, so the ring is never shorter than a segment
        # once the reservoir holds one: the ring alone decides.
        return self._size >= length

    def sample(
        self,
        batch: int,
        length: int,
        recent_fraction: float = 1.0,
        half_life: float = math.inf,
    ) -> dict[str, np.ndarray]:
        """Draw ``batch`` sequences of ``length`` consecutive frames.

        ``round(batch * recent_fraction)`` sequences come from the contiguous windows of the ring
        that do not span its write head (a window across the head would join the newest frame to
        the oldest); they fill the first rows of the batch. A window's age (how many frames
        ended after it) is drawn from an exponential distribution truncated to the ring, halving
        in probability every ``half_life`` frames (``math.inf``: uniform). A ring of 50,000
        frames sampled uniformly spans dozens of seasons of a changing world; a half-life is how
        System M points replay at the present. The remaining rows come from
        the reservoir: a segment uniformly, then an offset uniformly among those where ``length``
        frames fit. While the reservoir is empty every row comes from the ring.

        Returns ``obs (B, L, *obs_shape)``, ``action (B, L) int64`` (or ``(B, L, d) float32``),
        ``reward (B, L) float32``,
        ``first (B, L) bool`` and ``terminal (B, L) bool``.
        """
        if batch < 1:
            raise ValueError(f"batch must be positive, got {batch}")
        if not 0.0 <= recent_fraction <= 1.0:
            raise ValueError(f"recent_fraction must be in [0, 1], got {recent_fraction}")
        if not self.can_sample(length):
            raise ValueError(f"cannot sample length {length}: only {self._size} frames stored")

        n_recent = round(batch * recent_fraction) if self._longterm_size else batch
        n_longterm = batch - n_recent
        steps = np.arange(length)

        if not half_life > 0:
            raise ValueError(f"half_life must be positive, got {half_life}")
        oldest = (self._head - self._size) % self.recent_capacity
        windows = self._size - length + 1
        if math.isinf(half_life):
            starts = self._rng.integers(0, windows, size=n_recent)
        else:
            ages = _truncated_exponential(self._rng, n_recent, half_life / math.log(2), windows)
            starts = windows - 1 - ages
        ring_index = (oldest + starts[:, None] + steps) % self.recent_capacity

        # While the reservoir is empty n_longterm is 0; the bound only has to be valid.
        segment = self._rng.integers(0, max(self._longterm_size, 1), size=n_longterm)
        offset = self._rng.integers(0, self.segment_length - length + 1, size=n_longterm)
        segment_index = (segment[:, None], offset[:, None] + steps)

        return {
            name: np.concatenate(
                [self._recent[name][ring_index], self._longterm[name][segment_index]]
            )
            for name in _FIELDS
        }

    def latest(self, length: int) -> dict[str, np.ndarray]:
        """The newest ``length`` frames as a batch of one (same keys and layout as sample)."""
        if not 1 <= length <= self._size:
            raise ValueError(f"length must be in [1, {self._size}] (frames stored), got {length}")
        index = np.arange(self._head - length, self._head) % self.recent_capacity
        return {name: self._recent[name][index][None] for name in _FIELDS}

    def _check_length(self, length: int) -> None:
        if not 1 <= length <= self.segment_length:
            raise ValueError(
                f"length must be in [1, segment_length={self.segment_length}], got {length}"
            )

    # ------------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: numpy arrays and python scalars only.

        Only the filled part of the storage is included, so a young memory checkpoints small.
        The arrays are copies, except inside `shared_state()`, where they are views of the
        storage itself.
        """
        take = (lambda array: array) if _SHARED.get() else np.copy
        return {
            "config": {
                "obs_shape": list(self.obs_shape),
                "obs_dtype": self.obs_dtype.str,
                **({"action_shape": list(self.action_shape)} if self.action_shape else {}),
                "recent_capacity": self.recent_capacity,
                "longterm_capacity": self.longterm_capacity,
                "segment_length": self.segment_length,
            },
            "recent": {name: take(self._recent[name][: self._size]) for name in _FIELDS},
            "longterm": {
                name: take(self._longterm[name][: self._longterm_size]) for name in _FIELDS
            },
            "head": self._head,
            "size": self._size,
            "frames_seen": self._frames_seen,
            "since_offer": self._since_offer,
            "longterm_size": self._longterm_size,
            "segments_offered": self._segments_offered,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly; later adds and samples match the original's.

        The memory must have been built with the same shapes and capacities (ValueError
        otherwise): silently resizing would change which frames survive and what is sampled.
        """
        with shared_state():  # only the config is wanted: no copy of the storage for it
            expected = self.state_dict()["config"]
        found = dict(state["config"])
        found["obs_shape"] = [int(d) for d in found["obs_shape"]]
        if "action_shape" in found:
            found["action_shape"] = [int(d) for d in found["action_shape"]]
        if found != expected:
            raise ValueError(f"memory state was saved with {found}, this memory has {expected}")
        size, longterm_size = int(state["size"]), int(state["longterm_size"])
        for name in _FIELDS:
            self._recent[name][:size] = state["recent"][name]
            self._longterm[name][:longterm_size] = state["longterm"][name]
        self._head = int(state["head"])
        self._size = size
        self._frames_seen = int(state["frames_seen"])
        self._since_offer = int(state["since_offer"])
        self._longterm_size = longterm_size
        self._segments_offered = int(state["segments_offered"])
        self._rng.bit_generator.state = state["rng"]


_SHARED: contextvars.ContextVar[bool] = contextvars.ContextVar("memory_shared", default=False)


@contextlib.contextmanager
def shared_state() -> Iterator[None]:
    """While active (in this thread), `Memory.state_dict` returns views of the storage instead
    of copies. For a caller that writes the state out before the memory changes again, such as
    a checkpoint: a full memory is most of a life's RAM, and a copy of it for each checkpoint
    would make the process half as big again at every save."""
    token = _SHARED.set(True)
    try:
        yield
    finally:
        _SHARED.reset(token)


def _truncated_exponential(
    rng: np.random.Generator, size: int, scale: float, bound: int
) -> np.ndarray:
    """Integers in [0, bound) with P(k) proportional to exp(-k / scale), by inverting the CDF of
    the continuous exponential truncated at `bound` (then floored)."""
    mass = -math.expm1(-bound / scale)  # P(X < bound) of the untruncated exponential
    draws = -scale * np.log1p(-rng.random(size) * mass)
    return np.minimum(draws.astype(np.int64), bound - 1)


def _allocate(
    leading: tuple[int, ...],
    obs_shape: tuple[int, ...],
    obs_dtype: np.dtype,
    action_shape: tuple[int, ...] = (),
) -> dict[str, np.ndarray]:
    """Zeroed storage for every field; np.zeros lets the OS hand out pages only when touched."""
    return {
        "obs": np.zeros(leading + obs_shape, dtype=obs_dtype),
        "action": np.zeros(leading + action_shape, dtype=np.float32 if action_shape else np.int64),
        "reward": np.zeros(leading, dtype=np.float32),
        "first": np.zeros(leading, dtype=bool),
        "terminal": np.zeros(leading, dtype=bool),
        "source": np.full(leading, -1, dtype=np.int16),
    }
