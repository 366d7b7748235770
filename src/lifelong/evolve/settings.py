"""What an evolution was asked: its settings (evolve.yaml) and its curriculum.

`make_settings` turns options (the command line's, or a script's) into `Settings`, checking each
one and, on a rerun in the same directory, that nothing which decides what is measured changed.
The curriculum's `Level`s say which world variants a generation's lives are drawn from;
`resolve_frozen` reads `--freeze` (field names, or the genome's groups: see `Genome.fields_of`).
Nothing here runs a life.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lifelong.errors import UserError
from lifelong.genome import GROUPS, Genome

# Of evolve.yaml and state.json. 2: the genome vector searches counts, durations and loss weights
# on log scales (`genome._searched`), so an older evolution's vectors mean other genomes.
FORMAT = 2

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
    """Field names (comma lists allowed; a group of the genome, such as 'cost', for its fields:
    `Genome.fields_of`) in the genome's field order."""
    wanted: set[str] = set()
    for item in names:
        for name in (part.strip() for part in str(item).split(",")):
            if not name:
                continue
            if name in GROUPS:
                wanted.update(Genome.fields_of(name))
            elif name in Genome.names():
                wanted.add(name)
            else:
                raise UserError(
                    f"unknown genome field '{name}' in --freeze; allowed: any field of"
                    f" `lifelong genome`, or a group: {', '.join(GROUPS)}"
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
    from lifelong.policies import load_policy
    from lifelong.worlds import make_world

    for level in settings.curriculum:
        for spec in settings.variants(level):
            make_world(spec, load_policy=load_policy).close()
