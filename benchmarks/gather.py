"""Gather the summaries of several bench directories into one experiment table.

    python benchmarks/gather.py OUT.csv DIR [DIR ...] [--metrics auc,env_steps_per_s]

An experiment is a few small benches that differ in one setting (`--set replay_ratio=0.5`, an
older commit, ...). Each DIR's `summary.csv` rows for the chosen metrics are copied with two
columns in front: `setting` (the directory's name) and `changes` (the genome changes its
bench.yaml records), and with the bench's commit, so one committed file shows the whole
experiment and how each row was made.

    python benchmarks/gather.py OUT.csv REF DIR [DIR ...] --against REF

adds, for every other DIR, each agent's paired difference from the same agent in REF (the
bench named by its directory's name), seed by seed, with its bootstrap interval: whether a
setting beats the default (`lifelong.metrics.paired_difference`; a default flips only when
the interval excludes zero). Benches compared so must share their seeds and worlds.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml

from lifelong.metrics import paired_difference


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


def _values(cell: str) -> list[float | None]:
    return [None if v in ("", "nan", "None") else float(v) for v in cell.split()]


def paired_rows(
    rows: list[dict[str, str]], reference: str, plans: dict[str, dict]
) -> list[dict[str, str]]:
    """Each setting's paired difference from `reference`, per agent and metric (see above)."""
    if reference not in plans:
        raise SystemExit(f"gather: --against {reference}: no bench of that name among the DIRs")
    base = plans[reference]
    for name, plan in plans.items():
        if (plan.get("seeds"), plan.get("worlds")) != (base.get("seeds"), base.get("worlds")):
            raise SystemExit(f"gather: {name} and {reference} differ in seeds or worlds")
    before = {(r["agent"], r["metric"]): r for r in rows if r["setting"] == reference}
    paired = []
    for row in rows:
        other = before.get((row["agent"], row["metric"]))
        if row["setting"] == reference or other is None:
            continue
        diffs = [
            None if a is None or b is None else a - b
            for a, b in zip(_values(row["seeds"]), _values(other["seeds"]), strict=True)
        ]
        result = paired_difference([diffs])
        if result["mean"] is None:
            continue
        paired.append(
            row
            | {
                "setting": f"{row['setting']} - {reference}",
                "iqm": f"{result['mean']:.6g}",
                "low": "" if result["low"] is None else f"{result['low']:.6g}",
                "high": "" if result["high"] is None else f"{result['high']:.6g}",
                "seeds": " ".join("" if d is None else f"{d:.6g}" for d in diffs),
                "excludes_zero": "yes" if result["excludes_zero"] else "no",
            }
        )
    return paired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the CSV to write")
    parser.add_argument("dirs", type=Path, nargs="+", help="bench directories, one per setting")
    parser.add_argument("--metrics", default="auc,env_steps_per_s", help="comma-separated")
    parser.add_argument(
        "--commit", default="", help="the commit of benches that did not record one (older ones)"
    )
    parser.add_argument("--against", help="the DIR name every other DIR is paired against")
    args = parser.parse_args(argv)
    metrics = set(args.metrics.split(","))
    rows = [row for directory in args.dirs for row in rows_of(directory, metrics, args.commit)]
    if args.against:
        plans = {d.name: yaml.safe_load((d / "bench.yaml").read_text()) or {} for d in args.dirs}
        rows += paired_rows(rows, args.against, plans)
    fields = ["setting", "changes", "agent", "metric", "iqm", "low", "high", "seeds", "commit"]
    fields += ["excludes_zero"] if args.against else []
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"gather: {len(rows)} rows from {len(args.dirs)} benches -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
