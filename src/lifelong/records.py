"""Reading the JSON-lines files a life appends to (metrics.jsonl, events.jsonl).

Standard library only, so reports, benchmarks and evolution read a life without importing torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a .jsonl file, in order; [] if it does not exist.

    A line that does not parse (the torn last line of a life killed mid-write, or one being
    written right now) is skipped, as is anything that is not an object.
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows
