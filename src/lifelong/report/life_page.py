"""A life's page: its config and counters, reward curve, modes, meta-state signals, world model.

Every curve and count that is a metric comes from `lifelong.metrics`, computed as the bench
computes it, so the change points drawn are the ones recovery was measured from. A newborn life
(a config.yaml, no records yet) gets a page that says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lifelong import metrics
from lifelong.charts import (
    MODE_COLORS,
    PALETTE,
    Marker,
    Series,
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
from lifelong.records import read_jsonl
from lifelong.report.common import read_mapping

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


def _trust_figure(records: list, changes: list) -> str:
    """Trust in each informant (the records' `trust_<source>`), where the life heard any: the
    estimated accuracy of its advice (lifelong/vigilance.py)."""
    sources = list(
        dict.fromkeys(key for record in records for key in record if key.startswith("trust_"))
    )
    if not sources:
        return ""
    steps = [r["step"] for r in records]
    series = [
        Series(key.removeprefix("trust_"), steps, [r.get(key) for r in records], color=color)
        for key, color in zip(sources, PALETTE * len(sources), strict=False)
    ]
    chart = line_chart(
        series,
        fig_id="fig-trust",
        title="Trust in each informant",
        ylabel="estimated accuracy",
        markers=_change_markers(changes, legend=True),
        ylim=(0.0, 1.0),
    )
    return "<h2>Informants</h2>" + figure(
        chart,
        "The probability that a source's advice is the right action, as the agent has checked"
        " it against what happened and against the other sources.",
    )


def life_page(directory: Path) -> str:
    config = read_mapping(directory / "config.yaml")
    records = metrics.life_records(read_jsonl(directory / "metrics.jsonl"))
    events = _read_events(directory)
    changes = metrics.change_points(events, records)
    done = None
    if (directory / "done.json").exists():
        with contextlib.suppress(UserError):  # a broken done.json is no reason to lose the report
            done = read_mapping(directory / "done.json")
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
        _trust_figure(records, changes),
    ]
    return page(f"lifelong report: {directory.name}", body)
