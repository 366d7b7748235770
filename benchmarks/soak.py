"""Soak: a long life with the default agent, watching resident memory over time.

    python benchmarks/soak.py [--steps 1000000] [--world nursery] [--out FILE.csv]

Not part of CI (a million steps take about 20 minutes on one core). Memory should grow while the
episodic memory fills (its recent ring holds `memory_recent` frames) and then stay flat: the
summary compares resident memory once the ring is full with the peak at the end.
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path

from lifelong.life import open_life


def rss_mb() -> float:
    """Current resident set size, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--world", default="nursery")
    parser.add_argument("--every", type=int, default=10_000, help="steps between samples")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/soak.csv"))
    args = parser.parse_args()
    rows: list[dict[str, float]] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        life = open_life(
            directory,
            world=args.world,
            config_changes={"log_every": args.every, "checkpoint_every": 100_000},
        )

        def sample(record: dict) -> None:
            rows.append(
                {
                    "step": record["step"],
                    "frames_in_memory": len(life.agent.mind.memory),
                    "rss_mb": round(rss_mb(), 1),
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                    "wall_s": round(time.perf_counter() - start, 1),
                    "steps_per_s": round(record["steps_per_s"], 1),
                }
            )
            print(rows[-1], flush=True)

        life.on_record = sample
        life.run(args.steps)
        capacity = life.genome.memory_recent
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    full = next((r for r in rows if r["frames_in_memory"] >= capacity), None)
    if full is None:
        print(f"the ring ({capacity} frames) never filled in {args.steps} steps")
        return
    after = [r for r in rows if r["step"] >= full["step"]]
    highest = max(r["rss_mb"] for r in after)
    growth = highest / full["rss_mb"] - 1
    print(
        f"ring full at step {full['step']}: RSS {full['rss_mb']} MB; highest RSS after that "
        f"{highest} MB at the samples, at step {rows[-1]['step']} {rows[-1]['rss_mb']} MB; "
        f"growth since full {growth:.1%} (target < 5%); peak RSS of the process "
        f"{rows[-1]['peak_rss_mb']} MB (checkpoint writes); written to {args.out}"
    )


if __name__ == "__main__":
    main()
