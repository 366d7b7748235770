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
next window closes.
"""

from __future__ import annotations

import math
from statistics import fmean, variance
from typing import Any

BLOCKS = 20  # blocks per window: enough for the t statistic, long enough to be independent


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
            spread = math.sqrt((variance(self.previous) + variance(self.current)) / BLOCKS)
            self.statistic = (before - now) / spread if spread > 0 else 0.0
            significant = abs(self.statistic) > self.z and before > 0
            self.value = (before - now) / before if significant else 0.0
        self.previous, self.current = self.current, []

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
