"""Run (or continue) a benchmark suite, commit its numbers, print the table for docs/benchmarks.md.

    python benchmarks/suites.py nursery --seeds 3 --jobs 2
    python benchmarks/suites.py bandits --seeds 100-109 --jobs 2      # a reported table

Lives go to runs/bench-<suite> (resumable: finished lives are not rerun); the summary is copied
to benchmarks/results/<suite>.csv, the suite's reported table, and its paired differences
(paired.csv, against --reference, abm by default) to benchmarks/results/<suite>-paired.csv.
--seeds takes what `lifelong bench --seeds` takes (a count, a range A-B, a list A,B,...; see
benchmarks/results/README.md for the protocol). The headline ratios compare the A-B-M agent with the
baselines on *random-normalised* AUC, (AUC - AUC_random), because the Nursery's rewards are
mostly costs: a ratio of raw negative AUCs would mean nothing.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from lifelong.bench import SUITES, run_bench

COLUMNS = (
    ("auc", "AUC", "{:+.4f}"),
    ("recovery_median", "recovery (steps)", "{:,.0f}"),
    ("aligned_recovery_median", "recovery, aligned (steps)", "{:,.0f}"),
    ("drop_mean", "drop", "{:.4f}"),
    ("regret_mean", "regret", "{:.1f}"),
    ("forgetting_mean", "forgetting", "{:+.4f}"),
    ("detection_delay_median", "detect delay", "{:,.0f}"),
    ("false_alarms_per_1e5", "false alarms/1e5", "{:.0f}"),
    ("coverage", "coverage", "{:.2f}"),
    ("tv_fraction", "TV in view", "{:.2f}"),
    ("env_steps_per_s", "env steps/s", "{:,.0f}"),
)


def cell(summary: dict, agent: str, metric: str, fmt: str) -> str:
    value = summary["agents"][agent].get(metric, {})
    if not value or value.get("iqm") is None:
        return "-"
    text = fmt.format(value["iqm"])
    if value.get("low") is not None and value.get("high") is not None:
        text += f" [{fmt.format(value['low'])}, {fmt.format(value['high'])}]"
    return text


def table(summary: dict) -> str:
    present = [c for c in COLUMNS if any(c[0] in t for t in summary["agents"].values())]
    lines = [
        "| agent | " + " | ".join(title for _, title, _ in present) + " |",
        "|---" * (len(present) + 1) + "|",
    ]
    for agent in summary["agents"]:
        cells = [cell(summary, agent, metric, fmt) for metric, _, fmt in present]
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(summary: dict) -> str:
    agents = summary["agents"]

    def iqm(agent: str, metric: str) -> float | None:
        return agents.get(agent, {}).get(metric, {}).get("iqm")

    out = []
    floor = iqm("random", "auc")
    ours = iqm("abm", "auc")
    if floor is not None and ours is not None:
        rivals = {
            a: iqm(a, "auc") - floor
            for a in agents
            if a not in ("abm", "random", "oracle") and iqm(a, "auc") is not None
        }  # the oracle reads the world's truth: the ceiling, not a rival
        if rivals:
            best = max(rivals, key=rivals.get)
            gain = ours - floor
            ratio = gain / rivals[best] if rivals[best] > 0 else float("nan")
            out.append(
                f"A-B-M AUC above random {gain:+.4f}; best baseline {best} {rivals[best]:+.4f};"
                f" ratio {ratio:.2f} (target >= 1.3)"
            )
            ceiling = iqm("oracle", "auc")
            if ceiling is not None and ceiling > floor:
                share = gain / (ceiling - floor)
                out.append(f"A-B-M share of the headroom to the oracle {share:.2f}")
    # Change-aligned (fine bins): the records' recovery_median cannot see below one record.
    rt_ours = iqm("abm", "aligned_recovery_median")
    rt_b = iqm("b_only", "aligned_recovery_median")
    if rt_ours is not None and rt_b:
        out.append(
            f"median change-aligned recovery A-B-M {rt_ours:,.0f} vs b_only {rt_b:,.0f} steps:"
            f" ratio {rt_ours / rt_b:.2f} (target <= 0.5)"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--seeds", default="3", help="a count N, a range A-B or a list A,B,...")
    parser.add_argument("--reference", help="agent the others are paired with (default: abm)")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--agents")
    parser.add_argument("--dir", type=Path, help="bench directory (default runs/bench-SUITE)")
    args = parser.parse_args()
    directory = args.dir or Path("runs") / f"bench-{args.suite}"
    agents = args.agents.split(",") if args.agents else None
    summary = run_bench(
        args.suite, agents, args.seeds, args.steps, args.jobs, directory, reference=args.reference
    )
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    shutil.copy(directory / "summary.csv", results / f"{args.suite}.csv")
    if (directory / "paired.csv").exists():
        shutil.copy(directory / "paired.csv", results / f"{args.suite}-paired.csv")
    print(f"\n{args.suite}: {summary['steps']:,} steps x seeds {summary['seeds']}\n")
    print(table(summary))
    print()
    print(headline(summary))
    for note in summary["notes"]:
        print("note:", note)
    for failure in summary["failures"]:
        print("FAILED", failure)


if __name__ == "__main__":
    main()
