"""Evo/Devo: CMA-ES evolves the genome, and each genome is judged by whole lifetimes.

    lifelong evolve --world nursery-small --population 8 --generations 6 --lifetime 5000 \
        --backend local|ray [--address ADDR] --dir DIR [--seed S]

The paper's outer loop. The inner loop is a life (`lifelong.life`): A and B learn while M stays
fixed. The outer loop moves the genome, which sets M and the initial A and B, by how well whole
lifetimes go. One generation:

1. CMA-ES (pycma) proposes `population` points in the genome's normalised space
   (`Genome.to_vector`, every field in [0, 1], log-scaled where the genome says so), bounded to
   [0, 1], starting from the start genome (the default one unless `--genome`/`--set` change it)
   with step size `sigma`. Frozen fields are not searched: they keep the start genome's value.
2. The curriculum picks this generation's lives: `lives` (world variant, seed) pairs drawn from
   its current level, the same for every genome of the generation (common random numbers make
   the ranking less noisy), fresh each generation (so no genome is fitted to one seed).
3. Every genome lives every one of those lives, on a process pool or a Ray cluster.
4. A life scores `auc_weight * AUC + adaptation_weight * adaptation` (see `life_measures`); a
   genome's fitness is the mean over its lives. A genome that cannot be built (infeasible) or any
   of whose lives crashed gets no fitness, the worst rank, and its reason in history.csv: the
   evolution itself never stops for it.
5. CMA-ES is told the ranks; the generation is checkpointed.

An evolution directory holds:
    evolve.yaml     what was asked (worlds, sizes, weights, curriculum, start genome, frozen fields)
    state.json      every generation: lives, proposals, genomes, fitnesses, errors, CMA-ES mean
    history.csv     one row per evaluated genome (rewritten from state.json each generation)
    best.yaml       the fittest genome of the last generation (for `lifelong run --genome`)
    mean.yaml       the CMA-ES mean after the last generation: the search's current centre
    lives/g<generation>/i<genome>/l<life>/   each life's records (checkpoints are deleted)

Resuming: the CMA-ES state is rebuilt by replaying the stored generations through a fresh
CMA-ES with the same seed (pycma is deterministic given its random stream, which is our own),
and each replayed proposal is checked against the stored one. That keeps state.json plain JSON
(nothing is unpickled) and makes a resumed evolution identical to an uninterrupted one. Within an
unfinished generation, lives that finished (`done.json`) are kept and the others start again from
birth, so a resumed life is the same life whatever the world can or cannot save.

Determinism: the same `seed` gives the same proposals, the same lives and the same fitnesses on
either backend; timings are the only thing that differs, and history.csv holds none.

The package, one job per module:
    settings.py   what was asked: `Settings` (evolve.yaml), the curriculum, `--freeze`
    lives.py      one life of one genome: the task a worker runs, its measures, its outcome
                  on disk; `evaluate` for held-out comparisons
    search.py     CMA-ES (`Search`) and each generation's lives (`plan_lives`)
    run.py        `run_evolution`: generations, the checkpoint state.json, history.csv,
                  best.yaml and mean.yaml
"""

from lifelong.evolve.lives import (
    NO_MEASURES,
    TICKS_PER_STEP,
    LifeTask,
    LifeTooLong,
    evaluate,
    life_config,
    life_measures,
    run_life_task,
)
from lifelong.evolve.run import history_csv, life_path, run_evolution
from lifelong.evolve.search import Search, plan_lives
from lifelong.evolve.settings import (
    CHANGEABLE,
    DEFAULTS,
    FORMAT,
    PLACEHOLDERS,
    Level,
    Settings,
    check_worlds,
    default_curriculum,
    load_curriculum,
    make_settings,
    parse_curriculum,
    resolve_frozen,
)

__all__ = [
    "CHANGEABLE",
    "DEFAULTS",
    "FORMAT",
    "NO_MEASURES",
    "PLACEHOLDERS",
    "TICKS_PER_STEP",
    "LifeTask",
    "LifeTooLong",
    "Level",
    "Search",
    "Settings",
    "check_worlds",
    "default_curriculum",
    "evaluate",
    "history_csv",
    "life_config",
    "life_measures",
    "life_path",
    "load_curriculum",
    "make_settings",
    "parse_curriculum",
    "plan_lives",
    "resolve_frozen",
    "run_evolution",
    "run_life_task",
]
