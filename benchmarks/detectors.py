"""How fast, and how falsely, the change detectors of System M alarm on known change points.

    python benchmarks/detectors.py [--steps N] [--seed S] [--max-delay D]

Each synthetic stream is piecewise stationary: regimes last 2,000-6,000 steps (Nursery's seasons
last 1,000-2,000, so anything much slower than a few hundred steps is too late to matter), and
the ground-truth change points are known. Per detector and stream the table gives, from
`lifelong.metrics.detection_stats` with the given max delay: the median detection delay in
steps, the changes missed, and false alarms per 10^5 steps of stationary stream.

Streams:
- gauss-mean   N(mu, 1), mu moving by +-1 at each change
- gauss-var    N(0, sd), sd alternating 1 <-> 3
- heavy-mean   Student-t with 3 degrees of freedom (sd 1.7), mean moving by +-1.5
- reward-rate  sparse rewards: +1 with probability alternating 0.02 <-> 0.06, plus -0.01 a step
- reward-flip  +1 and -1 events (probabilities 0.04 and 0.01) that swap at each change
- reward-drift the +1 rate climbing from 0.01 to 0.05 over the whole stream, no change: B
               getting better must not alarm (every alarm is false)
- error-drift  A-like errors (0.1 + 1.5 exp(-t / 20000)) * lognormal(0, 0.7), no change at all:
               learning itself must not alarm (every alarm is false)
- error-jumps  the same, but each change multiplies the level by 4 and A relearns it
               (decaying back with a time constant of 2,000 steps)
- error-ar     error-jumps with log noise correlated from step to step (AR(1), phi = 0.5), as
               neighbouring transitions of one trajectory are: what `error_block` is for

Detectors: `PageHinkley` and `Cusum` fed the raw values one by one (the classic tests, their
parameters in the units of a unit-variance Gaussian), and `ChangeDetector` with its defaults on
the streams it is meant for (its reward channel on rewards, its error channel on errors).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from lifelong.detectors import ChangeDetector, Cusum, PageHinkley
from lifelong.genome import Genome
from lifelong.metrics import detection_stats
from lifelong.signals import Telemetry

Stream = tuple[np.ndarray, list[int]]


def change_points(rng: np.random.Generator, steps: int) -> list[int]:
    """Regimes of 2,000-6,000 steps; none in the last 2,000, so every change can be caught."""
    taus, t = [], 0
    while True:
        t += int(rng.integers(2000, 6001))
        if t >= steps - 2000:
            return taus
        taus.append(t)


def regimes(taus: list[int], steps: int) -> np.ndarray:
    """The regime index (0, 1, 2, ...) of every step."""
    index = np.zeros(steps, dtype=int)
    for tau in taus:
        index[tau:] += 1
    return index


def gauss_mean(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    levels = np.concatenate([[0.0], np.cumsum(rng.choice([-1.0, 1.0], size=len(taus)))])
    return levels[regimes(taus, steps)] + rng.standard_normal(steps), taus


def gauss_var(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    sd = np.where(regimes(taus, steps) % 2 == 0, 1.0, 3.0)
    return sd * rng.standard_normal(steps), taus


def heavy_mean(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    levels = np.concatenate([[0.0], np.cumsum(rng.choice([-1.5, 1.5], size=len(taus)))])
    return levels[regimes(taus, steps)] + rng.standard_t(3, size=steps), taus


def reward_rate(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    p = np.where(regimes(taus, steps) % 2 == 0, 0.02, 0.06)
    return (rng.random(steps) < p).astype(float) - 0.01, taus


def reward_flip(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    sign = np.where(regimes(taus, steps) % 2 == 0, 1.0, -1.0)
    u = rng.random(steps)
    return sign * ((u < 0.04).astype(float) - ((u >= 0.04) & (u < 0.05))), taus


def reward_drift(rng: np.random.Generator, steps: int) -> Stream:
    p = np.linspace(0.01, 0.05, steps)  # B getting better at the same task: no change
    return (rng.random(steps) < p).astype(float) - 0.01, []


def a_like_errors(
    rng: np.random.Generator, steps: int, taus: list[int], phi: float = 0.0
) -> np.ndarray:
    """Errors falling as A learns, jumping 4x at each change; log noise AR(1) with `phi`."""
    t = np.arange(steps)
    level = 0.1 + 1.5 * np.exp(-t / 20000)
    for tau in taus:  # a new world: the error jumps 4x, then A relearns it
        after = t >= tau
        level[after] *= 1.0 + 3.0 * np.exp(-(t[after] - tau) / 2000)
    shocks = rng.standard_normal(steps) * math.sqrt(1.0 - phi * phi)
    noise = shocks.tolist()
    for i in range(1, steps):  # neighbouring steps of one trajectory are alike
        noise[i] += phi * noise[i - 1]
    return level * np.exp(0.7 * np.asarray(noise))


def error_drift(rng: np.random.Generator, steps: int) -> Stream:
    return a_like_errors(rng, steps, []), []


def error_jumps(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    return a_like_errors(rng, steps, taus), taus


def error_correlated(rng: np.random.Generator, steps: int) -> Stream:
    taus = change_points(rng, steps)
    return a_like_errors(rng, steps, taus, phi=0.5), taus


STREAMS: dict[str, tuple[Callable[[np.random.Generator, int], Stream], str]] = {
    "gauss-mean": (gauss_mean, ""),
    "gauss-var": (gauss_var, ""),
    "heavy-mean": (heavy_mean, ""),
    "reward-rate": (reward_rate, "reward"),
    "reward-flip": (reward_flip, "reward"),
    "reward-drift": (reward_drift, "reward"),
    "error-drift": (error_drift, "error"),
    "error-jumps": (error_jumps, "error"),
    "error-ar": (error_correlated, "error"),
}


def alarms_of(update: Callable[[float], bool], values: np.ndarray) -> list[int]:
    return [t for t, x in enumerate(values.tolist()) if update(x)]


def agents_detector() -> ChangeDetector:
    """M's detector as an agent with the default genome builds it."""
    return Telemetry.from_genome(Genome()).detector


def detectors_for(channel: str) -> dict[str, Callable[[float], bool]]:
    """Fresh detectors for one stream, by name; ChangeDetector only on its own kind of stream."""
    out: dict[str, Callable[[float], bool]] = {
        "page-hinkley": PageHinkley(delta=0.5, threshold=10.0, rate=1e-3).update,
        "cusum": Cusum(drift=0.5, threshold=10.0, rate=1e-3).update,
    }
    if channel == "reward":
        out["change-detector"] = agents_detector().update_reward
    elif channel == "error":
        detector = agents_detector()

        def error_step(x: float, detector: ChangeDetector = detector) -> bool:
            detector.update_reward(0.0)  # the clock: one world step per error
            return detector.update_error(x)

        out["change-detector"] = error_step
    return out


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"{args.steps} steps per stream, seed {args.seed}, max delay {args.max_delay} steps")
    header = f"{'stream':<13} {'detector':<16} {'changes':>7} {'median delay':>12}"
    print(f"{header} {'missed':>6} {'false/1e5':>9}")
    for index, (stream, (make, channel)) in enumerate(STREAMS.items()):
        values, taus = make(np.random.default_rng([args.seed, index]), args.steps)
        for name, update in detectors_for(channel).items():
            stats = detection_stats(taus, alarms_of(update, values), args.steps, args.max_delay)
            print(
                f"{stream:<13} {name:<16} {len(taus):>7} {fmt(stats['delay_median'], '.0f'):>12}"
                f" {stats['missed']:>6} {fmt(stats['false_alarms_per_1e5'], '.1f'):>9}"
            )
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
