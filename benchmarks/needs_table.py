"""Does each mode of M pay where the world needs it, and stay quiet where it does not?

    python benchmarks/needs_table.py PAIR ARM [ARM ...] [--csv OUT.csv]

PAIR names a row of the needs table (`lifelong needs`: its need world and stationary twin).
Each ARM is `LABEL=DIR:AGENT`, an agent's lives in a finished `needs` bench directory; the first
arm is the reference (the default agent), every other arm is paired with it, world by world and
seed by seed. An ablation lives in the same bench as `abm`
(`ablated=runs/x:abm-no_plan`); a family off by default is switched on in a second bench
(`on=runs/x-on:abm`).

Each life's AUC is turned into the share of the headroom between random and the ceiling of its
world (METRICS.md): random's and the oracle's mean AUC over the same seeds, found in any of the
arms' directories, or the suite's proved ceiling (the lure's). Printed per world: each arm's IQM
share with its 95% bootstrap interval, and each arm's paired difference from the reference with
its interval. The verdict issue 27 asks of a family, read from the arm that differs from the
default only by that family:

- on the need world, the arm with the family must beat the arm without it (the interval of
  their difference excludes zero);
- on the twin, the two must be within 0.02 of the headroom of each other (2%), interval and all.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import yaml

from lifelong.bench import SUITES, life_directory
from lifelong.metrics import auc, bootstrap_ci, iqm, life_records, paired_difference, reward_curve
from lifelong.needs import NEEDS, OPTIONAL

QUIET = 0.02  # the twin's allowance: 2% of the headroom


def life_auc(path: Path) -> float | None:
    """The AUC of one finished life, None if it is not finished."""
    metrics = path / "metrics.jsonl"
    if not (path / "done.json").is_file() or not metrics.is_file():
        return None
    with metrics.open() as f:
        return auc(reward_curve(life_records(json.loads(line) for line in f if line.strip())))


def aucs(directory: Path, agent: str, world: str) -> dict[int, float]:
    """Seed -> AUC of `agent`'s finished lives in `world` in one bench directory."""
    plan = yaml.safe_load((directory / "bench.yaml").read_text())
    suite = SUITES[plan["suite"]]
    found = {}
    for seed in plan["seeds"]:
        value = life_auc(life_directory(directory, suite, agent, world, seed))
        if value is not None:
            found[seed] = value
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", help="a row of the needs table, e.g. plan")
    parser.add_argument("arms", nargs="+", help="LABEL=DIR:AGENT, the reference first")
    parser.add_argument("--csv", type=Path, help="write the table here")
    args = parser.parse_args()
    rows = {need.name: need for need in (*NEEDS, *OPTIONAL)}
    if args.pair not in rows:
        raise SystemExit(f"needs_table: unknown pair {args.pair!r}; pairs: {', '.join(rows)}")
    need = rows[args.pair]
    arms = []
    for arm in args.arms:
        label, _, rest = arm.partition("=")
        directory, _, agent = rest.rpartition(":")
        if not (label and directory and agent) or not (Path(directory) / "bench.yaml").is_file():
            raise SystemExit(f"needs_table: {arm!r} is not LABEL=DIR:AGENT with DIR a bench")
        arms.append((label, Path(directory), agent))
    suite = SUITES["needs-mujoco" if need in OPTIONAL else "needs"]
    out = []
    for role, world in (("need", need.world), ("twin", need.twin)):
        floor = [v for _, d, _ in arms for v in aucs(d, "random", world).values()]
        oracle = [v for _, d, _ in arms for v in aucs(d, "oracle", world).values()]
        ceiling = suite.ceilings.get(world, statistics.fmean(oracle) if oracle else None)
        if not floor or ceiling is None:
            raise SystemExit(f"needs_table: no random or ceiling for {world} in these benches")
        low = statistics.fmean(floor)
        shares = {
            label: {s: (v - low) / (ceiling - low) for s, v in aucs(d, agent, world).items()}
            for label, d, agent in arms
        }
        print(f"{role}: {world}\n  random {low:.4f}, ceiling {ceiling:.4f} (AUC)")
        reference = arms[0][0]
        for label, _, agent in arms:
            values = list(shares[label].values())
            lo, hi = bootstrap_ci(values) if len(values) > 1 else (None, None)
            line = f"  {label:<14} {agent:<16} share {iqm(values):+.3f}"
            line += f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
            row = {"pair": need.name, "role": role, "world": world, "arm": label, "agent": agent,
                   "share_iqm": iqm(values), "seeds": len(values)}  # fmt: skip
            if label != reference:
                seeds = sorted(set(shares[label]) & set(shares[reference]))
                diff = paired_difference([[shares[label][s] - shares[reference][s] for s in seeds]])
                if diff["mean"] is not None:
                    line += f"   - {reference}: {diff['mean']:+.3f}"
                    if diff["low"] is not None:
                        line += f" [{diff['low']:+.3f}, {diff['high']:+.3f}]"
                        quiet = max(abs(diff["low"]), abs(diff["high"])) <= QUIET
                        verdict = ("differs" if diff["excludes_zero"] else "level") + (
                            ", within 2%" if quiet else ""
                        )
                        line += f" {verdict}, {len(seeds)} pairs"
                    row.update(difference=diff["mean"], low=diff["low"], high=diff["high"])
            print(line)
            out.append(row)
    if args.csv:
        fields = ["pair", "role", "world", "arm", "agent", "share_iqm", "seeds", "difference"]
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[*fields, "low", "high"], restval="")
            writer.writeheader()
            writer.writerows(out)


if __name__ == "__main__":
    main()
