"""How often each of M's triggers would fire, in a world that changes and in its stationary twin.

    python benchmarks/triggers.py [--worlds 'nursery;STATIONARY'] [--seeds 0-2] [--steps 20000]
        [--agent abm] [--csv OUT.csv]

Issue 27 asks that in a mastered stationary world each trigger fire on < 1% of ticks: a trigger
that fires on noise holds a fixed share of the agent's time whatever it knows. An `--agent`
lives `--steps` world steps of each world with its own M (whose explore, plan and sleep rules
are off by default), and after every step each trigger's condition is read from the meta-state
with the genome's thresholds, whether or not its rule is on:

    progress     learning progress > progress_threshold, the model of intermediate reliability
                 (the windowed test of `lifelong/progress.py`)
    progress_ema the same rule on the old signal, (slow - fast) / slow of two EMAs of A's error
    surprise     surprise > surprise_threshold
    plan         model reliable and plan_advantage > plan_margin
    sleep        sleep_pressure >= sleep_threshold

Printed: the share of ticks each trigger fires in the first and the last quarter of each life,
the mean over seeds. STATIONARY is the Nursery without seasons, storms, slipping or predator:
nothing in it changes, and what is left to learn is learnt early; the noisy TV stays, since
noise is what a trigger must ignore. One process, one thread.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections.abc import Callable
from pathlib import Path

import torch

import lifelong
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
        "plan": lambda s: (
            s.model_reliability >= g.plan_reliability and s.plan_advantage > g.plan_margin
        ),
        "sleep": lambda s: s.sleep_pressure >= g.sleep_threshold,
    }


def live(world: str, agent: str, seed: int, steps: int) -> dict[str, list[bool]]:
    """Per trigger, whether it would fire after each world step of one life."""
    env = make_world(world)
    stepwise = lifelong.make_agent(env.observation_space, env.action_space, agent=agent, seed=seed)
    conditions = triggers(stepwise.agent.genome)
    fired: dict[str, list[bool]] = {name: [] for name in conditions}
    obs, info = env.reset(seed=seed)
    for _ in range(steps):
        action = stepwise.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        state = stepwise.agent.telemetry.meta_state()
        for name, condition in conditions.items():
            fired[name].append(bool(condition(state)))
        if terminated or truncated:
            obs, info = env.reset()
    return fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default=f"nursery;{STATIONARY}", help="';'-separated")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--agent", default="abm")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    worlds = [w.strip() for w in args.worlds.split(";") if w.strip()]
    rows = []
    for world in worlds:
        for seed in parse_seeds(args.seeds):
            fired = live(world, args.agent, seed, args.steps)
            quarter = args.steps // 4
            for name, flags in fired.items():
                first, last = flags[:quarter], flags[-quarter:]
                rows.append(
                    {
                        "world": world,
                        "seed": seed,
                        "trigger": name,
                        "first_quarter": sum(first) / len(first),
                        "last_quarter": sum(last) / len(last),
                    }
                )
            print(f"lived {world} seed {seed}", flush=True)
    print(f"\n{'world':<28} {'trigger':<13} {'first quarter':>14} {'last quarter':>13}")
    for world in worlds:
        for name in triggers(Genome()):
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
