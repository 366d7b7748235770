"""benchmarks/gather.py: several benches' summaries in one experiment table."""

import csv
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import gather  # noqa: E402


def bench(directory: Path, genome: dict, commit: str | None, auc: float) -> Path:
    directory.mkdir()
    plan = {"genome": genome} | ({"commit": commit} if commit else {})
    (directory / "bench.yaml").write_text(yaml.safe_dump(plan))
    (directory / "summary.csv").write_text(
        "agent,metric,iqm,low,high,seeds\n"
        f"b_only,auc,{auc},0,1,{auc} {auc}\n"
        "b_only,drop_mean,9,9,9,9 9\n"
    )
    return directory


def test_each_bench_becomes_rows_named_by_its_setting_changes_and_commit(tmp_path, capsys):
    old = bench(tmp_path / "old", {}, None, 0.07)
    fast = bench(tmp_path / "rr05", {"replay_ratio": 0.5, "gamma": 0.99}, "abc1234", 0.08)
    out = tmp_path / "experiment.csv"
    assert gather.main([str(out), str(old), str(fast), "--commit", "71ad8f7"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["setting"], r["changes"], r["metric"], r["iqm"], r["commit"]) for r in rows] == [
        ("old", "defaults", "auc", "0.07", "71ad8f7"),
        ("rr05", "gamma=0.99 replay_ratio=0.5", "auc", "0.08", "abc1234"),
    ]
    assert "2 rows from 2 benches" in capsys.readouterr().out


def test_an_unfinished_bench_is_named(tmp_path):
    (tmp_path / "running").mkdir()
    with pytest.raises(SystemExit, match="running has no summary.csv"):
        gather.main([str(tmp_path / "out.csv"), str(tmp_path / "running")])


def test_a_setting_is_paired_seed_by_seed_against_the_reference_bench(tmp_path):
    base = bench(tmp_path / "rr0.125", {}, "abc1234", 0.07)
    fast = bench(tmp_path / "rr0.5", {"replay_ratio": 0.5}, "abc1234", 0.08)
    (base / "summary.csv").write_text(
        "agent,metric,iqm,low,high,seeds\nb_only,auc,0.07,0,1,0.07 0.06 0.08 0.07\n"
    )
    (fast / "summary.csv").write_text(
        "agent,metric,iqm,low,high,seeds\nb_only,auc,0.08,0,1,0.08 0.07 0.09 0.075\n"
    )
    out = tmp_path / "experiment.csv"
    gather.main([str(out), str(base), str(fast), "--against", "rr0.125"])
    paired = [r for r in csv.DictReader(out.open()) if " - " in r["setting"]]
    assert [(r["setting"], r["agent"], r["excludes_zero"]) for r in paired] == [
        ("rr0.5 - rr0.125", "b_only", "yes")
    ]
    diffs = [float(d) for d in paired[0]["seeds"].split()]
    assert diffs == pytest.approx([0.01, 0.01, 0.01, 0.005])
    assert float(paired[0]["iqm"]) == pytest.approx(0.00875)


def test_benches_of_other_seeds_are_not_paired(tmp_path):
    base = bench(tmp_path / "a", {}, "abc1234", 0.07)
    other = bench(tmp_path / "b", {}, "abc1234", 0.08)
    (other / "bench.yaml").write_text(yaml.safe_dump({"seeds": [100, 101]}))
    with pytest.raises(SystemExit, match="b and a differ in seeds or worlds"):
        gather.main([str(tmp_path / "out.csv"), str(base), str(other), "--against", "a"])
