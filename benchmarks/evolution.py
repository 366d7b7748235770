"""The documented evolution: evolve a genome, then re-evaluate it on held-out seeds.

    python benchmarks/evolution.py [--world nursery-small] [--population 8] [--generations 6]
        [--lifetime 5000] [--held-out 6] [--jobs 2] [--dir runs/evolution-bench]
        [--freeze cost,warmup]

1. `lifelong evolve` with those sizes and `--freeze cost,warmup` (network sizes, the learning
   schedule and the warm-up stay at the default, so every life costs about the same and the run
   fits in 15 minutes on two cores, and evolution cannot choose not to learn at all; what evolves
   is System M, the signals' rates, learning rates, discount, ...).
   The evolution is resumable: rerunning the script continues it in --dir (use a fresh --dir
   after changing the code: finished generations and held-out lives are not lived again).
2. The default genome, the evolution's best genome (best.yaml: the fittest of the last
   generation) and the CMA-ES mean (mean.yaml) each live the same `--held-out` lives: the last
   curriculum level's world variants with seeds the evolution never used.
3. Prints one row per genome (mean fitness, AUC and adaptation over the held-out lives, and how
   many lives it beat the default genome in) and writes every held-out life to --out.

Fitness is the evolution's own: auc_weight * AUC + adaptation_weight * adaptation per life
(lifelong.evolve.life_measures), with the default weights.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from lifelong.evolve import evaluate, make_settings, run_evolution
from lifelong.genome import Genome

HELD_OUT_BASE = 10**9  # held-out seeds count up from here; the evolution draws below 2**31 - 1


def held_out_lives(directory: Path, settings, count: int) -> list[tuple[str, int]]:
    """`count` lives over the last level's variants, with seeds no generation lived."""
    used = {seed for g in json.loads((directory / "state.json").read_text())["generations"]
            for _, seed in g["lives"]}  # fmt: skip
    seeds = [s for s in range(HELD_OUT_BASE, HELD_OUT_BASE + count + len(used)) if s not in used]
    variants = settings.variants(settings.curriculum[-1])
    return [(variants[k % len(variants)], seeds[k]) for k in range(count)]


def summarise(name: str, lives: list[dict], default: list[dict]) -> dict:
    scores = np.array([np.nan if life["score"] is None else life["score"] for life in lives])
    base = np.array([np.nan if life["score"] is None else life["score"] for life in default])
    paired = np.isfinite(scores) & np.isfinite(base)
    return {
        "genome": name,
        "fitness": float(np.nanmean(scores)),
        "fitness_sd": float(np.nanstd(scores)),
        "auc": float(np.nanmean([np.nan if x["auc"] is None else x["auc"] for x in lives])),
        "adaptation": float(
            np.nanmean([np.nan if x["adaptation"] is None else x["adaptation"] for x in lives])
        ),
        "beats_default": f"{int((scores[paired] > base[paired]).sum())}/{int(paired.sum())}",
        "failed": sum(life["error"] is not None for life in lives),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="nursery-small")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--lifetime", type=int, default=5000)
    parser.add_argument("--held-out", type=int, default=6, help="held-out lives per genome")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--freeze",
        default="cost,warmup",
        help="fields kept at the default (warmup too: in 5k-step lives evolution otherwise"
        " learns to not learn, raising warmup past the lifetime)",
    )
    parser.add_argument("--dir", type=Path, default=Path("runs/evolution-bench"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/evolution.csv"))
    args = parser.parse_args()

    asked = {"worlds": [args.world], "population": args.population, "lifetime": args.lifetime,
             "generations": args.generations, "seed": args.seed,
             "frozen": args.freeze.split(",")}  # fmt: skip
    settings = make_settings(asked, args.dir)
    began = time.perf_counter()
    run_evolution(settings, args.dir, jobs=args.jobs, progress=print)
    evolved = time.perf_counter() - began

    if not (args.dir / "best.yaml").exists():
        raise SystemExit(
            f"no genome of the last generation had a fitness: see {args.dir}/history.csv and"
            f" {args.dir}/lives/*/*/*/failed.txt"
        )
    genomes = {"default": Genome(**settings.start), "best": Genome.load(args.dir / "best.yaml")}
    if (args.dir / "mean.yaml").exists():
        genomes["mean"] = Genome.load(args.dir / "mean.yaml")
    lives = held_out_lives(args.dir, settings, args.held_out)
    began = time.perf_counter()
    table = evaluate(genomes, lives, settings.lifetime, args.dir / "held-out", jobs=args.jobs)
    checked = time.perf_counter() - began

    rows = [summarise(name, table[name], table["default"]) for name in genomes]
    print(f"\nheld-out: {len(lives)} lives of {settings.lifetime} steps per genome"
          f" ({', '.join(sorted({w for w, _ in lives}))})")  # fmt: skip
    print(
        f"{'genome':<8} {'fitness (sd)':>22} {'AUC':>10} {'adaptation':>11} {'beats default':>14}"
    )
    for row in rows:
        print(
            f"{row['genome']:<8} {row['fitness']:>+11.5f} ({row['fitness_sd']:.5f})"
            f" {row['auc']:>+10.5f} {row['adaptation']:>+11.3f} {row['beats_default']:>14}"
            + (f"  ({row['failed']} failed)" if row["failed"] else "")
        )
    generations = json.loads((args.dir / "state.json").read_text())["generations"]
    total = sum(g["seconds"] for g in generations)
    print(
        f"evolution {total:.0f} s over {len(generations)} generations ({evolved:.0f} s in this"
        f" call), held-out lives {checked:.0f} s"
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["genome", "world", "seed", "auc", "adaptation", "fitness", "error"])
        for name, results in table.items():
            for life in results:
                numbers = (life["auc"], life["adaptation"], life["score"])
                writer.writerow([name, life["world"], life["seed"],
                                 *("" if v is None else f"{v:.6g}" for v in numbers),
                                 life["error"] or ""])  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
