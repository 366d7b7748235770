"""The Nursery's headroom (issue 27): every policy's reward as a share of random-to-oracle.

    python benchmarks/nursery_headroom.py [--steps 16000] [--seeds 0,1,2]
        [--worlds "nursery;nursery(teachers=0,predator=False)"]
        [--agents abm,b_only,abm_never,b_only_never] [--set KEY=VALUE ...] [--csv FILE]

For each world and seed: uniform random, each constant action, the scripted oracle
(`lifelong.worlds.nursery_oracle`, which reads the world's truth) and the named agents live
`--steps` world steps from the same seed. `<agent>_never` is that agent with its warm-up beyond
the life: born the same, never updated, so what it earns is what M's modes and the newborn
networks earn without learning. Printed and written per life: the whole life's mean reward (AUC),
the last quarter's, the last quarter's on EXPLOIT ticks (what B's own policy earned, apart from
the teacher's lead in OBSERVE) and the share of the headroom,
(x - random) / (oracle - random), each on that seed's random and oracle.

The tests' learning checks (tests/test_life.py) use `scripted_rates` and `agent_rates` from here,
so the numbers in docs/benchmarks.md ("The Nursery's headroom (issue 27)") and the tests' are
measured the same way.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.baselines import oracle_for
from lifelong.config import parse_overrides
from lifelong.errors import UserError
from lifelong.life import open_life, read_metrics
from lifelong.modes import Mode
from lifelong.worlds import make_world
from lifelong.worlds.nursery import Nursery

WORLDS = ("nursery", "nursery(teachers=0,predator=False)")
AGENTS = ("abm", "b_only", "abm_never", "b_only_never")
NEVER = "_never"  # suffix: the agent with its warm-up beyond the life (it never learns)
NEVER_WARMUP = 1_000_000  # the genome's largest warm-up; lives here are far shorter
CONSTANTS = tuple(f"always_{name}" for name in Nursery.ACTIONS)
QUIET_LIFE = {"tensorboard": False, "checkpoint_every": 10**9, "diagnose_every": 0}


def _rates(rewards: list[float]) -> dict[str, float]:
    """The whole life's mean reward per step (AUC) and its last quarter's."""
    return {
        "auc": float(np.mean(rewards)),
        "last_quarter": float(np.mean(rewards[-len(rewards) // 4 :])),
    }


def scripted_rates(world: str, steps: int, seed: int) -> dict[str, dict[str, float]]:
    """Uniform random (seeded with the life's seed), each constant action and the world's
    oracle, each a life of `steps` from `seed`: {policy: {"auc", "last_quarter"}}."""
    lives: dict[str, Callable[[Any], Callable[[], int]]] = {"random": _uniform(seed)}
    for action, name in enumerate(CONSTANTS):
        lives[name] = lambda env, action=action: lambda: action
    lives["oracle"] = lambda env: oracle_for(env, world)
    found = {}
    for name, policy_for in lives.items():
        env = make_world(world)
        env.reset(seed=seed)
        act = policy_for(env)
        found[name] = _rates([float(env.step(act())[1]) for _ in range(steps)])
        env.close()
    return found


def _uniform(seed: int) -> Callable[[Any], Callable[[], int]]:
    def policy_for(env: Any) -> Callable[[], int]:
        rng = np.random.default_rng(seed)
        n = int(env.action_space.n)
        return lambda: int(rng.integers(n))

    return policy_for


def agent_rates(
    directory: Path,
    agent: str,
    world: str,
    seed: int,
    steps: int,
    genome: dict[str, Any] | None = None,
) -> dict[str, float]:
    """A life of `agent` (`<agent>_never`: with its warm-up beyond the life) in `directory`:
    its AUC, last quarter, and over the last quarter the mean reward of the world steps taken
    in EXPLOIT (`exploit`, None if it took none) and their share of its world steps
    (`exploit_share`). The reward of each step is credited to the mode it was taken in."""
    name, never = (agent[: -len(NEVER)], True) if agent.endswith(NEVER) else (agent, False)
    changes = {**(genome or {}), **({"warmup": NEVER_WARMUP} if never else {})}
    config = {**QUIET_LIFE, "agent": name, "log_every": max(steps // 16, 1)}
    life = open_life(directory, world, seed, config_changes=config, genome_changes=changes)
    body = life.agent
    observe = body.observe
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    since = steps - steps // 4

    def counted(action: Any, obs: Any, reward: float, terminated: bool, info: dict) -> None:
        if body.counters["env_steps"] >= since:
            sums[body.meta.mode.value] += reward
            counts[body.meta.mode.value] += 1
        observe(action, obs, reward, terminated, info)

    body.observe = counted  # type: ignore[method-assign]
    life.run(steps)
    records = read_metrics(directory)
    rewards = [r["reward_rate"] for r in records]  # equal intervals: their mean is the AUC
    exploit = Mode.EXPLOIT.value
    return {
        "auc": float(np.mean(rewards)),
        "last_quarter": sum(sums.values()) / max(sum(counts.values()), 1),
        "exploit": sums[exploit] / counts[exploit] if counts[exploit] else None,
        "exploit_share": counts[exploit] / max(sum(counts.values()), 1),
        "updates_b": records[-1]["updates_b"],
    }


def share(value: float | None, floor: float, ceiling: float) -> float | None:
    """(value - random) / (oracle - random): 0 is chance, 1 the oracle."""
    return None if value is None else (value - floor) / (ceiling - floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--worlds", default=";".join(WORLDS), help="';'-separated specs")
    parser.add_argument("--agents", default=",".join(AGENTS), help="comma-separated ('' none)")
    parser.add_argument("--csv", type=Path, help="write one row per world, seed and policy")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="genome field (all agents)"
    )
    args = parser.parse_args()
    try:
        config_changes, genome_changes = parse_overrides(args.set)
    except UserError as error:
        parser.error(str(error))
    if config_changes:
        parser.error(f"--set takes genome fields only; {next(iter(config_changes))!r} is a config")
    seeds = [int(s) for s in args.seeds.split(",")]
    agents = [a for a in args.agents.split(",") if a]
    rows = []
    for world in args.worlds.split(";"):
        for seed in seeds:
            found: dict[str, dict[str, Any]] = scripted_rates(world, args.steps, seed)
            best = max(CONSTANTS, key=lambda c: found[c]["last_quarter"])
            found["best_constant"] = {**found[best], "which": best}
            for agent in agents:
                with tempfile.TemporaryDirectory() as directory:
                    found[agent] = agent_rates(
                        Path(directory), agent, world, seed, args.steps, genome=genome_changes
                    )
            floor, ceiling = found["random"]["last_quarter"], found["oracle"]["last_quarter"]
            for policy, rates in found.items():
                row = {"world": world, "seed": seed, "steps": args.steps, "policy": policy}
                row |= {k: rates.get(k) for k in ("auc", "last_quarter", "exploit")}
                row["share_last_quarter"] = share(rates["last_quarter"], floor, ceiling)
                row["share_exploit"] = share(rates.get("exploit"), floor, ceiling)
                row["note"] = rates.get("which", "")
                rows.append(row)
                print(_line(row), flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(
                {k: f"{v:.5g}" if isinstance(v, float) else v for k, v in row.items()}
                for row in rows
            )
    _print_means(rows)


def _number(value: Any) -> str:
    return "" if value is None else f"{value:+.4f}"


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['world']:<36} seed {row['seed']} {row['policy']:<14} auc {_number(row['auc'])}"
        f"  last quarter {_number(row['last_quarter'])}"
        f" (share {_number(row['share_last_quarter'])})"
        f"  exploit {_number(row['exploit'])} {row['note']}"
    )


def _print_means(rows: list[dict[str, Any]]) -> None:
    """Per world and policy, the mean over seeds: the table of docs/benchmarks.md."""
    print("\nmeans over seeds: last quarter, its share of the headroom, EXPLOIT ticks' share")
    keys = list(dict.fromkeys((row["world"], row["policy"]) for row in rows))
    for world, policy in keys:
        mine = [row for row in rows if (row["world"], row["policy"]) == (world, policy)]

        def mean(key: str, mine: list[dict[str, Any]] = mine) -> float | None:
            values = [row[key] for row in mine if row[key] is not None]
            return float(np.mean(values)) if values else None

        print(
            f"{world:<36} {policy:<14} {_number(mean('last_quarter'))}"
            f"  share {_number(mean('share_last_quarter'))}"
            f"  exploit share {_number(mean('share_exploit'))}"
        )


if __name__ == "__main__":
    main()
