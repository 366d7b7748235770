"""Fingerprints of fixed-seed lives: run before and after a refactor, and every line must match.

    python benchmarks/identical_lives.py [--out FILE] [--only NAME,...]

Each life runs a few thousand steps on seed 0 in its own temporary directory, in two sittings
(stopped and resumed from its checkpoint halfway), and prints one line per life: the SHA-256 of
its metrics.jsonl with the wall-clock fields (`steps_per_s`, `wall_time`) left out, of its
events.jsonl, and of its final checkpoint's contents (every tensor, array and number, in key
order, so a change of how a dict is laid out in the file does not count but any change of a value
does). The lives cover every agent kind and every mode: M with all its rule families on, the
baselines, the bandits, continuous actions with planning, a teacher loaded from a saved life, and
the step-wise API.

A refactor that claims to change nothing must print the same lines at the old and the new
commit. The hashes depend on the torch build and the CPU, so compare runs made on one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lifelong import open_life
from lifelong.checkpoint import load_latest_checkpoint

# Every rule family of M on, so sleep, plan, explore and imagine all run in a short life.
ALL_RULES = {"sleep_rules": 1, "plan_rules": 1, "explore_rules": 1, "warmup": 200}
SHORT = {"log_every": 250, "checkpoint_every": 500, "tensorboard": False}

# name -> (world, config changes, genome changes, steps)
LIVES: dict[str, tuple[str, dict[str, Any], dict[str, Any], int]] = {
    "nursery-abm": ("nursery", {}, {"warmup": 200}, 3000),
    "nursery-abm-all-rules": ("nursery", {}, ALL_RULES, 3000),
    "nursery-frozen": ("nursery", {"agent": "frozen", "frozen_after": 1500}, {"warmup": 200}, 2500),
    "nursery-timer_m": ("nursery", {"agent": "timer_m", "timer_cycle": 200}, {"warmup": 200}, 2000),
    "nursery-random_m": ("nursery", {"agent": "random_m"}, {"warmup": 200}, 2000),
    "nursery-a_only": ("nursery", {"agent": "a_only"}, {"warmup": 200}, 2000),
    "nursery-random": ("nursery", {"agent": "random"}, {}, 2000),
    "minatar-sequence-abm": (
        "sequence(tasks=minatar:breakout|minatar:asterix,every=1000)",
        {},
        ALL_RULES,
        2000,
    ),
    "minatar-sequence-b_only": (
        "sequence(tasks=minatar:breakout|minatar:asterix,every=1000)",
        {"agent": "b_only"},
        {"warmup": 200},
        2000,
    ),
    "cartpole-shift-abm": ("gym:CartPole-v1+shift(kind=gravity,every=800)", {}, ALL_RULES, 3000),
    "cartpole-shift-a_plus_b": (
        "gym:CartPole-v1+shift(kind=gravity,every=800)",
        {"agent": "a_plus_b"},
        {"warmup": 200},
        2000,
    ),
    "cartpole-outcome-teacher": (
        "gym:CartPole-v1+teacher(shows=outcome)",
        {},
        {"warmup": 200},
        2000,
    ),
    "bandit-abm": ("bandit(arms=3,every=500)", {}, {"warmup": 200}, 2000),
    "bandit-sw_ucb": ("bandit(arms=3,every=500)", {"agent": "sw_ucb"}, {}, 2000),
    "bandit-cusum_ucb": ("bandit(arms=3,every=500)", {"agent": "cusum_ucb"}, {}, 2000),
    # M trusts the model from birth: continuous plans (MPPI), imagining and an intervention.
    "pendulum-abm": ("gym:Pendulum-v1", {}, {**ALL_RULES, "plan_reliability": 0.0}, 2000),
    "pendulum-b_only": ("gym:Pendulum-v1", {"agent": "b_only"}, {"warmup": 200}, 1500),
    "pendulum-random": ("gym:Pendulum-v1", {"agent": "random"}, {}, 1000),
    "pendulum-teacher": (
        "gym:Pendulum-v1+teacher(policy=random,reliability=0.5,visible=0.7)",
        {},
        {"warmup": 200},
        1500,
    ),
}
# A life whose teacher is the saved agent of `cartpole-shift-a_plus_b` (built in the same sitting).
TEACHER_FROM = "cartpole-shift-a_plus_b"


def digest_value(value: Any, hasher: Any) -> None:
    """Feed a checkpoint value into `hasher` by content: dicts in sorted key order."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            hasher.update(f"<{key}>".encode())
            digest_value(value[key], hasher)
    elif isinstance(value, list | tuple):
        hasher.update(b"[")
        for item in value:
            digest_value(item, hasher)
        hasher.update(b"]")
    elif isinstance(value, torch.Tensor):
        hasher.update(f"T{value.dtype}{tuple(value.shape)}".encode())
        hasher.update(
            value.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
        )
    elif isinstance(value, np.ndarray):
        hasher.update(f"A{value.dtype}{value.shape}".encode())
        hasher.update(np.ascontiguousarray(value).tobytes())
    else:
        hasher.update(repr(value).encode())


def fingerprint(directory: Path) -> dict[str, str]:
    lines = []
    for line in (directory / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("steps_per_s", None)
        record.pop("wall_time", None)
        lines.append(json.dumps(record))
    events = directory / "events.jsonl"
    found = load_latest_checkpoint(directory / "checkpoints")
    assert found is not None, f"no checkpoint in {directory}"
    hasher = hashlib.sha256()
    digest_value(found[1], hasher)
    parts = {}
    for key, value in found[1]["agent"].items():  # which part of the agent differs, if any
        part = hashlib.sha256()
        digest_value(value, part)
        parts[key] = part.hexdigest()[:8]
    return {
        "metrics": hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16],
        "events": hashlib.sha256(events.read_bytes() if events.exists() else b"").hexdigest()[:16],
        "checkpoint": hasher.hexdigest()[:16],
        "records": str(len(lines)),
        "agent_parts": parts,
    }


SITTINGS = (1, 2)  # `--sitting 1` at one commit then `--sitting 2` at another: old lives resume


def live(directory: Path, world: str, config: dict, genome: dict, steps: int) -> None:
    """A life in two sittings: half, a resume from the checkpoint, the rest."""
    config = {**SHORT, **config}
    if 1 in SITTINGS:
        life = open_life(
            directory, world=world, seed=0, config_changes=config, genome_changes=genome
        )
        life.run(steps // 2)
    if 2 in SITTINGS:
        open_life(directory, config_changes=config).run(steps)


def stepwise_fingerprint() -> dict[str, str]:
    """The step-wise API in a loop we own: actions, modes and the final state."""
    import gymnasium as gym

    from lifelong import make_agent
    from lifelong.worlds import adopt_world

    env = adopt_world(gym.make("CartPole-v1"))
    genome = {"warmup": 200, **ALL_RULES}
    from lifelong.config import newborn

    agent = make_agent(
        env.observation_space,
        env.action_space,
        seed=0,
        genome=newborn(env.action_space).replace(**genome),
    )
    hasher = hashlib.sha256()
    obs, info = env.reset(seed=0)
    for _ in range(1500):
        action = agent.act(obs, info)
        hasher.update(f"{action}{agent.mode.value}".encode())
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(reward, obs, terminated, truncated, info)
        if terminated or truncated:
            obs, info = env.reset()
    state = hashlib.sha256()
    digest_value(agent.state_dict()["agent"], state)
    return {"actions": hasher.hexdigest()[:16], "state": state.hexdigest()[:16]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the fingerprints to this JSON file")
    parser.add_argument("--only", default="", help="comma-separated life names")
    parser.add_argument(
        "--root", help="keep the lives in this directory (default: a temporary one)"
    )
    parser.add_argument(
        "--sitting",
        type=int,
        choices=(1, 2),
        help="only the first half of each life, or only the second (resuming --root's lives)",
    )
    args = parser.parse_args()
    global SITTINGS
    SITTINGS = (args.sitting,) if args.sitting else (1, 2)
    torch.set_num_threads(1)
    only = set(filter(None, args.only.split(",")))
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        root = args.root or temporary
        for name, (world, config, genome, steps) in LIVES.items():
            if (
                only
                and name not in only
                and not (name == TEACHER_FROM and "teacher-from-dir" in only)
            ):
                continue
            live(Path(root) / name, world, config, genome, steps)
            if args.sitting == 1:
                continue
            results[name] = fingerprint(Path(root) / name)
            shown = {k: v for k, v in results[name].items() if k != "agent_parts"}
            print(name, json.dumps(shown), flush=True)
        if not only or "teacher-from-dir" in only:
            teacher = Path(root) / TEACHER_FROM
            world = f"gym:CartPole-v1+teacher(policy={teacher},reliability=0.8)"
            live(Path(root) / "teacher-from-dir", world, {}, {"warmup": 200}, 1500)
            if args.sitting == 1:
                return
            results["teacher-from-dir"] = fingerprint(Path(root) / "teacher-from-dir")
            shown = {k: v for k, v in results["teacher-from-dir"].items() if k != "agent_parts"}
            print("teacher-from-dir", json.dumps(shown), flush=True)
        if (not only or "stepwise" in only) and not args.sitting:
            results["stepwise"] = stepwise_fingerprint()
            print("stepwise", json.dumps(results["stepwise"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
