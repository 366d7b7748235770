"""Reading the JSON-lines files a life appends to (metrics.jsonl, events.jsonl), and the fine
reward bins its records carry.

Standard library only, so reports, benchmarks and evolution read a life without importing torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


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
