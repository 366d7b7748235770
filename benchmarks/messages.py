"""Messages and trust (issue 28): what listening to informants earns, and how trust tracks them.

    python benchmarks/messages.py [--world "bandit(arms=5)"] [--says go|food|predator]
        [--sources "reliable|noisy|liar;turncoat(at=300);liar|liar"] [--seeds 0-9]
        [--steps 1000] [--agents abm,abm_oracle,abm_credulous,abm_deaf] [--full]
        [--gene NAME=VALUE ...] [--csv OUT.csv]

In the Nursery, told which food is good this season (issue 28's first world; the season is not
in the observation, so without a teacher it is exactly what the agent lacks)::

    python benchmarks/messages.py --world "nursery(teachers=0,predator=False,noisy_tv=False)" \
        --says food --sources "reliable;reliable|noisy|liar;liar|liar;turncoat(at=8000)" \
        --steps 16000 --seeds 0-2

A world with a scripted oracle (the Nursery) is also measured as issue 27 measures it
(`nursery_headroom.py`): the reward per step of the life's last quarter, as a share of the
headroom from uniform random (0) to the scripted oracle (1) on each seed, beside always resting
(the best constant action without teachers).

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
   meanings fall in the order reliable > noisy > liar. For claims about objects (`--says
   food`), the meaning at the life's end of the source's "good" less its "bad" (`separation`).
6. with a scripted oracle (the Nursery), the last quarter's share of the headroom.

`--sources` names the source sets, separated by ';' (the first is the one ranked and whose
headroom share is printed; the turncoat's is the first set naming a turncoat). `abm_deaf` lives
once per seed: it ignores what is said, and the informants draw from their own generator, so its
life is the same whatever the sources (its row is repeated under each set).

`--csv` writes one row per life: sources, agent, seed, reward_per_step (the whole life's),
last_quarter and, where the world has an oracle, share (the last quarter's share of the
headroom).
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
from lifelong.worlds.messages import BAD, GOOD, WORTH, subjects_of

MIXED = "reliable|noisy|liar"
TURNCOAT = "turncoat(at=300)"
LIARS = "liar|liar"
SOURCES = (MIXED, TURNCOAT, LIARS)
AGENTS = ("abm", "abm_oracle", "abm_credulous", "abm_deaf")


@dataclass
class Lived:
    """One life: its reward per step and, step by step, what the agent heard and trusted."""

    reward_per_step: float
    last_quarter: float = math.nan  # the reward per step of the life's last quarter
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


def spec(world: str, sources: str, says: str = "go") -> str:
    """The world with informants `sources` saying `says` (go: advice, the wrapper's default)."""
    told = "" if says == "go" else f"says={says},"
    return f"{world}+messages({told}sources={sources})"


def live(
    world: str,
    sources: str,
    agent: str,
    steps: int,
    seed: int,
    genome: Genome | None,
    ground_over: int = 200,
    says: str = "go",
) -> Lived:
    """`agent` lives `steps` steps of `world` with informants `sources` saying `says` (genome
    None: the newborn's), each step's trust in each source recorded after it observed the step,
    and the grounded meaning of each claim heard in the last `ground_over` steps."""
    env = make_world(spec(world, sources, says))
    stepwise = lifelong.make_agent(
        env.observation_space,
        env.action_space,
        agent=agent,
        genome=genome,
        seed=seed,
        subjects=subjects_of(env),
    )
    obs, info = env.reset(seed=seed)
    lived = Lived(0.0, opening=speakers(info), margin=margin(info))
    grounding = stepwise.agent.grounding
    total = late = 0.0
    since = steps - steps // 4
    for step in range(steps):
        if grounding is not None and step >= steps - ground_over:
            for source, said in stepwise.agent.claims:
                lived.meanings.setdefault(source, []).append(grounding.meaning(source, said))
        action = stepwise.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        total += float(reward)
        late += float(reward) if step >= since else 0.0
        lived.spoke.append(speakers(info))
        lived.truth.append(dict(info.get("message_truth", {})))
        lived.trusts.append(stepwise.agent.trusts())
        if terminated or truncated:  # an episodic world: what is said at reset is heard too
            obs, info = env.reset()
            lived.spoke[-1] += speakers(info)
    lived.reward_per_step = total / steps
    lived.last_quarter = late / (steps - since)
    if grounding is not None and grounding.claims:  # claims about objects: see `separation`
        for source in grounding.claims:
            lived.meanings[source] = [separation(grounding, source, subjects_of(env) or {})]
    return lived


def separation(grounding: Any, source: str, subjects: dict[str, tuple[str, ...]]) -> float:
    """How far `source`'s "good" and "bad" have come to mean different meals: the grounded
    standing of a meal after it said "good" less after "bad", averaged over the subjects of
    worth (positive for a source whose words are true, negative for a liar's)."""
    foods = [subject for subject, values in subjects.items() if values == WORTH]
    return statistics.fmean(
        grounding.meaning_of(source, food, GOOD) - grounding.meaning_of(source, food, BAD)
        for food in foods
    )


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
    says: str = "go",
) -> dict[tuple[str, str, int], Lived]:
    """Every life, keyed by (sources, agent, seed), one after the other; abm_deaf's once per
    seed (see the module docstring), its rewards repeated under every later source set."""
    lives: dict[tuple[str, str, int], Lived] = {}
    deaf: dict[int, Lived] = {}
    started = time.perf_counter()
    for said in sources:
        for agent in agents:
            for seed in seeds:
                if agent == "abm_deaf" and seed in deaf:
                    heard = deaf[seed]
                    lives[(said, agent, seed)] = Lived(heard.reward_per_step, heard.last_quarter)
                    continue
                lives[(said, agent, seed)] = live(
                    world, said, agent, steps, seed, genome, ground_over, says
                )
                if agent == "abm_deaf":
                    deaf[seed] = lives[(said, agent, seed)]
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


def write_csv(
    path: Path,
    lives: dict[tuple[str, str, int], Lived],
    scripted: dict[int, dict[str, float]] | None = None,
) -> None:
    """One row per life; with `scripted` (per seed, `scripted_rates`' last quarters), the
    last quarter's share of that seed's headroom, and a row per scripted policy."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sources", "agent", "seed", "reward_per_step", "last_quarter", "share"])
        for (said, agent, seed), lived in lives.items():
            share = (
                "" if scripted is None else f"{share_of(lived.last_quarter, scripted[seed]):.4g}"
            )
            row = [said, agent, seed, f"{lived.reward_per_step:.6g}", f"{lived.last_quarter:.6g}"]
            writer.writerow([*row, share])
        for seed, rates in (scripted or {}).items():
            for policy in SCRIPTED:
                value = rates[policy]
                share = f"{share_of(value, rates):.4g}"
                writer.writerow(["", policy, seed, "", f"{value:.6g}", share])


SCRIPTED = ("random", "always_rest", "oracle")  # the scripted lives of the headroom


def scripted_lives(world: str, seeds: Sequence[int], steps: int) -> dict[int, dict[str, float]]:
    """Per seed, the last quarter of uniform random, always resting and the world's scripted
    oracle, each a life of `steps` (`nursery_headroom.scripted_rates`, issue 27's measure)."""
    from nursery_headroom import scripted_rates  # a sibling script

    return {
        seed: {p: r["last_quarter"] for p, r in scripted_rates(world, steps, seed).items()}
        for seed in seeds
    }


def share_of(value: float, rates: dict[str, float]) -> float:
    """(value - random) / (oracle - random) on one seed's scripted lives: 0 chance, 1 oracle."""
    return (value - rates["random"]) / (rates["oracle"] - rates["random"])


def headroom_lines(
    lives: dict[tuple[str, str, int], Lived], scripted: dict[int, dict[str, float]]
) -> list[str]:
    """Per (sources, agent), the last quarter and its share of the headroom (means over seeds),
    then the scripted lives', then per source set what listening earned, as issue 28 asks it:
    (abm - abm_deaf) / (abm_oracle - abm_deaf) of the shares, and abm's share less deaf's."""
    shares: dict[tuple[str, str], list[float]] = {}
    lasts: dict[tuple[str, str], list[float]] = {}
    for (said, agent, seed), lived in lives.items():
        shares.setdefault((said, agent), []).append(share_of(lived.last_quarter, scripted[seed]))
        lasts.setdefault((said, agent), []).append(lived.last_quarter)
    lines = [f"  {'sources':<24} {'agent':<14} {'last quarter':>12} {'share':>7}  per seed"]
    for key, values in shares.items():
        cells = " ".join(f"{v:+.3f}" for v in values)
        last = statistics.fmean(lasts[key])
        line = f"  {key[0]:<24} {key[1]:<14} {last:+12.4f} {statistics.fmean(values):+7.3f}"
        lines.append(f"{line}  {cells}")
    for policy in SCRIPTED:
        last = statistics.fmean(rates[policy] for rates in scripted.values())
        share = statistics.fmean(share_of(rates[policy], rates) for rates in scripted.values())
        lines.append(f"  {'(scripted)':<24} {policy:<14} {last:+12.4f} {share:+7.3f}")
    means = {key: statistics.fmean(values) for key, values in shares.items()}
    for said in dict.fromkeys(key[0] for key in shares):
        deaf = means.get((said, "abm_deaf"), math.nan)
        gained = means.get((said, "abm"), math.nan) - deaf
        lines.append(
            f"  {said}: abm - abm_deaf {gained:+.3f} of the headroom;"
            f" (abm - deaf) / (abm_oracle - deaf) {headroom(means, said):.2f}"
        )
    return lines


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
    parser.add_argument(
        "--says",
        default="go",
        help="what sources say: go, food or predator, and any other parameters of the wrapper"
        " after it (e.g. 'go,advice=oracle': advice from the Nursery's scripted oracle)",
    )
    parser.add_argument("--sources", default=";".join(SOURCES), help="';'-separated source sets")
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
    sets = [said for said in args.sources.split(";") if said]
    if not sets:
        parser.error("--sources names no source set")
    mixed = sets[0]
    turned = next((said for said in sets if "turncoat" in said), None)
    started = time.perf_counter()
    try:
        lives = measure(
            args.world,
            sets,
            agents,
            seeds,
            args.steps,
            genome,
            args.ground_over,
            log=sys.stderr,
            says=args.says,
        )
        scripted = None
        if callable(getattr(make_world(args.world).unwrapped, "scripted_oracle", None)):
            scripted = scripted_lives(args.world, seeds, args.steps)
    except UserError as error:
        parser.error(str(error))
    iqms = {key: iqm(values) for key, values in rewards(lives).items()}
    size = "the newborn's genome" if args.full else "the small genome"
    size += "".join(f", {change}" for change in args.gene)
    told = "" if args.says == "go" else f", sources say {args.says}"
    print(f"{args.world}{told}, {len(seeds)} seeds x {args.steps} steps, {size}\n")
    print("Reward per step, per seed:")
    print(reward_table(lives, seeds))
    print("\nReward per step, IQM over seeds:")
    print(iqm_table(iqms))
    if "abm" in agents:
        ranks = {seed: rank_at(lives[(mixed, "abm", seed)], args.rank_at) for seed in seeds}
        shown = " ".join(f"{seed}:{'-' if r is None else f'{r:.2f}'}" for seed, r in ranks.items())
        perfect = sum(r == 1.0 for r in ranks.values())
        print(f"\nTrust ranking ({mixed}, abm, at message {args.rank_at}), Spearman per seed:")
        print(f"  {shown}\n  rank correlation 1.0 on {perfect} of {len(seeds)} seeds")
    if "abm" in agents:
        print("\nTrust at the end of the life (abm), each source, mean over seeds:")
        for said in sets:
            ends = [lives[(said, "abm", seed)].trusts[-1] for seed in seeds]
            shown = ", ".join(
                f"{source} {statistics.fmean(end.get(source, math.nan) for end in ends):.2f}"
                for source in ends[0]
            )
            print(f"  {said:<24} {shown}")
    if "abm" in agents and turned is not None:
        turncoats = {seed: lives[(turned, "abm", seed)] for seed in seeds}
        print(f"\nTurncoat ({turned}, abm): its lies heard until trust < half its peak:")
        print("\n".join(turncoat_lines(turncoats)))
    means = {key: sum(values) / len(values) for key, values in rewards(lives).items()}
    print(f"\nHeadroom share ({mixed}), (abm - abm_deaf) / (abm_oracle - abm_deaf):")
    print(
        f"  {headroom(iqms, mixed):.3f} of the IQMs, {headroom(means, mixed):.3f} of the means"
        " (of the whole life's reward per step)"
    )
    if scripted is not None:
        print(
            "\nThe last quarter's reward per step and its share of the headroom, random (0) to"
            " the scripted oracle (1), per seed then mean over seeds:"
        )
        print("\n".join(headroom_lines(lives, scripted)))
    if "abm" in agents:
        print(
            f"\nGrounding (abm): what each source's claims came to mean (the standing of the"
            f" return expected from acting on them) over the last {args.ground_over} steps,"
            " mean over seeds:"
        )
        print("\n".join(grounding_lines(lives)))
    if args.csv:
        write_csv(args.csv, lives, scripted)
        print(f"\n{len(lives)} lives -> {args.csv}")
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
