"""Benchmark suites: lives on a pool, resumable, summarised per agent with confidence intervals."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TINY
from test_life import comparable

from lifelong import bench, cli, metrics
from lifelong.bench import SUITES, Suite, run_bench
from lifelong.cli import main
from lifelong.errors import UserError
from lifelong.records import read_jsonl
from lifelong.worlds import make_world

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import suites  # noqa: E402  (benchmarks/suites.py: the table for docs/benchmarks.md)

TINY_BANDIT = Suite(
    worlds=("bandit(arms=3, every=200)",),
    steps=600,
    quick_steps=600,
    agents=("abm", "random", "cusum_ucb", "random_m"),
    about="a tiny bandit for tests",
    change_window=(100, 100),  # one 100-step bin either side: changes are 200 steps apart
)


@pytest.fixture
def tiny_suite(monkeypatch):
    monkeypatch.setitem(SUITES, "tiny", TINY_BANDIT)
    return "tiny"


def test_every_suite_world_builds():
    for suite in SUITES.values():
        for world in suite.worlds:
            make_world(world).close()


def test_a_bench_runs_every_life_summarises_and_does_not_rerun(tmp_path, tiny_suite):
    """The one test of a bench on the real process pool (two workers): the others live their
    lives in this process (conftest's `in_process`), which costs seconds less per test."""
    lines: list[str] = []
    summary = run_bench(tiny_suite, None, 2, None, 2, tmp_path, progress=lines.append, genome=TINY)
    assert summary["failures"] == []
    for agent in TINY_BANDIT.agents:
        for seed in (0, 1):
            assert json.loads((tmp_path / agent / f"seed{seed}" / "done.json").read_text()) == {
                "steps": 600
            }
    assert set(summary["agents"]) == set(TINY_BANDIT.agents)
    # A finished life keeps one checkpoint, its last: what a bench resumes from.
    kept = [p.name for p in (tmp_path / "abm" / "seed0" / "checkpoints").iterdir()]
    assert kept == ["ckpt-000000000600.pt"]
    auc = summary["agents"]["cusum_ucb"]["auc"]
    assert len(auc["per_seed"]) == 2 and auc["low"] <= auc["iqm"] <= auc["high"]
    # The bandit changes at 200 and 400: the detector's delay and false alarms are reported.
    assert summary["agents"]["cusum_ucb"]["false_alarms_per_1e5"]["iqm"] is not None
    assert len(summary["curves"]["abm"]["step"]) == 100
    # Change-aligned: the bandit's changes at 200 and 400 of both seeds, one bin either side.
    assert summary["aligned"]["abm"]["step"] == [0, 100]
    assert summary["aligned"]["abm"]["changes"] == [4, 4]
    assert all(v is not None for v in summary["aligned"]["abm"]["mean"])
    for agent in TINY_BANDIT.agents:
        regret = summary["agents"][agent]["aligned_regret_mean"]
        assert len(regret["per_seed"]) == 2 and regret["iqm"] is not None
        recovery = summary["agents"][agent]["aligned_recovery_median"]["per_seed"]
        assert all(rt is None or 0 < rt < 200 for rt in recovery)  # within the stretch
    assert any(
        summary["agents"][agent]["aligned_recovery_median"]["iqm"] is not None
        for agent in TINY_BANDIT.agents
    )
    csv_text = (tmp_path / "summary.csv").read_text()
    assert "\nabm,aligned_recovery_median," in csv_text
    assert "\nabm,aligned_regret_mean," in csv_text
    assert "recovery, aligned (steps)" in suites.table(summary)
    # random_m copies the full agent's measured mode frequencies.
    abm_mix = bench.measured_mix(tmp_path / "abm" / "seed0")
    config = (tmp_path / "random_m" / "seed0" / "config.yaml").read_text()
    assert f"mode_mix: {abm_mix}" in config
    assert (tmp_path / "summary.csv").read_text().startswith("agent,metric,iqm,low,high,seeds")

    before = (tmp_path / "abm" / "seed0" / "metrics.jsonl").stat().st_mtime_ns
    lines.clear()
    again = run_bench(tiny_suite, None, 2, None, 2, tmp_path, progress=lines.append, genome=TINY)
    assert all(line.startswith("done already") for line in lines)
    assert (tmp_path / "abm" / "seed0" / "metrics.jsonl").stat().st_mtime_ns == before
    assert again["agents"]["abm"]["auc"] == summary["agents"]["abm"]["auc"]

    # A life on the pool is the life lived in this process: the lives the other tests run here
    # stand for the pool's.
    (life,) = bench.plan(TINY_BANDIT, ["abm"], [1], 600, tmp_path / "here", TINY)
    assert bench.live(bench.BenchTask(life, None, str(life.directory)))["error"] is None
    pooled = read_jsonl(tmp_path / "abm" / "seed1" / "metrics.jsonl")
    assert comparable(read_jsonl(life.directory / "metrics.jsonl")) == comparable(pooled)


def test_a_crashing_life_is_reported_and_the_others_finish(
    tmp_path, tiny_suite, monkeypatch, in_process
):
    monkeypatch.setitem(
        SUITES, "tiny", Suite(("bandit(arms=3, every=200)", "no-such-world"), 300, 300, (), "")
    )
    summary = run_bench("tiny", ["random"], 1, None, 1, tmp_path, progress=lambda line: None)
    assert len(summary["failures"]) == 1 and "no-such-world" in summary["failures"][0]
    assert summary["agents"]["random"]["auc"]["iqm"] is not None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "atari"], "unknown suite 'atari'"),
        (["bench", "bandits", "--agents", "abm,muzero"], "unknown agent 'muzero'"),
        (["bench", "bandits", "--agents", "abm,abm"], "lists an agent twice"),
        (["bench", "bandits", "--agents", "abm-no_dreams"], "unknown rule family 'dreams'"),
        (["bench", "bandits", "--seeds", "0"], "--seeds and --jobs must be >= 1"),
        (["bench", "bandits", "--steps", "10"], "--steps must be >= 100"),
        (["bench", "bandits", "--set", "log_every=5"], "genome fields only"),
        (["bench", "bandits", "--set", "gamma=7"], "gamma"),
        (["bench", "bandits", "--genome", "/no/such/genome.yaml"], "cannot read genome file"),
        (["bench", "bandits", "--address", "auto"], "--address is for --backend ray"),
        (["bench", "bandits", "--worlds", "cheetah"], "--worlds 'cheetah' matches none"),
        (["report", "/nonexistent/place"], "no such directory"),
    ],
)
def test_bench_mistakes_are_one_line_errors(tmp_path, capsys, argv, message):
    assert main([*argv, "--dir", str(tmp_path / "b")] if argv[0] == "bench" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_ray_gives_the_same_bench_as_the_local_backend(tmp_path, tiny_suite, in_process):
    """One runner, two backends: the same lives and the same summary (timings aside). The local
    lives run in this process (a life on the pool is the same life: the pool's test says so)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install ray")
    agents = ["abm", "random", "random_m"]  # random_m runs in a second wave, after abm

    def run(backend, where):
        run_bench(tiny_suite, agents, 1, 300, 2, where, progress=lambda line: None,
                  genome=TINY, backend=backend)  # fmt: skip
        rows = (where / "summary.csv").read_text().splitlines()
        return [row for row in rows if "_per_s," not in row]  # timings differ, nothing else

    local = run("local", tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run("ray", tmp_path / "ray")
        assert ray.is_initialized()  # a Ray someone else started is left running
    finally:
        ray.shutdown()
    assert remote == local and len(local) > 20
    # The lives ran in temporary directories on the workers; their records came back.
    for agent in agents:
        life = tmp_path / "ray" / agent / "seed0"
        assert json.loads((life / "done.json").read_text()) == {"steps": 300}
        assert len((life / "metrics.jsonl").read_text().splitlines()) == 100
        assert not (life / "checkpoints").exists()


def test_worlds_keeps_some_of_a_suite_at_the_whole_suite_s_directories(
    tmp_path, monkeypatch, in_process
):
    worlds = ("bandit(arms=3, every=200)", "bandit(arms=4, every=200)")
    monkeypatch.setitem(SUITES, "two", Suite(worlds, 200, 200, ("random",), ""))
    one = run_bench("two", None, 1, None, 1, tmp_path, progress=lambda line: None,
                    worlds=["ARMS=4"])  # fmt: skip
    assert one["worlds"] == [worlds[1]]
    assert not (tmp_path / "random" / bench.world_tag(worlds[0])).exists()
    lines: list[str] = []
    both = run_bench("two", None, 1, None, 1, tmp_path, progress=lines.append)
    assert both["worlds"] == list(worlds)
    assert sum(line.startswith("done already") for line in lines) == 1  # the arms=4 life


def test_bench_help_names_every_suite(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines at hyphens
    assert all(name in text for name in SUITES)
    assert set(SUITES) == set(cli.SUITE_NAMES)


def test_a_bench_directory_cannot_change_its_size(tmp_path, tiny_suite, in_process):
    run_bench(tiny_suite, ["random"], 1, 200, 1, tmp_path, progress=lambda line: None)
    with pytest.raises(UserError, match="steps=200"):
        run_bench(tiny_suite, ["random"], 1, 300, 1, tmp_path, progress=lambda line: None)


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_runs_a_smoke_size(tmp_path, suite, monkeypatch, in_process):
    """Every life of the suite lives its 200 steps, recorded every 2 (1% of the life); each
    agent's AUC is the mean of its lives' recorded reward rates; and every life's floor (the
    level recovery and regret are measured from) is the random agent's in the same world."""
    agents = ["abm", "random"] + (["sb3_dqn", "sb3_ppo"] if suite == "nursery" else [])
    floors = []
    summarize_life = bench.metrics.summarize_life

    def spy(records, events, floor, *args, **kwargs):
        floors.append(floor)
        return summarize_life(records, events, floor, *args, **kwargs)

    monkeypatch.setattr(bench.metrics, "summarize_life", spy)
    summary = run_bench(suite, agents, 1, 200, 2, tmp_path, progress=lambda line: None, genome=TINY)
    assert summary["failures"] == []
    worlds = SUITES[suite].worlds

    def records_of(agent, world):
        where = bench.life_directory(tmp_path, SUITES[suite], agent, world, 0)
        assert json.loads((where / "done.json").read_text()) == {"steps": 200}
        records = read_jsonl(where / "metrics.jsonl")
        assert [r["step"] for r in records] == list(range(2, 201, 2)), (agent, world)
        return records

    for agent in agents:
        aucs = [metrics.auc(metrics.reward_curve(records_of(agent, world))) for world in worlds]
        assert all(math.isfinite(value) for value in aucs), agent
        assert summary["agents"][agent]["auc"]["per_seed"] == pytest.approx(aucs), agent
    random_floor = []
    for world in worlds:
        records = records_of("random", world)
        steps = np.array([r["step"] for r in records], float)
        regimes = [r.get("regime") for r in records]
        level = metrics.per_regime(steps, metrics.reward_curve(records), regimes) or None
        random_floor.append(level)
    assert floors == [level for _ in agents for level in random_floor]  # lives in plan order


def test_an_ablated_agent_is_abm_without_those_rule_families(tmp_path, in_process):
    assert bench.split_ablation("abm-no_plan+imagine") == ("abm", "plan,imagine")
    assert bench.split_ablation("b_only") == ("b_only", "")
    summary = run_bench(
        "bandits", ["abm-no_plan+imagine"], 1, 200, 1, tmp_path, lambda line: None, genome=TINY
    )
    assert summary["failures"] == []
    config = (tmp_path / "abm-no_plan+imagine" / "seed0" / "config.yaml").read_text()
    assert "agent: abm" in config and "ablate: plan,imagine" in config
    events = (tmp_path / "abm-no_plan+imagine" / "seed0" / "events.jsonl").read_text()
    assert '"plan"' not in events and '"imagine"' not in events


def test_a_genome_file_sets_every_life_s_fields_and_set_wins(tmp_path, tiny_suite, in_process):
    path = tmp_path / "evolved.yaml"
    path.write_text("gamma: 0.9\nmin_dwell: 4\n")
    where = tmp_path / "b"
    argv = ["bench", tiny_suite, "--agents", "abm", "--seeds", "1", "--steps", "200",
            "--genome", str(path), "--set", "min_dwell=6", "--dir", str(where)]  # fmt: skip
    assert main(argv) == 0
    life = yaml.safe_load((where / "abm" / "seed0" / "genome.yaml").read_text())
    assert life["gamma"] == 0.9 and life["min_dwell"] == 6
    assert yaml.safe_load((where / "bench.yaml").read_text())["genome"] == {
        "gamma": 0.9,
        "min_dwell": 6,
    }


def test_the_headline_rates_abm_against_rivals_and_the_oracle_as_the_ceiling():
    def agent(auc: float) -> dict:
        return {"auc": {"iqm": auc}}

    summary = {"agents": {"abm": agent(0.3), "random": agent(0.1), "b_only": agent(0.2)}}
    summary["agents"]["oracle"] = agent(0.5)
    line = suites.headline(summary)
    assert "best baseline b_only +0.1000; ratio 2.00" in line
    assert "share of the headroom to the oracle 0.50" in line
