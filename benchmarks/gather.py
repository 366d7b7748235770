"""Gather the summaries of several bench directories into one experiment table.

    python benchmarks/gather.py OUT.csv DIR [DIR ...] [--metrics auc,env_steps_per_s]

An experiment is a few small benches that differ in one setting (`--set replay_ratio=0.5`, an
older commit, ...). Each DIR's `summary.csv` rows for the chosen metrics are copied with two
columns in front: `setting` (the directory's name) and `changes` (the genome changes its
bench.yaml records), and with the bench's commit, so one committed file shows the whole
experiment and how each row was made.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml


def rows_of(directory: Path, metrics: set[str], unrecorded: str = "") -> list[dict[str, str]]:
    """The chosen metrics' rows of one bench's summary, with its setting and commit
    (`unrecorded` for a bench made before benches recorded theirs)."""
    summary = directory / "summary.csv"
    if not summary.is_file():
        raise SystemExit(f"gather: {directory} has no summary.csv (is the bench finished?)")
    plan = yaml.safe_load((directory / "bench.yaml").read_text()) or {}
    changes = " ".join(f"{k}={v}" for k, v in sorted((plan.get("genome") or {}).items()))
    with summary.open() as f:
        rows = [row for row in csv.DictReader(f) if row["metric"] in metrics]
    commit = plan.get("commit") or unrecorded
    return [
        {"setting": directory.name, "changes": changes or "defaults", "commit": commit, **row}
        | {"commit": row.get("commit") or commit}
        for row in rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the CSV to write")
    parser.add_argument("dirs", type=Path, nargs="+", help="bench directories, one per setting")
    parser.add_argument("--metrics", default="auc,env_steps_per_s", help="comma-separated")
    parser.add_argument(
        "--commit", default="", help="the commit of benches that did not record one (older ones)"
    )
    args = parser.parse_args(argv)
    metrics = set(args.metrics.split(","))
    rows = [row for directory in args.dirs for row in rows_of(directory, metrics, args.commit)]
    fields = ["setting", "changes", "agent", "metric", "iqm", "low", "high", "seeds", "commit"]
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"gather: {len(rows)} rows from {len(args.dirs)} benches -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
