"""Command line: `lifelong run | bench | evolve | report | genome | worlds | agents | check-world`.

User mistakes end in one line on stderr and exit code 2; Ctrl-C (or SIGTERM) checkpoints the life
and exits 0.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from lifelong.config import parse_overrides
from lifelong.errors import UserError
from lifelong.genome import Genome

if TYPE_CHECKING:
    from rich.console import Console

# `lifelong.bench` takes a third of a second to import; its suites are named here for --help, and
# a test keeps the two lists the same.
SUITE_NAMES = (
    "nursery", "minatar-continual", "minigrid-noisytv", "control-shifts", "pendulum-shifts",
    "mujoco-shifts", "bandits", "needs", "needs-mujoco", "ablations",
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lifelong", description="Agents that never stop learning.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="start a life, or continue the one in --dir")
    run.add_argument("--world", help="world to live in (default: nursery; see `lifelong worlds`)")
    run.add_argument(
        "--steps",
        type=int,
        help="live until this many world steps in total (default: until Ctrl-C)",
    )
    run.add_argument("--dir", type=Path, help="run directory (default: runs/<world>-s<seed>)")
    run.add_argument("--seed", type=int, help="seed of a new life (default: 0)")
    run.add_argument("--genome", type=Path, help="genome YAML file for a new life")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key or genome field (repeatable)",
    )
    run.add_argument("--quiet", action="store_true", help="no live display")

    bench = commands.add_parser("bench", help="run (or continue) a benchmark suite of lives")
    bench.add_argument("suite", help=f"suite name ({', '.join(SUITE_NAMES)})")
    bench.add_argument(
        "--worlds", help="comma-separated parts of world specs: run only the suite's worlds that"
        " contain one (default: all)"
    )  # fmt: skip
    bench.add_argument("--agents", help="comma-separated agents (default: the suite's)")
    bench.add_argument(
        "--seeds",
        default="3",
        help="seeds per agent and world: a count N (seeds 0 to N-1; default 3), a range A-B"
        " (100-109) or a list A,B,... (100,103)",
    )
    bench.add_argument(
        "--reference",
        help="agent the others are paired with, per world and seed (default: abm when in the"
        " bench; 'none': no paired differences)",
    )
    bench.add_argument("--steps", type=int, help="world steps per life (default: the suite's)")
    bench.add_argument("--jobs", type=int, default=1, help="lives at once (ray: local Ray's CPUs)")
    bench.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where lives run"
    )
    bench.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    bench.add_argument("--dir", type=Path, help="bench directory (default: runs/bench-<suite>)")
    bench.add_argument("--quick", action="store_true", help="the suite's smoke-test size")
    bench.add_argument(
        "--genome", type=Path, help="genome YAML file: its fields, for every life (--set wins)"
    )
    bench.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a genome field for every life (repeatable)",
    )

    _add_evolve(commands)

    report = commands.add_parser(
        "report", help="write report.html for a life, a bench or an evolution"
    )
    report.add_argument("dir", type=Path, help="a run, bench or evolution directory")

    genome = commands.add_parser("genome", help="print the default genome with ranges")
    genome.add_argument("--file", type=Path, help="print and validate this genome file instead")
    genome.add_argument(
        "--continuous", action="store_true", help="the default for bodies with continuous actions"
    )

    commands.add_parser("worlds", help="list the worlds")
    commands.add_parser("agents", help="list the agents: who can live, in which actions and loop")
    commands.add_parser(
        "needs",
        help="list the needs table: each family of M's rules, a world that needs it, a twin",
    )

    check = commands.add_parser("check-world", help="check a world against the contract")
    check.add_argument("spec", help="world spec, e.g. gym:CartPole-v1+noisy_tv")
    check.add_argument("--steps", type=int, default=5000, help="random steps to profile")
    check.add_argument("--seed", type=int, default=0)
    return parser


def _add_evolve(commands: argparse._SubParsersAction) -> None:
    """`lifelong evolve`: options left out take the defaults, or on a rerun the stored values."""
    evolve = commands.add_parser(
        "evolve",
        help="evolve the genome with CMA-ES over whole lifetimes (or continue in --dir)",
        description="Evolve the genome with CMA-ES, judged by whole lifetimes; rerunning the"
        " same command on the same --dir continues. See docs/evolution.md.",
    )
    evolve.add_argument(
        "--world",
        action="append",
        dest="worlds",
        metavar="SPEC",
        help="world to live in (repeatable; default: nursery-small)",
    )
    evolve.add_argument("--population", type=int, help="genomes per generation (default: 8)")
    evolve.add_argument("--generations", type=int, help="generations in all (default: 6)")
    evolve.add_argument("--lifetime", type=int, help="world steps per life (default: 5000)")
    evolve.add_argument("--seed", type=int, help="seed of the search and the lives (default: 0)")
    evolve.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where lives run"
    )
    evolve.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    evolve.add_argument(
        "--jobs", type=int, help="lives at once (default: the CPU count; ray: local Ray's CPUs)"
    )
    evolve.add_argument("--dir", type=Path, help="evolution directory (default: runs/evolve)")
    evolve.add_argument(
        "--freeze",
        action="append",
        metavar="FIELD[,FIELD]",
        help="genome fields kept at the start genome's value (repeatable); a group name freezes"
        " its fields: A, B, M, memory, or cost (sizes and learning schedule)",
    )
    evolve.add_argument(
        "--genome", type=Path, help="start genome YAML (default: the worlds' newborn's)"
    )
    evolve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a field of the start genome (repeatable)",
    )
    evolve.add_argument(
        "--auc-weight", type=float, help="weight of a life's average reward (default: 1.0)"
    )
    evolve.add_argument(
        "--adaptation-weight",
        type=float,
        help="weight of a life's adaptation score, in [-1, 0] (default: 0.01)",
    )
    evolve.add_argument("--sigma", type=float, help="CMA-ES step size, normalised (default: 0.2)")
    evolve.add_argument("--curriculum", type=Path, help="curriculum YAML (default: built in)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "evolve":
            return _evolve(args)
        if args.command == "report":
            return _report(args)
        if args.command == "genome":
            return _genome(args)
        if args.command == "worlds":
            return _worlds()
        if args.command == "agents":
            return _agents()
        if args.command == "needs":
            return _needs()
        if args.command == "check-world":
            return _check_world(args)
    except UserError as error:
        print(f"lifelong: error: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    from lifelong.life import open_life  # imports torch: keep `lifelong --help` fast

    if args.steps is not None and args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
    config_changes, genome_changes = parse_overrides(args.set)
    directory = args.dir
    if directory is None:
        world = args.world or config_changes.get("world", "nursery")
        seed = args.seed if args.seed is not None else config_changes.get("seed", 0)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(world)).strip("_")[:80]
        directory = Path("runs") / f"{safe}-s{seed}"
    resumed = (directory / "config.yaml").exists()
    life = open_life(directory, args.world, args.seed, args.genome, config_changes, genome_changes)

    def request_stop(signum: int, frame: object) -> None:
        life.stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    start = life.agent.counters["env_steps"]
    verb = f"continuing from step {start}" if resumed else "a new life"
    if args.quiet:
        life.run(args.steps)
    else:
        from lifelong.display import LiveDisplay

        with LiveDisplay(directory, life.config.world, args.steps, verb) as display:
            life.on_record = display.update
            life.run(args.steps)
    steps = life.agent.counters["env_steps"]
    print(
        f"lifelong: {directory}: checkpointed at step {steps}"
        f"{' (stopped by signal)' if life.stop_requested else ''}"
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lifelong.bench import run_bench
    from lifelong.report import write_report

    directory = args.dir or Path("runs") / f"bench-{args.suite}"
    agents = [a.strip() for a in args.agents.split(",") if a.strip()] if args.agents else None
    config_changes, genome_changes = parse_overrides(args.set)
    if config_changes:
        raise UserError(
            f"bench --set takes genome fields only; {next(iter(config_changes))!r} is a config"
            " key the bench sets itself"
        )
    if args.genome is not None:
        genome_changes = {**Genome.listed(args.genome), **genome_changes}
    console = Console()
    summary = run_bench(
        args.suite, agents, args.seeds, args.steps, args.jobs, directory, args.quick,
        progress=lambda line: console.print(line, highlight=False), genome=genome_changes,
        backend=args.backend, address=args.address,
        worlds=[w.strip() for w in args.worlds.split(",") if w.strip()] if args.worlds else None,
        reference=args.reference,
    )  # fmt: skip
    columns = {
        "auc": "AUC",
        "auc_normalised": "AUC normalised",
        "recovery_median": "recovery (median steps)",
        "aligned_recovery_median": "recovery, change-aligned",
        "env_steps_per_s": "env steps/s",
    }
    shown = {k: v for k, v in columns.items() if any(k in c for c in summary["agents"].values())}
    table = Table("agent", *shown.values(), box=None)
    for agent, cells in summary["agents"].items():
        table.add_row(agent, *(_cell(cells.get(k)) for k in shown))
    console.print(table)
    if summary["paired"]:
        paired = ("auc", "auc_normalised", "aligned_recovery_median")
        _print_paired(console, summary, {k: v for k, v in shown.items() if k in paired})
    for note in summary["notes"]:
        console.print(f"note: {note}", highlight=False)
    seeds = summary["seeds"]
    console.print(
        f"seeds {_seed_text(seeds)} ({len(seeds)}); commit {summary['commit']}", highlight=False
    )
    for failure in summary["failures"]:
        console.print(f"[red]failed[/red] {failure}", highlight=False)
    console.print(f"report: {write_report(directory)}", highlight=False)
    return 1 if summary["failures"] else 0


def _cell(cell: dict | None, key: str = "iqm") -> str:
    if not cell or cell.get(key) is None:
        return "-"
    low, high = cell.get("low"), cell.get("high")
    interval = f" [{low:.4g}, {high:.4g}]" if low is not None and high is not None else ""
    return f"{cell[key]:.4g}{interval}"


def _print_paired(console: Console, summary: dict, columns: dict[str, str]) -> None:
    """The paired differences: agent - reference per metric, mean [95% interval], * where the
    interval excludes zero, and P(agent > reference) on the AUC."""
    from rich.table import Table

    reference = summary["reference"]
    table = Table(f"agent - {reference}", *columns.values(), "P(AUC >)", "pairs", box=None)
    for agent, cells in summary["paired"].items():
        row = []
        for key in columns:
            cell = cells.get(key)
            row.append(_cell(cell, "mean") + (" *" if cell and cell["excludes_zero"] else ""))
        auc = cells.get("auc") or {}
        chance = "-" if auc.get("p_greater") is None else f"{auc['p_greater']:.2f}"
        table.add_row(agent, *row, chance, str(auc.get("pairs", 0)))
    console.print(
        f"paired with {reference} (same world and seed): mean difference [95% bootstrap"
        " interval], * where it excludes zero; P(AUC >): share of pairs ahead",
        highlight=False,
    )
    console.print(table)


def _seed_text(seeds: list[int]) -> str:
    """Seeds as --seeds would name them: "0-4", "100-109", "100,103"."""
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _evolve(args: argparse.Namespace) -> int:
    from lifelong.evolve import load_curriculum, make_settings, run_evolution
    from lifelong.report import write_report

    config_changes, genome_changes = parse_overrides(args.set)
    if config_changes:
        raise UserError(
            f"evolve --set takes genome fields only; {next(iter(config_changes))!r} is a config"
            " key the evolution sets itself"
        )
    born = _newborn(args.worlds)
    start = None if born == Genome() else born.to_dict()
    if args.genome is not None or genome_changes:
        base = Genome.load(args.genome, base=born) if args.genome is not None else born
        start = base.replace(**genome_changes).to_dict()
    directory = args.dir or Path("runs") / "evolve"
    asked = {
        "worlds": args.worlds,
        "population": args.population,
        "generations": args.generations,
        "lifetime": args.lifetime,
        "seed": args.seed,
        "frozen": args.freeze,
        "start": start,
        "auc_weight": args.auc_weight,
        "adaptation_weight": args.adaptation_weight,
        "sigma": args.sigma,
        "curriculum": load_curriculum(args.curriculum) if args.curriculum else None,
    }
    settings = make_settings(asked, directory)
    try:
        summary = run_evolution(settings, directory, args.backend, args.address, args.jobs)
    except KeyboardInterrupt:
        print(f"lifelong: interrupted; rerun the same command to continue {directory}")
        return 130
    best = summary["best"]
    if best is None:
        print(f"lifelong: {directory}: no genome of the last generation had a fitness")
    else:
        print(
            f"lifelong: {directory}: best of generation {best['generation'] + 1} is genome"
            f" {best['index']} (fitness {best['fitness']:.5g}) -> {directory / 'best.yaml'}"
        )
    print(f"report: {write_report(directory)}")
    return 0


def _newborn(worlds: list[str] | None) -> Genome:
    """The default genome of bodies living in `worlds` (`config.newborn`); the discrete one when
    the worlds' kinds of actions differ, or none are named."""
    from lifelong.config import newborn
    from lifelong.policies import load_policy
    from lifelong.worlds import make_world

    born = set()
    for spec in worlds or []:
        world = make_world(spec, load_policy=load_policy)
        born.add(newborn(world.action_space))
        world.close()
    return born.pop() if len(born) == 1 else Genome()


def _report(args: argparse.Namespace) -> int:
    from lifelong.report import write_report

    print(f"lifelong: wrote {write_report(args.dir)}")
    return 0


def _genome(args: argparse.Namespace) -> int:
    born = Genome.default(args.continuous)
    genome = Genome.load(args.file, base=born) if args.file else born
    values = genome.to_dict()
    for name, _default, (low, high), doc in Genome.describe():
        print(f"{name}: {values[name]!r:<10} # [{low}, {high}] {doc}")
    return 0


def _worlds() -> int:
    from lifelong.worlds import WORLDS

    for name, (_, description) in sorted(WORLDS.items()):
        print(f"{name:<16} {description}")
    return 0


def _agents() -> int:
    from lifelong.agents import describe  # imports torch: only for this command

    print(f"{'agent':<10} {'actions':<13} {'loop':<5} {'policy':<8} what it is")
    for line in describe():
        print(line)
    print("ablations: abm-no_<family>[+<family>...], System M without those rule families")
    return 0


def _needs() -> int:
    from lifelong.needs import table_lines

    for line in table_lines():
        print(line)
    return 0


def _check_world(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lifelong.policies import load_policy
    from lifelong.worlds.check import check_world

    if args.steps < 1:
        raise UserError(f"--steps must be >= 1, got {args.steps}")
    report = check_world(args.spec, args.steps, args.seed, load_policy=load_policy)
    console = Console()
    console.print(f"[bold]{report.spec}[/bold]")
    console.print(f"observation {report.observation_space}")
    console.print(f"actions     {report.action_space}")
    table = Table("check", "result", "detail", box=None)
    for name, ok, detail in report.checks:
        table.add_row(name, "[green]pass[/green]" if ok else "[red]FAIL[/red]", detail)
    console.print(table)
    regimes = ", ".join(f"{r} ({n})" for r, n in report.regimes.most_common(8))
    console.print(
        f"{report.steps} random steps at {report.steps_per_s:,.0f} steps/s; "
        f"{report.episodes} episode ends; mean reward {report.mean_reward:+.4f}\n"
        f"regimes seen: {regimes}; {report.changes} changes\n"
        f"teacher in view {report.teacher_steps / max(report.steps, 1):.0%} of steps; "
        f"messages on {report.message_steps / max(report.steps, 1):.0%}; "
        f"info keys: {', '.join(sorted(report.info_keys)) or 'none'}",
        highlight=False,
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
