"""The cost of a learning step and of a world step without one, per agent, side by side.

    python benchmarks/update_cost.py [--world nursery] [--agents b_only,a_plus_b,abm]
        [--updates 200] [--steps 2000] [--rounds 3]

What a replay ratio costs: a world step at ratio r takes about `act` + r x `update`. Each agent
first lives `--steps` world steps acting by its policy without learning (warm-up beyond them),
timed as `act` (B's choice, the world, storing the frame; not M's decisions), then takes
`--updates` learning steps on its memory, timed as `update` (sampling, both losses, one backward
pass, the optimisers, the targets; A's loss on one step in `a_every`, as in a life). The agents
take turns for `--rounds` rounds in one process on one thread, so their ratios are measured side
by side; medians are printed, with the world steps per second each replay ratio would allow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from encoder_gradients import born, live  # noqa: E402

from lifelong.genome import Genome  # noqa: E402
from lifelong.modes import ROUTES, Mode  # noqa: E402

RATIOS = (1 / 8, 1 / 4, 1 / 2, 1.0, 2.0)


def measure(agent_name: str, world_spec: str, steps: int, updates: int) -> tuple[float, float]:
    """(ms per world step acting without learning, ms per learning step) of one fresh agent."""
    genome = Genome(warmup=10**6)  # no learning while acting: the two costs apart
    world, agent, meta = born(world_spec, agent_name, 0, genome)
    start = time.perf_counter()
    live(world, agent, meta, steps, seed=0)
    acting = (time.perf_counter() - start) / steps
    route = ROUTES[Mode.EXPLOIT]
    for _ in range(10):  # first steps allocate
        agent.mind._learn(meta, route)
    start = time.perf_counter()
    for _ in range(updates):
        agent.mind._learn(meta, route)
    return 1000 * acting, 1000 * (time.perf_counter() - start) / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="nursery")
    parser.add_argument("--agents", default="b_only,a_plus_b,abm")
    parser.add_argument("--steps", type=int, default=2000, help="world steps timed acting")
    parser.add_argument("--updates", type=int, default=200, help="learning steps timed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    agents = args.agents.split(",")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in agents}
    for round_ in range(1, args.rounds + 1):
        for name in agents:
            times[name].append(measure(name, args.world, args.steps, args.updates))
            act, update = times[name][-1]
            print(f"round {round_}  {name:<10} act {act:.3f} ms/step  update {update:.2f} ms")
    header = "  ".join(f"ratio {r:g}".rjust(10) for r in RATIOS)
    print(f"\n{args.world}, medians of {args.rounds} rounds; world steps/s at each replay ratio")
    print(f"{'agent':<10} {'act ms':>7} {'update ms':>10}  {header}")
    for name in agents:
        act = statistics.median(a for a, _ in times[name])
        update = statistics.median(u for _, u in times[name])
        rates = "  ".join(f"{1000 / (act + r * update):10.0f}" for r in RATIOS)
        print(f"{name:<10} {act:7.3f} {update:10.2f}  {rates}")


if __name__ == "__main__":
    main()
