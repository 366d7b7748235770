"""Throughput: the Nursery alone, and the full A-B-M agent living in it with learning on.

    python benchmarks/throughput.py [--steps N] [--set key=value ...] [--sb3 [--rounds R]]
    python benchmarks/throughput.py --agents abm,a_plus_b,b_only [--rounds R]

`--agents` times several of our agents alternately in this one process (round by round, so the
machine's drift falls on all of them) and prints each one's median and its ratio to the last
agent named: what one shared encoder costs against the model-free control.

The agent is measured after its warm-up (learning is on for every timed step) on one torch
thread, the default configuration unless `--set` changes a config key or genome field. Sleep
ticks take no world step, so the agent's figure is world steps per second of wall time with
sleep included: the number a person waiting for a life to reach step N cares about.

`--sb3` also times Stable-Baselines3's DQN, or SAC where the actions are a Box (`pip install
'lifelong[baseline]'`), in the same world,
with the genome's batch, network width, buffer, warm-up, discount, learning rate, n-step and
target rate, alternating with our agent in this one process (ours, SB3, ours, SB3, ...), and
prints each run, the medians and the ratios ours/SB3. SB3 runs twice a round: with its MlpPolicy
on the flattened frame (the bench's `sb3_dqn`), and with our agents' encoder in front of the same
head (`sb3_life.AgentEncoder`: the network of our model-free `b_only`, a CNN for grids), the
like-for-like network. The replay ratio is the one our agent just used: B also learns at sleep
ticks, so it makes more updates than `replay_ratio` per world step, and SB3's `train_freq` is
set to the world steps per B update measured in the same round. Either way SB3 is a yardstick,
not a like-for-like race: our agent also trains System A, samples sequences and runs System M
at every tick.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from nursery_speed import measure as measure_nursery  # noqa: E402

from lifelong.config import Config, newborn, parse_overrides  # noqa: E402
from lifelong.life import open_life  # noqa: E402
from lifelong.worlds import make_world  # noqa: E402

SB3_MISSING = "--sb3 needs Stable-Baselines3: pip install 'lifelong[baseline]'"


def measure_agent(
    steps: int,
    overrides: list[str],
    world: str = "nursery",
    on_timing: Callable[[Any], None] = lambda life: None,
) -> dict[str, float]:
    """Our agent, timed for `steps` world steps after its warm-up; `on_timing(life)` is called
    just before the timed stretch (time_split.py starts its timers there)."""
    config_changes, genome_changes = parse_overrides(overrides)
    config_changes = {"tensorboard": False, "checkpoint_every": 10**9, **config_changes}
    with tempfile.TemporaryDirectory() as directory:
        life = open_life(
            Path(directory),
            world=world,
            config_changes=config_changes,
            genome_changes=genome_changes,
        )
        life.run(life.genome.warmup + 200)  # past the warm-up: every timed step learns
        before = dict(life.agent.counters)
        on_timing(life)
        start = time.perf_counter()
        life.run(before["env_steps"] + steps)
        elapsed = time.perf_counter() - start
        after = life.agent.counters
    return {
        "env_steps_per_s": (after["env_steps"] - before["env_steps"]) / elapsed,
        "ticks_per_s": (after["ticks"] - before["ticks"]) / elapsed,
        "updates_per_s": (
            after["updates_a"] + after["updates_b"] - before["updates_a"] - before["updates_b"]
        )
        / elapsed,
        "steps_per_b_update": (after["env_steps"] - before["env_steps"])
        / max(after["updates_b"] - before["updates_b"], 1),
    }


def measure_sb3(
    steps: int,
    world: str = "nursery",
    overrides: list[str] | tuple[str, ...] = (),
    our_encoder: bool = False,
    on_timing: Callable[[Any], None] = lambda model: None,
) -> dict[str, float]:
    """Stable-Baselines3 in `world` (DQN, or SAC where the actions are a Box), timed for `steps`
    env steps after its warm-up (`on_timing(model)` as in `measure_agent`).

    Genome changes in `overrides` apply here too, so `--set replay_ratio=0.25` changes both sides;
    of the config keys only `seed` and `threads` mean anything to SB3. `our_encoder`: SB3's
    Q-network reads our agents' encoder instead of the flattened frame (`make_model`).
    """
    import torch

    from lifelong.sb3_life import make_model

    config_changes, genome_changes = parse_overrides(list(overrides))
    env = make_world(world)  # SB3's MlpPolicy flattens a (height, width, channels) Box itself
    agent = sb3_agent(env)
    config = Config(**{**Config().to_dict(), **config_changes, "agent": agent})
    genome = newborn(env.action_space).replace(**genome_changes)
    torch.set_num_threads(config.threads)
    # The same model as the bench's, with a constant epsilon for timing (DQN).
    epsilon = 0.05 if agent == "sb3_dqn" else None
    model = make_model(
        config, genome, env, genome.memory_recent, epsilon=epsilon, our_encoder=our_encoder
    )
    try:
        model.learn(total_timesteps=genome.warmup + 200)  # past the warm-up, as ours
        steps_before, updates_before = model.num_timesteps, model._n_updates
        on_timing(model)
        start = time.perf_counter()
        model.learn(total_timesteps=steps, reset_num_timesteps=False)
        elapsed = time.perf_counter() - start
        steps_done = model.num_timesteps - steps_before
        updates_done = model._n_updates - updates_before
    finally:
        env.close()
    return {
        "env_steps_per_s": steps_done / elapsed,
        "updates_per_s": updates_done / elapsed,
    }


SB3_NETWORKS = {"MLP on the frame": False, "our encoder": True}  # label: `our_encoder`


def sb3_agent(env: Any) -> str:
    """The SB3 agent our agent is timed against: SAC for continuous actions, else DQN."""
    import gymnasium as gym

    return "sb3_sac" if isinstance(env.action_space, gym.spaces.Box) else "sb3_dqn"


def compare_with_sb3(steps: int, overrides: list[str], rounds: int, world: str) -> None:
    """Ours and SB3's DQN or SAC (both networks) alternately, `rounds` times each, then the
    medians and the ratios."""
    probe = make_world(world)
    name = {"sb3_dqn": "SB3 DQN", "sb3_sac": "SB3 SAC"}[sb3_agent(probe)]
    probe.close()
    ours: list[float] = []
    theirs: dict[str, list[float]] = {label: [] for label in SB3_NETWORKS}
    for round_ in range(1, rounds + 1):
        agent = measure_agent(steps, overrides, world)
        ours.append(agent["env_steps_per_s"])
        print(
            f"round {round_}  A-B-M agent:               {agent['env_steps_per_s']:>7.0f} env "
            f"steps/s  ({agent['updates_per_s']:.0f} updates/s, A + B)",
            flush=True,
        )
        train_freq = max(1, round(agent["steps_per_b_update"]))  # our replay ratio
        for label, our_encoder in SB3_NETWORKS.items():
            sb3 = measure_sb3(
                steps, world, [*overrides, f"replay_ratio={1 / train_freq}"], our_encoder
            )
            theirs[label].append(sb3["env_steps_per_s"])
            print(
                f"round {round_}  {name}, {label + ':':<17} {sb3['env_steps_per_s']:>7.0f} env "
                f"steps/s  ({sb3['updates_per_s']:.0f} updates/s, train_freq {train_freq}: ours "
                f"made one B update per {agent['steps_per_b_update']:.2f} world steps)",
                flush=True,
            )
    ours_median = statistics.median(ours)
    print(f"median       A-B-M agent: {ours_median:.0f} env steps/s")
    for label, rates in theirs.items():
        median = statistics.median(rates)
        print(
            f"median       {name}, {label}: {median:.0f} env steps/s   "
            f"ratio ours/SB3 ({label}): {ours_median / median:.2f}"
        )


def compare_agents(agents: list[str], steps: int, overrides: list[str], rounds: int,
                   world: str) -> dict[str, float]:  # fmt: skip
    """Our `agents` alternately, `rounds` times each; prints and returns their medians."""
    rates: dict[str, list[float]] = {name: [] for name in agents}
    for round_ in range(1, rounds + 1):
        for name in agents:
            result = measure_agent(steps, [*overrides, f"agent={name}"], world)
            rates[name].append(result["env_steps_per_s"])
            print(
                f"round {round_}  {name + ':':<10} {result['env_steps_per_s']:>7.0f} env steps/s"
                f"  ({result['updates_per_s']:.0f} updates/s)",
                flush=True,
            )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    reference = agents[-1]
    for name, median in medians.items():
        print(
            f"median       {name + ':':<10} {median:>7.0f} env steps/s   "
            f"ratio to {reference}: {median / medians[reference]:.2f}"
        )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="timed agent steps")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--skip-world", action="store_true", help="only time the agent")
    parser.add_argument("--world", default="nursery", help="world spec the agents live in")
    parser.add_argument(
        "--sb3", action="store_true", help="also time Stable-Baselines3 DQN, alternating with ours"
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side (--sb3, --agents)")
    parser.add_argument("--agents", help="comma-separated agents to time alternately")
    args = parser.parse_args()
    if args.sb3 and importlib.util.find_spec("stable_baselines3") is None:
        print(SB3_MISSING, file=sys.stderr)
        sys.exit(2)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not args.skip_world:
        print(f"nursery raw:            {measure_nursery():>9.0f} env steps/s   (target >= 50,000)")
    if args.sb3:
        compare_with_sb3(args.steps, args.set, args.rounds, args.world)
        return
    if args.agents:
        compare_agents(args.agents.split(","), args.steps, args.set, args.rounds, args.world)
        return
    agent = measure_agent(args.steps, args.set, args.world)
    print(
        f"A-B-M agent, learning:  {agent['env_steps_per_s']:>9.0f} env steps/s   "
        f"(target >= 1,000)  {agent['ticks_per_s']:.0f} ticks/s  "
        f"{agent['updates_per_s']:.0f} updates/s"
    )


if __name__ == "__main__":
    main()
