"""The learning check of the test suite, with its numbers printed.

    python benchmarks/learning_check.py [--steps 16000] [--seed 0] [--world nursery]

A default agent lives `--steps` world steps; a uniformly random policy lives as long in the same
world with the same seed. Prints both last-quarter reward rates and how A's prediction error and
its ratio to the copy-last baseline moved from the first record to the last quarter.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from lifelong import metrics
from lifelong.life import open_life, read_metrics
from lifelong.worlds import make_world


def random_reward_rate(world_name: str, steps: int, seed: int) -> float:
    world = make_world(world_name)
    world.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rewards = [world.step(int(rng.integers(world.action_space.n)))[1] for _ in range(steps)]
    return metrics.auc(np.asarray(rewards[-steps // 4 :], dtype=float))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", default="nursery")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        config = {"tensorboard": False, "log_every": 1000, "checkpoint_every": 10**9}
        open_life(directory, args.world, args.seed, config_changes=config).run(args.steps)
        records = read_metrics(directory)
    quarter = records[-len(records) // 4 :]
    since = records[-len(quarter) - 1]["step"] if len(quarter) < len(records) else 0
    first = next(r for r in records if r["error_vs_copy_last"] is not None)  # A has trained

    def late(key: str) -> float:
        return float(np.mean([r[key] for r in quarter]))

    agent_rate = metrics.auc(metrics.reward_curve(quarter))
    random_rate = random_reward_rate(args.world, args.steps, args.seed)
    print(f"reward rate, last quarter:  agent {agent_rate:+.4f}   random {random_rate:+.4f}")
    print(
        f"A's error (slow EMA):       first measured {first['prediction_error_slow']:.3f}"
        f"   last quarter {late('prediction_error_slow'):.3f}"
    )
    print(
        f"A's error / copy-last:      first measured {first['error_vs_copy_last']:.3f}"
        f"   last quarter {late('error_vs_copy_last'):.3f}"
    )
    shares = metrics.time_per_mode(records, since=since)  # ticks-weighted, as in a bench
    shares = {mode: shares[mode] for mode in metrics.MODES if mode in shares}
    print("time per mode, last quarter: " + "  ".join(f"{m} {s:.0%}" for m, s in shares.items()))


if __name__ == "__main__":
    main()
