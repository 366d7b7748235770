"""One life of one genome, the unit of work of an evolution and of a comparison.

A `LifeTask` is everything a worker needs (picklable, no torch); `run_life_task` lives it on
whichever machine the backend picked and measures it (`life_measures`: AUC and adaptation), a
crash coming back as an error, never as an exception. A life's outcome is kept next to its
records (done.json, or failed.txt), so an interrupted evolution or comparison reads back the
lives that finished (`finished_result`) and starts the others again from birth (`clear_life`).
`evaluate` lives given genomes through given lives: held-out comparisons outside an evolution.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lifelong import metrics
from lifelong.evolve.settings import DEFAULTS
from lifelong.genome import Genome
from lifelong.records import read_jsonl
from lifelong.runner import failure, make_backend, small_files, work_in

# A life may take at most this many ticks (world steps plus ticks asleep or imagining) per world
# step of its lifetime. A genome can make an agent sleep almost all the time (sleep pressure that
# rises fast and falls slowly); its life would take hours, so it is cut and gets no fitness.
TICKS_PER_STEP = 10


# ---------------------------------------------------------------------------------------------
# One life, on whichever machine the backend picked.


@dataclass(frozen=True)
class LifeTask:
    """One life of one genome: everything a worker needs, picklable, no torch."""

    generation: int
    index: int  # the genome's place in its generation
    slot: int  # the life's place among the genome's lives
    world: str
    seed: int
    lifetime: int
    genome: dict[str, Any]
    directory: str | None  # None: a temporary directory on the worker, whose files come back

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.generation, self.index, self.slot)


def life_config(lifetime: int) -> dict[str, Any]:
    """Records at 1% of the life (the AUC's bins); no TensorBoard, diagnostics or mid-life
    checkpoints (an interrupted life starts again from birth), one torch thread."""
    return {
        "agent": "abm",
        "log_every": max(lifetime // 100, 1),
        "checkpoint_every": 10 * lifetime,
        "diagnose_every": 0,
        "tensorboard": False,
        "threads": 1,
    }


def run_life_task(task: LifeTask) -> dict[str, Any]:
    """Live one life and measure it; a crash comes back as an error, never as an exception."""
    try:
        with work_in(task.directory) as where:
            from lifelong.life import open_life  # torch: only in the worker

            life = open_life(
                where,
                world=task.world,
                seed=task.seed,
                config_changes=life_config(task.lifetime),
                genome_changes=task.genome,
            )
            _limit_ticks(life, TICKS_PER_STEP * task.lifetime)
            life.run(task.lifetime)
            shutil.rmtree(where / "checkpoints", ignore_errors=True)  # keep the disk small
            records = read_jsonl(where / "metrics.jsonl")
            events = read_jsonl(where / "events.jsonl")
            files = small_files(where) if task.directory is None else {}
        auc, adaptation = life_measures(records, events)
        return {"auc": auc, "adaptation": adaptation, "error": None, "files": files}
    except Exception as error:
        return {**failure(error, traceback.format_exc()), **NO_MEASURES}


NO_MEASURES = {"auc": None, "adaptation": None}


class LifeTooLong(RuntimeError):
    """A life that spent too many ticks away from the world (see TICKS_PER_STEP)."""


def _limit_ticks(life: Any, budget: int) -> None:
    """Make the agent's decision, which starts every tick of the life, count against `budget`."""
    decide = life.agent.decide

    def counted() -> Any:
        if life.agent.counters.get("ticks", 0) >= budget:
            steps = life.agent.counters["env_steps"]
            raise LifeTooLong(
                f"cut after {budget} ticks ({TICKS_PER_STEP} per world step of the lifetime) at"
                f" world step {steps}: the agent was asleep or imagining nearly all the time"
            )
        return decide()

    life.agent.decide = counted


def life_measures(records: list[dict], events: list[dict]) -> tuple[float, float]:
    """(AUC, adaptation) of one life.

    AUC is the lifetime average of the extrinsic reward (`metrics.auc`). Adaptation says how
    quickly the life got back on its feet after each change the world made: for change k, the
    fraction of its stretch (up to the next change or the end) spent before the reward first
    came 90% of the way back from its lowest point after the change to its eventual level
    (`metrics.change_point_stats` with that lowest point as the floor; 1 if it never did). The
    score is minus the mean fraction over the changes: 0 recovers at once, -1 never; 0 too in a
    life without changes. The floor is the life's own lowest point rather than a random agent's,
    so the score needs no extra lives and does not depend on the reward's scale.
    """
    records = metrics.life_records(records)
    steps = np.array([r["step"] for r in records], float)
    curve = metrics.reward_curve(records)
    auc = metrics.auc(curve) if curve.size else math.nan
    if not math.isfinite(auc):
        raise RuntimeError("the life wrote no reward record")
    taus = [tau for tau, _ in metrics.change_points(events, records)]
    if not taus:
        return auc, 0.0
    widths = np.diff(steps, prepend=0.0)
    window = max(int(10 * np.median(widths)), 1)
    ends = [*taus[1:], float(steps[-1])]
    # Each stretch's own lowest point is its floor: one curve, so one pass over the changes.
    floor = np.zeros_like(steps)
    stretches = []
    for tau, end in zip(taus, ends, strict=True):
        stretch = (steps > tau) & (steps <= end) & np.isfinite(curve)
        if end > tau and stretch.any():  # else a change in the last record: nothing to recover
            floor[(steps > tau) & (steps <= end)] = curve[stretch].min()
            stretches.append(end - tau)
        else:
            stretches.append(None)
    stats = metrics.change_point_stats(steps, curve, taus, window, floor, None, window)
    fractions = [
        1.0 if s["recovery_time"] is None else min(s["recovery_time"] / length, 1.0)
        for s, length in zip(stats, stretches, strict=True)
        if length is not None
    ]
    return auc, -float(np.mean(fractions)) if fractions else 0.0


# ---------------------------------------------------------------------------------------------
# A life's outcome on disk, so that an interrupted run keeps the lives that finished.


def finished_result(task: LifeTask) -> dict[str, Any] | None:
    """The stored result of a life that finished before an interruption, if it is this life."""
    path = Path(str(task.directory)) / "done.json"
    if not path.exists():
        return None
    with contextlib.suppress(json.JSONDecodeError, OSError, KeyError, AttributeError):
        done = json.loads(path.read_text())
        same = (done.get("world"), done.get("seed"), done.get("steps"), done.get("genome")) == (
            task.world,
            task.seed,
            task.lifetime,
            task.genome,
        )
        if same:
            return {"auc": done["auc"], "adaptation": done["adaptation"], "error": None}
    return None


def clear_life(directory: Path) -> None:
    """Remove what an unfinished life left, so it starts again from birth."""
    if directory.is_dir():
        shutil.rmtree(directory)


def keep_outcome(task: LifeTask, result: dict[str, Any]) -> None:
    """Write a life's outcome next to its records: done.json, or failed.txt with the traceback.

    The directory may be unwritable (that may be why the life failed): the outcome is in
    state.json either way, so a failure to write here is not an error of the evolution.
    """
    where = Path(str(task.directory))
    with contextlib.suppress(OSError):
        where.mkdir(parents=True, exist_ok=True)
        if result["error"]:
            (where / "failed.txt").write_text(result.get("traceback") or result["error"])
            return
        done = {
            "world": task.world,
            "seed": task.seed,
            "steps": task.lifetime,
            "genome": task.genome,
            "auc": result["auc"],
            "adaptation": result["adaptation"],
        }
        atomic_write(where / "done.json", json.dumps(done))


def atomic_write(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader sees the old text or the new."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


# ---------------------------------------------------------------------------------------------
# Re-evaluation, for held-out comparisons.


def evaluate(
    genomes: dict[str, Genome],
    lives: list[tuple[str, int]],
    lifetime: int,
    directory: Path,
    auc_weight: float = DEFAULTS["auc_weight"],
    adaptation_weight: float = DEFAULTS["adaptation_weight"],
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every genome lives every (world, seed) of `lives`; per genome, one dict per life with
    world, seed, auc, adaptation, score and error. Lives already finished in `directory` are
    read back, so an interrupted comparison continues."""
    runner = make_backend(backend, address, jobs)
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    tasks = []
    names = list(genomes)
    for index, name in enumerate(names):
        for slot, (world, seed) in enumerate(lives):
            where = directory / name / f"l{slot:02d}"
            task = LifeTask(0, index, slot, world, seed, lifetime, genomes[name].to_dict(),
                            str(where))  # fmt: skip
            done = finished_result(task)
            if done is not None:
                results[task.key] = done
            else:
                clear_life(where)
                tasks.append(task)

    def on_result(task: LifeTask, result: dict[str, Any]) -> None:
        result = {**NO_MEASURES, **result}  # a worker that died measured nothing
        results[task.key] = result
        keep_outcome(task, result)

    try:
        runner.run(run_life_task, tasks, on_result)
    finally:
        runner.close()
    table: dict[str, list[dict[str, Any]]] = {}
    for index, name in enumerate(names):
        table[name] = []
        for slot, (world, seed) in enumerate(lives):
            result = results[(0, index, slot)]
            score = None
            if not result["error"]:
                score = auc_weight * result["auc"] + adaptation_weight * result["adaptation"]
            table[name].append({"world": world, "seed": seed, "auc": result["auc"],
                                "adaptation": result["adaptation"], "score": score,
                                "error": result["error"]})  # fmt: skip
    return table
