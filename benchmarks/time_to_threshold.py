"""Time-to-threshold: how soon, in world steps and wall seconds, each agent of a bench reaches a
reference agent's final reward rate and keeps it (METRICS.md).

    python benchmarks/time_to_threshold.py DIR [--reference sb3_dqn] [--at 20000] [--final 5000]
        [--window 1000] [--hold 5000] [--csv OUT.csv]

DIR is a finished bench (`lifelong bench SUITE --agents sb3_dqn,b_only,... --jobs 1`). Per world,
the threshold is the reference agent's rate at step `--at` (its "final 20k-step rate"): its
mean reward per step over the `--final` steps up to `--at`, averaged over its seeds. Lives
should run well beyond `--at` (by more than `--hold`), so an agent that gets there can show it
holds; the reference itself gets there only if its rate keeps up after `--at`. Each life then
reports the first step at which its `--window`-step reward rate reaches the threshold and
holds it for `--hold` steps (`lifelong.metrics.time_to_threshold`), and the wall seconds its
records say it had lived by then. A life that never gets there counts as not reached.

Wall seconds are comparable only between lives that ran side by side on the same load: run the
bench with `--jobs 1` on an otherwise idle machine (or compare within one run of this script's
bench only). The issue-26 target reads: each learner within half the reference's wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import numpy as np
import yaml

from lifelong.bench import SUITES, life_directory
from lifelong.metrics import life_records, reward_curve, time_to_threshold


def read_life(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(steps, reward curve, seconds lived at each record) of one finished life, or None."""
    metrics = path / "metrics.jsonl"
    if not (path / "done.json").is_file() or not metrics.is_file():
        return None
    with metrics.open() as f:
        records = life_records(json.loads(line) for line in f if line.strip())
    records = [r for r in records if "wall_time" in r]
    if not records:
        return None
    steps = np.array([r["step"] for r in records], dtype=float)
    wall = np.array([r["wall_time"] for r in records], dtype=float)
    first = records[0]
    # The life began before its first record by that record's steps at its measured speed.
    start = wall[0] - first["step"] / max(first.get("steps_per_s") or np.inf, 1e-9)
    return steps, reward_curve(records), wall - start


def rate_at(steps: np.ndarray, curve: np.ndarray, at: int, final: int) -> float:
    """Mean reward per step over the `final` steps up to step `at` (records weighted by their
    width)."""
    widths = np.diff(steps, prepend=0.0)
    last = (steps > at - final) & (steps <= at)
    return float(np.sum(curve[last] * widths[last]) / np.sum(widths[last]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--reference", default="sb3_dqn")
    parser.add_argument("--at", type=int, default=20_000, help="the reference's step of reckoning")
    parser.add_argument("--final", type=int, default=5000, help="steps of its rate up to --at")
    parser.add_argument("--window", type=int, default=1000, help="steps of the reward rate")
    parser.add_argument("--hold", type=int, default=5000, help="steps the rate must hold")
    parser.add_argument("--csv", type=Path, help="write one row per life here")
    args = parser.parse_args()
    bench_file = args.directory / "bench.yaml"
    if not bench_file.is_file():
        raise SystemExit(f"time_to_threshold: {args.directory} is not a bench (no bench.yaml)")
    plan = yaml.safe_load(bench_file.read_text())
    suite, agents, seeds = SUITES[plan["suite"]], plan["agents"], plan["seeds"]
    if args.reference not in agents:
        raise SystemExit(
            f"time_to_threshold: no {args.reference!r} in this bench; agents: {', '.join(agents)}"
        )
    rows = []
    for world in plan.get("worlds") or suite.worlds:
        lives = {
            (agent, seed): read_life(life_directory(args.directory, suite, agent, world, seed))
            for agent in agents
            for seed in seeds
        }
        finals = [
            rate_at(life[0], life[1], args.at, args.final)
            for (agent, _), life in lives.items()
            if agent == args.reference and life is not None
        ]
        if not finals:
            raise SystemExit(f"time_to_threshold: no finished {args.reference} life in {world}")
        threshold = statistics.fmean(finals)
        span = f"steps {args.at - args.final}-{args.at}"
        print(f"{world}\n  threshold {threshold:.4f}: {args.reference}'s rate over {span}")
        print(f"  {'agent':<12}{'reached':>9}{'steps, median':>15}{'seconds, median':>17}")
        seconds_of: dict[str, list[float]] = {}
        for agent in agents:
            reached = []
            for seed in seeds:
                life = lives[(agent, seed)]
                if life is None:
                    continue
                steps, curve, seconds = life
                step = time_to_threshold(steps, curve, threshold, args.window, args.hold)
                at = None if step is None else float(seconds[np.searchsorted(steps, step)])
                rows.append(
                    {"world": world, "agent": agent, "seed": seed, "threshold": threshold,
                     "steps": step, "seconds": at, "life_seconds": float(seconds[-1])}
                )  # fmt: skip
                if step is not None:
                    reached.append((step, at))
            seconds_of[agent] = [at for _, at in reached]
            count = f"{len(reached)}/{len(seeds)}"
            steps_median = statistics.median(s for s, _ in reached) if reached else float("nan")
            seconds_median = statistics.median(seconds_of[agent]) if reached else float("nan")
            print(f"  {agent:<12}{count:>9}{steps_median:>15.0f}{seconds_median:>17.1f}")
        reference = seconds_of.get(args.reference) or []
        if reference:
            base = statistics.median(reference)
            for agent in agents:
                if agent != args.reference and seconds_of.get(agent):
                    ratio = statistics.median(seconds_of[agent]) / base
                    print(f"  {agent} / {args.reference} wall time: {ratio:.2f}x")
    if args.csv:
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
