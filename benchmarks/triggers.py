"""How often each of M's triggers would fire, in a world that changes and in its stationary twin.

    python benchmarks/triggers.py [--worlds 'nursery;STATIONARY'] [--seeds 0-2] [--steps 20000]
        [--agent abm] [--genes plan_rules=1,sleep_rules=1] [--csv OUT.csv]

Issue 27 asks that in a mastered stationary world each trigger fire on < 1% of ticks: a trigger
that fires on noise holds a fixed share of the agent's time whatever it knows. An `--agent`
lives `--steps` world steps of each world with its own M, its newborn genome changed by
`--genes` (by default PLAN and SLEEP switched on, off in the newborn: whether planning pays can
only be measured by planning, and sleep changes what is learnt). The explore triggers are read
after every world step from the meta-state with the genome's thresholds (their rules are off);
PLAN and SLEEP are counted as M chose them:

    progress     learning progress > progress_threshold, the model of intermediate reliability
                 (the windowed test of `lifelong/progress.py`)
    progress_ema the same rule on the old signal, (slow - fast) / slow of two EMAs of A's error
    surprise     surprise > surprise_threshold
    plan         ticks in PLAN admitted by a significant advantage (rule "planning pays")
    plan_trials  ticks in PLAN on trial spells
    sleep        ticks asleep (pressure rises only while replay is what learning lacks)
    replay_need  world steps on which the telemetry reads that replay is what learning lacks
    plan_measured world steps on which PLAN's advantage had a verdict (each mode had 5 spells)

Printed: the share of ticks (world steps, sleep and imagine ticks) each fires in the first and
the last quarter of each life, the mean over seeds. STATIONARY is the Nursery without seasons,
storms, slipping or predator: nothing in it changes, and what is left to learn is learnt early;
the noisy TV stays, since noise is what a trigger must ignore. One process, one thread.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections.abc import Callable
from pathlib import Path

import torch

import lifelong
from lifelong.config import newborn
from lifelong.genome import Genome
from lifelong.protocol import parse_seeds
from lifelong.signals import MetaState
from lifelong.worlds import make_world

STATIONARY = "nursery(season_length=100000000,storm_mean_interval=0,slip=0,predator=False)"


def triggers(g: Genome) -> dict[str, Callable[[MetaState], bool]]:
    """Each trigger's condition on the meta-state, as `MetaController._choose` reads it."""

    def intermediate(s: MetaState) -> bool:
        return g.complexity_low < s.model_reliability < g.complexity_high

    def ema_progress(s: MetaState) -> float:
        slow = s.prediction_error_slow
        return (slow - s.prediction_error_fast) / (slow + 1e-8) if slow > 0 else 0.0

    return {
        "progress": lambda s: s.learning_progress > g.progress_threshold and intermediate(s),
        "progress_ema": lambda s: ema_progress(s) > g.progress_threshold and intermediate(s),
        "surprise": lambda s: s.surprise > g.surprise_threshold,
        "replay_need": lambda s: s.replay_need > 0,
        "plan_measured": lambda s: s.plan_significance != 0,
    }


CHOSEN = ("plan", "plan_trials", "sleep")  # counted from M's choices, in ticks
TRIGGERS = ["progress", "progress_ema", "surprise", *CHOSEN, "replay_need", "plan_measured"]


def parse_genes(text: str) -> dict[str, float]:
    """'plan_rules=1,sleep_rules=1' -> {'plan_rules': 1.0, 'sleep_rules': 1.0}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {name.strip(): float(value) for name, value in pairs}


def live(
    world: str, agent: str, seed: int, steps: int, genes: dict[str, float]
) -> tuple[dict[str, list[int]], list[int]]:
    """Per trigger, how often it fired at each world step of one life (the ticks before it and
    the step itself), and the ticks each world step took."""
    env = make_world(world)
    genome = newborn(env.action_space)
    genome = genome.replace(**{k: type(getattr(genome, k))(v) for k, v in genes.items()})
    stepwise = lifelong.make_agent(
        env.observation_space, env.action_space, agent=agent, genome=genome, seed=seed
    )
    body = stepwise.agent
    conditions = triggers(body.genome)
    fired: dict[str, list[int]] = {name: [] for name in TRIGGERS}
    ticks: list[int] = []
    obs, info = env.reset(seed=seed)
    for _ in range(steps):
        before = dict(body.counters)
        action = stepwise.act(obs, info)
        mode, rule = body.meta.mode.value, body.meta.rule
        obs, reward, terminated, truncated, info = env.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        state = body.telemetry.meta_state()
        for name, condition in conditions.items():
            fired[name].append(int(condition(state)))
        fired["plan"].append(int(mode == "plan" and rule == "planning pays"))
        fired["plan_trials"].append(int(mode == "plan" and rule != "planning pays"))
        fired["sleep"].append(body.counters["sleep_ticks"] - before["sleep_ticks"])
        ticks.append(body.counters["ticks"] - before["ticks"])
        if terminated or truncated:
            obs, info = env.reset()
    return fired, ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default=f"nursery;{STATIONARY}", help="';'-separated")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--agent", default="abm")
    parser.add_argument("--genes", default="plan_rules=1,sleep_rules=1", help="k=v,... changes")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    worlds = [w.strip() for w in args.worlds.split(";") if w.strip()]
    rows = []
    for world in worlds:
        for seed in parse_seeds(args.seeds):
            fired, ticks = live(world, args.agent, seed, args.steps, parse_genes(args.genes))
            quarter = args.steps // 4
            for name, counts in fired.items():
                # Triggers read per world step are shares of world steps; M's choices of ticks.
                per = ticks if name in CHOSEN else [1] * len(counts)
                first = sum(counts[:quarter]) / sum(per[:quarter])
                last = sum(counts[-quarter:]) / sum(per[-quarter:])
                row = {"world": world, "seed": seed, "genes": args.genes, "steps": args.steps}
                row["trigger"] = name
                shares = {"first_quarter": round(first, 4), "last_quarter": round(last, 4)}
                rows.append({**row, **shares})
            print(f"lived {world} seed {seed}", flush=True)
    print(f"\n{'world':<28} {'trigger':<13} {'first quarter':>14} {'last quarter':>13}")
    for world in worlds:
        for name in TRIGGERS:
            mine = [r for r in rows if r["world"] == world and r["trigger"] == name]
            first = statistics.mean(r["first_quarter"] for r in mine)
            last = statistics.mean(r["last_quarter"] for r in mine)
            label = "stationary twin" if world == STATIONARY else world
            print(f"{label:<28} {name:<13} {100 * first:>13.1f}% {100 * last:>12.1f}%")
    if args.csv:
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
