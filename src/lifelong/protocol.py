"""The team's reporting protocol for benchmark tables, as `lifelong bench` applies it.

    All agents of one table run at one commit. Choose settings on seeds 0-4; report on fresh
    seeds 100-109 (10 lives). IQM with 95% bootstrap intervals, and paired differences with
    intervals: a default flips only when the paired interval excludes zero. Normalise each
    world on its own before pooling: share of the headroom between random and a ceiling (an
    oracle) where one exists, else above random relative to the best baseline.

This module holds the parts of it that are not running lives: which seeds `--seeds` names
(`parse_seeds`), the commit of the code that runs (`code_commit`), each world's normalisation
(`normalise`) and the paired differences against a reference agent (`paired_table`). The last
two are pure functions of numbers keyed by (agent, world, seed), so a test can build lives by
hand; `bench.summarize` feeds them the lives' metrics. docs/benchmarks.md, "Protocol", has the
commands.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lifelong.agents import split_ablation
from lifelong.errors import UserError
from lifelong.metrics import paired_difference

Key = tuple[str, str, int]  # (agent, world spec, seed): one life

OURS = ("abm",)  # our learners: the A-B-M agent and its ablations (abm-no_...); all else baselines
RANDOM = "random"  # the floor of every normalised score
DEFAULT_REFERENCE = "abm"  # what the others are paired against when the bench has it
NORMALISED = "auc_normalised"  # the metric of the normalised scores, beside "auc"
SEED_FORMS = (
    "a count N (seeds 0 to N-1), a range A-B (e.g. 100-109) or a list A,B,... (e.g. 100,103)"
)


# --- Seeds --------------------------------------------------------------------------------------


def parse_seeds(value: int | str | Sequence[int]) -> list[int]:
    """The seeds `--seeds` names, sorted: "5" is a count (0-4, as before), "100-109" a range (both
    ends in), "100,103" a list; ranges and seeds mix in a list ("0-4,100"). A lone number is
    always a count: one seed k is "k-k". An int is a count, a sequence of ints a list. A count
    of 0 gives no seeds (the bench refuses them). Anything else, a seed named twice or a range
    that runs backwards is a one-line UserError naming the forms."""
    if isinstance(value, bool):
        raise UserError(f"--seeds takes {SEED_FORMS}; got {value!r}")
    if isinstance(value, int):
        return list(range(value))
    if not isinstance(value, str):
        return _distinct([int(seed) for seed in value], str(list(value)))
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return list(range(int(text)))
    seeds: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if re.fullmatch(r"\d+", item):
            seeds.append(int(item))
            continue
        bounds = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
        if not bounds:
            raise UserError(f"--seeds takes {SEED_FORMS}; got {value!r}")
        low, high = int(bounds[1]), int(bounds[2])
        if low > high:
            raise UserError(
                f"--seeds {value!r}: the range {item} runs backwards; --seeds takes {SEED_FORMS}"
            )
        seeds.extend(range(low, high + 1))
    return _distinct(seeds, repr(value))


def _distinct(seeds: list[int], shown: str) -> list[int]:
    if any(seed < 0 for seed in seeds):
        raise UserError(f"--seeds {shown}: seeds are >= 0; --seeds takes {SEED_FORMS}")
    twice = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if twice:
        raise UserError(f"--seeds {shown} names seed {twice[0]} twice; --seeds takes {SEED_FORMS}")
    return sorted(seeds)


# --- The commit of the code that runs ---------------------------------------------------------


def code_commit(where: Path | None = None) -> str:
    """The git commit of the code in `where` (default: this package's source): the short hash,
    with "-dirty" when tracked files differ from it (untracked files do not count), "unknown"
    when that code is not tracked by a git repository (an installed copy) or git is missing.

    Read-only: git is run with optional locks off, so it never writes the repository's index."""
    where = Path(where) if where is not None else Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=30, env=env
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
        # The code itself must be tracked: a copy installed inside some other repository's
        # ignored folder (a venv's site-packages) is not that repository's commit.
        tracked = git("ls-files", "--", ".")
        if head.returncode or tracked.returncode or not tracked.stdout.strip():
            return "unknown"
        status = git("status", "--porcelain", "--untracked-files=no")  # the whole working tree
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = head.stdout.strip()
    # A status that fails says nothing about the tree: count it as changed, not as clean.
    return f"{commit}-dirty" if status.returncode or status.stdout.strip() else commit


def join_commits(commits: Sequence[str]) -> str:
    """The commits a bench's lives ran at, as one cell: "a1b2c3d", or "a1b2c3d+e4f5a6b" when a
    bench was continued at another commit (which the protocol forbids for a reported table)."""
    return "+".join(dict.fromkeys(commits)) or "unknown"


def split_commits(cell: str | None) -> list[str]:
    return [c for c in (cell or "").split("+") if c]


# --- Normalisation per world --------------------------------------------------------------------


def is_ours(agent: str) -> bool:
    """Ours: the A-B-M agent and its ablations. Every other agent of `agents.AGENTS` is a
    baseline, the ones built on the A-B-M mind (b_only, a_plus_b, timer_m, ...) included."""
    return split_ablation(agent)[0] in OURS


def _mean(values: list[Any]) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def normalise(
    scores: Mapping[Key, float | None], ceilings: Mapping[str, float] | None = None
) -> tuple[dict[Key, float | None], dict[str, dict[str, Any]], list[str]]:
    """Each life's score as a share of its world's headroom (METRICS.md "Share of the headroom
    closed"), so that worlds can be pooled.

    Per world: random = the `random` agent's mean score over its lives there; reference = the
    world's ceiling where `ceilings` has one (an oracle's score or a proved bound), else the
    best baseline's mean there (the highest mean among agents that are neither ours nor
    random). A life scores (score - random) / (reference - random): 0 is random, 1 the
    reference. Returns the normalised score of every life of a world that could be normalised
    (None where its score is missing), each such world's basis {"random", "reference", "form":
    "ceiling" or "best baseline", "against": "ceiling" or the baseline's name}, and notes, one
    line each, on what could not be normalised: no random agent (then nothing is), no random
    life or no baseline in a world, or a reference not above random.
    """
    ceilings = ceilings or {}
    agents = list(dict.fromkeys(agent for agent, _, _ in scores))
    worlds = list(dict.fromkeys(world for _, world, _ in scores))
    if RANDOM not in agents:
        return {}, {}, [f"no `{RANDOM}` agent in this bench: no normalised scores ({NORMALISED})"]
    notes: list[str] = []
    basis: dict[str, dict[str, Any]] = {}
    for world in worlds:

        def mean_of(agent: str, world: str = world) -> float | None:
            return _mean([v for (a, w, _), v in scores.items() if a == agent and w == world])

        floor = mean_of(RANDOM)
        if floor is None:
            notes.append(f"{world}: no finished `{RANDOM}` life, not normalised")
            continue
        if world in ceilings:
            reference, form, against = float(ceilings[world]), "ceiling", "ceiling"
        else:
            means = {a: mean_of(a) for a in agents if not is_ours(a) and a != RANDOM}
            means = {a: m for a, m in means.items() if m is not None}
            if not means:
                notes.append(f"{world}: no baseline but `{RANDOM}` and no ceiling, not normalised")
                continue
            against = max(means, key=lambda a: means[a])
            reference, form = means[against], "best baseline"
        if not reference > floor:
            notes.append(
                f"{world}: the {form} ({against}, {reference:.6g}) is not above"
                f" `{RANDOM}` ({floor:.6g}), not normalised"
            )
            continue
        basis[world] = {"random": floor, "reference": reference, "form": form, "against": against}
    normalised: dict[Key, float | None] = {}
    for (agent, world, seed), value in scores.items():
        if world not in basis:
            continue
        b = basis[world]
        ok = value is not None and math.isfinite(value)
        normalised[(agent, world, seed)] = (
            (value - b["random"]) / (b["reference"] - b["random"]) if ok else None
        )
    return normalised, basis, notes


# --- Paired differences -------------------------------------------------------------------------


def choose_reference(asked: str | None, agents: Sequence[str]) -> str | None:
    """The agent the others are paired against: `asked` (one of the bench's agents), None for
    "none", or without one `DEFAULT_REFERENCE` when the bench has it (every suite lists abm:
    in the ablations each row is then "ablation - default", elsewhere "baseline - ours")."""
    if asked is None:
        return DEFAULT_REFERENCE if DEFAULT_REFERENCE in agents and len(agents) > 1 else None
    if asked.strip().lower() == "none":
        return None
    if asked not in agents:
        raise UserError(
            f"--reference {asked!r} is not one of this bench's agents: {', '.join(agents)}"
            " (or 'none')"
        )
    return asked


def paired_table(
    values: Mapping[Key, Mapping[str, Any]],
    reference: str,
    names: Sequence[str],
    reps: int = 2000,
) -> dict[str, dict[str, dict[str, Any]]]:
    """For every agent but `reference` and every metric in `names`: the differences agent -
    reference on the same world and seed, their mean with a 95% bootstrap interval stratified
    by world (`metrics.paired_difference`), P(agent > reference) and "per_pair", the
    differences in world then seed order (None where either life lacks the value).

    `values` maps each life (agent, world, seed) to its metrics; a pair needs both lives."""
    agents = list(dict.fromkeys(agent for agent, _, _ in values))
    worlds = list(dict.fromkeys(world for _, world, _ in values))
    seeds = sorted({seed for _, _, seed in values})
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for agent in agents:
        if agent == reference:
            continue
        table[agent] = {}
        for name in names:
            strata, per_pair = [], []
            for world in worlds:
                column = []
                for seed in seeds:
                    if (agent, world, seed) not in values or (reference, world, seed) not in values:
                        continue
                    a = values[(agent, world, seed)].get(name)
                    b = values[(reference, world, seed)].get(name)
                    ok = all(v is not None and math.isfinite(v) for v in (a, b))
                    column.append(a - b if ok else None)
                strata.append(column)
                per_pair.extend(column)
            cell = paired_difference(strata, reps=reps)
            table[agent][name] = {**cell, "per_pair": per_pair}
    return table
