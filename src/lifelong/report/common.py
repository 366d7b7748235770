"""What the pages share: reading a report's directory, deciding its kind, coercing what it holds.

Every file is untrusted: a mapping that cannot be read is a one-line UserError naming the file,
and a value of the wrong type (a list where a mapping belongs, or the other way) reads as empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lifelong.errors import UserError


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML (or JSON, which is YAML) file holding a mapping; a one-line UserError otherwise."""
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot read {path}: {reason}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"cannot read {path}: expected a mapping, found {type(value).__name__}")
    return value


def directory_kind(directory: Path) -> str:
    """ "life", "bench" or "evolution", from the files present; a UserError naming what is
    missing otherwise."""
    if not directory.is_dir():
        raise UserError(f"cannot report on {directory}: no such directory")
    if (directory / "config.yaml").exists():
        return "life"  # a newborn life has no records yet: its report says so
    pairs = {
        "life": ("config.yaml", "metrics.jsonl"),
        "bench": ("bench.yaml", "summary.json"),
        "evolution": ("evolve.yaml", "state.json"),
    }
    for kind, names in pairs.items():
        missing = [name for name in names if not (directory / name).exists()]
        if not missing:
            return kind
        if len(missing) == 1:
            found = next(name for name in names if name not in missing)
            raise UserError(f"cannot report on {directory}: {missing[0]} missing ({found} found)")
    raise UserError(
        f"cannot report on {directory}: neither a life (config.yaml + metrics.jsonl) nor a bench"
        " (bench.yaml + summary.json) nor an evolution (evolve.yaml + state.json) is there"
    )


def mapping(value: Any) -> dict:
    """`value` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """`value` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []
