"""Throughput: the Nursery alone, and the full A-B-M agent living in it with learning on.

    python benchmarks/throughput.py [--steps N] [--set key=value ...]

The agent is measured after its warm-up (learning is on for every timed step) on one torch
thread, the default configuration unless `--set` changes a config key or genome field. Sleep
ticks take no world step, so the agent's figure is world steps per second of wall time with
sleep included: the number a person waiting for a life to reach step N cares about.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from nursery_speed import measure as measure_nursery  # noqa: E402

from lifelong.config import parse_overrides  # noqa: E402
from lifelong.life import open_life  # noqa: E402


def measure_agent(steps: int, overrides: list[str], world: str = "nursery") -> dict[str, float]:
    config_changes, genome_changes = parse_overrides(overrides)
    config_changes = {"tensorboard": False, "checkpoint_every": 10**9, **config_changes}
    with tempfile.TemporaryDirectory() as directory:
        life = open_life(
            Path(directory),
            world=world,
            config_changes=config_changes,
            genome_changes=genome_changes,
        )
        life.run(life.genome.warmup + 200)  # past the warm-up: every timed step learns
        before = dict(life.agent.counters)
        start = time.perf_counter()
        life.run(before["env_steps"] + steps)
        elapsed = time.perf_counter() - start
        after = life.agent.counters
    return {
        "env_steps_per_s": (after["env_steps"] - before["env_steps"]) / elapsed,
        "ticks_per_s": (after["ticks"] - before["ticks"]) / elapsed,
        "updates_per_s": (
            after["updates_a"] + after["updates_b"] - before["updates_a"] - before["updates_b"]
        )
        / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="timed agent steps")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--skip-world", action="store_true", help="only time the agent")
    args = parser.parse_args()
    if not args.skip_world:
        print(f"nursery raw:            {measure_nursery():>9.0f} env steps/s   (target >= 50,000)")
    agent = measure_agent(args.steps, args.set)
    print(
        f"A-B-M agent, learning:  {agent['env_steps_per_s']:>9.0f} env steps/s   "
        f"(target >= 1,000)  {agent['ticks_per_s']:.0f} ticks/s  "
        f"{agent['updates_per_s']:.0f} updates/s"
    )


if __name__ == "__main__":
    main()
