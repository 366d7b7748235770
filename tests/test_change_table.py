"""benchmarks/change_table.py lists every change of every life with its levels and recovery."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import change_table  # noqa: E402


def write_life(life: Path) -> None:
    """A 6,000-step life, 100-step bins: reward 1.0, a drop to 0.0 at step 3,000, back to 1.0
    after 700 steps (regime 1 from step 3,000)."""
    life.mkdir(parents=True)
    records = []
    for k in range(1, 61):  # one record per 100 steps, each carrying its one bin
        step = 100 * k
        value = 0.0 if 3000 < step <= 3700 else 1.0
        records.append({"step": step, "reward_rate": value, "reward_bins": [value],
                        "reward_bin_width": 100, "regime": 0 if step <= 3000 else 1})  # fmt: skip
    (life / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (life / "events.jsonl").write_text(json.dumps({"kind": "regime", "step": 3000, "regime": 1}))


def test_each_change_gets_its_levels_and_recovery_time(tmp_path, capsys, monkeypatch):
    write_life(tmp_path / "abm" / "seed0")
    write_life(tmp_path / "b_only" / "seed3")
    rows = change_table.changes_of(tmp_path / "abm" / "seed0")
    assert len(rows) == 1
    row = rows[0]
    assert (row["tau"], row["regime"], row["eventual"]) == (3000, 1, 1.0)
    assert row["before"] == 1.0 and row["after"] == 0.65  # 700 of the 2,000 steps after at 0
    # The three-bin moving average first reaches 0.9 at the bin ending at 3,900 (the first with
    # no zero bin beside it), so RT 900.
    assert row["recovery_time"] == 900.0
    out = tmp_path / "changes.csv"
    monkeypatch.setattr(sys, "argv", ["change_table", str(tmp_path), "--agents", "b_only",
                                      "--csv", str(out)])  # fmt: skip
    change_table.main()
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(change_table.COLUMNS)
    assert len(lines) == 2 and lines[1].startswith("b_only,seed3,3000,1,1.0,")
