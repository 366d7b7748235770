"""Learning progress as a test of significance, not a difference of two noisy averages.

M explores where its model is getting better (Oudeyer's learning progress). The first signal was
(slow - fast) / slow of two EMAs of A's per-transition errors, 200 and 20 transitions long, and
it fired on noise: it exceeded its 1% threshold on 60% of the second half of a 12k-step life and
did not fall as the agent got better (issue 27), because a 20-transition average of heavy-tailed
errors moves by far more than 1% on its own.

Here progress is measured over windows of thousands of measurements and reported only where it
is significant, on A's error relative to the error of predicting no change (copy-last) on the
same transitions: A's targets are latents of an encoder that keeps learning, so its raw error
can rise while it predicts better (issue 26), and only the ratio says how much better than the
trivial model A is. A's errors come one per world step and are strongly autocorrelated (a predator
in view makes a run of large ones), so they are not compared one by one: each window is cut
into `BLOCKS` consecutive blocks whose means are close to independent (the method of batch
means), and the mean of the last window's block means is compared with the previous window's by
Welch's t statistic. Progress is the relative fall of the mean error, (before - now) / before,
where t exceeds `z`, and 0 where it does not: a mastered world, whose error no longer falls,
reads 0 however noisy its errors are, so the trigger decays with competence instead of holding a
fixed share of ticks. A significant rise reads as negative progress. The verdict holds until the
next window closes. The telemetry runs the same test on A's error on replayed transitions, to
tell when replay rather than the world is what learning lacks (M's sleep trigger).

`AdvantageTest` judges M's PLAN trigger the same way: whether the returns realised after PLAN
steps beat those after EXPLOIT steps, by Welch's t over block (about spell) means.
"""

from __future__ import annotations

import math
from statistics import fmean, variance
from typing import Any

BLOCKS = 20  # blocks per window: enough for the t statistic, long enough to be independent


def welch(a: list[float], b: list[float]) -> float:
    """Welch's t statistic of mean(a) - mean(b) from two samples of at least 2 each (0 where
    both are constant: no evidence either way)."""
    spread = math.sqrt(variance(a) / len(a) + variance(b) / len(b))
    return (fmean(a) - fmean(b)) / spread if spread > 0 else 0.0


class ProgressTest:
    """Windowed, batch-means test of whether A's error fell; see the module docstring.

    `window` measurements make one window (`window` // `BLOCKS` per block); `z` is the t
    statistic a change must exceed to count. With independent block means, 3 would be one false
    verdict in a few hundred windows; errors autocorrelated over tens of steps leave some
    dependence between blocks. The default 3.5 gave 2 positive verdicts in 600 windows of a
    stationary, heavy-tailed, autocorrelated stream (tests/test_progress.py), and in a young
    agent's Nursery life the windows where its error ratio fell by 7-9% had t of 3.3-4.8.
    """

    def __init__(self, window: int, z: float) -> None:
        if window < BLOCKS:
            raise ValueError(f"window={window} is invalid: it must be >= {BLOCKS} measurements")
        self.block_size = window // BLOCKS
        self.z = float(z)
        self.block_sum, self.block_floor, self.block_count = 0.0, 0.0, 0
        self.current: list[float] = []  # block means of the window being filled
        self.previous: list[float] = []  # block means of the last closed window
        self.value = 0.0  # the last verdict: significant relative fall of the error, else 0
        self.statistic = 0.0  # the last Welch t (positive: error fell)

    def add(self, error: float, floor: float = 1.0) -> None:
        """One measurement of A's error on fresh experience and the copy-last error `floor` on
        the same transition; a block's value is its summed error over its summed floor.
        Measurements without a finite error and a positive floor are skipped."""
        if not (math.isfinite(error) and math.isfinite(floor) and floor > 0):
            return
        self.block_sum += error
        self.block_floor += floor
        self.block_count += 1
        if self.block_count < self.block_size:
            return
        self.current.append(self.block_sum / self.block_floor)
        self.block_sum, self.block_floor, self.block_count = 0.0, 0.0, 0
        if len(self.current) == BLOCKS:
            self._close_window()

    def _close_window(self) -> None:
        if self.previous:
            before, now = fmean(self.previous), fmean(self.current)
            self.statistic = welch(self.previous, self.current)
            significant = abs(self.statistic) > self.z and before > 0
            self.value = (before - now) / before if significant else 0.0
        self.previous, self.current = self.current, []

    @property
    def level(self) -> float:
        """The last closed window's error relative to copy-last (nan before one closed)."""
        return fmean(self.previous) if self.previous else math.nan

    def state_dict(self) -> dict[str, Any]:
        return {
            "block_sum": self.block_sum,
            "block_floor": self.block_floor,
            "block_count": self.block_count,
            "current": list(self.current),
            "previous": list(self.previous),
            "value": self.value,
            "statistic": self.statistic,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.block_sum, self.block_count = float(state["block_sum"]), int(state["block_count"])
        self.block_floor = float(state["block_floor"])
        self.current = [float(x) for x in state["current"]]
        self.previous = [float(x) for x in state["previous"]]
        self.value, self.statistic = float(state["value"]), float(state["statistic"])


MIN_SPELLS = 5  # blocks each mode needs before PLAN's advantage is tested at all


class AdvantageTest:
    """Whether acting in PLAN realises more return than the habit (EXPLOIT), with significance.

    The first signal was the difference of two EMAs of the n-step returns after PLAN and after
    EXPLOIT steps, and M planned unless it lost by a whole reward scale: a difference of noisy
    averages of autocorrelated returns, with no notion of how sure it was (issue 27). Here each
    mode's returns are cut into blocks of `block` consecutive returns (one block is about one
    spell of planning: a spell lasts `min_dwell` ticks), the last `BLOCKS` block means of each
    mode are kept, and their difference is judged by Welch's t: `statistic` is 0 until each mode
    has `MIN_SPELLS` blocks. `clear` forgets the evidence (the world changed: what planning
    earned in the old one says little about the new one).
    """

    MODES = ("plan", "exploit")

    def __init__(self, block: int) -> None:
        if block < 1:
            raise ValueError(f"block={block} is invalid: it must be >= 1 return")
        self.block = int(block)
        self.clear()

    def clear(self) -> None:
        self.open: dict[str, list[float]] = {mode: [0.0, 0] for mode in self.MODES}
        self.means: dict[str, list[float]] = {mode: [] for mode in self.MODES}
        self._judge()

    def add(self, mode: str, value: float) -> None:
        """The realised return after a world step taken in `mode` (other modes are ignored)."""
        if mode not in self.open or not math.isfinite(value):
            return
        total = self.open[mode]
        total[0] += value
        total[1] += 1
        if total[1] < self.block:
            return
        means = self.means[mode]
        means.append(total[0] / total[1])
        del means[:-BLOCKS]  # the newest blocks keep the measurement current
        self.open[mode] = [0.0, 0]
        self._judge()

    def _judge(self) -> None:
        """The verdict, once per closed block (M reads it on every tick): `advantage`, the mean
        return per PLAN block minus per EXPLOIT block, and `statistic`, its Welch t (positive:
        planning pays); both 0 until each mode has `MIN_SPELLS` blocks."""
        plan, exploit = self.means["plan"], self.means["exploit"]
        measured = min(len(plan), len(exploit)) >= MIN_SPELLS
        self.advantage = fmean(plan) - fmean(exploit) if measured else 0.0
        self.statistic = welch(plan, exploit) if measured else 0.0

    def state_dict(self) -> dict[str, Any]:
        return {
            "open": {mode: list(total) for mode, total in self.open.items()},
            "means": {mode: list(means) for mode, means in self.means.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.open = {m: [float(state["open"][m][0]), int(state["open"][m][1])] for m in self.MODES}
        self.means = {m: [float(x) for x in state["means"][m]] for m in self.MODES}
        self._judge()
