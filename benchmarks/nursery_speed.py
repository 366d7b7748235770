"""Raw Nursery throughput: how many environment steps per second one core can do.

Actions are drawn up front so the number measures the world alone, not the action sampler.
``measure`` is reused by the full throughput benchmark; it times the default world (the
``nursery`` preset, everything on) unless another preset is named. The target is 50,000 steps/s
for the default world on one core.
"""

from __future__ import annotations

import time

import numpy as np

from lifelong.worlds.nursery import PRESETS, Nursery


def measure(steps: int = 100_000, preset: str = "nursery") -> float:
    """Steps per second of a Nursery preset driven by pre-drawn uniform random actions."""
    env = Nursery(**PRESETS[preset])
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=steps).tolist()
    step = env.step
    start = time.perf_counter()
    for action in actions:
        step(action)
    return steps / (time.perf_counter() - start)


def main() -> None:
    for preset in PRESETS:
        # Best of three: on a shared machine the slowest runs measure the neighbours.
        best = max(measure(preset=preset) for _ in range(3))
        print(f"{preset} raw: {best:.0f} steps/s")


if __name__ == "__main__":
    main()
