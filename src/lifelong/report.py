"""HTML reports of a life, a bench or an evolution: one self-contained file with inline SVG figures.

`lifelong report DIR` calls `write_report`, which picks the page builder by the files in DIR. The
pages are assembled from `lifelong.charts` (SVG charts and the page shell: no scripts, nothing
fetched); every figure that is a metric of ../shared/METRICS.md is computed by `lifelong.metrics`,
the module a bench's summary comes from, never again here.

Everything read from disk is untrusted: world specs, agent, metric and rule names are escaped
wherever they land (HTML text, attributes, SVG text). Null or non-finite values (a signal that was
not measured in an interval) are skipped, never drawn as zero; a partly written last line of a
.jsonl file (a life that is still running) is skipped too.
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import yaml

from lifelong import metrics
from lifelong.charts import (
    MODE_COLORS,
    PALETTE,
    Marker,
    Series,
    dot_chart,
    esc,
    figure,
    finite,
    line_chart,
    number_text,
    page,
    spans_decades,
    table,
    value_text,
)
from lifelong.errors import UserError
from lifelong.genome import Genome  # pure Python: reading an evolution's start genome
from lifelong.records import read_jsonl

META_SIGNALS = (
    "prediction_error_fast", "surprise", "learning_progress", "stress", "sleep_pressure",
    "energy", "pain", "teacher_trust", "coverage", "tv_in_view",
)  # fmt: skip
ERROR_SIGNALS = {"prediction_error_fast"}  # errors: a log axis when they span decades
# Counters a record holds: its step and the agent's counters (`lifelong.agent.COUNTERS`, not
# imported: it needs torch). Not wall_time (a clock) nor steps_per_s (a rate).
COUNTERS = (
    "step", "ticks", "learn_steps", "updates_a", "updates_b", "sleep_ticks", "imagine_ticks",
    "imagined_kept", "plans", "interventions", "faints", "sanitized", "skipped_updates",
    "world_errors",
)  # fmt: skip
EWMA_ALPHA = 1e-3  # per env step, as in METRICS.md
# Which way is better, for highlighting the best agent per metric; other metrics get no highlight.
HIGHER_IS_BETTER = {"auc", "coverage", "env_steps_per_s"}
LOWER_IS_BETTER = {
    "recovery_median", "aligned_recovery_median", "aligned_regret_mean", "drop_mean",
    "regret_mean", "forgetting_mean", "detection_delay_median", "false_alarms_per_1e5", "missed",
    "tv_fraction",
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Reading a directory.


def _read_mapping(path: Path) -> dict[str, Any]:
    """A YAML (or JSON, which is YAML) file holding a mapping; a one-line UserError otherwise."""
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot read {path}: {reason}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"cannot read {path}: expected a mapping, found {type(value).__name__}")
    return value


def _kind(directory: Path) -> str:
    """ "life", "bench" or "evolution", from the files present; a UserError naming what is
    missing otherwise."""
    if not directory.is_dir():
        raise UserError(f"cannot report on {directory}: no such directory")
    if (directory / "config.yaml").exists():
        return "life"  # a newborn life has no records yet: its report says so
    pairs = {
        "life": ("config.yaml", "metrics.jsonl"),
        "bench": ("bench.yaml", "summary.json"),
        "evolution": ("evolve.yaml", "state.json"),
    }
    for kind, names in pairs.items():
        missing = [name for name in names if not (directory / name).exists()]
        if not missing:
            return kind
        if len(missing) == 1:
            found = next(name for name in names if name not in missing)
            raise UserError(f"cannot report on {directory}: {missing[0]} missing ({found} found)")
    raise UserError(
        f"cannot report on {directory}: neither a life (config.yaml + metrics.jsonl) nor a bench"
        " (bench.yaml + summary.json) nor an evolution (evolve.yaml + state.json) is there"
    )


# ---------------------------------------------------------------------------------------------
# A life. Every curve and count that is a metric comes from `lifelong.metrics`, computed as the
# bench computes it, so the change points drawn are the ones recovery was measured from.


def _read_events(directory: Path) -> list[dict]:
    """events.jsonl without the events whose step is not a number (a damaged line): metrics
    orders and compares their steps."""
    events = read_jsonl(directory / "events.jsonl")
    return [event for event in events if finite(event.get("step")) is not None]


def _life_tables(
    config: dict, records: list, events: list, changes: list, done: dict | None
) -> str:
    """The life's config, and its counters as of the last record (only those it recorded)."""
    first = [key for key in ("world", "seed", "agent") if key in config]
    keys = first + [key for key in config if key not in first and key != "format"]
    config_rows = [(esc(key), value_text(config[key])) for key in keys]
    tables = [table("config", ("config", "value"), config_rows)]
    if records:
        recorded = [key for key in COUNTERS if any(key in record for record in records)]
        counter_rows = [
            (esc(key), number_text(metrics.last_value(records, key))) for key in recorded
        ]
        counter_rows += [
            ("records", number_text(len(records))),
            ("change points", number_text(len(changes))),
            ("mode switches", number_text(len(metrics.mode_switches(events)))),
            ("alarms", number_text(sum(event.get("kind") == "alarm" for event in events))),
        ]
        if done is not None:
            counter_rows.append(("finished at step", number_text(done.get("steps"))))
        tables.append(table("counters", ("final counter", "value"), counter_rows))
    return f'<div class="tables">{"".join(tables)}</div>'


def _change_markers(changes: Sequence[tuple[int, Any]], legend: bool) -> list[Marker]:
    return [
        Marker(step, f"regime {regime} from step {step}", "change point" if legend else "")
        for step, regime in changes
    ]


def _reward_figure(records: list, changes: list) -> str:
    """Each record's reward rate, and METRICS.md's exponentially weighted reward (a per step)."""
    steps = [record["step"] for record in records]
    rewards = [record.get("reward_rate") for record in records]
    widths = np.diff(np.asarray(steps, dtype=float), prepend=0.0)
    smooth = metrics.ewma(np.asarray(rewards, dtype=float), EWMA_ALPHA, widths).tolist()
    series = [
        Series("reward rate", steps, rewards, color=PALETTE[0], width=1.0, opacity=0.45),
        Series(f"EWMA, a={EWMA_ALPHA:g}/step", steps, smooth, color=PALETTE[1], width=2),
    ]
    chart = line_chart(
        series,
        fig_id="fig-reward",
        title="Reward rate",
        ylabel="reward / step",
        markers=_change_markers(changes, legend=True),
    )
    return figure(
        chart,
        f"{len(changes)} change points (dashed), as the metrics read them. Points are per-record"
        " means over log_every steps.",
    )


def _mode_figure(records: list, events: list, changes: list) -> str:
    """Stacked mode fractions per record, with ticks for mode switches (top) and alarms."""
    steps = [r["step"] for r in records]
    # Only the modes this life's records know (older lives had no PLAN or IMAGINE).
    modes = [
        m for m in metrics.MODES if any(finite(r.get(f"mode_{m}")) is not None for r in records)
    ]
    fractions = [[finite(r.get(f"mode_{m}")) for m in modes] for r in records]
    series, below = [], [0.0 if any(f is not None for f in row) else None for row in fractions]
    for i, mode in enumerate(modes):
        above = [
            None if base is None else base + (row[i] or 0.0)
            for base, row in zip(below, fractions, strict=True)
        ]
        color = MODE_COLORS[mode]
        series.append(Series(mode, steps, None, below, above, color, band_opacity=0.85))
        below = above
    markers = _change_markers(changes, legend=True)
    for event in metrics.mode_switches(events):
        note = f"step {event.get('step')}: {event.get('mode')} (rule {event.get('rule')})"
        markers.append(Marker(event.get("step"), note, "mode switch", "#222222", "top"))
    for event in events:
        if event.get("kind") == "alarm":
            note = f"step {event.get('step')}: alarm from {event.get('source')}"
            markers.append(Marker(event.get("step"), note, "alarm", "#d62728", "bottom"))
    return line_chart(
        series,
        fig_id="fig-modes",
        title="Mode timeline",
        ylabel="fraction of ticks",
        markers=markers,
        ylim=(0.0, 1.0),
    )


def _meta_panels(records: list, changes: list) -> str:
    """A small chart per meta-state signal this life measured; errors spanning decades in log."""
    steps = [r["step"] for r in records]
    panels = []
    for i, name in enumerate(META_SIGNALS):
        values = [r.get(name) for r in records]
        if not any(finite(v) is not None for v in values):
            continue  # never measured in this life
        panels.append(
            line_chart(
                [Series("", steps, values, color=PALETTE[i % len(PALETTE)])],
                fig_id=f"fig-meta-{name}",
                title=name,
                markers=_change_markers(changes, legend=False),
                log_y=name in ERROR_SIGNALS and spans_decades(values),
                width=300,
                height=180,
            )
        )
    if not panels:
        return '<p class="note">No meta-state signal was measured in this life.</p>'
    return f'<div class="grid">{"".join(panels)}</div>'


def _world_model_keys(records: Sequence[dict]) -> list[str]:
    """error_vs_copy_last, then the diag_error_ratio_k* keys present, by k."""
    prefix = "diag_error_ratio_k"
    found = {key for record in records for key in record if key.startswith(prefix)}

    def order(key: str) -> tuple[int, str]:
        suffix = key[len(prefix) :]
        return (int(suffix) if suffix.isdigit() else 1 << 30, suffix)

    return ["error_vs_copy_last", *sorted(found, key=order)]


def _world_model_figure(records: list, changes: list) -> str:
    """A's errors as ratios to copying the last latent; on a log axis when they span decades
    (the first record's error can be thousands of times the later ones)."""
    steps = [r["step"] for r in records]
    columns = {key: [r.get(key) for r in records] for key in _world_model_keys(records)}
    series = [
        Series(key.removeprefix("diag_error_ratio_"), steps, values, color=color)
        for (key, values), color in zip(columns.items(), PALETTE, strict=False)
    ]
    chart = line_chart(
        series,
        fig_id="fig-world-model",
        title="World-model error / copy-last",
        ylabel="ratio",
        markers=_change_markers(changes, legend=True),
        hlines=[(1.0, "copy-last = 1")],
        log_y=spans_decades(v for values in columns.values() for v in values),
    )
    return figure(
        chart,
        "Below 1: A predicts better than copying the last latent. k* = k-step latent error on"
        " held-out transitions.",
    )


def _life_page(directory: Path) -> str:
    config = _read_mapping(directory / "config.yaml")
    records = metrics.life_records(read_jsonl(directory / "metrics.jsonl"))
    events = _read_events(directory)
    changes = metrics.change_points(events, records)
    done = None
    if (directory / "done.json").exists():
        with contextlib.suppress(UserError):  # a broken done.json is no reason to lose the report
            done = _read_mapping(directory / "done.json")
    world, agent = config.get("world", "?"), config.get("agent", "?")
    body = [
        f"<h1>Life {esc(directory.name)}</h1>",
        f'<p class="sub">world {esc(world)} · agent {esc(agent)} · seed {esc(config.get("seed"))}'
        f" · {esc(directory)}</p>",
        "<h2>Life</h2>",
        _life_tables(config, records, events, changes, done),
    ]
    if not records:
        body.append(
            '<p class="empty" id="nothing">Nothing yet: metrics.jsonl has no records. A life '
            "writes one record every log_every steps; report again later.</p>"
        )
        return page(f"lifelong report: {directory.name}", body)
    body += [
        "<h2>Learning curve</h2>",
        _reward_figure(records, changes),
        "<h2>Modes</h2>",
        figure(_mode_figure(records, events, changes)),
        "<h2>Meta-state signals</h2>",
        _meta_panels(records, changes),
        "<h2>World model</h2>",
        _world_model_figure(records, changes),
    ]
    return page(f"lifelong report: {directory.name}", body)


# ---------------------------------------------------------------------------------------------
# A bench.


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _metric_order(names: set[str]) -> list[str]:
    """The summary's metrics in `metrics.SUMMARY_METRICS` order, then any others by name."""
    known = [name for name in metrics.SUMMARY_METRICS if name in names]
    return known + sorted(names - set(known))


def _comparison_table(agents: list[str], results: dict) -> str:
    """Metrics down, agents across; each cell IQM [low, high]; the best per row highlighted."""
    names = _metric_order({str(m) for agent in agents for m in _mapping(results.get(agent))})
    if not names:
        return '<p class="note">summary.json holds no metrics.</p>'
    head = "".join(f"<th>{esc(agent)}</th>" for agent in agents)
    rows = []
    for metric in names:
        cells = {agent: _mapping(_mapping(results.get(agent)).get(metric)) for agent in agents}
        iqms = {agent: finite(cell.get("iqm")) for agent, cell in cells.items()}
        measured = [v for v in iqms.values() if v is not None]
        best = None
        if len(measured) >= 2 and metric in HIGHER_IS_BETTER:
            best = max(measured)
        elif len(measured) >= 2 and metric in LOWER_IS_BETTER:
            best = min(measured)
        arrow = " ↑" if metric in HIGHER_IS_BETTER else " ↓" if metric in LOWER_IS_BETTER else ""
        tds = []
        for agent in agents:
            cell, iqm = cells[agent], iqms[agent]
            text = number_text(iqm)
            if iqm is not None and finite(cell.get("low")) is not None:
                text += f" [{number_text(cell.get('low'))}, {number_text(cell.get('high'))}]"
            seeds = cell.get("per_seed")
            tip = ", ".join(number_text(v) for v in seeds) if isinstance(seeds, list) else ""
            css = "num best" if best is not None and iqm == best else "num"
            tds.append(f'<td class="{css}" title="per seed: {esc(tip)}">{esc(text)}</td>')
        rows.append(f"<tr><th>{esc(metric)}{arrow}</th>{''.join(tds)}</tr>")
    return (
        f'<table id="comparison"><thead><tr><th>metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _agent_series(
    agents: list[str], columns: dict[str, dict], colors: dict[str, str], y: str, band: bool = False
) -> list[Series]:
    """A line per agent from its columns in summary.json: x under "step", y under `y`, and with
    `band` the interval under "low" and "high"."""

    def column(agent: str, key: str) -> list:
        return columns.get(agent, {}).get(key) or []

    return [
        Series(
            agent,
            column(agent, "step"),
            column(agent, y),
            column(agent, "low") if band else None,
            column(agent, "high") if band else None,
            colors[agent],
            width=2,
        )
        for agent in agents
    ]


def _bench_page(directory: Path) -> str:
    bench = _read_mapping(directory / "bench.yaml")
    summary = _read_mapping(directory / "summary.json")
    results, curves = _mapping(summary.get("agents")), _mapping(summary.get("curves"))
    recovery = _mapping(summary.get("recovery"))
    aligned = {str(k): _mapping(v) for k, v in _mapping(summary.get("aligned")).items()}
    listed = bench.get("agents") if isinstance(bench.get("agents"), list) else []
    agents = list(dict.fromkeys(str(a) for a in [*listed, *results, *curves, *recovery]))
    results = {str(k): v for k, v in results.items()}
    curves = {str(k): _mapping(v) for k, v in curves.items()}
    recovery = {str(k): v for k, v in recovery.items()}
    colors = {agent: PALETTE[i % len(PALETTE)] for i, agent in enumerate(agents)}
    info = {key: summary.get(key, bench.get(key)) for key in ("suite", "world", "steps", "seeds")}
    curve_series = _agent_series(agents, curves, colors, "iqm", band=True)
    recovery_groups = [
        (agent, v if isinstance(v := recovery.get(agent), list) else [], colors[agent])
        for agent in agents
    ]
    reports = sorted(directory.glob("*/seed*/report.html"))
    links = "".join(
        f'<li><a href="{esc(quote(path.relative_to(directory).as_posix()))}">'
        f"{esc(path.parent.relative_to(directory).as_posix())}</a></li>"
        for path in reports
    )
    body = [
        f"<h1>Bench {esc(info['suite'] if info['suite'] is not None else directory.name)}</h1>",
        f'<p class="sub">world {esc(info["world"])} · {number_text(info["steps"])} steps · '
        f"seeds {value_text(info['seeds'])} · {len(agents)} agents · {esc(directory)}</p>",
        "<h2>Comparison</h2>",
        '<p class="note">IQM over seeds [95% stratified-bootstrap CI]; ↑ higher is better, ↓ lower'
        " is better, best per row highlighted.</p>",
        _comparison_table(agents, results),
        "<h2>Curves</h2>",
        figure(
            line_chart(
                curve_series,
                fig_id="fig-curves",
                title="Reward rate: IQM over seeds with 95% CI",
                ylabel="reward / step",
            )
        ),
        "<h2>Recovery</h2>",
        figure(
            _aligned_figure(agents, aligned, colors),
            "Every change of every seed lined up at step 0 (dashed): the mean reward per step of"
            " each bin, plotted at the bin's end. Bins of a neighbouring change's stretch are"
            " left out, so points far from 0 may average fewer changes.",
        ),
        figure(
            dot_chart(
                recovery_groups,
                fig_id="fig-recovery",
                title="Recovery time RT_k per change point, pooled over seeds (bar: median)",
                ylabel="steps",
            )
        ),
        "<h2>Lives</h2>",
        f'<ul id="lives">{links}</ul>'
        if links
        else '<p class="note" id="lives">No per-life reports yet (run `lifelong report` on a'
        " life directory to make one).</p>",
    ]
    return page(f"lifelong bench report: {directory.name}", body)


def _aligned_figure(agents: list[str], aligned: dict[str, dict], colors: dict[str, str]) -> str:
    """The change-aligned mean reward curve of each agent (summary.json's "aligned")."""
    return line_chart(
        _agent_series(agents, aligned, colors, "mean"),
        fig_id="fig-aligned",
        title="Reward around a change: mean over all changes of all seeds",
        xlabel="steps from the change",
        ylabel="reward / step",
        markers=[Marker(0, "the change", "change")],
    )


# ---------------------------------------------------------------------------------------------
# An evolution.


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _fitness_spread(record: dict) -> tuple[float | None, float | None, float | None, int]:
    """(best, median, worst, failed) of one generation's fitnesses; None where none is finite."""
    fitness = _list(record.get("fitness"))
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
        lives, seconds = len(_list(record.get("lives"))), record.get("seconds")
        cells = [i + 1, record.get("level"), lives, best, median, worst, failed, seconds]
        rows.append([esc(number_text(cell)) for cell in cells])
    heading = ("generation", "level", "lives", "best", "median", "worst", "failed", "s")
    return table("generations", heading, rows, names=False)


def _start_vector(settings: dict) -> list[float] | None:
    """The start genome in normalised units: where the search began (generation 0)."""
    try:
        return Genome.from_dict(_mapping(settings.get("start")), "start genome").to_vector()
    except (UserError, TypeError):
        return None


def _field_panels(generations: list[dict], fields: list[str], settings: dict) -> str:
    """One small chart per searched field: the CMA-ES mean's normalised value per generation."""
    frozen = {str(name) for name in _list(settings.get("frozen"))}
    start = _start_vector(settings)
    means = [_list(record.get("mean")) for record in generations]
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
    best = _read_mapping(directory / "best.yaml")
    start = _mapping(settings.get("start"))
    frozen = {str(name) for name in _list(settings.get("frozen"))}
    rows = [
        (esc(name), value_text(start.get(name)), value_text(best.get(name)))
        for name in fields
        if name not in frozen
    ]
    return table("best", ("field", "start", "best"), rows)


def _curriculum_table(settings: dict) -> str:
    rows = "".join(
        f'<tr><td class="num">{esc(number_text(_mapping(level).get("from")))}</td>'
        f'<td class="num">{esc(number_text(_mapping(level).get("lives")))}</td>'
        f"<td>{esc(', '.join(map(str, _list(_mapping(level).get('variants')))))}</td></tr>"
        for level in _list(settings.get("curriculum"))
    )
    return (
        '<table id="curriculum"><thead><tr><th>from generation</th><th>lives per genome</th>'
        f"<th>variants</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _failure_list(generations: list[dict]) -> str:
    items = [
        f"<li>generation {g + 1}, genome {i}: {esc(error)}</li>"
        for g, record in enumerate(generations)
        for i, error in enumerate(_list(record.get("errors")))
        if error
    ]
    if not items:
        return '<p class="note" id="failures">No genome failed.</p>'
    return f'<ul id="failures">{"".join(items)}</ul>'


def _evolution_page(directory: Path) -> str:
    settings = _read_mapping(directory / "evolve.yaml")
    state = _read_mapping(directory / "state.json")
    generations = [_mapping(record) for record in _list(state.get("generations"))]
    fields = [str(name) for name in _list(state.get("fields"))]
    worlds = ", ".join(map(str, _list(settings.get("worlds"))))
    frozen = ", ".join(map(str, _list(settings.get("frozen")))) or "none"
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


def write_report(directory: str | Path) -> Path:
    """Write `directory/report.html` for the life, bench or evolution in `directory`; returns it.

    Written to a temporary file and renamed, so a browser reloading the report while it is being
    rewritten never sees half a page.
    """
    directory = Path(directory)
    pages = {"life": _life_page, "bench": _bench_page, "evolution": _evolution_page}
    text = pages[_kind(directory)](directory)
    path = directory / "report.html"
    partial = directory / ".report.html.partial"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
