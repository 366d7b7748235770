"""Every change of every life of a bench: the reward around it and its recovery time.

    python benchmarks/change_table.py runs/bench-mujoco-shifts [--agents abm,sb3_sac] [--csv FILE]

A bench's summary gives one median recovery per agent; this shows the changes behind it, so one
can see what the median is made of. Per change (ground truth from events.jsonl): the mean reward
per step over the 2,000 steps before and after it, the eventual level (METRICS.md: the last
500 steps before the next change), and RT_k, the change-aligned recovery time of
`lifelong.metrics.change_recovery` (what the summary's `aligned_recovery_median` pools). A
change after which reward rises at once is no setback: its RT_k is then the time the agent took
to learn its way up to 90% of where the regime ended, not a recovery.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from lifelong.metrics import change_points, change_recovery, life_records, reward_bins
from lifelong.records import read_jsonl

AROUND = 2000  # steps either side of a change for the before and after levels

COLUMNS = ("agent", "life", "tau", "regime", "before", "after", "eventual", "recovery_time")


def changes_of(life: Path) -> list[dict]:
    """One row per change of the life in directory `life` (metrics.jsonl, events.jsonl)."""
    records = life_records(read_jsonl(life / "metrics.jsonl"))
    events = read_jsonl(life / "events.jsonl") if (life / "events.jsonl").exists() else []
    ends, values, width = reward_bins(records)
    if width is None:
        return []
    rows = []
    for stats in change_recovery(ends, values, width, change_points(events, records)):
        tau = stats["tau"]
        before = values[(ends > tau - AROUND) & (ends <= tau)]
        after = values[(ends > tau) & (ends <= tau + AROUND)]
        rows.append({
            "tau": tau,
            "regime": stats["regime"],
            "before": float(np.nanmean(before)) if before.size else None,
            "after": float(np.nanmean(after)) if after.size else None,
            "eventual": stats["eventual_level"],
            "recovery_time": stats["recovery_time"],
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, nargs="+", help="bench directories")
    parser.add_argument("--agents", help="comma-separated agents (default: every agent found)")
    parser.add_argument("--csv", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    wanted = set(args.agents.split(",")) if args.agents else None
    rows = []
    for bench in args.bench:
        for metrics in sorted(bench.glob("*/**/seed*/metrics.jsonl")):
            agent = metrics.relative_to(bench).parts[0]
            if wanted is None or agent in wanted:
                life = metrics.parent.relative_to(bench / agent).as_posix()
                found = changes_of(metrics.parent)
                rows += [{"agent": agent, "life": life, **row} for row in found]
    if not rows:
        sys.exit(f"no life with reward bins and changes under {', '.join(map(str, args.bench))}")

    def show(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) and abs(value) < 100 else str(value)

    print(" ".join(f"{c:>14}" for c in COLUMNS))
    for row in rows:
        print(" ".join(f"{show(row[c])[-14:]:>14}" for c in COLUMNS))
    if args.csv:
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
