"""Running an evolution: its generations, its checkpoint (state.json) and its outputs.

`run_evolution` replays the stored generations through a fresh `Search`, then runs the rest:
each generation's lives go to the runner (a process pool or Ray), each genome gets its fitness
(`_score`), CMA-ES is told the ranks, and state.json, history.csv, best.yaml and mean.yaml are
rewritten. Everything but evolve.yaml is derived from state.json.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lifelong.errors import UserError
from lifelong.evolve.lives import (
    NO_MEASURES,
    LifeTask,
    atomic_write,
    clear_life,
    finished_result,
    keep_outcome,
    run_life_task,
)
from lifelong.evolve.search import Search, plan_lives
from lifelong.evolve.settings import FORMAT, Settings, check_worlds
from lifelong.genome import Genome
from lifelong.runner import Backend, check_backend, make_backend


def life_path(directory: Path, generation: int, index: int, slot: int) -> Path:
    """Where life `slot` of genome `index` of `generation` keeps its records."""
    return directory / "lives" / f"g{generation:04d}" / f"i{index:03d}" / f"l{slot:02d}"


def run_evolution(
    settings: Settings,
    directory: Path,
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or continue) an evolution in `directory` until `settings.generations` are done.

    Returns {"generations", "best", "failed"}: best is {generation, index, fitness} of the
    fittest genome of the last generation (None if none had a fitness).
    """
    check_backend(backend, address, jobs)
    check_worlds(settings)
    _check_directory(directory)
    state = _load_state(directory)
    search = Search(settings)
    for record in state["generations"]:
        _replay(search, record, directory)
    first = len(state["generations"])
    if first >= settings.generations:
        progress(f"done already: {first} generations in {directory}")
        _write_outputs(directory, settings, state)
        return _summary(state)
    runner = make_backend(backend, address, jobs)  # connects to Ray before anything is written
    try:
        directory.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(settings.to_dict(), sort_keys=False)
        (directory / "evolve.yaml").write_text(text)
        for generation in range(first, settings.generations):
            record = _generation(settings, search, generation, runner, directory, progress)
            state["generations"].append(record)
            _write_state(directory, state)  # the checkpoint: a rerun continues from here
            _write_outputs(directory, settings, state)
    finally:
        runner.close()
    return _summary(state)


def _check_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--dir {directory} is a file, not a directory")
    for other in ("config.yaml", "bench.yaml"):
        if (directory / other).exists():
            raise UserError(f"{directory} holds a life or a bench ({other}); use another --dir")


def _replay(search: Search, record: dict[str, Any], directory: Path) -> None:
    proposals = search.ask()
    if proposals != record["solutions"]:
        raise UserError(
            f"{directory}/state.json does not replay (generation {record['generation']}): was it"
            " written with another version of pycma or lifelong? Use another --dir"
        )
    search.tell(proposals, record["fitness"])


def _generation(
    settings: Settings,
    search: Search,
    generation: int,
    runner: Backend,
    directory: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    began = time.perf_counter()
    level_index, level = settings.level(generation)
    lives = plan_lives(settings, generation)
    solutions = search.ask()
    candidates = [search.genome(solution) for solution in solutions]
    progress(
        f"generation {generation + 1}/{settings.generations}: {len(solutions)} genomes x"
        f" {len(lives)} lives (curriculum level {level_index})"
    )
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    tasks = []
    for index, (values, infeasible) in enumerate(candidates):
        if infeasible:
            continue
        for slot, (world, seed) in enumerate(lives):
            task = LifeTask(generation, index, slot, world, seed, settings.lifetime, values,
                            str(life_path(directory, generation, index, slot)))  # fmt: skip
            done = finished_result(task)
            if done is not None:
                results[task.key] = done
            else:
                clear_life(Path(str(task.directory)))
                tasks.append(task)

    def on_result(task: LifeTask, result: dict[str, Any]) -> None:
        result = {**NO_MEASURES, **result}  # a worker that died measured nothing
        results[task.key] = result
        keep_outcome(task, result)
        progress(f"  {_life_line(task, result)}")

    runner.run(run_life_task, tasks, on_result)
    record = _score(settings, generation, level_index, lives, solutions, candidates, results)
    search.tell(solutions, record["fitness"])
    record["mean"] = search.mean()
    record["sigma"] = float(search.es.sigma)
    record["seconds"] = round(time.perf_counter() - began, 3)
    progress(_generation_line(record))
    return record


def _score(
    settings: Settings,
    generation: int,
    level_index: int,
    lives: list[tuple[str, int]],
    solutions: list[list[float]],
    candidates: list[tuple[dict[str, Any], str | None]],
    results: dict[tuple[int, int, int], dict[str, Any]],
) -> dict[str, Any]:
    """Each genome's fitness: the mean over its lives of the weighted score, or its error."""
    fitness: list[float | None] = []
    aucs: list[float | None] = []
    adaptations: list[float | None] = []
    errors: list[str | None] = []
    for index, (_, infeasible) in enumerate(candidates):
        mine = [] if infeasible else [results[(generation, index, s)] for s in range(len(lives))]
        error = infeasible or next((r["error"] for r in mine if r["error"]), None)
        errors.append(error)
        if error:
            fitness.append(None)
            aucs.append(None)
            adaptations.append(None)
            continue
        scores = [settings.auc_weight * r["auc"] + settings.adaptation_weight * r["adaptation"]
                  for r in mine]  # fmt: skip
        fitness.append(float(np.mean(scores)))
        aucs.append(float(np.mean([r["auc"] for r in mine])))
        adaptations.append(float(np.mean([r["adaptation"] for r in mine])))
    return {
        "generation": generation,
        "level": level_index,
        "lives": [[world, seed] for world, seed in lives],
        "solutions": solutions,
        "genomes": [values for values, _ in candidates],
        "fitness": fitness,
        "auc": aucs,
        "adaptation": adaptations,
        "errors": errors,
    }


def _life_line(task: LifeTask, result: dict[str, Any]) -> str:
    where = f"life g{task.generation} i{task.index} l{task.slot} ({task.world}, seed {task.seed})"
    if result["error"]:
        return f"{where} failed: {result['error']}"
    return f"{where}: auc {result['auc']:.5g}, adaptation {result['adaptation']:.3g}"


def _generation_line(record: dict[str, Any]) -> str:
    finite = sorted(f for f in record["fitness"] if f is not None)
    failed = len(record["fitness"]) - len(finite)
    spread = (
        f"best {finite[-1]:.5g}  median {float(np.median(finite)):.5g}  worst {finite[0]:.5g}"
        if finite
        else "no genome had a fitness"
    )
    return (
        f"generation {record['generation'] + 1} done: {spread}"
        f"{f'  ({failed} failed)' if failed else ''}  in {record['seconds']:.0f} s"
    )


# ---------------------------------------------------------------------------------------------
# The checkpoint (state.json) and the outputs derived from it.


def _load_state(directory: Path) -> dict[str, Any]:
    path = directory / "state.json"
    if not path.exists():
        return {"format": FORMAT, "fields": Genome.names(), "generations": []}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}; use another --dir") from None
    if state.get("format") != FORMAT or state.get("fields") != Genome.names():
        raise UserError(
            f"{path} was written for another genome or format (fields or format differ);"
            " use another --dir"
        )
    return state


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    atomic_write(directory / "state.json", json.dumps(state))


def _write_outputs(directory: Path, settings: Settings, state: dict[str, Any]) -> None:
    """history.csv, best.yaml and mean.yaml, all derived from state.json."""
    atomic_write(directory / "history.csv", history_csv(state))
    generations = state["generations"]
    if not generations:
        return
    last = generations[-1]
    frozen = {name: settings.start[name] for name in settings.frozen}
    with contextlib.suppress(UserError):  # a mean against a frozen field's constraint: no file
        Genome.from_vector(last["mean"]).replace(**frozen).save(directory / "mean.yaml")
    best = _best(last)
    if best is not None:
        Genome(**last["genomes"][best]).save(directory / "best.yaml")


def _best(record: dict[str, Any]) -> int | None:
    scored = [(f, -i) for i, f in enumerate(record["fitness"]) if f is not None]
    return -max(scored)[1] if scored else None


def history_csv(state: dict[str, Any]) -> str:
    """One row per genome: generation, index, fitness, auc, adaptation, error, then its fields.

    Numbers are written with repr(), so two runs can be compared exactly.
    """
    names = state["fields"]
    rows = [["generation", "index", "fitness", "auc", "adaptation", "lives", "error", *names]]
    for record in state["generations"]:
        for i, values in enumerate(record["genomes"]):
            numbers = (record["fitness"][i], record["auc"][i], record["adaptation"][i])
            rows.append([
                record["generation"], i, *("" if v is None else repr(v) for v in numbers),
                len(record["lives"]), record["errors"][i] or "",
                *(repr(values[name]) for name in names),
            ])  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    generations = state["generations"]
    failed = sum(e is not None for record in generations for e in record["errors"])
    best = None
    if generations and (index := _best(generations[-1])) is not None:
        last = generations[-1]
        best = {"generation": last["generation"], "index": index, "fitness": last["fitness"][index]}
    return {"generations": len(generations), "best": best, "failed": failed}
