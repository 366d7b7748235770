"""Benchmark suites: many lives (agents x worlds x seeds) on the runner, then one summary.

    lifelong bench SUITE --agents abm,b_only --seeds 3 --steps 100000 --jobs 2 --dir DIR
    lifelong bench SUITE --seeds 100-109 --reference abm            # a reported table
    lifelong bench SUITE ... --backend ray [--address auto]       # the lives on a Ray cluster

A bench directory holds one life per agent, world and seed (`DIR/<agent>/seed<k>`, or
`DIR/<agent>/<world tag>/seed<k>` when a suite has several worlds), `bench.yaml` (what was asked),
`summary.json` and `summary.csv` (the metrics of `lifelong.metrics` per agent, seeds aggregated by
IQM with bootstrap confidence intervals; summary.json also holds each agent's reward curve and its
change-aligned curve) and `paired.csv`. The team's reporting protocol (`lifelong.protocol`) is
built in: `--seeds` names any seeds (a count, a range or a list), every life's AUC is also
normalised in its own world against random and a ceiling (the `oracle` agent's lives on the same
seeds, where the bench has them) or the best baseline (`auc_normalised`, pooled over worlds like
every metric), every agent is paired with a reference agent on the same
world and seed (summary.json "paired", paired.csv: mean difference, 95% bootstrap interval,
whether it excludes zero), and bench.yaml, summary.json and both CSVs name the commit the lives
ran at. Rerunning the same command continues: finished lives (`done.json`) are
not rerun, unfinished ones resume from their checkpoints (on the process pool; a life on Ray
sends back only its records, so an unfinished one starts again from birth).

Two baselines depend on the full agent: `random_m` and `timer_m` use the mode frequencies the
A-B-M agent showed in the same world and seed, so their lives run after it. The `random` agent's
level per regime is the floor of the recovery-time rule, and the best agent at each moment is the
reference of regret.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lifelong import metrics
from lifelong.agents import ABLATED, BOTH, check_fits, entry, split_ablation
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.needs import NEEDS, OPTIONAL, pairs
from lifelong.needs import worlds as needs_worlds
from lifelong.protocol import (
    NORMALISED,
    choose_reference,
    code_commit,
    join_commits,
    normalise,
    paired_table,
    parse_seeds,
    split_commits,
)
from lifelong.records import read_jsonl
from lifelong.runner import Backend, failure, make_backend, small_files, work_in
from lifelong.systems.control import RULE_FAMILIES


@dataclass(frozen=True)
class Suite:
    worlds: tuple[str, ...]
    steps: int  # world steps per life at full size
    quick_steps: int  # `--quick`: a smoke test that finishes in minutes
    agents: tuple[str, ...]
    about: str
    # Steps before and after each change in the change-aligned curve and recovery
    # (lifelong.metrics.recovery).
    change_window: tuple[int, int] = (metrics.ALIGN_BEFORE, metrics.ALIGN_AFTER)
    # A ceiling per world spec proved from the world's rules: normalised scores are then the
    # share of the headroom between random and it (`protocol.normalise`). Only the lure's are
    # (`LURE_CEILINGS`): a world with a scripted oracle (the Nursery, MiniGrid, Pendulum) gets
    # its ceiling from the `oracle` agent's lives in the bench instead (`ceilings_of`),
    # measured on the same seeds, since the oracle's score moves with the world's settings.
    # Other worlds are normalised by the best baseline's AUC.
    ceilings: Mapping[str, float] = field(default_factory=dict, hash=False)
    # Named groups of the suite's worlds: `--worlds NAME` runs a group (the `needs` suite's pairs
    # of a need world and its twin, `needs.pairs`), where specs are too alike to pick by a part.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


NURSERY_AGENTS = (
    "abm",
    "frozen",
    "a_only",
    "b_only",
    "a_plus_b",
    "timer_m",
    "random_m",
    "random",
    "sb3_dqn",
)

# The `needs` suite's agents: the full agent, the one without M, M's timing without its reasons,
# and the floor and ceiling of the headroom. Each family's ablation runs on its own pair
# (`lifelong needs` prints the commands) rather than on every world.
NEEDS_AGENTS = ("abm", "a_plus_b", "timer_m", "random_m", "random", "oracle")
# The lure's ceiling is proved from its rules: each reward takes at least its distance in moves.
LURE_CEILINGS = {"lure": 0.2, "lure(lure=0, distance=1)": 1.0}

SUITES: dict[str, Suite] = {
    "nursery": Suite(
        worlds=("nursery",),
        steps=100_000,
        quick_steps=3_000,
        agents=(*NURSERY_AGENTS, "sb3_ppo", "oracle"),
        about="the built-in world: seasons, slippery spells, teachers, predator, noisy TV",
    ),
    "minatar-continual": Suite(
        worlds=(
            "sequence(tasks=minatar:breakout|minatar:asterix|minatar:freeway|minatar:breakout,"
            " every=25000)",
        ),
        steps=100_000,
        quick_steps=2_000,
        agents=NURSERY_AGENTS,
        about="Breakout -> Asterix -> Freeway -> Breakout, unannounced",
    ),
    "minigrid-noisytv": Suite(
        worlds=("minigrid:MiniGrid-DoorKey-5x5-v0+noisy_tv",),
        steps=50_000,
        quick_steps=2_000,
        agents=NURSERY_AGENTS,
        about="DoorKey with a noisy TV one action away",
    ),
    "control-shifts": Suite(
        worlds=(
            "gym:CartPole-v1+failure(penalty=1)+shift(kind=masspole, every=10000, scale=5)",
            "gym:Acrobot-v1+shift(kind=length, every=10000, scale=1.5)",
        ),
        steps=50_000,
        quick_steps=2_000,
        agents=NURSERY_AGENTS,
        about="CartPole (paying -1 per fall) and Acrobot whose physics jump without warning",
    ),
    "pendulum-shifts": Suite(
        worlds=(
            "gym:Pendulum-v1+shift(kind=gravity, every=10000, scale=1.5)",
            "gym:Pendulum-v1+shift(kind=mass, every=10000, scale=2.0)",
        ),
        steps=50_000,
        quick_steps=2_000,
        agents=("abm", "b_only", "a_plus_b", "random", "sb3_sac"),
        about="continuous actions: Pendulum whose gravity or mass jumps every 10,000 steps",
    ),
    "mujoco-shifts": Suite(
        worlds=(
            "gym:HalfCheetah-v5+shift(kind=friction, every=50000, scale=0.3)",
            "gym:Ant-v5+shift(kind=friction, pareto=50000, alpha=1.5, scale=0.3)",
        ),
        steps=200_000,
        quick_steps=2_000,
        agents=("abm", "b_only", "random", "sb3_sac"),
        about="MuJoCo bodies on floors whose friction changes (needs lifelong[mujoco])",
    ),
    "bandits": Suite(
        worlds=("bandit(arms=5, every=2000)",),
        steps=50_000,
        quick_steps=4_000,
        agents=("abm", "b_only", "random", "sw_ucb", "cusum_ucb"),
        about="a piecewise-stationary 5-armed Bernoulli bandit: the smallest test of detection",
    ),
    "needs": Suite(
        worlds=needs_worlds(NEEDS),
        steps=30_000,
        quick_steps=3_000,
        agents=NEEDS_AGENTS,
        about="each family of M's rules in a world that needs it and a stationary twin where it"
        " should stay quiet (`lifelong needs` lists them)",
        ceilings=LURE_CEILINGS,
        groups=pairs(NEEDS),
    ),
    "needs-mujoco": Suite(
        worlds=needs_worlds(OPTIONAL),
        steps=30_000,
        quick_steps=2_000,
        agents=tuple(agent for agent in NEEDS_AGENTS if agent != "oracle"),
        about="the needs table's MuJoCo pair: HalfCheetah whose actuator gains are redrawn"
        " (needs lifelong[mujoco])",
        groups=pairs(OPTIONAL),
    ),
    "ablations": Suite(
        worlds=("nursery",),
        steps=50_000,
        quick_steps=3_000,
        agents=("abm", *(f"{ABLATED}{family}" for family in RULE_FAMILIES)),
        about="the full agent against itself with each family of M's rules switched off",
    ),
}

DEPENDENT = ("random_m", "timer_m")  # need the full agent's mode frequencies first
ORACLE = "oracle"  # its lives' mean AUC in a world is that world's ceiling (`ceilings_of`)


@dataclass(frozen=True)
class LifePlan:
    agent: str
    world: str
    seed: int
    steps: int
    directory: Path
    genome: tuple[tuple[str, Any], ...] = ()  # genome changes shared by every life of the bench


def world_tag(world: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", world).strip("_")[:60]


def life_directory(directory: Path, suite: Suite, agent: str, world: str, seed: int) -> Path:
    where = directory / agent
    if len(suite.worlds) > 1:
        where = where / world_tag(world)
    return where / f"seed{seed}"


def plan(
    suite: Suite,
    agents: list[str],
    seeds: int | Sequence[int],
    steps: int,
    directory: Path,
    genome: dict[str, Any] | None = None,
    worlds: tuple[str, ...] | None = None,
) -> list[LifePlan]:
    """The suite's lives, or those in `worlds` (some of the suite's) at the same directories;
    `seeds` is a count (seeds 0 to N-1) or the seeds themselves."""
    changes = tuple(sorted((genome or {}).items()))
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    return [
        LifePlan(
            agent, world, seed, steps, life_directory(directory, suite, agent, world, seed), changes
        )
        for agent in agents
        for world in worlds or suite.worlds
        for seed in seeds
    ]


def select_worlds(suite_name: str, suite: Suite, terms: list[str] | None) -> tuple[str, ...]:
    """The suite's worlds whose spec contains one of `terms` (case-insensitive), or that a term
    names as a group (`Suite.groups`); all without."""
    if not terms:
        return suite.worlds
    matches = {
        term: set(suite.groups[term])
        if term in suite.groups
        else {w for w in suite.worlds if term.lower() in w.lower()}
        for term in terms
    }
    for term, worlds in matches.items():
        if not worlds:
            groups = f"; groups: {', '.join(suite.groups)}" if suite.groups else ""
            raise UserError(
                f"--worlds {term!r} matches none of {suite_name}'s worlds:"
                f" {', '.join(suite.worlds)}{groups}"
            )
    return tuple(w for w in suite.worlds if any(w in worlds for worlds in matches.values()))


def life_config(life: LifePlan, mode_mix: str | None = None) -> dict[str, Any]:
    """Records at 1% of the life (the AUC's bins), diagnostics at 10%, checkpoints at 25%,
    only the newest kept: a bench resumes a life from it, and three per life (60-230 MB each in
    MinAtar) filled the disk of a 10-seed decision run."""
    log_every = max(life.steps // 100, 1)
    agent, ablate = split_ablation(life.agent)
    changes: dict[str, Any] = dict(
        agent=agent,
        ablate=ablate,
        world=life.world,
        seed=life.seed,
        log_every=log_every,
        checkpoint_every=max(life.steps // 4 // log_every, 1) * log_every,
        diagnose_every=max(life.steps // 10 // log_every, 1) * log_every,
        keep_checkpoints=1,
        tensorboard=False,
        threads=1,
    )
    if mode_mix is not None:
        changes["mode_mix"] = mode_mix
    return changes


@dataclass(frozen=True)
class BenchTask:
    """One life of a bench, as the runner ships it (`runner.py`): picklable, no torch."""

    life: LifePlan
    mode_mix: str | None  # random_m / timer_m: the full agent's measured mode frequencies
    directory: str | None  # where it runs: the life's directory, or None on a Ray worker


def live(task: BenchTask) -> dict[str, Any]:
    """Run one life to its end (continuing it if it began); a crash is a result, not raised."""
    life = task.life
    try:
        with work_in(task.directory) as where:
            changes = life_config(life, task.mode_mix)
            if entry(life.agent).loop == "oracle":
                from lifelong.baselines import run_oracle_life

                config = Config(**{**Config().to_dict(), **changes, "diagnose_every": 0})
                run_oracle_life(where, config, life.steps)
            elif entry(life.agent).loop == "sb3":
                from lifelong.sb3_life import run_sb3_life

                config = Config(**{**Config().to_dict(), **changes, "diagnose_every": 0})
                run_sb3_life(where, config, Genome(**dict(life.genome)), life.steps)
            else:
                from lifelong.life import open_life

                if (where / "config.yaml").exists():
                    running = open_life(where)
                else:
                    running = open_life(
                        where, config_changes=changes, genome_changes=dict(life.genome)
                    )
                running.run(life.steps)
            (where / "done.json").write_text(json.dumps({"steps": life.steps}))
            files = small_files(where) if task.directory is None else {}
        return {"error": None, "traceback": None, "files": files}
    except Exception as error:
        return failure(error, traceback.format_exc())


def finished(life: LifePlan) -> bool:
    done = life.directory / "done.json"
    return done.exists() and json.loads(done.read_text()).get("steps") == life.steps


def measured_mix(directory: Path) -> str | None:
    """The mode frequencies of the life in `directory`, as a `mode_mix` string."""
    records = read_jsonl(directory / "metrics.jsonl")
    if not records:
        return None
    share = metrics.time_per_mode(records)
    if not all(np.isfinite(v) for v in share.values()) or sum(share.values()) <= 0:
        return None
    return ",".join(f"{mode}={share[mode]:.4f}" for mode in metrics.MODES)


def run_bench(
    suite_name: str,
    agents: list[str] | None,
    seeds: int | str | Sequence[int],
    steps: int | None,
    jobs: int,
    directory: Path,
    quick: bool = False,
    progress: Any = print,
    genome: dict[str, Any] | None = None,
    backend: str = "local",
    address: str | None = None,
    worlds: list[str] | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Run (or continue) a suite; returns the summary also written to DIR/summary.json.

    `seeds` is a count (seeds 0 to N-1), the text of `--seeds` (a count, "100-109", "100,103":
    `protocol.parse_seeds`) or the seeds. `reference` is the agent every other is paired with
    (`protocol.choose_reference`: without one, abm when the bench has it; "none" for no pairs).

    `worlds` keeps some of the suite's worlds (`select_worlds`); their lives live where the whole
    suite's would, so a bench can grow from one world to all of them in the same directory.

    Lives run `jobs` at a time on `backend` (`runner.py`: a local process pool, or Ray at
    `address`, where `jobs` sizes a local Ray). Both write the same lives and the same summary.
    """
    if suite_name not in SUITES:
        raise UserError(f"unknown suite {suite_name!r}; suites: {', '.join(SUITES)}")
    suite = SUITES[suite_name]
    agents = list(agents or suite.agents)
    for agent in agents:
        base, ablate = split_ablation(agent)
        entry(agent)  # the registry's own check: a one-line UserError
        Config(agent=base, ablate=ablate)  # the config's, of the ablated families
    if len(set(agents)) != len(agents):
        raise UserError("--agents lists an agent twice")
    seed_list = parse_seeds(seeds)
    if not seed_list or jobs < 1:
        raise UserError(f"--seeds and --jobs must be >= 1, got {seeds} and {jobs}")
    reference = choose_reference(reference, agents)
    steps = steps if steps is not None else suite.quick_steps if quick else suite.steps
    if steps < 100:
        raise UserError(f"--steps must be >= 100 (a life needs records), got {steps}")
    Genome(**(genome or {}))  # a bad genome key or value fails here, before any life starts
    chosen = select_worlds(suite_name, suite, worlds)
    _check_fits(agents, chosen)
    asked = {"suite": suite_name, "worlds": list(chosen), "agents": agents,
             "seeds": seed_list, "steps": steps, "genome": dict(genome or {}),
             "reference": reference}  # fmt: skip
    _check_same_bench(directory, asked)
    lives = plan(suite, agents, seed_list, steps, directory, genome, chosen)
    commit = _commit_of(directory, lives, progress)
    runner = make_backend(backend, address, jobs)  # connects to Ray before anything is written
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "bench.yaml").write_text(
            yaml.safe_dump({**asked, "world": chosen[0], "commit": commit})
        )
        first = [life for life in lives if life.agent not in DEPENDENT]
        second = [life for life in lives if life.agent in DEPENDENT]
        failures = _run_wave(first, runner, progress, mix_for=lambda life: None)

        def mix_for(life: LifePlan) -> str | None:
            if "abm" not in agents:
                return None  # no full agent to copy: the config's default mix
            return measured_mix(life_directory(directory, suite, "abm", life.world, life.seed))

        failures += _run_wave(second, runner, progress, mix_for=mix_for)
    finally:
        runner.close()
    summary = summarize(
        directory, suite_name, replace(suite, worlds=chosen), lives, steps, reference, commit
    )
    summary["failures"] = failures
    if reference is None:
        summary["notes"].append(
            "no paired differences: no reference agent among others (--reference; default abm)"
        )
    (directory / "summary.json").write_text(json.dumps(summary, indent=1))
    write_csv(directory / "summary.csv", summary)
    paired = directory / "paired.csv"
    if summary["paired"]:
        write_paired_csv(paired, summary)
    else:
        paired.unlink(missing_ok=True)  # a reference dropped since: no stale pairs
    return summary


def _commit_of(directory: Path, lives: list[LifePlan], progress: Any) -> str:
    """The commit(s) the bench's lives ran at, for bench.yaml: this code's (`code_commit`) for a
    new bench; on a rerun, the recorded one, joined by this one if lives are left to run here.
    A rerun at another commit warns in one line: the lives of one table must run at one commit.
    A bench begun before commits were recorded counts as "unknown" once a life has finished."""
    now = code_commit()
    path = directory / "bench.yaml"
    before: list[str] = []
    if path.exists():
        recorded = (yaml.safe_load(path.read_text()) or {}).get("commit")
        before = split_commits(recorded)
        if not before and any(finished(life) for life in lives):
            before = ["unknown"]
    left = [life for life in lives if not finished(life)]
    if before and before != [now]:
        consequence = (
            f"its {len(left)} lives left run at {now}: lives of one table must run at one commit"
            if left
            else f"no life is left to run; only the summary is redone at {now}"
        )
        progress(f"warning: {directory} ran at commit {join_commits(before)}; {consequence}")
    return join_commits([*before, now] if left or not before else before)


def _same(a: LifePlan, b: LifePlan) -> bool:
    return (a.world, a.seed) == (b.world, b.seed)


def _check_fits(agents: list[str], worlds: tuple[str, ...]) -> None:
    """Refuse an agent that cannot act in one of the suite's worlds (DQN or a bandit in a Box,
    SAC in a Discrete, the oracle in a world without one), before anything is written; only
    when such an agent is asked, as it builds each world."""
    if all(entry(agent).acts_in == BOTH and entry(agent).loop != "oracle" for agent in agents):
        return
    from lifelong.baselines import oracle_for
    from lifelong.policies import load_policy
    from lifelong.worlds import make_world

    for world in worlds:
        probe = make_world(world, load_policy=load_policy)
        try:
            for agent in agents:
                check_fits(agent, probe.action_space, world)
                if entry(agent).loop == "oracle":
                    oracle_for(probe, world)
        finally:
            probe.close()


def _check_same_bench(directory: Path, asked: dict[str, Any]) -> None:
    path = directory / "bench.yaml"
    if not path.exists():
        return
    before = yaml.safe_load(path.read_text()) or {}
    for key in ("suite", "steps", "genome"):
        if before.get(key) != asked[key]:
            raise UserError(
                f"{directory} holds a bench with {key}={before.get(key)!r}, not {asked[key]!r};"
                " use another --dir"
            )


def _run_wave(lives: list[LifePlan], runner: Backend, progress: Any, mix_for: Any) -> list[str]:
    for life in lives:
        if finished(life):
            progress(f"done already: {life.directory}")
    tasks = [
        BenchTask(life, mix_for(life), str(life.directory)) for life in lives if not finished(life)
    ]
    failures: list[str] = []

    def on_result(task: BenchTask, result: dict[str, Any]) -> None:
        where = task.life.directory
        progress(f"{'FAILED' if result['error'] else 'finished'}: {where}")
        if result["error"]:
            failures.append(f"{where}: {result['error']}")
            with contextlib.suppress(OSError):
                where.mkdir(parents=True, exist_ok=True)
                (where / "failed.txt").write_text(result["traceback"] or result["error"])

    runner.run(live, tasks, on_result)
    return sorted(failures)


# --- Summary ------------------------------------------------------------------------------------


def summarize(
    directory: Path,
    suite_name: str,
    suite: Suite,
    lives: list[LifePlan],
    steps: int,
    pair_with: str | None = None,
    commit: str | None = None,
) -> dict[str, Any]:
    """Every life's metrics, then per agent the IQM and 95% bootstrap CI over seeds (and worlds).

    Each life's AUC is also normalised in its world (`protocol.normalise`, the metric
    `auc_normalised`, pooled over worlds like the others), and with a `pair_with` agent (the
    bench's reference) every other agent's metrics are paired with its lives
    (`protocol.paired_table`). Notes say what could not be normalised."""
    data = {}
    for life in lives:
        if finished(life):
            data[life] = (
                read_jsonl(life.directory / "metrics.jsonl"),
                read_jsonl(life.directory / "events.jsonl"),
            )
    per_life: dict[LifePlan, dict[str, Any]] = {}
    recovery: dict[str, list[float]] = {}
    before, after = suite.change_window
    for life, (records, events) in data.items():
        twins = [other for other in data if _same(other, life)]
        floor = _floor(data, twins)
        reference = _reference(data, twins)
        m_decides = split_ablation(life.agent)[0] == "abm"  # else mode switches detect nothing
        summary = metrics.summarize_life(
            records,
            events,
            floor,
            reference,
            explore_as_alarm=m_decides,
            before=before,
            after=after,
        )
        recovery.setdefault(life.agent, []).extend(summary.pop("recovery_times", []))
        per_life[life] = summary
    basis, notes = _add_normalised(per_life, lives, suite)
    agents = list(dict.fromkeys(life.agent for life in lives))
    names = list(dict.fromkeys(k for summary in per_life.values() for k in summary))
    table: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, list[float | None]]] = {}
    aligned: dict[str, dict[str, list[Any]]] = {}
    for agent in agents:
        mine = [life for life in lives if life.agent == agent]
        table[agent] = {}
        for name in names:
            values = [per_life[life].get(name) if life in per_life else None for life in mine]
            table[agent][name] = _aggregate(values, mine, suite)
        curves[agent] = _agent_curve(data, mine)
        aligned[agent] = _aligned_curve(data, mine, before, after)
    paired = {}
    if pair_with is not None and pair_with in agents:
        # Every planned life, so that a pair missing a life counts as missing, not as absent.
        values = {(life.agent, life.world, life.seed): per_life.get(life, {}) for life in lives}
        paired = paired_table(values, pair_with, names)
    return {
        "suite": suite_name,
        "world": suite.worlds[0],
        "worlds": list(suite.worlds),
        "steps": steps,
        "seeds": sorted({life.seed for life in lives}),
        "commit": commit or "unknown",
        "agents": table,
        "reference": pair_with if paired else None,
        "paired": paired,
        "normalisation": {"metric": "auc", "worlds": basis},
        "notes": notes,
        "curves": curves,
        "recovery": recovery,
        "aligned": aligned,
    }


def _add_normalised(
    per_life: dict[LifePlan, dict[str, Any]], lives: list[LifePlan], suite: Suite
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each finished life's AUC normalised in its world (`protocol.normalise`), put right after
    its AUC as `auc_normalised`; returns each world's basis and the notes on what was not
    normalised. Unfinished lives count as lives without a score."""
    keyed = {(life.agent, life.world, life.seed): life for life in lives}
    scores = {key: per_life.get(life, {}).get("auc") for key, life in keyed.items()}
    normalised, basis, notes = normalise(scores, ceilings_of(scores, suite))
    if not normalised:
        return basis, notes
    for key, life in keyed.items():
        if life not in per_life:
            continue
        summary = per_life[life]
        items = list(summary.items())
        at = next((i + 1 for i, (name, _) in enumerate(items) if name == "auc"), len(items))
        items.insert(at, (NORMALISED, normalised.get(key)))
        per_life[life] = dict(items)
    return basis, notes


def ceilings_of(scores: Mapping[tuple[str, str, int], float | None], suite: Suite) -> dict:
    """Each world's ceiling: the suite's proved bound, else the mean score of the `oracle`
    agent's lives in that world where the bench has any (the oracle reads the world's truth:
    METRICS.md's first choice of ceiling). Measured per seed on the bench's own seeds, so the
    ceiling follows the world's settings and the seeds' luck as the floor (random) does."""
    ceilings = dict(suite.ceilings)
    for world in dict.fromkeys(world for _, world, _ in scores):
        if world in ceilings:
            continue
        values = [v for (a, w, _), v in scores.items() if a == ORACLE and w == world]
        values = [float(v) for v in values if v is not None and np.isfinite(v)]
        if values:
            ceilings[world] = float(np.mean(values))
    return ceilings


def _aggregate(values: list[Any], lives: list[LifePlan], suite: Suite) -> dict[str, Any]:
    if len(suite.worlds) == 1:
        return metrics.aggregate(values)
    # Several worlds: IQM over all lives, seeds resampled within each world (stratified).
    result = metrics.aggregate(values)
    by_world = [
        [v for v, life in zip(values, lives, strict=True) if life.world == world]
        for world in suite.worlds
    ]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in by_world], float).T
    if np.isfinite(matrix).all() and matrix.size:
        result["low"], result["high"] = metrics.bootstrap_ci_stratified(matrix)
    return result


def _floor(data: dict, twins: list[LifePlan]) -> dict[Any, float] | None:
    """The random agent's mean reward per regime in the same world and seed."""
    for life in twins:
        if life.agent == "random":
            records = data[life][0]
            steps = np.array([r["step"] for r in records], float)
            regimes = [r.get("regime") for r in records]
            return metrics.per_regime(steps, metrics.reward_curve(records), regimes) or None
    return None


def _reference(data: dict, twins: list[LifePlan]) -> np.ndarray | None:
    """The best agent at each record in the same world and seed: regret's reference curve."""
    curves = [metrics.reward_curve(data[life][0]) for life in twins]
    if not curves:
        return None
    length = min(len(c) for c in curves)
    return np.nanmax(np.stack([c[:length] for c in curves]), axis=0) if length else None


def _agent_curve(data: dict, lives: list[LifePlan]) -> dict[str, list[float | None]]:
    runs = [metrics.reward_curve(data[life][0]) for life in lives if life in data]
    records = [data[life][0] for life in lives if life in data]
    if not runs or not min(len(r) for r in runs):
        return {"step": [], "iqm": [], "low": [], "high": []}
    length = min(len(r) for r in runs)
    matrix = np.stack([r[:length] for r in runs])
    steps = [records[0][i]["step"] for i in range(length)]
    out: dict[str, list[float | None]] = {"step": steps, "iqm": [], "low": [], "high": []}
    for column in matrix.T:
        point = metrics.aggregate(list(column), reps=300)
        for key in ("iqm", "low", "high"):
            out[key].append(point[key])
    return out


def _aligned_curve(
    data: dict, lives: list[LifePlan], before: int, after: int
) -> dict[str, list[Any]]:
    """An agent's change-aligned reward curve: the mean over every change of every life.

    "step" is the bin's end in steps from the change (`metrics.change_aligned`), "mean" the
    mean reward per step there (None where no change has a bin), "changes" how many changes
    that mean is over. A bench gives all its lives one bin width; a life of another width (or
    without bins) is left out.
    """
    rows, offsets, width = [], None, None
    for life in lives:
        if life not in data:
            continue
        records, events = data[life]
        ends, values, bins = metrics.reward_bins(records)
        if bins is None or (width is not None and bins != width):
            continue
        width = bins
        taus = [tau for tau, _ in metrics.change_points(events, records)]
        offsets, matrix = metrics.change_aligned(ends, values, bins, taus, before, after)
        rows.append(matrix)
    if offsets is None:
        return {"step": [], "mean": [], "changes": []}
    mean, counts = metrics.aligned_mean(np.concatenate(rows))
    return {
        "step": offsets.tolist(),
        "mean": [float(v) if np.isfinite(v) else None for v in mean],
        "changes": counts.tolist(),
    }


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def write_csv(path: Path, summary: dict[str, Any]) -> None:
    """summary.csv: a row per agent and metric, IQM [low, high] over its lives, each life's value
    ("seeds": world by world, seeds in order) and the commit the lives ran at."""
    commit = summary.get("commit", "unknown")
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["agent", "metric", "iqm", "low", "high", "seeds", "commit"])
        for agent, table in summary["agents"].items():
            for name, cell in table.items():
                seeds = " ".join(_number(v) for v in cell["per_seed"])
                row = [cell["iqm"], cell["low"], cell["high"]]
                writer.writerow([agent, name, *(_number(v) for v in row), seeds, commit])


def write_paired_csv(path: Path, summary: dict[str, Any]) -> None:
    """paired.csv: a row per agent and metric, the agent's lives minus the reference's on the same
    world and seed: mean [low, high] (95% bootstrap, stratified by world), whether the interval
    excludes zero, P(agent > reference), the number of pairs, each pair's difference ("pairs",
    world by world, seeds in order; empty where a life lacks the value) and the commit."""
    commit, reference = summary.get("commit", "unknown"), summary["reference"]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["agent", "reference", "metric", "mean", "low", "high", "excludes_zero",
                         "p_greater", "n", "pairs", "commit"])  # fmt: skip
        for agent, table in summary["paired"].items():
            for name, cell in table.items():
                numbers = [_number(cell[k]) for k in ("mean", "low", "high")]
                writer.writerow([
                    agent, reference, name, *numbers, "yes" if cell["excludes_zero"] else "no",
                    _number(cell["p_greater"]), cell["pairs"],
                    " ".join(_number(v) for v in cell["per_pair"]), commit,
                ])  # fmt: skip
