"""The reporting protocol built into `lifelong bench` (`lifelong.protocol`): the seeds --seeds
names, paired differences with their intervals, each world normalised before pooling, and the
commit the lives ran at. Hand-built numbers where possible; the few real lives are random and
bandit agents of 200 steps, run in this process."""

import csv
import io
import math
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from lifelong import bench, metrics, protocol
from lifelong.bench import SUITES, Suite, run_bench
from lifelong.cli import main
from lifelong.errors import UserError
from lifelong.protocol import code_commit, normalise, paired_table, parse_seeds

WORLDS = ("bandit(arms=3, every=200)", "bandit(arms=4, every=200)")


@pytest.fixture
def two_worlds(monkeypatch, in_process):
    monkeypatch.setitem(SUITES, "two", Suite(WORLDS, 200, 200, ("random", "cusum_ucb"), ""))
    return "two"


def quiet(line: str) -> None:
    pass


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# --- Seeds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seeds",
    [
        ("3", [0, 1, 2]),  # a count, as before
        (3, [0, 1, 2]),
        ("100-109", list(range(100, 110))),
        ("100,103", [100, 103]),
        ("103,100", [100, 103]),
        (" 0-2, 7 ", [0, 1, 2, 7]),
        ("5-5", [5]),
        ("0", []),  # no seeds: the bench refuses them (below)
        ([4, 1], [1, 4]),
    ],
)
def test_seeds_take_a_count_a_range_or_a_list(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "abc", "1.5", "-3", "3-1", "1,1", "0-2,1", "1,,2", "2-"])
def test_bad_seeds_are_one_line_errors_naming_the_forms(text):
    with pytest.raises(UserError) as caught:
        parse_seeds(text)
    message = str(caught.value)
    assert "\n" not in message and "a range A-B" in message and "a list A,B" in message


@pytest.mark.parametrize(
    "seeds, message",
    [("100-1", "runs backwards"), ("x", "a count N"), ("0", "--seeds and --jobs must be >= 1")],
)
def test_bench_refuses_bad_seeds_in_one_line_touching_nothing(tmp_path, capsys, seeds, message):
    where = tmp_path / "b"
    assert main(["bench", "bandits", "--seeds", seeds, "--dir", str(where)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not where.exists()


def test_the_plan_and_bench_yaml_hold_the_seeds_asked(tmp_path, two_worlds):
    lives = bench.plan(SUITES[two_worlds], ["random"], [100, 103], 200, tmp_path)
    assert [life.seed for life in lives] == [100, 103, 100, 103]
    assert lives[1].directory.name == "seed103"
    counted = bench.plan(SUITES[two_worlds], ["random"], 2, 200, tmp_path)  # a count, as before
    assert [life.seed for life in counted] == [0, 1, 0, 1]
    summary = run_bench(two_worlds, ["random"], "100,103", None, 1, tmp_path, progress=quiet)
    assert yaml.safe_load((tmp_path / "bench.yaml").read_text())["seeds"] == [100, 103]
    assert summary["seeds"] == [100, 103]
    assert (tmp_path / "random" / "bandit_arms_3_every_200" / "seed103" / "done.json").exists()


# --- Paired differences -----------------------------------------------------------------------


def lives_of(values: dict[str, list[float]], world: str = "w") -> dict:
    """(agent, world, seed) -> {"auc": value}, seeds 0, 1, ... in order."""
    return {
        (agent, world, seed): {"auc": value}
        for agent, row in values.items()
        for seed, value in enumerate(row)
    }


def test_a_known_paired_difference_and_the_direction_of_its_interval():
    reference = [0.10, 0.30, -0.20, 0.05, 0.40, 0.00, 0.25, -0.10, 0.15, 0.35]
    gains = [0.02, 0.05, 0.03, 0.04, 0.01, 0.06, 0.02, 0.03, 0.05, 0.04]  # all > 0, mean 0.035
    values = lives_of(
        {
            "ref": reference,
            "better": [r + g for r, g in zip(reference, gains, strict=True)],
            "worse": [r - g for r, g in zip(reference, gains, strict=True)],
        }
    )
    table = paired_table(values, "ref", ["auc"])
    assert set(table) == {"better", "worse"}
    better, worse = table["better"]["auc"], table["worse"]["auc"]
    assert better["mean"] == pytest.approx(0.035) and worse["mean"] == pytest.approx(-0.035)
    assert 0 < better["low"] <= 0.035 <= better["high"] <= 0.06  # the seeds' spread cancels
    assert better["excludes_zero"] and better["p_greater"] == 1.0 and better["pairs"] == 10
    assert worse["high"] < 0 and worse["excludes_zero"] and worse["p_greater"] == 0.0
    assert better["per_pair"] == pytest.approx(gains)
    # Unpaired, the agents' IQM intervals overlap: the seeds' spread hides the gain.
    assert (
        metrics.aggregate(values_of(values, "better"))["low"]
        < metrics.aggregate(values_of(values, "ref"))["high"]
    )


def values_of(values: dict, agent: str) -> list[float]:
    return [cell["auc"] for (a, _, _), cell in values.items() if a == agent]


def test_a_zero_difference_includes_zero():
    same = lives_of({"ref": [0.1, 0.5, -0.3, 0.2], "twin": [0.1, 0.5, -0.3, 0.2]})
    cell = paired_table(same, "ref", ["auc"])["twin"]["auc"]
    assert cell["mean"] == 0 and cell["low"] <= 0 <= cell["high"] and not cell["excludes_zero"]
    assert cell["p_greater"] == 0.5  # ties count half
    noisy = lives_of({"ref": [0.0] * 6, "level": [0.1, -0.1, 0.05, -0.05, 0.2, -0.2]})
    cell = paired_table(noisy, "ref", ["auc"])["level"]["auc"]
    assert cell["low"] < 0 < cell["high"] and not cell["excludes_zero"]


def test_pairs_resample_within_each_world_and_a_missing_life_is_no_pair():
    # Ahead by 1 in one world and behind by 1 in the other, every seed: stratified by world, each
    # replicate keeps 3 pairs of each, so the mean is 0 in every replicate.
    values = {
        **lives_of({"ref": [0.0, 0.0, 0.0], "a": [1.0, 1.0, 1.0]}, "w1"),
        **lives_of({"ref": [0.0, 0.0, 0.0], "a": [-1.0, -1.0, -1.0]}, "w2"),
    }
    cell = paired_table(values, "ref", ["auc"])["a"]["auc"]
    assert (cell["mean"], cell["low"], cell["high"], cell["pairs"]) == (0, 0, 0, 6)
    values[("a", "w2", 2)] = {"auc": None}  # a life without the value
    del values[("ref", "w1", 0)]  # a life never run
    cell = paired_table(values, "ref", ["auc"])["a"]["auc"]
    assert cell["pairs"] == 4 and cell["per_pair"] == [1.0, 1.0, -1.0, -1.0, None]
    assert cell["mean"] == 0
    lone = metrics.paired_difference([[0.5]])
    assert lone["low"] is None and not lone["excludes_zero"]  # one pair: no interval


def test_the_reference_defaults_to_abm_and_must_be_one_of_the_bench():
    assert protocol.choose_reference(None, ["abm", "b_only"]) == "abm"
    assert protocol.choose_reference(None, ["b_only", "random"]) is None
    assert protocol.choose_reference("b_only", ["abm", "b_only"]) == "b_only"
    assert protocol.choose_reference("none", ["abm", "b_only"]) is None
    with pytest.raises(UserError, match="--reference 'sb3_dqn' is not one of"):
        protocol.choose_reference("sb3_dqn", ["abm", "b_only"])


# --- Normalisation ------------------------------------------------------------------------------


def test_normalised_by_a_ceiling_the_share_of_the_headroom():
    scores = {("random", "w", 0): 0.1, ("random", "w", 1): 0.3, ("abm", "w", 0): 0.6}
    scores[("b_only", "w", 0)] = 0.9  # a baseline, but the ceiling wins
    normalised, basis, notes = normalise(scores, {"w": 1.0})
    assert basis == {
        "w": {"random": 0.2, "reference": 1.0, "form": "ceiling", "against": "ceiling"}
    }
    assert normalised[("abm", "w", 0)] == pytest.approx(0.5)
    assert normalised[("random", "w", 0)] == pytest.approx(-0.125)
    assert notes == []


def test_normalised_by_the_best_baseline_never_by_ours():
    scores = {
        ("random", "w", 0): -1.0,
        ("b_only", "w", 0): 0.0,
        ("a_plus_b", "w", 0): 1.0,  # the best baseline
        ("a_plus_b", "w", 1): None,  # a life without a score: left out of the mean
        ("abm", "w", 0): 2.0,  # ours, and its ablation: never the reference
        ("abm-no_plan", "w", 0): 5.0,
    }
    normalised, basis, _ = normalise(scores)
    assert basis["w"]["against"] == "a_plus_b" and basis["w"]["form"] == "best baseline"
    assert normalised[("abm", "w", 0)] == pytest.approx(1.5)
    assert normalised[("a_plus_b", "w", 0)] == pytest.approx(1.0)
    assert normalised[("b_only", "w", 0)] == pytest.approx(0.5)
    assert normalised[("a_plus_b", "w", 1)] is None


def test_each_world_on_its_own_scale_before_pooling():
    # The same story in two worlds a hundred times apart: the normalised scores agree.
    small = {("random", "small", 0): 0.0, ("b_only", "small", 0): 0.01, ("abm", "small", 0): 0.02}
    large = {(a, "large", s): 100 * v for (a, _, s), v in small.items()}
    normalised, basis, _ = normalise({**small, **large}, {"large": 1.5})  # a ceiling for one
    assert basis["small"]["form"] == "best baseline" and basis["large"]["form"] == "ceiling"
    assert normalised[("abm", "small", 0)] == pytest.approx(2.0)
    assert normalised[("abm", "large", 0)] == pytest.approx(2.0 / 1.5)
    assert normalised[("b_only", "large", 0)] == pytest.approx(1.0 / 1.5)


def test_what_cannot_be_normalised_is_left_out_with_a_note():
    normalised, basis, notes = normalise({("abm", "w", 0): 1.0, ("b_only", "w", 0): 0.5})
    assert normalised == {} and basis == {} and "no `random` agent" in notes[0]
    scores = {
        ("random", "flat", 0): 0.5,
        ("b_only", "flat", 0): 0.4,  # no baseline above random here
        ("random", "alone", 0): 0.5,
        ("abm", "alone", 0): 0.9,  # ours only: nobody to normalise by
        ("random", "good", 0): 0.0,
        ("b_only", "good", 0): 1.0,
    }
    normalised, basis, notes = normalise(scores)
    assert list(basis) == ["good"] and set(normalised) == {
        ("random", "good", 0),
        ("b_only", "good", 0),
    }
    assert any(n.startswith("flat: the best baseline (b_only") for n in notes)
    assert any(n.startswith("alone: no baseline") for n in notes)


# --- A bench applies all of it --------------------------------------------------------------------


def test_a_bench_normalises_pools_pairs_and_names_its_commit(tmp_path, two_worlds):
    summary = run_bench(
        two_worlds, ["random", "cusum_ucb", "sw_ucb"], "100-102", None, 1, tmp_path,
        progress=quiet, reference="cusum_ucb",
    )  # fmt: skip
    assert summary["seeds"] == [100, 101, 102] and summary["reference"] == "cusum_ucb"
    basis = summary["normalisation"]["worlds"]
    assert set(basis) == set(WORLDS) and all(b["form"] == "best baseline" for b in basis.values())
    pooled = summary["agents"]["sw_ucb"]["auc_normalised"]
    assert len(pooled["per_seed"]) == 6 and pooled["low"] <= pooled["iqm"] <= pooled["high"]
    for world in WORLDS:  # each life against its own world's random and best baseline
        b = basis[world]
        life = bench.life_directory(tmp_path, SUITES[two_worlds], "sw_ucb", world, 100)
        auc = metrics.auc(metrics.reward_curve(bench.read_jsonl(life / "metrics.jsonl")))
        value = (auc - b["random"]) / (b["reference"] - b["random"])
        assert value == pytest.approx(pooled["per_seed"][WORLDS.index(world) * 3])
    random_mean = summary["agents"]["random"]["auc_normalised"]["per_seed"]
    assert sum(random_mean[:3]) == pytest.approx(0, abs=1e-9)  # random's mean is 0 per world
    paired = summary["paired"]["sw_ucb"]["auc"]
    gaps = [
        a - b
        for a, b in zip(
            summary["agents"]["sw_ucb"]["auc"]["per_seed"],
            summary["agents"]["cusum_ucb"]["auc"]["per_seed"],
            strict=True,
        )
    ]
    assert paired["per_pair"] == pytest.approx(gaps) and paired["pairs"] == 6
    assert paired["mean"] == pytest.approx(sum(gaps) / 6)
    table = rows(tmp_path / "paired.csv")
    assert {(r["agent"], r["reference"]) for r in table} == {
        ("random", "cusum_ucb"),
        ("sw_ucb", "cusum_ucb"),
    }
    row = next(r for r in table if r["agent"] == "sw_ucb" and r["metric"] == "auc")
    assert row["excludes_zero"] == ("yes" if paired["excludes_zero"] else "no") and row["n"] == "6"
    assert "auc_normalised" in {r["metric"] for r in rows(tmp_path / "summary.csv")}
    # No random agent: no normalised scores, a note; "none": no pairs, and no stale paired.csv.
    again = run_bench(two_worlds, ["cusum_ucb", "sw_ucb"], "100-102", None, 1, tmp_path,
                      progress=quiet, reference="none")  # fmt: skip
    assert "auc_normalised" not in again["agents"]["sw_ucb"] and again["paired"] == {}
    assert any("no `random` agent" in note for note in again["notes"])
    assert not (tmp_path / "paired.csv").exists()


def expected_commit() -> str:
    repo = Path(protocol.__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              env=env)  # fmt: skip

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode:
        return "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def test_the_commit_of_the_code_and_unknown_outside_git(tmp_path, monkeypatch):
    assert code_commit() == expected_commit()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert code_commit(tmp_path) == "unknown"


def test_a_bench_records_its_commit_and_warns_when_continued_at_another(
    tmp_path, two_worlds, monkeypatch
):
    lines: list[str] = []
    run_bench(two_worlds, ["random"], 1, None, 1, tmp_path, progress=lines.append)
    commit = code_commit()
    assert yaml.safe_load((tmp_path / "bench.yaml").read_text())["commit"] == commit
    assert {r["commit"] for r in rows(tmp_path / "summary.csv")} == {commit}
    assert not any(line.startswith("warning") for line in lines)
    # Nothing left to run at another commit: a warning, and the lives' commit stays.
    monkeypatch.setattr(bench, "code_commit", lambda: "f00dcafe")
    lines.clear()
    summary = run_bench(two_worlds, ["random"], 1, None, 1, tmp_path, progress=lines.append)
    warnings = [line for line in lines if line.startswith("warning")]
    assert len(warnings) == 1 and "no life is left to run" in warnings[0]
    assert summary["commit"] == commit
    # A new seed's lives run at the other commit: the table names both, and says why.
    lines.clear()
    summary = run_bench(two_worlds, ["random"], 2, None, 1, tmp_path, progress=lines.append)
    warnings = [line for line in lines if line.startswith("warning")]
    assert len(warnings) == 1 and f"ran at commit {commit}" in warnings[0]
    assert "one table must run at one commit" in warnings[0] and "\n" not in warnings[0]
    assert summary["commit"] == f"{commit}+f00dcafe"
    assert yaml.safe_load((tmp_path / "bench.yaml").read_text())["commit"] == f"{commit}+f00dcafe"
    assert {r["commit"] for r in rows(tmp_path / "summary.csv")} == {f"{commit}+f00dcafe"}
    assert math.isfinite(summary["agents"]["random"]["auc"]["iqm"])
