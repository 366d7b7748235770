"""The records of a life: what `metrics.jsonl` and `events.jsonl` hold, the one recorder that
writes them for every kind of life (ours in `life.py`, Stable-Baselines3's in `sb3_life.py`), and
reading them back.

Standard library only, so reports, benchmarks and evolution read a life without importing torch.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

from lifelong.errors import UserError


class Record(TypedDict, total=False):
    """One line of `metrics.jsonl`: what happened in the `log_every` world steps before `step`.

    The first block is written by `Recorder` for every life, whoever the agent; every metric and
    benchmark reads only these and the counters below (docs/METRICS.md). Our agents add the
    rest: M's meta-state (each `MetaState` field, M's fast reward EMA as `reward_rate_fast`),
    the agent's counters (`ticks`, `plans`, `sleep_ticks`, ...), `mode_<mode>` (share of the
    interval's ticks), `return_after_<mode>`, the latest losses, and held-out diagnostics.
    A value that could not be measured is null (strict JSON).
    """

    # Every life (the Recorder)
    step: int  # world steps lived so far
    reward_rate: float  # mean reward per world step over the interval: the learning curve
    reward_bins: list[float | None]  # the interval's mean reward in bins of reward_bin_width
    reward_bin_width: int
    regime: Any  # the world's ground-truth regime (its info["shift"]) at the record
    tv_in_view: float  # share of the interval's steps with a noisy TV in view
    coverage: float | None  # share of reachable cells visited, in worlds that report positions
    steps_per_s: float  # world steps per second of wall time over the interval
    wall_time: float  # Unix time of the record
    # Every learning agent (ours and SB3's)
    learn_steps: int  # learning steps taken
    updates_a: int  # gradient updates of System A (0 for SB3's agents)
    updates_b: int  # gradient updates of System B (SB3's: its policy's)
    # Our agents
    mode: str  # M's mode at the record
    rule: str  # the rule that chose it


class Recorder:
    """The world's side of a life's records, the same for every agent.

    A life calls `world_step` after every world step with the reward and the world's `info`
    (ground truth the agent never sees: regimes, positions, the noisy TV), `tick` once per tick
    with its mode (lives with modes), and `write` every `log_every` world steps with the
    agent's own fields. Regime changes become events (`events.jsonl`), written with the next
    record or by `flush_events`. `state_dict` holds the half-filled interval, so a life resumed
    from a checkpoint writes the records an uninterrupted one would.
    """

    def __init__(self, directory: Path, bin_width: int) -> None:
        self.directory = Path(directory)
        self.bins = RewardBins(bin_width)  # not part of the interval: a bin may straddle two
        self.regime: Any = None
        self.visited: set[Any] = set()  # cells the agent has stood on, where the world says
        self.reachable: int | None = None
        self.events: list[dict[str, Any]] = []
        self._new_interval()

    def _new_interval(self) -> None:
        self.modes: Counter[str] = Counter()  # ticks per mode
        self.rewards = 0.0
        self.steps = 0
        self.tv_steps = 0
        self.clock = time.perf_counter()

    def start_clock(self) -> None:
        self.clock = time.perf_counter()

    def tick(self, mode: str) -> None:
        self.modes[mode] += 1

    def event(self, step: int, kind: str, **fields: Any) -> None:
        self.events.append({"step": step, "kind": kind, **fields})

    def world_step(self, step: int, reward: float, info: dict[str, Any]) -> None:
        """Count world step `step` (1 for the first of a life): its reward and ground truth."""
        self.rewards += reward
        self.steps += 1
        self.bins.add(step, reward)
        shift = info.get("shift")
        if shift is not None and shift != self.regime:
            if self.regime is not None:
                self.event(step, "regime", regime=shift)
            self.regime = shift
        position = info.get("position")
        if position is not None:
            self.visited.add(tuple(position))
            self.reachable = info.get("reachable", self.reachable)
        if info.get("tv_in_view"):
            self.tv_steps += 1

    def mode_shares(self) -> dict[str, float]:
        """Share of the interval's ticks spent in each mode seen (for `mode_<mode>`)."""
        ticks = max(sum(self.modes.values()), 1)
        return {mode: n / ticks for mode, n in self.modes.items()}

    def write(self, step: int, fields: dict[str, Any]) -> Record:
        """Append the record of the interval ending at world step `step` and start a new one.

        `fields` are the agent's own (see `Record`); the recorder's come after them. Pending
        events are written first, so `events.jsonl` never runs behind `metrics.jsonl`.
        """
        steps = max(self.steps, 1)
        elapsed = max(time.perf_counter() - self.clock, 1e-9)
        record: dict[str, Any] = {
            "step": step,
            **fields,
            "reward_rate": self.rewards / steps,
            "reward_bins": self.bins.take(),
            "reward_bin_width": self.bins.width,
            "regime": self.regime,
            "tv_in_view": self.tv_steps / steps,
            "coverage": len(self.visited) / self.reachable if self.reachable else None,
            "steps_per_s": self.steps / elapsed,
            "wall_time": time.time(),
        }
        record = {
            k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in record.items()
        }
        self.flush_events()
        append_lines(self.directory / "metrics.jsonl", json.dumps(record) + "\n")
        self._new_interval()
        return record  # type: ignore[return-value]

    def flush_events(self) -> None:
        if self.events:
            text = "".join(json.dumps(event) + "\n" for event in self.events)
            append_lines(self.directory / "events.jsonl", text)
            self.events = []

    def state_dict(self) -> dict[str, Any]:
        # The keys of checkpoints written before the recorder existed, so those still resume.
        return {
            "interval": {
                "modes": dict(self.modes),
                "rewards": self.rewards,
                "steps": self.steps,
                "tv_steps": self.tv_steps,
            },
            "bins": self.bins.state_dict(),
            "regime": self.regime,
            "visited": sorted(self.visited),
            "reachable": self.reachable,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        interval = state["interval"]
        self.modes = Counter({str(m): int(n) for m, n in interval["modes"].items()})
        self.rewards, self.steps = float(interval["rewards"]), int(interval["steps"])
        self.tv_steps = int(interval["tv_steps"])
        if "bins" in state:  # absent from checkpoints written before the bins existed
            self.bins.load_state_dict(state["bins"])
        self.regime = state["regime"]
        self.visited = {tuple(cell) for cell in state["visited"]}
        self.reachable = state["reachable"]


def append_lines(path: Path, text: str) -> None:
    """Append whole lines to `path`, or nothing: a write that fails (a full disk, a read-only
    directory) is cut back to where the file ended, and raises UserError, which stops the life.

    Nothing of the lines stays behind to be read back, and no later append lands after a torn
    line (one torn by a kill is dropped when the life resumes). The life continues from its
    last checkpoint when run again; the records written since that checkpoint are dropped on
    resume and written again.
    """
    data = text.encode("utf-8")
    fd, end = None, None
    try:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags, 0o666)
        end = os.fstat(fd).st_size
        view = memoryview(data)
        while len(view):
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
    except OSError as error:
        if fd is not None and end is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
        raise UserError(
            f"cannot write {path}: {error.strerror or error}; the life stops here and continues"
            " from its last checkpoint when run again (free some space, or make the directory"
            " writable)"
        ) from error
    finally:
        if fd is not None:
            os.close(fd)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a .jsonl file, in order; [] if it does not exist.

    A line that does not parse (the torn last line of a life killed mid-write, or one being
    written right now) is skipped, as is anything that is not an object.
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


class RewardBins:
    """A life's per-step rewards, averaged in bins of `width` world steps, for its records.

    Records are too coarse to see a recovery (one per `log_every` steps, often as long as a whole
    regime), so each record also carries the reward curve of its interval at a finer grain. The
    bins sit on a grid fixed to the world-step count, bin j covering steps (j * width,
    (j + 1) * width], not to the records: they line up across lives and agents whatever
    `log_every` is, and a record's bins are placed from its step alone (see
    `lifelong.metrics.reward_bins`). A bin is closed by the step that completes it and waits for
    the next record; one that straddles a record boundary goes to the record in which it
    completes. The open bin and the closed ones not yet recorded are part of the life's
    checkpoint, so a resumed life writes the same bins as an uninterrupted one.

    A bin holds the mean reward of the steps it saw: `width` steps, except the first bin of a
    life resumed from a checkpoint written before bins existed (it saw only the steps since).
    """

    def __init__(self, width: int) -> None:
        if width < 1:
            raise ValueError(f"bin width must be >= 1, got {width}")
        self.width = width
        self._sum = 0.0
        self._count = 0
        self._closed: list[float] = []

    def add(self, step: int, reward: float) -> None:
        """Count the reward of world step `step` (1 for the first step of a life)."""
        self._sum += reward
        self._count += 1
        if step % self.width == 0:
            self._closed.append(self._sum / self._count)
            self._sum, self._count = 0.0, 0

    def take(self) -> list[float | None]:
        """The bins closed since the last call, oldest first; a non-finite mean becomes None
        (strict JSON, as the records' other unmeasurable values)."""
        closed = [value if math.isfinite(value) else None for value in self._closed]
        self._closed = []
        return closed

    def state_dict(self) -> dict[str, Any]:
        return {"sum": self._sum, "count": self._count, "closed": list(self._closed)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sum, self._count = float(state["sum"]), int(state["count"])
        self._closed = [float(value) for value in state["closed"]]
