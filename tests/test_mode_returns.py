"""benchmarks/mode_returns.py reads each life's lifetime returns per mode from its last record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import mode_returns  # noqa: E402


def test_lifetime_returns_come_from_each_life_s_last_record(tmp_path, capsys, monkeypatch):
    for seed, (plan, exploit) in enumerate([(0.5, 0.25), (-1.0, 0.0)]):
        life = tmp_path / "abm" / f"seed{seed}"
        life.mkdir(parents=True)
        records = [
            {"step": 1, "return_after_plan": 99.0},  # an early record: not the lifetime figure
            {"step": 2, "return_after_plan": plan, "return_after_exploit": exploit},
        ]
        (life / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    lives = mode_returns.lifetime_returns(tmp_path, "abm")
    assert lives == {
        "seed0": {"plan": 0.5, "exploit": 0.25},
        "seed1": {"plan": -1.0, "exploit": 0.0},
    }
    out = tmp_path / "table.csv"
    monkeypatch.setattr(sys, "argv", ["mode_returns", str(tmp_path), "--csv", str(out)])
    mode_returns.main()
    printed = capsys.readouterr().out
    assert "PLAN - EXPLOIT: mean -0.3750, PLAN ahead in 1 of 2 lives" in printed
    assert out.read_text().splitlines()[1] == "abm,seed0,,,0.25,0.5"


def test_a_bench_of_several_worlds_names_each_life_by_world_and_seed(tmp_path):
    for world in ("w1", "w2"):
        life = tmp_path / "abm" / world / "seed0"
        life.mkdir(parents=True)
        (life / "metrics.jsonl").write_text(json.dumps({"step": 1, "return_after_plan": 1.0}))
    assert list(mode_returns.lifetime_returns(tmp_path, "abm")) == ["w1/seed0", "w2/seed0"]
