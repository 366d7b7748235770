"""An evolution's page: fitness per generation, the CMA-ES mean per searched field, the best
genome, the curriculum and the genomes that failed, read from evolve.yaml, state.json and best.yaml.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from lifelong.charts import (
    PALETTE,
    Series,
    esc,
    figure,
    finite,
    line_chart,
    number_text,
    page,
    table,
    value_text,
)
from lifelong.errors import UserError
from lifelong.genome import Genome  # pure Python: reading an evolution's start genome
from lifelong.report.common import as_list, mapping, read_mapping


def _fitness_spread(record: dict) -> tuple[float | None, float | None, float | None, int]:
    """(best, median, worst, failed) of one generation's fitnesses; None where none is finite."""
    fitness = as_list(record.get("fitness"))
    finite_values = sorted(v for v in map(finite, fitness) if v is not None)
    failed = len(fitness) - len(finite_values)
    if not finite_values:
        return None, None, None, failed
    return finite_values[-1], statistics.median(finite_values), finite_values[0], failed


def _fitness_figure(generations: list[dict]) -> str:
    """Best, median and worst fitness per generation (generations counted from 1)."""
    xs = list(range(1, len(generations) + 1))
    spreads = [_fitness_spread(record) for record in generations]
    lines = (("best", PALETTE[2]), ("median", PALETTE[0]), ("worst", PALETTE[3]))
    series = [
        Series(label, xs, [spread[k] for spread in spreads], color=color, width=2)
        for k, (label, color) in enumerate(lines)
    ]
    return line_chart(
        series, fig_id="fig-fitness", title="Fitness per generation", xlabel="generation",
        ylabel="fitness",
    )  # fmt: skip


def _generation_table(generations: list[dict]) -> str:
    rows = []
    for i, record in enumerate(generations):
        best, median, worst, failed = _fitness_spread(record)
        lives, seconds = len(as_list(record.get("lives"))), record.get("seconds")
        cells = [i + 1, record.get("level"), lives, best, median, worst, failed, seconds]
        rows.append([esc(number_text(cell)) for cell in cells])
    heading = ("generation", "level", "lives", "best", "median", "worst", "failed", "s")
    return table("generations", heading, rows, names=False)


def _start_vector(settings: dict) -> list[float] | None:
    """The start genome in normalised units: where the search began (generation 0)."""
    try:
        return Genome.from_dict(mapping(settings.get("start")), "start genome").to_vector()
    except (UserError, TypeError):
        return None


def _field_panels(generations: list[dict], fields: list[str], settings: dict) -> str:
    """One small chart per searched field: the CMA-ES mean's normalised value per generation."""
    frozen = {str(name) for name in as_list(settings.get("frozen"))}
    start = _start_vector(settings)
    means = [as_list(record.get("mean")) for record in generations]
    xs = [0, *range(1, len(means) + 1)]
    panels = []
    for k, name in enumerate(fields):
        if name in frozen:
            continue
        first = start[k] if start is not None and k < len(start) else None
        ys = [first, *(mean[k] if k < len(mean) else None for mean in means)]
        series = [Series("", xs, ys, color=PALETTE[k % len(PALETTE)])]
        panels.append(
            line_chart(
                series,
                fig_id=f"fig-gene-{name}",
                title=str(name),
                xlabel="generation",
                ylim=(0.0, 1.0),
                width=300,
                height=180,
            )  # fmt: skip
        )
    return f'<div class="grid">{"".join(panels)}</div>' if panels else ""


def _best_table(directory: Path, fields: list[str], settings: dict) -> str:
    if not (directory / "best.yaml").exists():
        return '<p class="note" id="best">No best.yaml: no genome has had a fitness yet.</p>'
    best = read_mapping(directory / "best.yaml")
    start = mapping(settings.get("start"))
    frozen = {str(name) for name in as_list(settings.get("frozen"))}
    rows = [
        (esc(name), value_text(start.get(name)), value_text(best.get(name)))
        for name in fields
        if name not in frozen
    ]
    return table("best", ("field", "start", "best"), rows)


def _curriculum_table(settings: dict) -> str:
    rows = "".join(
        f'<tr><td class="num">{esc(number_text(mapping(level).get("from")))}</td>'
        f'<td class="num">{esc(number_text(mapping(level).get("lives")))}</td>'
        f"<td>{esc(', '.join(map(str, as_list(mapping(level).get('variants')))))}</td></tr>"
        for level in as_list(settings.get("curriculum"))
    )
    return (
        '<table id="curriculum"><thead><tr><th>from generation</th><th>lives per genome</th>'
        f"<th>variants</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _failure_list(generations: list[dict]) -> str:
    items = [
        f"<li>generation {g + 1}, genome {i}: {esc(error)}</li>"
        for g, record in enumerate(generations)
        for i, error in enumerate(as_list(record.get("errors")))
        if error
    ]
    if not items:
        return '<p class="note" id="failures">No genome failed.</p>'
    return f'<ul id="failures">{"".join(items)}</ul>'


def evolution_page(directory: Path) -> str:
    settings = read_mapping(directory / "evolve.yaml")
    state = read_mapping(directory / "state.json")
    generations = [mapping(record) for record in as_list(state.get("generations"))]
    fields = [str(name) for name in as_list(state.get("fields"))]
    worlds = ", ".join(map(str, as_list(settings.get("worlds"))))
    frozen = ", ".join(map(str, as_list(settings.get("frozen")))) or "none"
    body = [
        f"<h1>Evolution {esc(directory.name)}</h1>",
        f'<p class="sub">worlds {esc(worlds)} · population'
        f" {number_text(settings.get('population'))}"
        f" · {number_text(settings.get('lifetime'))} steps per life · generation"
        f" {len(generations)} of {number_text(settings.get('generations'))} · seed"
        f" {esc(settings.get('seed'))} · {esc(directory)}</p>",
        "<h2>Fitness</h2>",
        figure(
            _fitness_figure(generations),
            "Fitness = mean over a genome's lives of auc_weight x AUC + adaptation_weight x"
            f" adaptation (weights {settings.get('auc_weight')} and"
            f" {settings.get('adaptation_weight')}). Each generation lives other worlds and seeds"
            " (the curriculum), so levels of different generations are not comparable.",
        ),
        _generation_table(generations),
        "<h2>Genome</h2>",
        '<p class="note">The CMA-ES mean of each searched field, normalised to [0, 1] (log'
        " scale where the genome says so); generation 0 is the start genome."
        f" Frozen: {esc(frozen)}.</p>",
        _field_panels(generations, fields, settings),
        "<h2>Best genome of the last generation</h2>",
        _best_table(directory, fields, settings),
        "<h2>Curriculum</h2>",
        _curriculum_table(settings),
        "<h2>Failures</h2>",
        _failure_list(generations),
    ]
    return page(f"lifelong evolution report: {directory.name}", body)
