"""Evolution: CMA-ES over whole lifetimes, on a process pool and on Ray, resumable, crash-proof.

Evolutions here are tiny (4 genomes, 1-2 generations, 300-step lives of a 3-armed bandit that
changes every 100 steps) and the genome's costly fields are frozen at the TINY sizes.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY

from lifelong.cli import main
from lifelong.errors import UserError
from lifelong.evolve import (
    Level,
    LifeTask,
    Search,
    default_curriculum,
    life_measures,
    life_path,
    load_curriculum,
    make_settings,
    plan_lives,
    run_evolution,
    run_life_task,
)
from lifelong.evolve.settings import FORMAT
from lifelong.genome import Genome
from lifelong.report import write_report

BANDIT = "bandit(arms=3, every=100)"
COST_FIELDS = Genome.fields_of("cost")  # what `--freeze cost` keeps
CURRICULUM = (
    Level(0, 1, ("{world}",)),
    Level(1, 2, ("{world}", "{world}+shift(kind=actions, every={half})")),
)
TINY_EVOLUTION = dict(
    worlds=[BANDIT],
    population=4,
    generations=2,
    lifetime=300,
    seed=3,  # its proposals are all feasible: a failed life would weaken every comparison
    start=TINY,
    frozen=["cost"],
    curriculum=CURRICULUM,
)


def evolve(directory: Path, backend: str = "local", progress=lambda line: None, **changes):
    settings = make_settings({**TINY_EVOLUTION, **changes}, directory)
    return run_evolution(settings, directory, backend=backend, jobs=2, progress=progress)


def history(directory: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((directory / "history.csv").read_text())))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted tiny evolution on the process pool, shared by the comparisons."""
    directory = tmp_path_factory.mktemp("reference")
    summary = evolve(directory)
    assert summary["generations"] == 2 and summary["failed"] == 0
    return directory


def test_an_evolution_writes_its_outputs(reference):
    rows = history(reference)
    assert [(r["generation"], r["index"]) for r in rows] == [
        (str(g), str(i)) for g in range(2) for i in range(4)
    ]
    assert all(r["fitness"] and not r["error"] for r in rows)
    assert [r["lives"] for r in rows] == ["1"] * 4 + ["2"] * 4  # the curriculum grew
    # The bandit changes every 100 steps: adaptation was measured, within its range.
    assert all(-1.0 <= float(r["adaptation"]) < 0.0 for r in rows)
    # Frozen fields kept the start genome's values; searched ones moved.
    for name in COST_FIELDS:
        assert {r[name] for r in rows} == {repr(TINY.get(name, getattr(Genome(), name)))}
    assert len({r["lr_b"] for r in rows}) == 8
    # best.yaml is the fittest genome of the last generation, usable by `lifelong run --genome`.
    last = [r for r in rows if r["generation"] == "1"]
    fittest = max(last, key=lambda r: float(r["fitness"]))
    best = Genome.load(reference / "best.yaml")
    assert repr(best.lr_b) == fittest["lr_b"] and repr(best.gamma) == fittest["gamma"]
    Genome.load(reference / "mean.yaml")
    state = json.loads((reference / "state.json").read_text())
    assert [len(g["mean"]) for g in state["generations"]] == [len(Genome.names())] * 2
    life = life_path(reference, 1, 3, 1)
    assert (life / "done.json").exists() and (life / "metrics.jsonl").exists()
    assert not (life / "checkpoints").exists()  # deleted once the life was measured


def test_the_same_seed_gives_the_same_proposals_whatever_numpy_did(tmp_path):
    settings = make_settings(TINY_EVOLUTION, tmp_path)
    np.random.seed(123)
    first = Search(settings).ask()
    np.random.rand(50)
    second = Search(settings).ask()
    assert first == second
    assert all(0.0 <= u <= 1.0 for x in first for u in x)
    other = make_settings({**TINY_EVOLUTION, "seed": 2}, tmp_path)  # another seed
    assert Search(other).ask() != first


def test_ray_gives_the_same_history_as_the_process_pool(reference, tmp_path):
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = evolve(tmp_path, backend="ray")
        assert ray.is_initialized()  # a Ray someone else started is left running
    finally:
        ray.shutdown()
    assert summary["failed"] == 0
    assert (tmp_path / "history.csv").read_text() == (reference / "history.csv").read_text()
    assert (tmp_path / "best.yaml").read_text() == (reference / "best.yaml").read_text()
    # Lives ran in temporary directories on the workers; their records came back.
    life = life_path(tmp_path, 1, 2, 0)
    assert (life / "metrics.jsonl").read_text() and (life / "done.json").exists()


def test_an_interrupted_evolution_continues_to_the_same_result(reference, tmp_path, in_process):
    """Interrupted and continued in this process, the evolution ends where the uninterrupted
    one on the process pool did (`reference`): the same history, so the same lives."""
    lives_done = []

    def interrupt(line: str) -> None:
        if line.startswith("  life g1 "):
            lives_done.append(line)
            if len(lives_done) == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evolve(tmp_path, progress=interrupt)
    state = json.loads((tmp_path / "state.json").read_text())
    assert len(state["generations"]) == 1  # generation 0 was checkpointed, 1 was not
    kept = {path: path.stat().st_mtime_ns for path in (tmp_path / "lives/g0001").rglob("done.json")}
    assert len(kept) == 3  # the lives that finished before the interruption

    lines: list[str] = []
    evolve(tmp_path, progress=lines.append)
    assert not any(line.startswith("  life g0 ") for line in lines)  # generation 0 not rerun
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())
    assert sum(line.startswith("  life g1 ") for line in lines) == 8 - len(kept)
    assert (tmp_path / "history.csv").read_text() == (reference / "history.csv").read_text()

    # A rerun may ask for more generations, but not for other lives.
    with pytest.raises(UserError, match="lifetime=300"):
        make_settings({**TINY_EVOLUTION, "lifetime": 400}, tmp_path)
    assert make_settings({"generations": 3}, tmp_path).population == 4


def _seed_with_an_infeasible_genome(start: dict) -> tuple[int, int]:
    """A seed whose first generation has an infeasible genome, and a feasible genome's index."""
    for seed in range(50):
        settings = make_settings(
            {**TINY_EVOLUTION, "seed": seed, "start": start, "frozen": ["cost", "wake_threshold"]},
            Path("/nonexistent"),
        )
        search = Search(settings)
        infeasible = [search.genome(x)[1] is not None for x in search.ask()]
        if any(infeasible) and infeasible.count(False) >= 2:
            return seed, infeasible.index(False)
    raise AssertionError("no seed up to 50 proposes an infeasible genome")


def test_infeasible_genomes_and_crashing_lives_get_the_worst_fitness(tmp_path, capsys, in_process):
    # wake_threshold is frozen at 0.9, so a proposal with sleep_threshold <= 0.9 is infeasible.
    start = {**TINY, "wake_threshold": 0.9, "sleep_threshold": 0.95}
    seed, victim = _seed_with_an_infeasible_genome(start)
    # A file where one genome's life directory should be: that life crashes.
    blocked = life_path(tmp_path, 0, victim, 0).parent
    blocked.parent.mkdir(parents=True)
    blocked.write_text("in the way")
    sets = [f"--set={k}={v}" for k, v in start.items()]
    argv = ["evolve", "--world", BANDIT, "--population", "4", "--generations", "1",
            "--lifetime", "300", "--seed", str(seed), "--jobs", "2", "--dir", str(tmp_path),
            "--freeze", "cost", "--freeze", "wake_threshold", *sets]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"life g0 i{victim} l0 (" in out and "failed" in out
    rows = history(tmp_path)
    assert rows[victim]["fitness"] == "" and "cannot write" in rows[victim]["error"]
    infeasible = [r for r in rows if r["error"].startswith("infeasible")]
    assert infeasible and all("wake_threshold" in r["error"] for r in infeasible)
    assert all(not list(life_path(tmp_path, 0, int(r["index"]), 0).parent.glob("*"))
               for r in infeasible)  # fmt: skip
    scored = [r for r in rows if r["fitness"]]
    assert scored and len(scored) + len(infeasible) + 1 == 4
    best = Genome.load(tmp_path / "best.yaml")
    assert repr(best.lr_b) == max(scored, key=lambda r: float(r["fitness"]))["lr_b"]
    assert (tmp_path / "report.html").exists()


def test_a_life_that_sleeps_nearly_all_the_time_is_cut_short(tmp_path):
    # Sleep pressure at its fastest rise and slowest fall: about 5000 ticks asleep per 5 awake.
    genome = Genome(**TINY).replace(
        sleep_rise=0.1, sleep_fall=1e-4, sleep_threshold=0.5, wake_threshold=0.0
    )
    task = LifeTask(0, 0, 0, BANDIT, 3, 200, genome.to_dict(), str(tmp_path / "life"))
    result = run_life_task(task)
    assert result["auc"] is None and "cut after 2000 ticks" in result["error"]
    assert "LifeTooLong" in result["traceback"]


def _records(curve: list[float], width: int = 10) -> list[dict]:
    return [{"step": width * (i + 1), "reward_rate": r} for i, r in enumerate(curve)]


def test_life_measures_average_reward_and_time_to_recover():
    steady = _records([0.5] * 100)
    assert life_measures(steady, []) == (0.5, 0.0)  # no change: nothing to adapt to
    # The world changes at step 500: reward falls to 0 (steps 510-710), is 1 again from 720.
    curve = [1.0] * 50 + [0.0] * 21 + [1.0] * 29
    records = _records(curve)
    events = [{"step": 500, "kind": "regime", "regime": 1}]  # none at birth, as a life writes
    auc, adaptation = life_measures(records, events)
    assert auc == pytest.approx(np.mean(curve))
    assert adaptation == pytest.approx(-(720 - 500) / 500)
    with pytest.raises(RuntimeError, match="no reward"):
        life_measures([{"step": 10, "reward_rate": None}], [])


def test_the_curriculum_grows_and_its_lives_depend_only_on_seed_and_generation(tmp_path):
    settings = make_settings({**TINY_EVOLUTION, "generations": 6, "curriculum": None}, tmp_path)
    assert settings.curriculum == default_curriculum(6)
    assert [level.start for level in settings.curriculum] == [0, 2, 4]
    counts = [len(plan_lives(settings, g)) for g in range(6)]
    assert counts == [2, 2, 3, 3, 4, 4]
    late = plan_lives(settings, 5)
    assert {world for world, _ in late} == {
        BANDIT,
        f"{BANDIT}+shift(kind=actions, every=150)",
        f"{BANDIT}+shift(kind=actions, pareto=75)",
    }
    assert plan_lives(settings, 5) == late
    assert plan_lives(settings, 0)[0][1] != plan_lives(settings, 1)[0][1]  # fresh seeds
    assert [level.start for level in default_curriculum(1)] == [0]


def test_a_curriculum_file_is_read_and_checked(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(
        "curriculum:\n"
        "  - {from: 0, lives: 1, variants: ['{world}']}\n"
        "  - {from: 1, lives: 2, variants: ['{world}+shift(kind=reward_flip, every={third})']}\n"
    )
    levels = load_curriculum(good)
    assert levels[1] == Level(1, 2, ("{world}+shift(kind=reward_flip, every={third})",))
    settings = make_settings({**TINY_EVOLUTION, "curriculum": levels}, tmp_path)
    assert settings.variants(levels[1]) == [f"{BANDIT}+shift(kind=reward_flip, every=100)"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {from: 0, lives: 1, variants: ['{wrld}']}\n")
    argv = ["evolve", "--world", BANDIT, "--curriculum", str(bad), "--dir", str(tmp_path / "e")]
    assert main(argv) == 2
    assert "bad placeholder 'wrld'" in capsys.readouterr().err
    unordered = tmp_path / "unordered.yaml"
    unordered.write_text("- {from: 1, lives: 1, variants: ['{world}']}\n")
    with pytest.raises(UserError, match="first level must start at generation 0"):
        load_curriculum(unordered)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--population", "1"], "--population must be >= 2"),
        (["--generations", "0"], "--generations must be >= 1"),
        (["--lifetime", "10"], "--lifetime must be >= 100"),
        (["--freeze", "gils"], "unknown genome field 'gils' in --freeze"),
        (["--freeze", "costs"], "or a group: A, B, M, memory, cost"),
        (["--freeze", ",".join(Genome.names())], "nothing is left to evolve"),
        (["--address", "ray://head:10001"], "--address is for --backend ray"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--set", "log_every=5"], "genome fields only"),
        (["--set", "gamma=7"], "gamma"),
        (["--sigma", "2"], "--sigma must be in (0, 1]"),
        (["--adaptation-weight", "-1"], "--adaptation-weight must be a number >= 0"),
        (["--world", "no-such-world"], "unknown world 'no-such-world'"),
        (["--world", BANDIT, "--world", BANDIT], "lists a world twice"),
    ],
)
def test_evolve_mistakes_are_one_line_errors(tmp_path, capsys, extra, message):
    argv = ["evolve", "--dir", str(tmp_path / "e"), "--lifetime", "300", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "e").exists()


def test_a_rerun_cannot_change_what_is_measured(tmp_path, capsys):
    directory = tmp_path / "e"
    directory.mkdir()
    settings = make_settings(TINY_EVOLUTION, directory)
    (directory / "evolve.yaml").write_text(json.dumps(settings.to_dict()))
    assert main(["evolve", "--dir", str(directory), "--population", "6"]) == 2
    assert "holds an evolution with population=4, not 6" in capsys.readouterr().err
    assert make_settings({"frozen": ["cost"]}, directory).frozen == settings.frozen


def _evolution_directory(directory: Path, error: str) -> None:
    """Two generations written by hand: one genome failed in the second."""
    settings = make_settings(TINY_EVOLUTION, directory)
    directory.mkdir(exist_ok=True)
    (directory / "evolve.yaml").write_text(json.dumps(settings.to_dict()))
    start = Genome(**settings.start).to_vector()
    generations = []
    for g in range(2):
        mean = [min(u + 0.1 * (g + 1), 1.0) for u in start]
        generations.append({
            "generation": g, "level": g, "lives": [[BANDIT, 5]] * (g + 1),
            "solutions": [], "genomes": [settings.start] * 3,
            "fitness": [0.5 + g, 0.4 + g, None if g else 0.3],
            "auc": [0.5, 0.4, None], "adaptation": [-0.1, -0.2, None],
            "errors": [None, None, error if g else None], "mean": mean, "sigma": 0.2,
            "seconds": 1.5,
        })  # fmt: skip
    state = {"format": FORMAT, "fields": Genome.names(), "generations": generations}
    (directory / "state.json").write_text(json.dumps(state))
    Genome(**settings.start).save(directory / "best.yaml")


def test_the_report_of_an_evolution_shows_fitness_and_how_each_field_moved(tmp_path):
    evil = "<script>alert(1)</script>"
    _evolution_directory(tmp_path, f"RuntimeError: {evil}")
    page = write_report(tmp_path).read_text()
    root = ET.fromstring(page.replace("<!DOCTYPE html>", "", 1))  # well-formed XML
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    searched = [name for name in Genome.names() if name not in COST_FIELDS]
    assert {"fig-fitness", "generations", "best", "curriculum", "failures"} <= ids
    assert {f"fig-gene-{name}" for name in searched} <= ids
    assert not any(f"fig-gene-{name}" in ids for name in COST_FIELDS)
    assert evil not in page and "&lt;script&gt;" in page
    table = next(e for e in root.iter() if e.get("id") == "generations")
    cells = [[cell.text for cell in row] for row in table.iter("tr")]
    assert cells[1][:4] == ["1", "0", "1", "0.5"] and cells[2][6] == "1"  # generation 2: 1 failed


def test_the_report_says_what_an_evolution_directory_lacks(tmp_path):
    (tmp_path / "evolve.yaml").write_text("{}")
    with pytest.raises(UserError, match=r"state\.json missing \(evolve\.yaml found\)"):
        write_report(tmp_path)
