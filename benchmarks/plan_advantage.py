"""What PLAN adds to the habit, measured on an agent as its life left it.

    python benchmarks/plan_advantage.py runs/cheetah85/abm/*/seed* [--episodes 2] [--steps 1000]

For each life directory, the agent is loaded from its latest checkpoint (`load_agent`) and,
frozen (no learning, no M), acts in fresh episodes of its own world twice over, from the same
starts: by its habit (B's greedy action: the actor's mean, or the best Q) and by PLAN (A's model
searched by `ABMMind.planned`: MPPI warm-started step to step, or `plan` for discrete actions).
It prints the mean reward per step of both and their difference per life, and writes them to
`--csv`. Unlike `mode_returns.py`, which reads what followed the steps M chose to plan, this
compares the two ways of acting on the same states' distribution, so M's choice of when to plan
does not confound it; it says what PLAN would add everywhere, not where M would use it.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lifelong.config import Config
from lifelong.policies import load_agent
from lifelong.worlds import make_world

HEADER = ["life", "episodes", "steps", "habit", "plan", "plan_minus_habit"]


def rollout(mind: Any, world_spec: str, seed: int, steps: int, planning: bool) -> float:
    """Mean reward per step over `steps` world steps from `world.reset(seed)`, episodes chained."""
    world = make_world(world_spec)
    obs, _ = world.reset(seed=seed)
    warm, total = None, 0.0
    try:
        for _ in range(steps):
            with torch.inference_mode():
                z = mind.b_input(torch.as_tensor(obs, dtype=torch.float32)[None])
                if planning:
                    action, warm = mind.planned(z, warm)
                else:
                    action = mind.greedy(z)
            obs, reward, terminated, truncated, _ = world.step(action)
            total += float(reward)
            if terminated or truncated:
                obs, _ = world.reset()
                warm = None
    finally:
        world.close()
    return total / steps


def advantage(directory: Path, episodes: int, steps: int) -> dict[str, Any]:
    """Habit and PLAN of the life in `directory`, `episodes` starts of `steps` steps each."""
    mind = load_agent(directory).mind
    if mind.a is None:
        raise SystemExit(f"{directory}: its agent has no world model to plan in")
    world = Config.load(directory / "config.yaml").world
    habit = [rollout(mind, world, 10_000 + k, steps, False) for k in range(episodes)]
    planned = [rollout(mind, world, 10_000 + k, steps, True) for k in range(episodes)]
    return {
        "life": str(directory),
        "episodes": episodes,
        "steps": steps,
        "habit": float(np.mean(habit)),
        "plan": float(np.mean(planned)),
        "plan_minus_habit": float(np.mean(planned) - np.mean(habit)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lives", nargs="+", type=Path, help="life directories with checkpoints")
    parser.add_argument("--episodes", type=int, default=2, help="starts per way of acting")
    parser.add_argument("--steps", type=int, default=1000, help="world steps per start")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for life in args.lives:
        row = advantage(life, args.episodes, args.steps)
        rows.append(row)
        print(f"{life}: habit {row['habit']:+.4f}  plan {row['plan']:+.4f}"
              f"  plan - habit {row['plan_minus_habit']:+.4f}", flush=True)  # fmt: skip
    margins = [row["plan_minus_habit"] for row in rows]
    ahead = sum(m > 0 for m in margins)
    print(f"PLAN - habit: mean {statistics.mean(margins):+.4f}, PLAN ahead in {ahead} of"
          f" {len(margins)} lives")  # fmt: skip
    if args.csv:
        with args.csv.open("w", newline="") as file:
            writer = csv.DictWriter(file, HEADER)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
