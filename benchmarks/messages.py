"""Messages and trust (issue 28): what listening to informants earns, and how trust tracks them.

    python benchmarks/messages.py [--world "bandit(arms=5)"] [--seeds 0-9] [--steps 1000]
        [--agents abm,abm_oracle,abm_credulous,abm_deaf] [--full] [--gene NAME=VALUE ...]
        [--csv OUT.csv]

Each agent lives `--steps` steps of `--world` with informants (`+messages(sources=...)`, see
`lifelong/worlds/informants.py`) on each seed, in a loop of our own (`lifelong.make_agent`), with
three sets of sources: a reliable, a noisy (p=0.5: right 60% of the time with 5 arms) and a
lying one; one turncoat (reliable for 300 steps, then a liar); and two liars. The agents:
`abm` trusts each source as its claims earn it, `abm_oracle` is told each source's true
reliability (the ceiling of listening), `abm_credulous` believes every source (trust 0.99) and
`abm_deaf` ignores them (the floor). The genome is the small overlay (`lifelong.genome.SMALL`,
the tests' TINY without sleep), or with `--full` the newborn's, with `--gene` changes on top
(how settings are chosen: on seeds 0-4, before the report's seeds 100-109). One process, one
thread.

Printed:

1. reward per step of each life, and the IQM over seeds per (sources, agent), with abm's
   ratio to abm_deaf (issue 28 asks >= 1.0 with every source lying);
2. trust ranking: in abm's lives with the mixed sources, the Spearman correlation between
   each source's trust and its true reliability once every source has said `--rank-at`
   (200) messages, per seed;
3. the turncoat: per seed, how many of its lies abm acted on before its trust fell below half
   its peak from before the turn;
4. the headroom share with the mixed sources, (abm - abm_deaf) / (abm_oracle - abm_deaf);
5. grounding: in abm's lives, what each source's claims have come to mean
   (`lifelong/grounding.py`: the standing of the return expected from acting on them, in
   deviations from the usual), averaged over the claims of the last `--ground-over` (200)
   steps and over seeds, per source set; with the mixed sources, on how many seeds the
   meanings fall in the order reliable > noisy > liar.

`--csv` writes one row per life: sources, agent, seed, reward_per_step.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import yaml

import lifelong
from lifelong.errors import UserError
from lifelong.genome import SMALL, Genome
from lifelong.metrics import iqm, spearman
from lifelong.protocol import parse_seeds
from lifelong.worlds import make_world

MIXED = "reliable|noisy|liar"
TURNCOAT = "turncoat(at=300)"
LIARS = "liar|liar"
SOURCES = (MIXED, TURNCOAT, LIARS)
AGENTS = ("abm", "abm_oracle", "abm_credulous", "abm_deaf")


@dataclass
class Lived:
    """One life: its reward per step and, step by step, what the agent heard and trusted."""

    reward_per_step: float
    opening: tuple[str, ...] = ()  # the sources heard at reset
    margin: float | None = None  # the best action's mean over the next (a bandit's, at reset)
    spoke: list[tuple[str, ...]] = field(default_factory=list)  # who spoke in each step's info
    truth: list[dict[str, float]] = field(default_factory=list)  # each source's true reliability
    trusts: list[dict[str, float]] = field(default_factory=list)  # after each step
    # What each source's claims meant to the agent (grounding.py), over the life's last steps.
    meanings: dict[str, list[float]] = field(default_factory=dict)


def speakers(info: dict) -> tuple[str, ...]:
    return tuple(message["source"] for message in info.get("messages", ()))


def margin(info: dict) -> float | None:
    """How much more the best arm pays than the next, where the world tells its means."""
    means = sorted(info.get("means") or ())
    return means[-1] - means[-2] if len(means) > 1 else None


def live(
    world: str,
    sources: str,
    agent: str,
    steps: int,
    seed: int,
    genome: Genome | None,
    ground_over: int = 200,
) -> Lived:
    """`agent` lives `steps` steps of `world` with informants `sources` (genome None: the
    newborn's), each step's trust in each source recorded after it observed the step, and the
    grounded meaning of each claim heard in the last `ground_over` steps."""
    env = make_world(f"{world}+messages(sources={sources})")
    stepwise = lifelong.make_agent(
        env.observation_space, env.action_space, agent=agent, genome=genome, seed=seed
    )
    obs, info = env.reset(seed=seed)
    lived = Lived(0.0, opening=speakers(info), margin=margin(info))
    grounding = stepwise.agent.grounding
    total = 0.0
    for step in range(steps):
        if grounding is not None and step >= steps - ground_over:
            for source, said in stepwise.agent.claims:
                lived.meanings.setdefault(source, []).append(grounding.meaning(source, said))
        action = stepwise.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        total += float(reward)
        lived.spoke.append(speakers(info))
        lived.truth.append(dict(info.get("message_truth", {})))
        lived.trusts.append(stepwise.agent.trusts())
        if terminated or truncated:  # an episodic world: what is said at reset is heard too
            obs, info = env.reset()
            lived.spoke[-1] += speakers(info)
    lived.reward_per_step = total / steps
    return lived


def changed(genome: Genome | None, changes: Sequence[str]) -> Genome | None:
    """`genome` (None: the newborn's) with each NAME=VALUE change; a UserError naming a change
    that is not NAME=VALUE, an unknown gene or a value out of its range."""
    values: dict[str, Any] = {}
    for change in changes:
        name, equals, value = change.partition("=")
        if not equals or not name or not value:
            raise UserError(
                f"--gene {change!r} is invalid; allowed: NAME=VALUE, e.g. advice_gain=4"
            )
        try:
            values[name.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UserError(f"--gene {change!r}: {value!r} is not a number") from None
    if not values:
        return genome
    return Genome.from_dict(values, "--gene", genome or Genome())


def measure(
    world: str,
    sources: Iterable[str],
    agents: Iterable[str],
    seeds: Sequence[int],
    steps: int,
    genome: Genome | None,
    ground_over: int = 200,
    log=None,
) -> dict[tuple[str, str, int], Lived]:
    """Every life, keyed by (sources, agent, seed), one after the other."""
    lives: dict[tuple[str, str, int], Lived] = {}
    started = time.perf_counter()
    for said in sources:
        for agent in agents:
            for seed in seeds:
                lives[(said, agent, seed)] = live(
                    world, said, agent, steps, seed, genome, ground_over
                )
            if log:
                print(f"  {said} {agent}: {time.perf_counter() - started:.0f} s", file=log)
    return lives


def rank_at(lived: Lived, messages: int = 200) -> float | None:
    """Spearman correlation of trust and true reliability over the sources, once every source
    has been heard `messages` times (None if the life was shorter)."""
    heard = Counter(lived.opening)
    for spoke, truth, trusts in zip(lived.spoke, lived.truth, lived.trusts, strict=True):
        heard.update(spoke)
        if truth and all(heard[source] >= messages for source in truth):
            order = sorted(truth)
            return spearman([trusts.get(s, math.nan) for s in order], [truth[s] for s in order])
    return None


class Caught(NamedTuple):
    """A turncoat's detection: `lies` it told (and were acted on) from its turn until its trust
    fell below half its `peak` from before the turn (None: never), and its trust `at_turn`."""

    lies: int | None
    peak: float
    at_turn: float


def caught(lived: Lived, source: str = "turncoat") -> Caught | None:
    """How soon `source`'s trust halved after it turned liar (None if it never turned)."""
    turn = next((k for k, truth in enumerate(lived.truth) if truth.get(source) == 0.0), None)
    if not turn:
        return None
    peak = max(trusts.get(source, 0.0) for trusts in lived.trusts[:turn])
    at_turn = lived.trusts[turn - 1].get(source, math.nan)
    lies = 0
    for k in range(turn, len(lived.trusts)):
        if lived.trusts[k].get(source, math.inf) < peak / 2:
            return Caught(lies, peak, at_turn)
        lies += source in lived.spoke[k]
    return Caught(None, peak, at_turn)


def turncoat_lines(turncoats: dict[int, Lived], within: int = 20) -> list[str]:
    """Per seed how soon the turncoat was caught (and how much more the truth paid: the best
    arm's margin over the next), then on how many seeds within `within` lies, and the median."""
    lines, counts = [], []
    for seed, lived in turncoats.items():
        told = caught(lived)
        margin = "" if lived.margin is None else f", best arm +{lived.margin:.2f} over the next"
        if told is None:
            lines.append(f"  seed {seed}: never turned{margin}")
            continue
        counts.append(math.inf if told.lies is None else told.lies)
        lies = "never" if told.lies is None else str(told.lies)
        lines.append(
            f"  seed {seed}: {lies:>5} (peak {told.peak:.2f}, at the turn {told.at_turn:.2f}"
            f"{margin})"
        )
    quick = sum(count <= within for count in counts)
    median = statistics.median(counts) if counts else math.nan
    shown = "never" if median == math.inf else f"{median:g}"
    lines.append(f"  within {within} lies on {quick} of {len(counts)} seeds; median {shown}")
    return lines


def rewards(lives: dict[tuple[str, str, int], Lived]) -> dict[tuple[str, str], list[float]]:
    """Reward per step of each (sources, agent)'s lives, in seed order."""
    out: dict[tuple[str, str], list[float]] = {}
    for (said, agent, _), lived in sorted(lives.items(), key=lambda item: item[0][2]):
        out.setdefault((said, agent), []).append(lived.reward_per_step)
    return out


def grounding_lines(lives: dict[tuple[str, str, int], Lived], agent: str = "abm") -> list[str]:
    """Per source set, the grounded meaning of each source's claims (the mean over a life's
    last steps), averaged over seeds, and on how many seeds the sources fall in the order of
    their true reliability (the mixed set's, reliable > noisy > liar)."""
    lines = []
    for said in dict.fromkeys(key[0] for key in lives):
        means: dict[str, list[float]] = {}
        ordered = seeds = 0
        for (sources, who, _), lived in lives.items():
            if sources != said or who != agent:
                continue
            mean = {s: statistics.fmean(v) for s, v in lived.meanings.items() if v}
            for source, value in mean.items():
                means.setdefault(source, []).append(value)
            order = [mean.get(s, math.nan) for s in said.split("|")]
            seeds += 1
            ordered += all(a > b for a, b in zip(order, order[1:], strict=False))
        if not means:
            continue
        shown = ", ".join(f"{s} {statistics.fmean(v):+.2f}" for s, v in means.items())
        rank = f"; {' > '.join(said.split('|'))} on {ordered} of {seeds}" if said == MIXED else ""
        lines.append(f"  {said:<20} {shown}{rank}")
    return lines


def headroom(iqms: dict[tuple[str, str], float], sources: str = MIXED) -> float:
    """(abm - abm_deaf) / (abm_oracle - abm_deaf): the share of listening's ceiling abm earns."""
    deaf = iqms.get((sources, "abm_deaf"), math.nan)
    ceiling = iqms.get((sources, "abm_oracle"), math.nan) - deaf
    return (iqms.get((sources, "abm"), math.nan) - deaf) / ceiling if ceiling else math.nan


def write_csv(path: Path, lives: dict[tuple[str, str, int], Lived]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sources", "agent", "seed", "reward_per_step"])
        for (said, agent, seed), lived in lives.items():
            writer.writerow([said, agent, seed, f"{lived.reward_per_step:.6g}"])


def reward_table(lives: dict[tuple[str, str, int], Lived], seeds: Sequence[int]) -> str:
    header = f"{'sources':<20} {'agent':<14} " + " ".join(f"{s:>6}" for s in seeds)
    lines = [header + f" {'mean':>6}"]
    for (said, agent), values in rewards(lives).items():
        cells = " ".join(f"{v:6.3f}" for v in values)
        lines.append(f"{said:<20} {agent:<14} {cells} {sum(values) / len(values):6.3f}")
    return "\n".join(lines)


def ratio_of(iqms: dict[tuple[str, str], float], sources: str, agent: str, base: str) -> float:
    """`agent`'s IQM over `base`'s with `sources` (NaN where either is missing or base is 0)."""
    below = iqms.get((sources, base), math.nan)
    return iqms.get((sources, agent), math.nan) / below if below else math.nan


def iqm_table(iqms: dict[tuple[str, str], float]) -> str:
    sources = list(dict.fromkeys(said for said, _ in iqms))
    agents = list(dict.fromkeys(agent for _, agent in iqms))
    lines = [f"{'agent':<16}" + "".join(f"{s:>22}" for s in sources)]
    for agent in agents:
        cells = "".join(f"{iqms.get((s, agent), math.nan):22.3f}" for s in sources)
        lines.append(f"{agent:<16}{cells}")
    if {"abm", "abm_deaf"} <= set(agents):  # issue 28 asks >= 1.0x, every source lying too
        ratio = [ratio_of(iqms, s, "abm", "abm_deaf") for s in sources]
        lines.append(f"{'abm / abm_deaf':<16}" + "".join(f"{r:21.3f}x" for r in ratio))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="bandit(arms=5)", help="a world with an oracle")
    parser.add_argument("--seeds", default="0-9", help="a count N, a range A-B or a list A,B,...")
    parser.add_argument("--steps", type=int, default=1000, help="world steps per life")
    parser.add_argument("--agents", default=",".join(AGENTS), help="comma-separated")
    parser.add_argument("--rank-at", type=int, default=200, help="messages per source heard")
    parser.add_argument("--ground-over", type=int, default=200, help="last steps grounded")
    parser.add_argument("--full", action="store_true", help="the newborn's genome, not SMALL")
    parser.add_argument(
        "--gene", action="append", default=[], metavar="NAME=VALUE", help="a genome change"
    )
    parser.add_argument("--csv", type=Path, help="one row per life")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = parse_seeds(args.seeds)
    if not seeds or args.steps < 1:
        parser.error("--seeds names no seed or --steps is below 1")
    agents = args.agents.split(",")
    try:
        genome = changed(None if args.full else Genome(**SMALL), args.gene)
    except UserError as error:
        parser.error(str(error))
    started = time.perf_counter()
    lives = measure(
        args.world, SOURCES, agents, seeds, args.steps, genome, args.ground_over, log=sys.stderr
    )
    iqms = {key: iqm(values) for key, values in rewards(lives).items()}
    size = "the newborn's genome" if args.full else "the small genome"
    size += "".join(f", {change}" for change in args.gene)
    print(f"{args.world}, {len(seeds)} seeds x {args.steps} steps, {size}\n")
    print("Reward per step, per seed:")
    print(reward_table(lives, seeds))
    print("\nReward per step, IQM over seeds:")
    print(iqm_table(iqms))
    if "abm" in agents:
        ranks = {seed: rank_at(lives[(MIXED, "abm", seed)], args.rank_at) for seed in seeds}
        shown = " ".join(f"{seed}:{'-' if r is None else f'{r:.2f}'}" for seed, r in ranks.items())
        perfect = sum(r == 1.0 for r in ranks.values())
        print(f"\nTrust ranking ({MIXED}, abm, at message {args.rank_at}), Spearman per seed:")
        print(f"  {shown}\n  rank correlation 1.0 on {perfect} of {len(seeds)} seeds")
        turned = {seed: lives[(TURNCOAT, "abm", seed)] for seed in seeds}
        print(f"\nTurncoat ({TURNCOAT}, abm): its lies acted on until trust < half its peak:")
        print("\n".join(turncoat_lines(turned)))
    means = {key: sum(values) / len(values) for key, values in rewards(lives).items()}
    print(f"\nHeadroom share ({MIXED}), (abm - abm_deaf) / (abm_oracle - abm_deaf):")
    print(f"  {headroom(iqms):.3f} of the IQMs, {headroom(means):.3f} of the means")
    if "abm" in agents:
        print(
            f"\nGrounding (abm): what each source's claims came to mean (the standing of the"
            f" return expected from acting on them) over the last {args.ground_over} steps,"
            " mean over seeds:"
        )
        print("\n".join(grounding_lines(lives)))
    if args.csv:
        write_csv(args.csv, lives)
        print(f"\n{len(lives)} lives -> {args.csv}")
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
