"""Sequential change detectors: has the world, or the task, just changed?

System M's meta-state carries a `change detected` signal (DESIGN.md, MetaState). It comes from
here. Two streams the agent already has tell of a change:

- A's one-step prediction error: a jump means the world's dynamics no longer match A's model;
- extrinsic reward: a shift in its rate means the task changed (the nutritious food swapped, a
  reward flipped), even where the dynamics did not.

Both streams are awkward. A's errors are heavy-tailed and drift slowly downward as A learns;
rewards are sparse (mostly 0, now and then +1, -1 or a small cost). A detector tuned on clean
Gaussian noise would alarm on every outlier, or on learning itself. `ChangeDetector` therefore
works in log space for the error, on block means for both streams (a sum of many sparse rewards
is closer to Gaussian than one reward), and on standardised, clipped values, so that one set of
thresholds in units of standard deviations fits every world.

Two classic tests are here: `PageHinkley` (in the stream's own units) and `Cusum` (on
standardised values, the one `ChangeDetector` uses). Everything is pure Python, importing
neither numpy nor torch, like the rest of M's side, and every state is plain numbers (JSON) so
that a resumed life alarms exactly where the uninterrupted one would have.
"""

from __future__ import annotations

import math


def _check(name: str, value: float, low: float, high: float, low_open: bool = False) -> None:
    """A bad parameter is a clear error naming it and its range, as the genome's are."""
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name}={value!r} is outside {bracket}{low}, {high}]")


class PageHinkley:
    """Two-sided Page-Hinkley test for a shift in the mean, in the stream's own units.

    With mu the running mean before x arrives, the test accumulates
        up   = sum (x - mu - delta)   and alarms when up - min(up) > threshold    (the mean rose),
        down = sum (x - mu + delta)   and alarms when max(down) - down > threshold (the mean fell).
    `delta` is the change worth ignoring (about half the smallest shift to catch); `threshold`
    trades delay against false alarms. With known mean and unit-variance Gaussian input this is
    CUSUM with k = delta, h = threshold (see `Cusum` for the numbers).

    mu is the cumulative mean over the first 1/rate samples, then an EMA of `rate`. The EMA is
    what keeps slow drift quiet: a drift of s per sample leaves mu lagging by s / rate, which never
    accumulates while s < delta * rate. A jump J, in contrast, is absorbed only over ~1/rate
    samples and piles up about (J - delta - delta ln(J / delta)) / rate before mu catches up.

    The first `warmup` samples after birth or an alarm only estimate mu: testing against a mean
    drawn from a handful of samples would alarm on its own noise. An alarm restarts everything, so
    mu is re-estimated from the new regime and one change gives one alarm.
    """

    def __init__(self, delta: float, threshold: float, rate: float, warmup: int = 20) -> None:
        _check("delta", delta, 0.0, math.inf)
        _check("threshold", threshold, 0.0, math.inf, low_open=True)
        _check("rate", rate, 0.0, 1.0, low_open=True)
        _check("warmup", warmup, 1, math.inf)
        self.delta, self.threshold, self.rate, self.warmup = delta, threshold, rate, int(warmup)
        self.alarms = 0  # alarms raised since birth; a restart keeps it
        self.direction = 0  # +1 if the last alarm found the mean rising, -1 falling, 0 never
        self.reset()

    def reset(self) -> None:
        """Forget the regime: the next `warmup` samples estimate a new mean."""
        self.count = 0  # samples since the last restart
        self.mean = 0.0
        self.up, self.up_min = 0.0, 0.0
        self.down, self.down_max = 0.0, 0.0

    def update(self, x: float) -> bool:
        """Take one sample; True when it completes evidence of a change (the test then restarts)."""
        self.count += 1
        if self.count > self.warmup:
            deviation = x - self.mean
            self.up += deviation - self.delta
            self.up_min = min(self.up_min, self.up)
            self.down += deviation + self.delta
            self.down_max = max(self.down_max, self.down)
        self.mean += max(1.0 / self.count, self.rate) * (x - self.mean)
        if self.up - self.up_min > self.threshold:
            return self._alarm(+1)
        if self.down_max - self.down > self.threshold:
            return self._alarm(-1)
        return False

    def _alarm(self, direction: int) -> bool:
        self.alarms += 1
        self.direction = direction
        self.reset()
        return True

    def state_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "mean": self.mean,
            "up": self.up,
            "up_min": self.up_min,
            "down": self.down,
            "down_max": self.down_max,
            "alarms": self.alarms,
            "direction": self.direction,
        }

    def load_state_dict(self, state: dict[str, float | int]) -> None:
        self.count, self.alarms, self.direction = (
            int(state["count"]),
            int(state["alarms"]),
            int(state["direction"]),
        )
        self.mean, self.up, self.up_min, self.down, self.down_max = (
            float(state[name]) for name in ("mean", "up", "up_min", "down", "down_max")
        )


class Cusum:
    """Two-sided CUSUM on standardised, clipped values: one threshold fits a stream of any scale.

    With mean and variance estimated before x arrives,
        z  = clip((x - mean) / std, -clip, clip),
        hi = max(0, hi + z - drift)   alarm when hi > threshold   (the mean rose),
        lo = max(0, lo - z - drift)   alarm when lo > threshold   (the mean fell).
    `drift` (k) is half the smallest shift worth catching, in standard deviations; `threshold`
    (h) sets the false-alarm rate. For i.i.d. Gaussian input, Siegmund's approximation gives a
    mean run between false alarms of about exp(2k(h + 1.166)) / (4 k^2) samples for the two
    sides together: with k = 0.5, h = 5 only ~470 samples, with h = 8 ~9,600, with h = 10 ~70,000;
    a shift of 1 sd is then found after about (h + 1.166) / (1 - k) samples (18 for h = 8).

    The moments are those of `signals.RunningMoments`, except that the first 1/rate samples are
    averaged with equal weights (weight max(1/n, rate)): the cumulative estimate is the best one
    while it has few samples, the EMA afterwards lets the baseline follow slow drift (a drift of
    s sd per sample stays below `drift` when s < drift * rate, as for `PageHinkley`).

    Clipping is what makes the test usable on heavy-tailed streams. Unclipped, one huge value
    would cross the threshold alone; clipped, it takes at least threshold / (clip - drift)
    unusual samples running together (4 with h = 10, k = 0.5, clip = 3). On Student-t noise
    with 3 degrees of freedom a clip of 3 gave 3 false alarms per 10^5 samples where 4 gave 5
    and 6 gave 14, for the same delays (`benchmarks/detectors.py`, heavy-mean). After the warmup
    the moments are updated with the clipped value too (winsorised), so one outlier cannot
    inflate the variance and blind the test for the next 1/rate samples. A stream whose variance
    is still 0 (constant so far) gives z = +-clip for any new value, and the test alarms once
    that persists.

    Variance shifts are caught only as a side effect: more spread makes the reflected sums wander
    further, so a large increase alarms, a decrease never does.

    `sides` = "up" or "down" keeps only that half of the test, for a stream where a move the
    other way is expected and harmless (A's error falling while it learns).
    """

    def __init__(
        self,
        drift: float,
        threshold: float,
        rate: float,
        warmup: int = 20,
        clip: float = 3.0,
        sides: str = "both",
    ) -> None:
        _check("drift", drift, 0.0, math.inf)
        _check("threshold", threshold, 0.0, math.inf, low_open=True)
        _check("rate", rate, 0.0, 1.0, low_open=True)
        _check("warmup", warmup, 2, math.inf)  # two samples at least to have a variance
        _check("clip", clip, drift, math.inf, low_open=True)
        if sides not in ("both", "up", "down"):
            raise ValueError(f"sides={sides!r} is not one of 'both', 'up', 'down'")
        self.sides = sides
        self.drift, self.threshold, self.rate = drift, threshold, rate
        self.warmup, self.clip = int(warmup), clip
        self.alarms = 0  # alarms raised since birth; a restart keeps it
        self.direction = 0  # +1 if the last alarm found the mean rising, -1 falling, 0 never
        self.reset()

    def reset(self) -> None:
        """Forget the regime: the next `warmup` samples estimate new moments."""
        self.count = 0  # samples since the last restart
        self.mean, self.var = 0.0, 0.0
        self.hi, self.lo = 0.0, 0.0

    def zscore(self, x: float) -> float:
        """x against the current moments, clipped; 0 before two samples have been seen."""
        if self.count < 2:
            return 0.0
        deviation = x - self.mean
        if self.var > 0.0:
            z = deviation / math.sqrt(self.var)
        else:
            z = 0.0 if deviation == 0.0 else math.copysign(math.inf, deviation)
        return min(self.clip, max(-self.clip, z))

    def update(self, x: float) -> bool:
        """Take one sample; True when it completes evidence of a change (the test then restarts)."""
        if self.count >= self.warmup:
            z = self.zscore(x)
            if self.sides != "down":
                self.hi = max(0.0, self.hi + z - self.drift)
            if self.sides != "up":
                self.lo = max(0.0, self.lo - z - self.drift)
            x = self.mean + z * math.sqrt(self.var)  # winsorised: what the moments may learn
        self.count += 1
        weight = max(1.0 / self.count, self.rate)
        deviation = x - self.mean
        self.mean += weight * deviation
        self.var = (1.0 - weight) * (self.var + weight * deviation * deviation)
        if self.hi > self.threshold:
            return self._alarm(+1)
        if self.lo > self.threshold:
            return self._alarm(-1)
        return False

    def _alarm(self, direction: int) -> bool:
        self.alarms += 1
        self.direction = direction
        self.reset()
        return True

    def state_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "mean": self.mean,
            "var": self.var,
            "hi": self.hi,
            "lo": self.lo,
            "alarms": self.alarms,
            "direction": self.direction,
        }

    def load_state_dict(self, state: dict[str, float | int]) -> None:
        self.count, self.alarms, self.direction = (
            int(state["count"]),
            int(state["alarms"]),
            int(state["direction"]),
        )
        self.mean, self.var, self.hi, self.lo = (
            float(state[name]) for name in ("mean", "var", "hi", "lo")
        )


# An error of exactly 0 (a world A predicts perfectly) must not become log(0) = -inf; far below
# the typical 0.05-2, it is clipped as an outlier like any other.
ERROR_FLOOR = 1e-6


class _BlockMean:
    """Averages `size` consecutive values into one: what the detectors see of a stream."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, x: float) -> float | None:
        """The block's mean when x completes a block, else None."""
        self.total += x
        self.count += 1
        if self.count < self.size:
            return None
        mean = self.total / self.count
        self.reset()
        return mean


class ChangeDetector:
    """M's `change detected`: a CUSUM on A's log prediction error and one on the reward rate.

    Call `update_reward(r)` once per world step (it is the clock: steps and the refractory period
    count world steps) and `update_error(e)` for each of A's errors measured on fresh experience.
    Each returns True when that stream raises an alarm; `detected` is True during the world step
    (the current value of `step`) on which the last alarm was raised.

    Why each choice:
    - Error in log space: A's errors relative to the target variance span 0.05-2 with heavy
      tails; a change of dynamics multiplies them, and the log turns that into a shift of the
      mean, while making the noise closer to Gaussian.
    - Error rises only: A's error falling, even fast (as it relearns just after a change), is
      learning, not news. A two-sided test would alarm on it and, worse, restart and lose its
      baseline just before the next change. Rewards are tested both ways: less reward and more
      reward both mean the task moved.
    - Two drifts: a change of dynamics moves the log error by about one sd of a single error or
      more (a factor 2-4 against a spread of ~0.7), so the error test can ignore shifts below
      `error_drift` = 0.5 sd of a block and keep few false alarms. A change of task moves a
      sparse reward rate by less than one sd of a block (0.02 -> 0.06 events a step is ~0.6 sd
      of a 32-step block), so the reward test needs the smaller `reward_drift`.
    - Blocks: `error_block` errors (and `reward_block` rewards) are averaged into one sample.
      For rewards this is essential: one sparse reward is a spike of ~1/sqrt(p) standard
      deviations, so a per-step test either alarms on it or ignores a doubled reward rate; the
      mean of 32 is a count, closer to Gaussian. For errors a short block tames correlated
      neighbours (errors of one trajectory are alike): on log errors correlated with phi = 0.5,
      blocks of 1 gave 19 false alarms per 10^5 steps, blocks of 4 none, at a median delay of
      28 steps instead of 8. A block delays an alarm by at most its length.
    - `rate` is per world step (the detectors move by rate * block per block), so both streams
      forget at the same speed: the baseline has a memory of about 1/rate steps. It lags a
      steady trend by trend / rate, so a trend that is no change (B's reward climbing as it
      learns, A's error creeping up) stays quiet while it moves the stream by less than
      drift * rate block sds per step: with the defaults, A's log error (sd ~0.7, so 0.35 for a
      block of 4) may rise by a factor e over anything longer than 1 / (0.5 * 1e-3 * 0.35), about
      5,700 steps. A longer memory tolerates less trend; a shorter one absorbs a real change
      before the sums reach the threshold.
    - Refractory period: after an alarm, no new alarm for `refractory` world steps, so a change
      seen by both streams, at different delays, gives one alarm. Keep it below the shortest
      spacing between changes that should each be seen. A stream that alarms restarts (its
      baseline re-estimated from the new regime, blind for `warmup` blocks: 80 steps for
      errors, 640 for rewards with the defaults); the other stream keeps its evidence.
    - Agreement: a stream that alarms within `agree_window` steps of the other stream's last
      alarm confirms it (`agreed` is True on that step) rather than raising a new alarm. Each
      stream alone alarms on things that are not changes of the world (A's error on a storm or
      at dusk; the reward rate as B's policy improves); the two together rarely do, so M spends
      its costly responses (unit resets, learning-rate boosts) only on agreement.
    - `threshold` 10 (h, in sd of a block): about 1 false alarm per 10^5 steps on each stream
      in `benchmarks/detectors.py`; 8 is faster by a fifth and falser by several times.
    """

    def __init__(
        self,
        threshold: float = 10.0,
        error_drift: float = 0.5,
        reward_drift: float = 0.25,
        rate: float = 1e-3,
        refractory: int = 250,
        error_block: int = 4,
        reward_block: int = 32,
        warmup: int = 20,
        clip: float = 3.0,
        agree_window: int = 1000,
    ) -> None:
        _check("refractory", refractory, 0, math.inf)
        _check("agree_window", agree_window, 0, math.inf)
        _check("error_block", error_block, 1, math.inf)
        _check("reward_block", reward_block, 1, math.inf)
        _check("rate", rate, 0.0, 1.0, low_open=True)
        self.refractory = int(refractory)
        self.agree_window = int(agree_window)
        error_rate, reward_rate = min(1.0, rate * error_block), min(1.0, rate * reward_block)
        self.error = Cusum(error_drift, threshold, error_rate, warmup, clip, sides="up")
        self.reward = Cusum(reward_drift, threshold, reward_rate, warmup, clip)
        self.error_blocks = _BlockMean(int(error_block))
        self.reward_blocks = _BlockMean(int(reward_block))
        self.step = 0  # world steps seen (calls of update_reward)
        self.alarms = 0  # alarms raised (after the refractory filter)
        self.last_alarm_step = -1  # step of the last alarm raised, -1 before the first
        self.last_stream = ""  # "error" or "reward": which stream raised the last alarm
        self.last_direction = 0  # +1: that stream's mean rose, -1: it fell, 0: no alarm yet
        # Each stream's last alarm, refractory or not (None: never), for agreement.
        self.stream_alarm: dict[str, int | None] = {"error": None, "reward": None}
        self.agreements = 0
        self.last_agreed_step = -1  # step of the last agreement, -1 before the first

    @property
    def detected(self) -> bool:
        """True during the world step on which an alarm was raised."""
        return self.alarms > 0 and self.last_alarm_step == self.step

    @property
    def agreed(self) -> bool:
        """True during the world step on which the second stream confirmed the first."""
        return self.agreements > 0 and self.last_agreed_step == self.step

    def update_reward(self, reward: float) -> bool:
        """One world step's extrinsic reward; True if the reward stream raises an alarm now."""
        self.step += 1
        if not math.isfinite(reward):
            return False
        block = self.reward_blocks.add(reward)
        return block is not None and self._raise("reward", self.reward, block)

    def update_error(self, error: float) -> bool:
        """One of A's prediction errors on fresh experience; True if the error stream alarms."""
        if not math.isfinite(error) or error < 0.0:
            return False
        block = self.error_blocks.add(math.log(error + ERROR_FLOOR))
        return block is not None and self._raise("error", self.error, block)

    def _raise(self, stream: str, detector: Cusum, value: float) -> bool:
        if not detector.update(value):  # an alarming Cusum restarts itself
            return False
        other = self.stream_alarm["reward" if stream == "error" else "error"]
        self.stream_alarm[stream] = self.step
        if other is not None and self.step - other <= self.agree_window:
            # The second stream confirms the first: agreement, not news of another change.
            self.agreements += 1
            self.last_agreed_step = self.step
            return False
        # An alarm during the refractory period is the change already reported.
        if self.alarms > 0 and self.step - self.last_alarm_step <= self.refractory:
            return False
        self.alarms += 1
        self.last_alarm_step = self.step
        self.last_stream, self.last_direction = stream, detector.direction
        return True

    def state_dict(self) -> dict:
        return {
            "error": self.error.state_dict(),
            "reward": self.reward.state_dict(),
            "error_blocks": [self.error_blocks.total, self.error_blocks.count],
            "reward_blocks": [self.reward_blocks.total, self.reward_blocks.count],
            "step": self.step,
            "alarms": self.alarms,
            "last_alarm_step": self.last_alarm_step,
            "last_stream": self.last_stream,
            "last_direction": self.last_direction,
            "stream_alarm": dict(self.stream_alarm),
            "agreements": self.agreements,
            "last_agreed_step": self.last_agreed_step,
        }

    def load_state_dict(self, state: dict) -> None:
        self.error.load_state_dict(state["error"])
        self.reward.load_state_dict(state["reward"])
        for blocks, (total, count) in (
            (self.error_blocks, state["error_blocks"]),
            (self.reward_blocks, state["reward_blocks"]),
        ):
            blocks.total, blocks.count = float(total), int(count)
        self.step, self.alarms = int(state["step"]), int(state["alarms"])
        self.last_alarm_step = int(state["last_alarm_step"])
        self.last_stream = str(state["last_stream"])
        self.last_direction = int(state["last_direction"])
        self.stream_alarm = {
            k: None if v is None else int(v) for k, v in state["stream_alarm"].items()
        }
        self.agreements = int(state["agreements"])
        self.last_agreed_step = int(state["last_agreed_step"])
