"""Evo/Devo: CMA-ES evolves the genome, and each genome is judged by whole lifetimes.

    lifelong evolve --world nursery-small --population 8 --generations 6 --lifetime 5000 \
        --backend local|ray [--address ADDR] --dir DIR [--seed S]

The paper's outer loop. The inner loop is a life (`lifelong.life`): A and B learn while M stays
fixed. The outer loop moves the genome, which sets M and the initial A and B, by how well whole
lifetimes go. One generation:

1. CMA-ES (pycma) proposes `population` points in the genome's normalised space
   (`Genome.to_vector`, every field in [0, 1], log-scaled where the genome says so), bounded to
   [0, 1], starting from the start genome (the default one unless `--genome`/`--set` change it)
   with step size `sigma`. Frozen fields are not searched: they keep the start genome's value.
2. The curriculum picks this generation's lives: `lives` (world variant, seed) pairs drawn from
   its current level, the same for every genome of the generation (common random numbers make
   the ranking less noisy), fresh each generation (so no genome is fitted to one seed).
3. Every genome lives every one of those lives, on a process pool or a Ray cluster.
4. A life scores `auc_weight * AUC + adaptation_weight * adaptation` (see `life_measures`); a
   genome's fitness is the mean over its lives. A genome that cannot be built (infeasible) or any
   of whose lives crashed gets no fitness, the worst rank, and its reason in history.csv: the
   evolution itself never stops for it.
5. CMA-ES is told the ranks; the generation is checkpointed.

An evolution directory holds:
    evolve.yaml     what was asked (worlds, sizes, weights, curriculum, start genome, frozen fields)
    state.json      every generation: lives, proposals, genomes, fitnesses, errors, CMA-ES mean
    history.csv     one row per evaluated genome (rewritten from state.json each generation)
    best.yaml       the fittest genome of the last generation (for `lifelong run --genome`)
    mean.yaml       the CMA-ES mean after the last generation: the search's current centre
    lives/g<generation>/i<genome>/l<life>/   each life's records (checkpoints are deleted)

Resuming: the CMA-ES state is rebuilt by replaying the stored generations through a fresh
CMA-ES with the same seed (pycma is deterministic given its random stream, which is our own),
and each replayed proposal is checked against the stored one. That keeps state.json plain JSON
(nothing is unpickled) and makes a resumed evolution identical to an uninterrupted one. Within an
unfinished generation, lives that finished (`done.json`) are kept and the others start again from
birth, so a resumed life is the same life whatever the world can or cannot save.

Determinism: the same `seed` gives the same proposals, the same lives and the same fitnesses on
either backend; timings are the only thing that differs, and history.csv holds none.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lifelong import metrics
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.records import read_jsonl
from lifelong.runner import Backend, check_backend, failure, make_backend, small_files, work_in

FORMAT = 1  # of evolve.yaml and state.json

# Fields that set what a life costs in compute and memory rather than how the agent behaves.
# `--freeze cost` keeps them, so a short evolution on a small machine cannot wander into
# genomes whose lives take ten times longer.
COST_FIELDS = (
    "latent_dim",
    "hidden_dim",
    "ensemble_size",
    "horizon",
    "q_hidden",
    "batch_size",
    "train_every",
    "a_every",
    "sleep_updates",
    "memory_recent",
    "memory_longterm",
)
FREEZE_GROUPS = {"cost": COST_FIELDS}

# A life may take at most this many ticks (world steps plus ticks asleep or imagining) per world
# step of its lifetime. A genome can make an agent sleep almost all the time (sleep pressure that
# rises fast and falls slowly); its life would take hours, so it is cut and gets no fitness.
TICKS_PER_STEP = 10

# Placeholders a curriculum variant may use; fractions of the lifetime are in world steps.
PLACEHOLDERS = ("world", "lifetime", "half", "third", "quarter")

# What a rerun on the same directory may change: where and how fast, never what is measured.
# `generations` may grow: the evolution then goes on from where it stopped.
CHANGEABLE = ("generations",)

DEFAULTS: dict[str, Any] = {
    "worlds": ["nursery-small"],
    "population": 8,
    "generations": 6,
    "lifetime": 5000,
    "seed": 0,
    "frozen": [],
    "start": {},
    "auc_weight": 1.0,
    "adaptation_weight": 0.01,
    "sigma": 0.2,
    "curriculum": None,  # None: `default_curriculum(generations)`
}


# ---------------------------------------------------------------------------------------------
# What was asked: settings and the curriculum.


@dataclass(frozen=True)
class Level:
    """One stage of the curriculum: from generation `start` on, `lives` lives per genome drawn
    from `variants` (world specs with placeholders, see PLACEHOLDERS)."""

    start: int
    lives: int
    variants: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start, "lives": self.lives, "variants": list(self.variants)}


def default_curriculum(generations: int) -> tuple[Level, ...]:
    """Three levels over the first, second and last third of the generations.

    First the worlds as given; then also with the meaning of actions permuted halfway through
    each life; then also at heavy-tailed moments (Pareto gaps, mean a quarter of the life). Each
    level also lives more lives per genome, so later fitnesses average over more variety.
    """
    plain = "{world}"
    halfway = "{world}+shift(kind=actions, every={half})"
    heavy = "{world}+shift(kind=actions, pareto={quarter})"
    levels = [
        Level(0, 2, (plain,)),
        Level(generations // 3, 3, (plain, halfway)),
        Level(2 * generations // 3, 4, (plain, halfway, heavy)),
    ]
    kept: list[Level] = []
    for level in levels:  # a short evolution has fewer levels: those that start in time
        if level.start < generations and (not kept or level.start > kept[-1].start):
            kept.append(level)
    return tuple(kept)


def parse_curriculum(value: Any, source: str) -> tuple[Level, ...]:
    """Levels from YAML data: a list of {from: G, lives: N, variants: [spec, ...]}."""
    if isinstance(value, dict) and "curriculum" in value:
        value = value["curriculum"]
    if not isinstance(value, list) or not value:
        raise UserError(
            f"{source} must hold a non-empty list of levels {{from: G, lives: N, variants: [...]}}"
        )
    levels = []
    for i, item in enumerate(value):
        where = f"{source}, level {i}"
        if not isinstance(item, dict) or set(item) != {"from", "lives", "variants"}:
            raise UserError(f"{where}: expected exactly the keys from, lives, variants")
        start, lives, variants = item["from"], item["lives"], item["variants"]
        if isinstance(variants, str):
            variants = [variants]
        if not _whole(start) or start < 0 or not _whole(lives) or lives < 1:
            raise UserError(f"{where}: 'from' must be a whole number >= 0 and 'lives' >= 1")
        if not isinstance(variants, list) or not variants:
            raise UserError(f"{where}: 'variants' must be a non-empty list of world specs")
        if not all(isinstance(v, str) and v.strip() for v in variants):
            raise UserError(f"{where}: every variant must be a world spec (text)")
        levels.append(Level(int(start), int(lives), tuple(v.strip() for v in variants)))
    if levels[0].start != 0:
        raise UserError(f"{source}: the first level must start at generation 0 (from: 0)")
    if any(b.start <= a.start for a, b in zip(levels, levels[1:], strict=False)):
        raise UserError(f"{source}: levels must start at increasing generations")
    return tuple(levels)


def load_curriculum(path: Path) -> tuple[Level, ...]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UserError(f"cannot read curriculum file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise UserError(f"curriculum file {path} is not valid YAML: {reason}") from None
    return parse_curriculum(data, f"curriculum file {path}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Settings:
    """Everything that decides what an evolution measures (saved as evolve.yaml)."""

    worlds: tuple[str, ...]
    population: int
    generations: int
    lifetime: int
    seed: int
    frozen: tuple[str, ...]
    start: dict[str, Any]  # the start genome, every field
    auc_weight: float
    adaptation_weight: float
    sigma: float
    curriculum: tuple[Level, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "worlds": list(self.worlds),
            "population": self.population,
            "generations": self.generations,
            "lifetime": self.lifetime,
            "seed": self.seed,
            "frozen": list(self.frozen),
            "auc_weight": self.auc_weight,
            "adaptation_weight": self.adaptation_weight,
            "sigma": self.sigma,
            "curriculum": [level.to_dict() for level in self.curriculum],
            "start": dict(self.start),
        }

    @property
    def free(self) -> list[int]:
        """Indices into `Genome.names()` of the fields CMA-ES searches."""
        return [i for i, name in enumerate(Genome.names()) if name not in self.frozen]

    def level(self, generation: int) -> tuple[int, Level]:
        """The curriculum level in force at `generation`, with its index."""
        found = 0
        for i, level in enumerate(self.curriculum):
            if level.start <= generation:
                found = i
        return found, self.curriculum[found]

    def variants(self, level: Level) -> list[str]:
        """The world specs of a level: each variant filled in for each world."""
        fill = {
            "lifetime": self.lifetime,
            "half": max(self.lifetime // 2, 1),
            "third": max(self.lifetime // 3, 1),
            "quarter": max(self.lifetime // 4, 1),
        }
        specs = []
        for world in self.worlds:
            for variant in level.variants:
                try:
                    specs.append(variant.format_map({**fill, "world": world}))
                except (KeyError, ValueError, IndexError) as error:
                    raise UserError(
                        f"curriculum variant {variant!r}: bad placeholder {error};"
                        f" allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                    ) from None
        return list(dict.fromkeys(specs))


def resolve_frozen(names: list[str]) -> tuple[str, ...]:
    """Field names (comma lists allowed, 'cost' for COST_FIELDS) in the genome's field order."""
    wanted: set[str] = set()
    for item in names:
        for name in (part.strip() for part in str(item).split(",")):
            if not name:
                continue
            if name in FREEZE_GROUPS:
                wanted.update(FREEZE_GROUPS[name])
            elif name in Genome.names():
                wanted.add(name)
            else:
                raise UserError(
                    f"unknown genome field '{name}' in --freeze; allowed: any field of"
                    f" `lifelong genome`, or {', '.join(FREEZE_GROUPS)}"
                )
    return tuple(name for name in Genome.names() if name in wanted)


def make_settings(asked: dict[str, Any], directory: Path) -> Settings:
    """Settings from what was asked, on top of the stored ones when `directory` holds an
    evolution (a rerun continues it), else on top of DEFAULTS. Anything that would change what
    is measured, on a rerun, is a UserError naming it."""
    asked = {key: value for key, value in asked.items() if value is not None}
    stored = _read_settings(directory)
    if stored is not None:
        for key, value in asked.items():
            before = stored.get(key)
            if key not in CHANGEABLE and _normalised(key, value) != _normalised(key, before):
                raise UserError(
                    f"{directory} holds an evolution with {key}={before!r}, not {value!r};"
                    " rerun with the same options to continue, or use another --dir"
                )
        values = {**stored, **asked}
    else:
        values = {**DEFAULTS, **asked}
    return _validated(values)


def _normalised(key: str, value: Any) -> Any:
    """A setting as stored in evolve.yaml, so a rerun's options compare with the stored ones."""
    if key == "frozen":
        return list(resolve_frozen(list(value or [])))
    if key == "start":
        return Genome.from_dict(dict(value or {}), "start genome").to_dict()
    if key == "curriculum" and value is not None and not isinstance(value, list):
        return [level.to_dict() for level in value]
    if key == "worlds":
        return list(value)
    if key in ("auc_weight", "adaptation_weight", "sigma") and _number(value):
        return float(value)
    return value


def _validated(values: dict[str, Any]) -> Settings:
    for key in ("population", "generations", "lifetime", "seed"):
        if not _whole(values[key]):
            raise UserError(f"--{key} must be a whole number, got {values[key]!r}")
    if values["population"] < 2:
        raise UserError(
            f"--population must be >= 2 (CMA-ES ranks its proposals), got {values['population']}"
        )
    if values["generations"] < 1:
        raise UserError(f"--generations must be >= 1, got {values['generations']}")
    if values["lifetime"] < 100:
        raise UserError(f"--lifetime must be >= 100 world steps, got {values['lifetime']}")
    if values["seed"] < 0:
        raise UserError(f"--seed must be >= 0, got {values['seed']}")
    for key in ("auc_weight", "adaptation_weight"):
        if not _number(values[key]) or values[key] < 0:
            raise UserError(f"--{key.replace('_', '-')} must be a number >= 0, got {values[key]}")
    if values["auc_weight"] == 0 and values["adaptation_weight"] == 0:
        raise UserError("--auc-weight and --adaptation-weight cannot both be 0: nothing to rank")
    if not _number(values["sigma"]) or not 0 < values["sigma"] <= 1:
        raise UserError(f"--sigma must be in (0, 1] (normalised units), got {values['sigma']}")
    worlds = values["worlds"]
    if isinstance(worlds, str) or not worlds or not all(isinstance(w, str) for w in worlds):
        raise UserError("--world must name at least one world spec")
    if len(set(worlds)) != len(worlds):
        raise UserError("--world lists a world twice")
    frozen = resolve_frozen(list(values["frozen"] or []))
    if len(frozen) == len(Genome.names()):
        raise UserError("every genome field is frozen: nothing is left to evolve")
    start = Genome.from_dict(dict(values["start"] or {}), "start genome")
    curriculum = values["curriculum"]
    if curriculum is None:
        curriculum = default_curriculum(values["generations"])
    elif not isinstance(curriculum, tuple):
        curriculum = parse_curriculum(curriculum, "evolve.yaml curriculum")
    return Settings(
        worlds=tuple(worlds),
        population=values["population"],
        generations=values["generations"],
        lifetime=values["lifetime"],
        seed=values["seed"],
        frozen=frozen,
        start=start.to_dict(),
        auc_weight=float(values["auc_weight"]),
        adaptation_weight=float(values["adaptation_weight"]),
        sigma=float(values["sigma"]),
        curriculum=curriculum,
    )


def _read_settings(directory: Path) -> dict[str, Any] | None:
    path = directory / "evolve.yaml"
    if not path.exists():
        return None
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    if not isinstance(values, dict) or values.pop("format", None) != FORMAT:
        raise UserError(
            f"{path} was written by an incompatible lifelong (this version reads format"
            f" {FORMAT}); use another --dir"
        )
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise UserError(f"unknown key '{unknown[0]}' in {path}")
    return values


def check_worlds(settings: Settings) -> None:
    """Build every world variant once, so a typo is an error now and not a failed life later."""
    from lifelong.worlds import make_world

    for level in settings.curriculum:
        for spec in settings.variants(level):
            make_world(spec).close()


# ---------------------------------------------------------------------------------------------
# One life, on whichever machine the backend picked.


@dataclass(frozen=True)
class LifeTask:
    """One life of one genome: everything a worker needs, picklable, no torch."""

    generation: int
    index: int  # the genome's place in its generation
    slot: int  # the life's place among the genome's lives
    world: str
    seed: int
    lifetime: int
    genome: dict[str, Any]
    directory: str | None  # None: a temporary directory on the worker, whose files come back

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.generation, self.index, self.slot)


def life_config(lifetime: int) -> dict[str, Any]:
    """Records at 1% of the life (the AUC's bins); no TensorBoard, diagnostics or mid-life
    checkpoints (an interrupted life starts again from birth), one torch thread."""
    return {
        "agent": "abm",
        "log_every": max(lifetime // 100, 1),
        "checkpoint_every": 10 * lifetime,
        "diagnose_every": 0,
        "tensorboard": False,
        "threads": 1,
    }


def run_life_task(task: LifeTask) -> dict[str, Any]:
    """Live one life and measure it; a crash comes back as an error, never as an exception."""
    try:
        with work_in(task.directory) as where:
            from lifelong.life import open_life  # torch: only in the worker

            life = open_life(
                where,
                world=task.world,
                seed=task.seed,
                config_changes=life_config(task.lifetime),
                genome_changes=task.genome,
            )
            _limit_ticks(life, TICKS_PER_STEP * task.lifetime)
            life.run(task.lifetime)
            shutil.rmtree(where / "checkpoints", ignore_errors=True)  # keep the disk small
            records = read_jsonl(where / "metrics.jsonl")
            events = read_jsonl(where / "events.jsonl")
            files = small_files(where) if task.directory is None else {}
        auc, adaptation = life_measures(records, events)
        return {"auc": auc, "adaptation": adaptation, "error": None, "files": files}
    except Exception as error:
        return {**failure(error, traceback.format_exc()), **NO_MEASURES}


NO_MEASURES = {"auc": None, "adaptation": None}


class LifeTooLong(RuntimeError):
    """A life that spent too many ticks away from the world (see TICKS_PER_STEP)."""


def _limit_ticks(life: Any, budget: int) -> None:
    """Make the agent's decision, which starts every tick of the life, count against `budget`."""
    decide = life.agent.decide

    def counted() -> Any:
        if life.agent.counters.get("ticks", 0) >= budget:
            steps = life.agent.counters["env_steps"]
            raise LifeTooLong(
                f"cut after {budget} ticks ({TICKS_PER_STEP} per world step of the lifetime) at"
                f" world step {steps}: the agent was asleep or imagining nearly all the time"
            )
        return decide()

    life.agent.decide = counted


def life_measures(records: list[dict], events: list[dict]) -> tuple[float, float]:
    """(AUC, adaptation) of one life.

    AUC is the lifetime average of the extrinsic reward (`metrics.auc`). Adaptation says how
    quickly the life got back on its feet after each change the world made: for change k, the
    fraction of its stretch (up to the next change or the end) spent before the reward first
    came 90% of the way back from its lowest point after the change to its eventual level
    (`metrics.change_point_stats` with that lowest point as the floor; 1 if it never did). The
    score is minus the mean fraction over the changes: 0 recovers at once, -1 never; 0 too in a
    life without changes. The floor is the life's own lowest point rather than a random agent's,
    so the score needs no extra lives and does not depend on the reward's scale.
    """
    by_step = {r["step"]: r for r in records if r.get("step") is not None}
    records = [by_step[step] for step in sorted(by_step)]
    steps = np.array([r["step"] for r in records], float)
    rates = [r.get("reward_rate") for r in records]
    curve = np.array([np.nan if rate is None else rate for rate in rates], float)
    auc = metrics.auc(curve) if curve.size else math.nan
    if not math.isfinite(auc):
        raise RuntimeError("the life wrote no reward record")
    taus = [tau for tau, _ in metrics.change_points(events, records)]
    if not taus:
        return auc, 0.0
    widths = np.diff(steps, prepend=0.0)
    window = max(int(10 * np.median(widths)), 1)
    ends = [*taus[1:], float(steps[-1])]
    # Each stretch's own lowest point is its floor: one curve, so one pass over the changes.
    floor = np.zeros_like(steps)
    stretches = []
    for tau, end in zip(taus, ends, strict=True):
        stretch = (steps > tau) & (steps <= end) & np.isfinite(curve)
        if end > tau and stretch.any():  # else a change in the last record: nothing to recover
            floor[(steps > tau) & (steps <= end)] = curve[stretch].min()
            stretches.append(end - tau)
        else:
            stretches.append(None)
    stats = metrics.change_point_stats(steps, curve, taus, window, floor, None, window)
    fractions = [
        1.0 if s["recovery_time"] is None else min(s["recovery_time"] / length, 1.0)
        for s, length in zip(stats, stretches, strict=True)
        if length is not None
    ]
    return auc, -float(np.mean(fractions)) if fractions else 0.0


# ---------------------------------------------------------------------------------------------
# The search: CMA-ES over the free coordinates of the normalised genome.


class Search:
    """pycma's CMA-ES, bounded to [0, 1], fed from a random stream of its own.

    pycma draws its samples through the `randn` option (here a numpy Generator seeded from the
    evolution's seed) and may touch numpy's global generator elsewhere, so every call runs with
    that global generator set to a seeded state and put back afterwards. Nothing else in the
    process can then change the proposals, and replaying the tells reproduces them exactly.
    """

    def __init__(self, settings: Settings) -> None:
        import cma

        self.settings = settings
        self.start = Genome(**settings.start)
        self.free = settings.free
        full = self.start.to_vector()
        x0 = [full[i] for i in self.free]
        stream = np.random.default_rng([settings.seed, 0])
        self._ticks = 0
        options = {
            "bounds": [0.0, 1.0],
            "popsize": settings.population,
            "randn": lambda *shape: stream.standard_normal(shape),
            "seed": np.nan,  # "do nothing" to numpy's global generator
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
            "verb_filenameprefix": os.devnull,
        }
        with self._isolated():
            self.es = cma.CMAEvolutionStrategy(x0, settings.sigma, options)

    @contextlib.contextmanager
    def _isolated(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.seed([self.settings.seed, self._ticks, 7])
        self._ticks += 1
        try:
            yield
        finally:
            np.random.set_state(saved)

    def ask(self) -> list[list[float]]:
        with self._isolated():
            return [list(map(float, x)) for x in self.es.ask()]

    def tell(self, solutions: list[list[float]], fitness: list[float | None]) -> None:
        """Rank-based, so only the order matters: a genome without fitness ranks below all."""
        finite = [f for f in fitness if f is not None]
        worst = (min(finite) if finite else 0.0) - 1.0
        losses = [-(worst if f is None else f) for f in fitness]  # pycma minimises
        with self._isolated():
            self.es.tell([np.array(x) for x in solutions], losses)

    def mean(self) -> list[float]:
        """The distribution's mean, every field, normalised (frozen fields at their start)."""
        full = self.start.to_vector()
        for i, value in zip(self.free, self.es.result.xfavorite, strict=True):
            full[i] = float(value)
        return full

    def genome(self, solution: list[float]) -> tuple[dict[str, Any], str | None]:
        """The genome a proposal stands for, and why it is infeasible (None if it is not)."""
        full = self.start.to_vector()
        for i, value in zip(self.free, solution, strict=True):
            full[i] = value
        values = Genome.from_vector(full).to_dict()
        values.update({name: self.settings.start[name] for name in self.settings.frozen})
        try:
            Genome(**values)
        except UserError as error:
            return values, f"infeasible: {error}"
        return values, None


def plan_lives(settings: Settings, generation: int) -> list[tuple[str, int]]:
    """This generation's (world spec, seed) pairs, shared by all its genomes.

    Variants are taken in a shuffled order, cycling when there are more lives than variants;
    each life gets a fresh seed. Both depend only on the evolution's seed and the generation.
    """
    _, level = settings.level(generation)
    variants = settings.variants(level)
    rng = np.random.default_rng([settings.seed, generation, 1])
    order = rng.permutation(len(variants))
    seeds = rng.integers(0, 2**31 - 1, size=level.lives)
    return [(variants[order[k % len(variants)]], int(seeds[k])) for k in range(level.lives)]


# ---------------------------------------------------------------------------------------------
# The evolution: generations, checkpoints, outputs.


def life_path(directory: Path, generation: int, index: int, slot: int) -> Path:
    return directory / "lives" / f"g{generation:04d}" / f"i{index:03d}" / f"l{slot:02d}"


def run_evolution(
    settings: Settings,
    directory: Path,
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or continue) an evolution in `directory` until `settings.generations` are done.

    Returns {"generations", "best", "failed"}: best is {generation, index, fitness} of the
    fittest genome of the last generation (None if none had a fitness).
    """
    check_backend(backend, address, jobs)
    check_worlds(settings)
    _check_directory(directory)
    state = _load_state(directory)
    search = Search(settings)
    for record in state["generations"]:
        _replay(search, record, directory)
    first = len(state["generations"])
    if first >= settings.generations:
        progress(f"done already: {first} generations in {directory}")
        _write_outputs(directory, settings, state)
        return _summary(state)
    runner = make_backend(backend, address, jobs)  # connects to Ray before anything is written
    try:
        directory.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(settings.to_dict(), sort_keys=False)
        (directory / "evolve.yaml").write_text(text)
        for generation in range(first, settings.generations):
            record = _generation(settings, search, generation, runner, directory, progress)
            state["generations"].append(record)
            _write_state(directory, state)  # the checkpoint: a rerun continues from here
            _write_outputs(directory, settings, state)
    finally:
        runner.close()
    return _summary(state)


def _check_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--dir {directory} is a file, not a directory")
    for other in ("config.yaml", "bench.yaml"):
        if (directory / other).exists():
            raise UserError(f"{directory} holds a life or a bench ({other}); use another --dir")


def _replay(search: Search, record: dict[str, Any], directory: Path) -> None:
    proposals = search.ask()
    if proposals != record["solutions"]:
        raise UserError(
            f"{directory}/state.json does not replay (generation {record['generation']}): was it"
            " written with another version of pycma or lifelong? Use another --dir"
        )
    search.tell(proposals, record["fitness"])


def _generation(
    settings: Settings,
    search: Search,
    generation: int,
    runner: Backend,
    directory: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    began = time.perf_counter()
    level_index, level = settings.level(generation)
    lives = plan_lives(settings, generation)
    solutions = search.ask()
    candidates = [search.genome(solution) for solution in solutions]
    progress(
        f"generation {generation + 1}/{settings.generations}: {len(solutions)} genomes x"
        f" {len(lives)} lives (curriculum level {level_index})"
    )
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    tasks = []
    for index, (values, infeasible) in enumerate(candidates):
        if infeasible:
            continue
        for slot, (world, seed) in enumerate(lives):
            task = LifeTask(generation, index, slot, world, seed, settings.lifetime, values,
                            str(life_path(directory, generation, index, slot)))  # fmt: skip
            done = _finished(task)
            if done is not None:
                results[task.key] = done
            else:
                _clear(Path(str(task.directory)))
                tasks.append(task)

    def on_result(task: LifeTask, result: dict[str, Any]) -> None:
        result = {**NO_MEASURES, **result}  # a worker that died measured nothing
        results[task.key] = result
        _keep(task, result)
        progress(f"  {_life_line(task, result)}")

    runner.run(run_life_task, tasks, on_result)
    record = _score(settings, generation, level_index, lives, solutions, candidates, results)
    search.tell(solutions, record["fitness"])
    record["mean"] = search.mean()
    record["sigma"] = float(search.es.sigma)
    record["seconds"] = round(time.perf_counter() - began, 3)
    progress(_generation_line(record))
    return record


def _score(
    settings: Settings,
    generation: int,
    level_index: int,
    lives: list[tuple[str, int]],
    solutions: list[list[float]],
    candidates: list[tuple[dict[str, Any], str | None]],
    results: dict[tuple[int, int, int], dict[str, Any]],
) -> dict[str, Any]:
    """Each genome's fitness: the mean over its lives of the weighted score, or its error."""
    fitness: list[float | None] = []
    aucs: list[float | None] = []
    adaptations: list[float | None] = []
    errors: list[str | None] = []
    for index, (_, infeasible) in enumerate(candidates):
        mine = [] if infeasible else [results[(generation, index, s)] for s in range(len(lives))]
        error = infeasible or next((r["error"] for r in mine if r["error"]), None)
        errors.append(error)
        if error:
            fitness.append(None)
            aucs.append(None)
            adaptations.append(None)
            continue
        scores = [settings.auc_weight * r["auc"] + settings.adaptation_weight * r["adaptation"]
                  for r in mine]  # fmt: skip
        fitness.append(float(np.mean(scores)))
        aucs.append(float(np.mean([r["auc"] for r in mine])))
        adaptations.append(float(np.mean([r["adaptation"] for r in mine])))
    return {
        "generation": generation,
        "level": level_index,
        "lives": [[world, seed] for world, seed in lives],
        "solutions": solutions,
        "genomes": [values for values, _ in candidates],
        "fitness": fitness,
        "auc": aucs,
        "adaptation": adaptations,
        "errors": errors,
    }


def _life_line(task: LifeTask, result: dict[str, Any]) -> str:
    where = f"life g{task.generation} i{task.index} l{task.slot} ({task.world}, seed {task.seed})"
    if result["error"]:
        return f"{where} failed: {result['error']}"
    return f"{where}: auc {result['auc']:.5g}, adaptation {result['adaptation']:.3g}"


def _generation_line(record: dict[str, Any]) -> str:
    finite = sorted(f for f in record["fitness"] if f is not None)
    failed = len(record["fitness"]) - len(finite)
    spread = (
        f"best {finite[-1]:.5g}  median {float(np.median(finite)):.5g}  worst {finite[0]:.5g}"
        if finite
        else "no genome had a fitness"
    )
    return (
        f"generation {record['generation'] + 1} done: {spread}"
        f"{f'  ({failed} failed)' if failed else ''}  in {record['seconds']:.0f} s"
    )


def _finished(task: LifeTask) -> dict[str, Any] | None:
    """The stored result of a life that finished before an interruption, if it is this life."""
    path = Path(str(task.directory)) / "done.json"
    if not path.exists():
        return None
    with contextlib.suppress(json.JSONDecodeError, OSError, KeyError, AttributeError):
        done = json.loads(path.read_text())
        same = (done.get("world"), done.get("seed"), done.get("steps"), done.get("genome")) == (
            task.world,
            task.seed,
            task.lifetime,
            task.genome,
        )
        if same:
            return {"auc": done["auc"], "adaptation": done["adaptation"], "error": None}
    return None


def _clear(directory: Path) -> None:
    """Remove what an unfinished life left, so it starts again from birth."""
    if directory.is_dir():
        shutil.rmtree(directory)


def _keep(task: LifeTask, result: dict[str, Any]) -> None:
    """Write a life's outcome next to its records: done.json, or failed.txt with the traceback.

    The directory may be unwritable (that may be why the life failed): the outcome is in
    state.json either way, so a failure to write here is not an error of the evolution.
    """
    where = Path(str(task.directory))
    with contextlib.suppress(OSError):
        where.mkdir(parents=True, exist_ok=True)
        if result["error"]:
            (where / "failed.txt").write_text(result.get("traceback") or result["error"])
            return
        done = {
            "world": task.world,
            "seed": task.seed,
            "steps": task.lifetime,
            "genome": task.genome,
            "auc": result["auc"],
            "adaptation": result["adaptation"],
        }
        _atomic_write(where / "done.json", json.dumps(done))


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def _load_state(directory: Path) -> dict[str, Any]:
    path = directory / "state.json"
    if not path.exists():
        return {"format": FORMAT, "fields": Genome.names(), "generations": []}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}; use another --dir") from None
    if state.get("format") != FORMAT or state.get("fields") != Genome.names():
        raise UserError(
            f"{path} was written for another genome or format (fields or format differ);"
            " use another --dir"
        )
    return state


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    _atomic_write(directory / "state.json", json.dumps(state))


def _write_outputs(directory: Path, settings: Settings, state: dict[str, Any]) -> None:
    """history.csv, best.yaml and mean.yaml, all derived from state.json."""
    _atomic_write(directory / "history.csv", history_csv(state))
    generations = state["generations"]
    if not generations:
        return
    last = generations[-1]
    frozen = {name: settings.start[name] for name in settings.frozen}
    with contextlib.suppress(UserError):  # a mean against a frozen field's constraint: no file
        Genome.from_vector(last["mean"]).replace(**frozen).save(directory / "mean.yaml")
    best = _best(last)
    if best is not None:
        Genome(**last["genomes"][best]).save(directory / "best.yaml")


def _best(record: dict[str, Any]) -> int | None:
    scored = [(f, -i) for i, f in enumerate(record["fitness"]) if f is not None]
    return -max(scored)[1] if scored else None


def history_csv(state: dict[str, Any]) -> str:
    """One row per genome: generation, index, fitness, auc, adaptation, error, then its fields.

    Numbers are written with repr(), so two runs can be compared exactly.
    """
    names = state["fields"]
    rows = [["generation", "index", "fitness", "auc", "adaptation", "lives", "error", *names]]
    for record in state["generations"]:
        for i, values in enumerate(record["genomes"]):
            numbers = (record["fitness"][i], record["auc"][i], record["adaptation"][i])
            rows.append([
                record["generation"], i, *("" if v is None else repr(v) for v in numbers),
                len(record["lives"]), record["errors"][i] or "",
                *(repr(values[name]) for name in names),
            ])  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    generations = state["generations"]
    failed = sum(e is not None for record in generations for e in record["errors"])
    best = None
    if generations and (index := _best(generations[-1])) is not None:
        last = generations[-1]
        best = {"generation": last["generation"], "index": index, "fitness": last["fitness"][index]}
    return {"generations": len(generations), "best": best, "failed": failed}


# ---------------------------------------------------------------------------------------------
# Re-evaluation, for held-out comparisons.


def evaluate(
    genomes: dict[str, Genome],
    lives: list[tuple[str, int]],
    lifetime: int,
    directory: Path,
    auc_weight: float = DEFAULTS["auc_weight"],
    adaptation_weight: float = DEFAULTS["adaptation_weight"],
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every genome lives every (world, seed) of `lives`; per genome, one dict per life with
    world, seed, auc, adaptation, score and error. Lives already finished in `directory` are
    read back, so an interrupted comparison continues."""
    runner = make_backend(backend, address, jobs)
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    tasks = []
    names = list(genomes)
    for index, name in enumerate(names):
        for slot, (world, seed) in enumerate(lives):
            where = directory / name / f"l{slot:02d}"
            task = LifeTask(0, index, slot, world, seed, lifetime, genomes[name].to_dict(),
                            str(where))  # fmt: skip
            done = _finished(task)
            if done is not None:
                results[task.key] = done
            else:
                _clear(where)
                tasks.append(task)

    def on_result(task: LifeTask, result: dict[str, Any]) -> None:
        result = {**NO_MEASURES, **result}  # a worker that died measured nothing
        results[task.key] = result
        _keep(task, result)

    try:
        runner.run(run_life_task, tasks, on_result)
    finally:
        runner.close()
    table: dict[str, list[dict[str, Any]]] = {}
    for index, name in enumerate(names):
        table[name] = []
        for slot, (world, seed) in enumerate(lives):
            result = results[(0, index, slot)]
            score = None
            if not result["error"]:
                score = auc_weight * result["auc"] + adaptation_weight * result["adaptation"]
            table[name].append({"world": world, "seed": seed, "auc": result["auc"],
                                "adaptation": result["adaptation"], "score": score,
                                "error": result["error"]})  # fmt: skip
    return table
