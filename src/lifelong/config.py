"""Run configuration: the infrastructure around a life (not the agent's innate parameters).

The genome says *who* the agent is; the config says *where and how it is run*: which world, which
seed, how often to log and checkpoint, on which device. One flat, commented dataclass, saved as
`config.yaml` in the run directory. `--set key=value` overrides a field of either.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.modes import Mode
from lifelong.systems.control import RULE_FAMILIES

FORMAT_VERSION = 1  # bump when a run directory written by an older version can no longer resume


def newborn(action_space: Any) -> Genome:
    """The default genome of a body acting in `action_space` (a gymnasium space): the
    continuous newborn's for a Box (`Genome.default`)."""
    return Genome.default(continuous=type(action_space).__name__ == "Box")


@dataclass(frozen=True)
class Config:
    world: str = "nursery"  # world spec (see `lifelong.worlds.world_names()`)
    seed: int = 0  # seeds the world, the networks, memory and action sampling
    log_every: int = 1000  # world steps between records in metrics.jsonl and TensorBoard
    bin_width: int = 100  # world steps per bin of the records' fine reward curve (reward_bins)
    checkpoint_every: int = 10_000  # world steps between checkpoints
    keep_checkpoints: int = 3  # newest checkpoints kept on disk
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 1  # torch threads per life: small networks run fastest on one
    tensorboard: bool = True  # also write TensorBoard event files
    diagnose_every: int = 0  # world steps between held-out diagnostics of the networks (0: never)
    agent: str = "abm"  # who lives (`lifelong agents`; the registry is `agents.py`)
    frozen_after: int = 20_000  # `frozen`: world steps of its schedule before learning stops
    mode_mix: str = "observe=0.1,explore=0.3,exploit=0.5,sleep=0.1"  # timer_m / random_m
    timer_cycle: int = 1000  # `timer_m`: ticks in one cycle through the modes
    ablate: str = ""  # rule families of M switched off, e.g. "plan,imagine" (an ablation)

    # Fields a resumed life may change: they affect bookkeeping, not what the agent learns.
    RESUMABLE = (
        "log_every",
        "checkpoint_every",
        "keep_checkpoints",
        "device",
        "threads",
        "tensorboard",
        "diagnose_every",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            expected = {"int": int, "str": str, "bool": bool}[f.type]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise UserError(f"config key '{f.name}' must be {f.type}, got {value!r}")
        positive = ("log_every", "bin_width", "checkpoint_every", "keep_checkpoints", "threads")
        for name in (*positive, "timer_cycle"):
            if getattr(self, name) < 1:
                raise UserError(f"config key '{name}' must be >= 1, got {getattr(self, name)}")
        for name in ("diagnose_every", "frozen_after"):
            if getattr(self, name) < 0:
                raise UserError(f"config key '{name}' must be >= 0, got {getattr(self, name)}")
        parse_mode_mix(self.mode_mix)
        for family in filter(None, self.ablate.split(",")):
            if family not in RULE_FAMILIES:
                raise UserError(
                    f"config key 'ablate': unknown rule family {family!r}; families:"
                    f" {', '.join(RULE_FAMILIES)}"
                )
        if self.device not in ("cpu", "cuda"):
            raise UserError(f"config key 'device' must be 'cpu' or 'cuda', got {self.device!r}")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(
            yaml.safe_dump({"format": FORMAT_VERSION, **self.to_dict()}, sort_keys=False)
        )

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise UserError(f"cannot read {path}: {error}") from None
        version = values.pop("format", None)
        if version != FORMAT_VERSION:
            raise UserError(
                f"{path.parent} was written by an incompatible lifelong (format {version}, this"
                f" version reads format {FORMAT_VERSION}); start a new life in another --dir"
            )
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise UserError(f"unknown config key '{unknown[0]}' in {path}")
        return cls(**values)


def parse_mode_mix(text: str) -> dict[str, float]:
    """'observe=0.1,explore=0.3,...' -> normalised mode frequencies; a mistake is a UserError."""
    modes = [mode.value for mode in Mode]
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in modes:
            raise UserError(
                f"config key 'mode_mix' expects mode=weight pairs over {', '.join(modes)},"
                f" got {part.strip()!r}"
            )
        try:
            mix[name] = float(value)
        except ValueError:
            raise UserError(
                f"config key 'mode_mix': {name} weight {value!r} is not a number"
            ) from None
        if not mix[name] >= 0:
            raise UserError(f"config key 'mode_mix': {name} weight must be >= 0, got {value}")
    total = sum(mix.values())
    if total <= 0:
        raise UserError("config key 'mode_mix' needs at least one positive weight")
    return {mode: mix.get(mode, 0.0) / total for mode in modes}


def parse_overrides(pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `key=value` strings into (config changes, genome changes).

    Values are read as YAML scalars, so `0.5`, `100`, `true` and `cpu` mean what they look like.
    """
    config, genome = {}, {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got {pair!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise UserError(f"--set {key}: cannot read value {text!r}") from None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # YAML 1.1 reads "1e-6" as a string
                value = float(value)
        if not isinstance(value, int | float | str | bool):
            raise UserError(f"--set {key}: expects a number, string or boolean, got {text!r}")
        if key in Config.names():
            config[key] = value
        elif key in Genome.names():
            genome[key] = float(value) if isinstance(value, int) and _is_float_gene(key) else value
        else:
            raise UserError(
                f"unknown key '{key}' for --set; config keys: {', '.join(Config.names())};"
                " or any genome field (see `lifelong genome`)"
            )
    return config, genome


def _is_float_gene(name: str) -> bool:
    return {f.name: f.type for f in dataclasses.fields(Genome)}[name] in ("float", float)
