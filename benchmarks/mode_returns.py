"""What acting in each mode earned: realised n-step returns after PLAN, EXPLOIT, ... per life.

    python benchmarks/mode_returns.py runs/bench-nursery [--agent abm] [--csv FILE]

Every record of a life carries `return_after_<mode>`: the mean discounted n-step return realised
after the world steps taken in that mode, over the life so far. The last record of each life is
its lifetime figure. This prints one row per seed, the mean over seeds, and PLAN's margin over
EXPLOIT, the measure the issue asks PLAN to pass (the comparison is confounded by when M chooses
to plan, so it says whether PLAN pays where it runs, not what PLAN would do everywhere).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

from lifelong.records import read_jsonl

MODES = ("observe", "explore", "exploit", "plan")


def lifetime_returns(bench: Path, agent: str) -> dict[str, dict[str, float]]:
    """{life: {mode: lifetime return}} for each life of `agent`; a life is named by its seed
    directory, with its world's directory in front when the bench has several worlds."""
    found = {}
    for path in sorted((bench / agent).glob("**/seed*/metrics.jsonl")):
        records = read_jsonl(path)
        if records:
            last = records[-1]
            found[path.parent.relative_to(bench / agent).as_posix()] = {
                mode: last[f"return_after_{mode}"]
                for mode in MODES
                if last.get(f"return_after_{mode}") is not None
            }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="a bench directory (lifelong bench --dir)")
    parser.add_argument("--agent", default="abm")
    parser.add_argument("--csv", type=Path, help="also write the per-seed table here")
    args = parser.parse_args()
    lives = lifetime_returns(args.bench, args.agent)
    if not lives:
        parser.error(f"no lives of {args.agent!r} under {args.bench}")
    width = max(8, *(len(name) + 2 for name in lives))
    print(f"{'life':<{width}}" + "".join(f"{mode:>10}" for mode in MODES))
    for seed, returns in lives.items():
        cells = "".join(f"{returns[m]:>+10.4f}" if m in returns else f"{'-':>10}" for m in MODES)
        print(f"{seed:<{width}}{cells}")
    means = {
        mode: statistics.mean(r[mode] for r in lives.values() if mode in r)
        for mode in MODES
        if any(mode in r for r in lives.values())
    }
    print(
        f"{'mean':<{width}}"
        + "".join(f"{means[m]:>+10.4f}" if m in means else f"{'-':>10}" for m in MODES)
    )
    margins = [r["plan"] - r["exploit"] for r in lives.values() if {"plan", "exploit"} <= set(r)]
    if margins:
        better = sum(m > 0 for m in margins)
        print(f"PLAN - EXPLOIT: mean {statistics.mean(margins):+.4f}, PLAN ahead in "
              f"{better} of {len(margins)} lives")  # fmt: skip
    if args.csv:
        with args.csv.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["agent", "seed", *MODES])
            for seed, returns in lives.items():
                writer.writerow([args.agent, seed, *(returns.get(m, "") for m in MODES)])


if __name__ == "__main__":
    main()
