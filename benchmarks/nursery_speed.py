"""Raw Nursery throughput: how many environment steps per second one core can do.

Actions are drawn up front so the number measures the world alone, not the action sampler.
``measure`` is reused by the full throughput benchmark.
"""

from __future__ import annotations

import time

import numpy as np

from lifelong.worlds.nursery import Nursery


def measure(steps: int = 100_000) -> float:
    """Steps per second of a default Nursery driven by pre-drawn uniform random actions."""
    env = Nursery()
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=steps).tolist()
    step = env.step
    start = time.perf_counter()
    for action in actions:
        step(action)
    return steps / (time.perf_counter() - start)


def main() -> None:
    print(f"nursery raw: {measure():.0f} steps/s")


if __name__ == "__main__":
    main()
