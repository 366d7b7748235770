"""What shapes the shared encoder: each loss term's share of the gradient on it.

    python benchmarks/encoder_gradients.py [--world minatar:breakout] [--agent a_plus_b]
        [--steps 6000] [--batches 20] [--seed 0] [--set KEY=VALUE ...]

A `--agent` lives `--steps` world steps in `--world` acting by its own policy (always EXPLOIT,
learning at its replay ratio), then on `--batches` replay batches the gradient of each weighted
term of its loss (`ABMMind.loss_on`: B's TD loss, each of A's terms at `model_weight`, B's values
on A's predictions, curiosity) on the encoder's weights is measured alone. Printed: each term's
mean gradient norm and its share of their sum. A's terms reach the encoder through
`encoder_share`; a term that does not reach it (B's values on predictions read them detached)
shows 0.
"""

from __future__ import annotations

import argparse

import torch

from lifelong.agents import build_agent
from lifelong.config import Config, parse_overrides
from lifelong.genome import Genome
from lifelong.modes import Mode
from lifelong.systems.control import meta_action
from lifelong.worlds import make_world


def born(world_spec: str, agent_name: str, seed: int, genome: Genome):
    """(world, agent, meta): an agent built for a world, and the EXPLOIT it acts in."""
    world = make_world(world_spec)
    agent = build_agent(
        Config(agent=agent_name, seed=seed), world.observation_space, world.action_space, genome
    )
    return world, agent, meta_action(genome, Mode.EXPLOIT, "measure")


def live(world, agent, meta, steps: int, seed: int) -> None:
    """`steps` world steps of the agent's own policy, learning as it goes (the mind's verbs,
    without M: always `meta`)."""
    obs, info = world.reset(seed=seed)
    agent.begin(obs, info)
    for _ in range(steps):
        action = agent.mind.act(obs, meta)
        obs, reward, terminated, truncated, _ = world.step(action)
        agent.mind.observe(action, obs, float(reward), terminated, None)
        agent.counters["env_steps"] += 1
        agent.mind.learn(meta)
        if terminated or truncated:
            obs, info = world.reset()
            agent.mind.begin(obs)


def shares(agent, meta, batches: int) -> dict[str, float]:
    """Mean gradient norm on the encoder of each weighted loss term, over `batches` batches."""
    mind = agent.mind
    weights = list(mind.b.encoder.parameters())
    totals: dict[str, float] = {}
    for _ in range(batches):
        terms: dict[str, torch.Tensor] = {}
        mind.loss_on(mind.sample(meta), a_learns=mind.a is not None, keep=terms)
        for name, term in terms.items():
            grads = torch.autograd.grad(term, weights, retain_graph=True, allow_unused=True)
            norm = sum(float((g**2).sum()) for g in grads if g is not None) ** 0.5
            totals[name] = totals.get(name, 0.0) + norm / batches
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="minatar:breakout")
    parser.add_argument("--agent", default="a_plus_b", help="an agent with an A-B mind")
    parser.add_argument("--steps", type=int, default=6000, help="world steps lived first")
    parser.add_argument("--batches", type=int, default=20, help="replay batches measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    genome = Genome.from_dict(parse_overrides(args.set)[1])
    world, agent, meta = born(args.world, args.agent, args.seed, genome)
    live(world, agent, meta, args.steps, args.seed)
    totals = shares(agent, meta, args.batches)
    whole = sum(totals.values()) or 1.0
    print(f"{args.agent} in {args.world} after {args.steps} steps, {args.batches} batches:")
    for name, norm in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} {norm:9.2e}  {100 * norm / whole:5.1f}%")


if __name__ == "__main__":
    main()
