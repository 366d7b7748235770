"""Raw speed of every built-in world, and what each wrapper adds to MinAtar's step time.

    python benchmarks/worlds.py [--steps N]

Actions are drawn up front, episodes are reset as the life would, and nothing learns: the
figures are the worlds alone. Wrapper overheads are measured against the bare world in
alternating runs (bare, wrapped, bare, wrapped, ...) and quoted as the ratio of the medians, so
the machine's drift hits both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lifelong.worlds import make_world

WORLDS = [
    "nursery-small",
    "nursery",
    "nursery-hard",
    "minatar:breakout",
    "minatar:asterix",
    "minatar:freeway",
    "minatar:seaquest",
    "minatar:space_invaders",
    "minigrid:MiniGrid-DoorKey-5x5-v0",
    "minigrid:MiniGrid-DoorKey-8x8-v0",
    "gym:CartPole-v1",
    "gym:Acrobot-v1",
]
BASE = "minatar:breakout"
WRAPPERS = [
    "shift(kind=actions,every=1000)",
    "shift(kind=observations,every=1000)",
    "shift(kind=reward_flip,every=1000)",
    "noisy_tv",
    "teacher(policy=random,reliability=0.8)",
]


def steps_per_second(spec: str, steps: int, seed: int = 0) -> float:
    world = make_world(spec)
    world.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, world.action_space.n, size=steps).tolist()
    step, reset = world.step, world.reset
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = step(action)
        if terminated or truncated:
            reset()
    elapsed = time.perf_counter() - start
    world.close()
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per wrapper")
    args = parser.parse_args()
    print(f"{'world':<40} {'steps/s':>10}")
    for spec in WORLDS:
        print(f"{spec:<40} {steps_per_second(spec, args.steps):>10,.0f}")
    print(f"\nwrapper overhead on {BASE} (median of {args.repeats} alternating runs)")
    print(f"{'wrapper':<40} {'bare/s':>10} {'wrapped/s':>10} {'added time':>11}")
    for wrapper in WRAPPERS:
        bare, wrapped = [], []
        for _ in range(args.repeats):
            bare.append(steps_per_second(BASE, args.steps))
            wrapped.append(steps_per_second(f"{BASE}+{wrapper}", args.steps))
        b, w = statistics.median(bare), statistics.median(wrapped)
        print(f"{wrapper:<40} {b:>10,.0f} {w:>10,.0f} {b / w - 1:>10.1%}")


if __name__ == "__main__":
    main()
