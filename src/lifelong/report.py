"""HTML reports of a life, a bench or an evolution: one self-contained file with inline SVG figures.

`lifelong report DIR` calls `write_report`. The page has no scripts and fetches nothing (its
Content-Security-Policy forbids both), so it can be archived, mailed or opened from a cluster's
scratch disk years later and look the same. Figures are drawn by the small SVG helpers below
instead of matplotlib: two chart kinds (`line_chart`, `dot_chart`) cover every figure, and a report
of a running life needs neither torch nor a plotting stack.

Everything read from disk is untrusted: world specs, agent, metric and rule names are escaped
wherever they land (HTML text, attributes, SVG text). Null or non-finite values (a signal that was
not measured in an interval) are skipped, never drawn as zero; a partly written last line of a
.jsonl file (a life that is still running) is skipped too.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from lifelong.errors import UserError
from lifelong.genome import Genome  # pure Python: reading an evolution's start genome
from lifelong.modes import Mode
from lifelong.records import read_jsonl

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#b8860b",
)
MODES = tuple(mode.value for mode in Mode)
MODE_COLORS = {
    "observe": "#4c78a8",
    "explore": "#f58518",
    "exploit": "#54a24b",
    "sleep": "#b279a2",
    "plan": "#e45756",
    "imagine": "#72b7b2",
}
META_SIGNALS = (
    "prediction_error_fast",
    "surprise",
    "learning_progress",
    "stress",
    "sleep_pressure",
    "energy",
    "pain",
    "teacher_trust",
    "coverage",
    "tv_in_view",
)
COUNTERS = ("step", "learn_steps", "updates_a", "updates_b", "wall_time", "steps_per_s")
EWMA_RATE = 1e-3  # per env step, as in METRICS.md
MAX_POINTS = 1200  # longer series are averaged in buckets so a long life stays a small file
# Which way is better, for highlighting the best agent per metric; other metrics get no highlight.
HIGHER_IS_BETTER = {"auc", "coverage", "env_steps_per_s"}
LOWER_IS_BETTER = {
    "recovery_median",
    "aligned_recovery_median",
    "aligned_regret_mean",
    "drop_mean",
    "regret_mean",
    "forgetting_mean",
    "detection_delay_median",
    "false_alarms_per_1e5",
    "missed",
    "tv_fraction",
}
METRIC_ORDER = (
    "auc",
    "recovery_median",
    "aligned_recovery_median",
    "drop_mean",
    "regret_mean",
    "aligned_regret_mean",
    "forgetting_mean",
    "detection_delay_median",
    "false_alarms_per_1e5",
    "missed",
    "coverage",
    "tv_fraction",
    "env_steps_per_s",
    "updates_per_s",
    *(f"time_{mode}" for mode in MODES),
)
FONT = 'font-family="system-ui, sans-serif"'


def esc(value: Any) -> str:
    """Text safe to place in HTML or SVG, as element content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def finite(value: Any) -> float | None:
    """`value` as a float if it is a real, finite number; None for null, bools, text, nan, inf."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def number_text(value: Any) -> str:
    """A number for a table cell: thousands separated, three significant digits below 1000."""
    number = finite(value)
    if number is None:
        return "–"
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    if number == int(number):
        return str(int(number))
    return f"{number:.3g}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Plotting: ticks, a frame, line charts, dot charts.


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) spanning [low, high].

    The first and last tick enclose the data, so they double as the axis limits.
    """
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    start = math.floor(low / step + 1e-9)
    end = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(start, end + 1)]


def tick_text(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick step needs; k/M/G for big round numbers."""
    if value == 0:
        return "0"
    scale, suffix = 1.0, ""
    if step >= 1:
        for size, name in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                scale, suffix = size, name
                break
    unit = step / scale
    decimals = next((d for d in range(10) if abs(round(unit, d) - unit) <= 1e-9 * unit), 10)
    return f"{value / scale:.{decimals}f}{suffix}"


@dataclass(frozen=True)
class Series:
    """One thing on a line chart against `xs`: a line (`ys`), a band (`low`..`high`), or both."""

    label: str
    xs: Sequence[Any]
    ys: Sequence[Any] | None = None
    low: Sequence[Any] | None = None
    high: Sequence[Any] | None = None
    color: str = PALETTE[0]
    width: float = 1.6
    opacity: float = 1.0
    band_opacity: float = 0.2


@dataclass(frozen=True)
class Marker:
    """An event at x: a dashed full-height line (style "line") or a short tick ("top"/"bottom")."""

    x: Any
    note: str
    legend: str = ""
    color: str = "#555555"
    style: str = "line"


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels and the data domain it shows."""

    left: float
    top: float
    right: float
    bottom: float
    x0: float
    x1: float
    y0: float
    y1: float

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def py(self, y: float) -> float:
        return self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)


def _points(*columns: Sequence[Any] | None) -> list[tuple[float, ...]]:
    """Rows of the columns where every value is finite (unmeasured entries dropped), thinned."""
    if any(column is None for column in columns):
        return []
    rows = [tuple(map(finite, row)) for row in zip(*columns, strict=False)]
    kept = [row for row in rows if None not in row]
    if len(kept) <= MAX_POINTS:
        return kept  # type: ignore[return-value]
    size = math.ceil(len(kept) / MAX_POINTS)
    chunks = [kept[i : i + size] for i in range(0, len(kept), size)]
    return [tuple(sum(col) / len(chunk) for col in zip(*chunk, strict=True)) for chunk in chunks]


def _svg_open(fig_id: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{esc(fig_id)}" class="chart" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<rect class="bg" width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text class="title" x="8" y="17" {FONT} font-size="13" font-weight="600" '
        f'fill="#222222">{esc(title)}</text>'
    )


def no_data(fig_id: str, title: str, width: int = 900, height: int = 260) -> str:
    """A figure that says it has nothing to show, instead of an empty pair of axes."""
    return (
        _svg_open(fig_id, title, width, height)
        + f'<text class="nodata" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
        f'{FONT} font-size="13" fill="#888888">no data</text></svg>'
    )


def _axes(frame: _Frame, xticks: Sequence[float] | None, yticks: Sequence[float]) -> list[str]:
    """Horizontal grid lines, the two axis lines and tick labels (x ticks only when numeric)."""
    out = ['<g class="axes">']
    ystep = yticks[1] - yticks[0]
    for y in yticks:
        py = frame.py(y)
        out.append(
            f'<line x1="{frame.left:.1f}" x2="{frame.right:.1f}" y1="{py:.1f}" y2="{py:.1f}" '
            'stroke="#e6e6e6"/>'
            f'<text x="{frame.left - 5:.1f}" y="{py + 3.5:.1f}" text-anchor="end" {FONT} '
            f'font-size="10" fill="#444444">{esc(tick_text(y, ystep))}</text>'
        )
    if xticks:
        xstep = xticks[1] - xticks[0]
        for x in xticks:
            px = frame.px(x)
            out.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{frame.bottom:.1f}" '
                f'y2="{frame.bottom + 4:.1f}" stroke="#444444"/>'
                f'<text x="{px:.1f}" y="{frame.bottom + 15:.1f}" text-anchor="middle" {FONT} '
                f'font-size="10" fill="#444444">{esc(tick_text(x, xstep))}</text>'
            )
    out.append(
        f'<path d="M{frame.left:.1f},{frame.top:.1f} V{frame.bottom:.1f} H{frame.right:.1f}" '
        'fill="none" stroke="#444444"/></g>'
    )
    return out


def _axis_labels(frame: _Frame, height: int, xlabel: str, ylabel: str) -> str:
    middle_y = (frame.top + frame.bottom) / 2
    return (
        f'<text x="{(frame.left + frame.right) / 2:.1f}" y="{height - 5}" text-anchor="middle" '
        f'{FONT} font-size="11" fill="#333333">{esc(xlabel)}</text>'
        f'<text transform="translate(12,{middle_y:.1f}) rotate(-90)" text-anchor="middle" '
        f'{FONT} font-size="11" fill="#333333">{esc(ylabel)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str, str]], x: float, y: float) -> str:
    """One row per (label, colour, kind) with a swatch; kind is "line", "band" or "dashed"."""
    out = ['<g class="legend">']
    for i, (label, color, kind) in enumerate(entries):
        top = y + 16 * i
        if kind == "band":
            swatch = f'<rect x="{x}" y="{top - 5}" width="16" height="10" fill="{esc(color)}"/>'
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dashed" else ""
            swatch = (
                f'<line x1="{x}" x2="{x + 16}" y1="{top}" y2="{top}" stroke="{esc(color)}" '
                f'stroke-width="2"{dash}/>'
            )
        out.append(
            f'{swatch}<text x="{x + 21}" y="{top + 3.5}" {FONT} font-size="11" '
            f'fill="#222222"><title>{esc(label)}</title>{esc(_short(label, 20))}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _markers(frame: _Frame, markers: Sequence[Marker]) -> str:
    """Event lines and ticks inside the domain; at most one per pixel column and style."""
    out, seen = ['<g class="markers">'], set()
    for marker in markers:
        x = finite(marker.x)
        if x is None or not frame.x0 <= x <= frame.x1:
            continue
        px = frame.px(x)
        if (marker.style, round(px)) in seen:
            continue
        seen.add((marker.style, round(px)))
        if marker.style == "line":
            y1, y2, extra, css = frame.top, frame.bottom, ' stroke-dasharray="4 3"', "changepoint"
        elif marker.style == "top":
            y1, y2, extra, css = frame.top, frame.top + 9, ' stroke-width="1.5"', "tick"
        else:
            y1, y2, extra, css = frame.bottom - 9, frame.bottom, ' stroke-width="1.5"', "tick"
        out.append(
            f'<line class="{css}" x1="{px:.1f}" x2="{px:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" '
            f'stroke="{esc(marker.color)}"{extra}><title>{esc(marker.note)}</title></line>'
        )
    out.append("</g>")
    return "".join(out)


def line_chart(
    series: Sequence[Series],
    *,
    fig_id: str,
    title: str,
    xlabel: str = "step",
    ylabel: str = "",
    markers: Sequence[Marker] = (),
    hlines: Sequence[tuple[float, str]] = (),
    ylim: tuple[float, float] | None = None,
    width: int = 900,
    height: int = 260,
) -> str:
    """An SVG line chart: lines, shaded bands, event markers, reference lines, a legend.

    Axes end on round ticks that enclose the data (and `ylim` and `hlines` when given). A series
    with 60 points or fewer also gets dots, so a signal measured only now and then stays visible.
    """
    lines = [(s, _points(s.xs, s.ys)) for s in series if s.ys is not None]
    bands = [(s, _points(s.xs, s.low, s.high)) for s in series if s.low is not None]
    lines = [(s, pts) for s, pts in lines if pts]
    bands = [(s, pts) for s, pts in bands if pts]
    xs = [p[0] for _, pts in lines + bands for p in pts]
    if not xs:
        return no_data(fig_id, title, width, height)
    ys = [p[1] for _, pts in lines for p in pts] + [
        v for _, pts in bands for p in pts for v in p[1:]
    ]
    ys += [y for y, _ in hlines] + list(ylim or ())
    entries: list[tuple[str, str, str]] = []
    for s, _ in bands:
        if s.label and s.ys is None:
            entries.append((s.label, s.color, "band"))
    for s, _ in lines:
        if s.label:
            entries.append((s.label, s.color, "line"))
    for marker in markers:
        entry = (marker.legend, marker.color, "dashed" if marker.style == "line" else "line")
        if marker.legend and entry not in entries:
            entries.append(entry)
    legend_width = 150 if entries else 0
    height = max(height, 40 + 16 * len(entries))
    xticks = nice_ticks(min(xs), max(xs), max(3, (width - legend_width) // 110))
    yticks = nice_ticks(min(ys), max(ys), max(3, height // 55))
    frame = _Frame(
        left=56,
        top=28,
        right=width - legend_width - 14,
        bottom=height - 38,
        x0=xticks[0],
        x1=xticks[-1],
        y0=yticks[0],
        y1=yticks[-1],
    )
    clip = f"{fig_id}-clip"
    out = [_svg_open(fig_id, title, width, height)]
    out.append(
        f'<clipPath id="{esc(clip)}"><rect x="{frame.left}" y="{frame.top}" '
        f'width="{frame.right - frame.left}" height="{frame.bottom - frame.top}"/></clipPath>'
    )
    out += _axes(frame, xticks, yticks)
    out.append(f'<g clip-path="url(#{esc(clip)})">')
    for s, pts in bands:
        upper = " L".join(f"{frame.px(x):.1f},{frame.py(hi):.1f}" for x, _, hi in pts)
        lower = " L".join(f"{frame.px(x):.1f},{frame.py(lo):.1f}" for x, lo, _ in reversed(pts))
        out.append(
            f'<path class="data band" d="M{upper} L{lower} Z" fill="{esc(s.color)}" '
            f'fill-opacity="{s.band_opacity}" stroke="none"><title>{esc(s.label)}</title></path>'
        )
    for y, label in hlines:
        py = frame.py(y)
        out.append(
            f'<line class="reference" x1="{frame.left}" x2="{frame.right}" y1="{py:.1f}" '
            f'y2="{py:.1f}" stroke="#000000" stroke-dasharray="6 3"><title>{esc(label)}</title>'
            f'</line><text x="{frame.right - 4}" y="{py - 4:.1f}" text-anchor="end" {FONT} '
            f'font-size="10" fill="#000000">{esc(label)}</text>'
        )
    for s, pts in lines:
        path = " L".join(f"{frame.px(x):.1f},{frame.py(y):.1f}" for x, y in pts)
        out.append(
            f'<path class="data line" d="M{path}" fill="none" stroke="{esc(s.color)}" '
            f'stroke-width="{s.width}" stroke-opacity="{s.opacity}" stroke-linejoin="round">'
            f"<title>{esc(s.label)}</title></path>"
        )
        if len(pts) <= 60:
            out += [
                f'<circle class="dot" cx="{frame.px(x):.1f}" cy="{frame.py(y):.1f}" r="2.2" '
                f'fill="{esc(s.color)}" fill-opacity="{s.opacity}"/>'
                for x, y in pts
            ]
    out.append("</g>")
    out.append(_markers(frame, markers))
    out.append(_axis_labels(frame, height, xlabel, ylabel))
    if entries:
        out.append(_legend(entries, frame.right + 14, frame.top + 6))
    out.append("</svg>")
    return "".join(out)


def dot_chart(
    groups: Sequence[tuple[str, Sequence[Any], str]],
    *,
    fig_id: str,
    title: str,
    ylabel: str = "",
    width: int = 900,
    height: int = 280,
) -> str:
    """Each (label, values, colour) group as a column of dots with its median as a bar.

    Shows the whole spread of a few dozen values per group, which a mean and an error bar hide.
    Dots are spread sideways by a golden-ratio sequence so that equal values do not overlap.
    """
    cleaned = [
        (label, [v for v in map(finite, values) if v is not None], c) for label, values, c in groups
    ]
    every = [v for _, values, _ in cleaned for v in values]
    if not every:
        return no_data(fig_id, title, width, height)
    yticks = nice_ticks(min(every), max(every), max(3, height // 55))
    count = len(cleaned)
    frame = _Frame(56, 28, width - 14, height - 44, 0, count, yticks[0], yticks[-1])
    slot = (frame.right - frame.left) / count
    out = [_svg_open(fig_id, title, width, height)]
    out += _axes(frame, None, yticks)
    for i, (label, values, color) in enumerate(cleaned):
        cx = frame.px(i + 0.5)
        spread = min(slot * 0.3, 40)
        for j, value in enumerate(sorted(values)):
            offset = ((j * 0.6180339887) % 1 - 0.5) * 2 * spread
            out.append(
                f'<circle class="data" cx="{cx + offset:.1f}" cy="{frame.py(value):.1f}" r="3" '
                f'fill="{esc(color)}" fill-opacity="0.7"><title>{esc(number_text(value))}</title>'
                "</circle>"
            )
        if values:
            median = statistics.median(values)
            py = frame.py(median)
            out.append(
                f'<line class="median" x1="{cx - spread - 6:.1f}" x2="{cx + spread + 6:.1f}" '
                f'y1="{py:.1f}" y2="{py:.1f}" stroke="#111111" stroke-width="2.5">'
                f"<title>median {esc(number_text(median))}</title></line>"
            )
        out.append(
            f'<text x="{cx:.1f}" y="{frame.bottom + 15:.1f}" text-anchor="middle" {FONT} '
            f'font-size="11" fill="#222222"><title>{esc(label)}</title>'
            f"{esc(_short(label, max(4, int(slot / 7))))}</text>"
            f'<text x="{cx:.1f}" y="{frame.bottom + 28:.1f}" text-anchor="middle" {FONT} '
            f'font-size="10" fill="#666666">n={len(values)}</text>'
        )
    middle_y = (frame.top + frame.bottom) / 2
    out.append(
        f'<text transform="translate(12,{middle_y:.1f}) rotate(-90)" text-anchor="middle" '
        f'{FONT} font-size="11" fill="#333333">{esc(ylabel)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


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
# Page pieces.

CSS = """
body { font-family: system-ui, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.sub { color: #555; margin: 0 0 12px; } p.note { color: #555; font-size: 13px; }
figure { margin: 8px 0; } svg.chart { background: #fff; border: 1px solid #ddd; max-width: 100%; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, 302px); gap: 10px; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { background: #f0f0f0; } td.best { background: #d9f2d9; font-weight: 600; }
.empty { font-size: 15px; padding: 12px; background: #fff3cd; border: 1px solid #e6d9a8; }
"""


def _page(title: str, body: Sequence[str]) -> str:
    """The whole document: well-formed XML too, so tests (and tools) can parse it strictly."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"/>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )


def _figure(svg: str, caption: str = "") -> str:
    text = f'<figcaption class="note">{esc(caption)}</figcaption>' if caption else ""
    return f"<figure>{svg}{text}</figure>"


def _table(rows: Sequence[tuple[str, str]], table_id: str, heading: tuple[str, str]) -> str:
    """A two-column table of already escaped (name, value) cells."""
    body = "".join(f'<tr><th>{name}</th><td class="num">{value}</td></tr>' for name, value in rows)
    return (
        f'<table id="{table_id}"><thead><tr><th>{heading[0]}</th><th>{heading[1]}</th></tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def _value_text(value: Any) -> str:
    """A config value for a table cell, escaped: numbers formatted, structures as JSON."""
    if finite(value) is not None:
        return esc(value)
    if isinstance(value, dict | list):
        return esc(json.dumps(value))
    return esc("–" if value is None else value)


# ---------------------------------------------------------------------------------------------
# A life.


def ewma(steps: Sequence[Any], values: Sequence[Any], rate: float = EWMA_RATE) -> list:
    """The METRICS.md reward curve r~ <- (1 - a) r~ + a r per env step, from records alone.

    A record's rate stands for every step of its interval, so an interval of n steps moves the
    average by 1 - (1 - a)^n of the gap. Starts at the first measured value; nulls stay null.
    """
    out: list[float | None] = []
    level: float | None = None
    last: float | None = None
    for step, value in zip(steps, values, strict=False):
        step, value = finite(step), finite(value)
        if step is None or value is None:
            out.append(None)
            continue
        if level is None:
            level = value
        else:
            n = step - last if last is not None and step > last else 1.0
            level += (1 - (1 - rate) ** n) * (value - level)
        last = step
        out.append(level)
    return out


def change_points(records: Sequence[dict], events: Sequence[dict]) -> list[tuple[float, Any]]:
    """(step, new regime) for each change of the world's regime.

    From events.jsonl when it has regime events (exact steps); otherwise where the records'
    `regime` changes, at the first record showing the new one (so up to one interval late).
    """
    from_events = [
        (step, event.get("regime"))
        for event in events
        if event.get("kind") == "regime" and (step := finite(event.get("step"))) is not None
    ]
    if from_events:
        return from_events
    found, previous = [], None
    for record in records:
        regime, step = record.get("regime"), finite(record.get("step"))
        if regime is None or step is None:
            continue
        if previous is not None and regime != previous:
            found.append((step, regime))
        previous = regime
    return found


def _last(records: Sequence[dict], key: str) -> Any:
    """The newest non-null value of `key` (a counter can be null in the very last record)."""
    return next((r[key] for r in reversed(records) if r.get(key) is not None), None)


def _life_tables(config: dict, records: list, events: list, done: dict | None) -> str:
    first = [key for key in ("world", "seed", "agent") if key in config]
    keys = first + [key for key in config if key not in first and key != "format"]
    config_rows = [(esc(key), _value_text(config[key])) for key in keys]
    tables = [_table(config_rows, "config", ("config", "value"))]
    if records:
        kinds = [event.get("kind") for event in events]
        counter_rows = [(esc(key), number_text(_last(records, key))) for key in COUNTERS]
        counter_rows += [
            ("records", number_text(len(records))),
            ("change points", number_text(len(change_points(records, events)))),
            ("mode switches", number_text(kinds.count("mode"))),
            ("alarms", number_text(kinds.count("alarm"))),
        ]
        if done is not None:
            counter_rows.append(("finished at step", number_text(done.get("steps"))))
        tables.append(_table(counter_rows, "counters", ("final counter", "value")))
    return f'<div class="tables">{"".join(tables)}</div>'


def _change_markers(changes: Sequence[tuple[float, Any]], legend: bool) -> list[Marker]:
    return [
        Marker(step, f"regime {regime} from step {step:.0f}", "change point" if legend else "")
        for step, regime in changes
    ]


def _mode_figure(records: list, events: list, changes: list) -> str:
    """Stacked mode fractions per record, with ticks for mode switches (top) and alarms."""
    steps = [r.get("step") for r in records]
    # Only the modes this life's records know (older lives had no PLAN or IMAGINE).
    modes = [m for m in MODES if any(finite(r.get(f"mode_{m}")) is not None for r in records)]
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
    for event in events:
        if event.get("kind") == "mode":
            note = f"step {event.get('step')}: {event.get('mode')} (rule {event.get('rule')})"
            markers.append(Marker(event.get("step"), note, "mode switch", "#222222", "top"))
        elif event.get("kind") == "alarm":
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


def _world_model_keys(records: Sequence[dict]) -> list[str]:
    """error_vs_copy_last, then the diag_error_ratio_k* keys present, by k."""
    prefix = "diag_error_ratio_k"
    found = {key for record in records for key in record if key.startswith(prefix)}

    def order(key: str) -> tuple[int, str]:
        suffix = key[len(prefix) :]
        return (int(suffix) if suffix.isdigit() else 1 << 30, suffix)

    return ["error_vs_copy_last", *sorted(found, key=order)]


def _life_page(directory: Path) -> str:
    config = _read_mapping(directory / "config.yaml")
    records = read_jsonl(directory / "metrics.jsonl")
    events = read_jsonl(directory / "events.jsonl")
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
        _life_tables(config, records, events, done),
    ]
    if not records:
        body.append(
            '<p class="empty" id="nothing">Nothing yet: metrics.jsonl has no records. A life '
            "writes one record every log_every steps; report again later.</p>"
        )
        return _page(f"lifelong report: {directory.name}", body)
    steps = [r.get("step") for r in records]
    rewards = [r.get("reward_rate") for r in records]
    changes = change_points(records, events)
    reward_series = [
        Series("reward rate", steps, rewards, color=PALETTE[0], width=1.0, opacity=0.45),
        Series("EWMA, a=1e-3/step", steps, ewma(steps, rewards), color=PALETTE[1], width=2),
    ]
    body += [
        "<h2>Learning curve</h2>",
        _figure(
            line_chart(
                reward_series,
                fig_id="fig-reward",
                title="Reward rate",
                ylabel="reward / step",
                markers=_change_markers(changes, legend=True),
            ),
            f"{len(changes)} change points (dashed). Points are per-record means over log_every"
            " steps.",
        ),
        "<h2>Modes</h2>",
        _figure(_mode_figure(records, events, changes)),
        "<h2>Meta-state signals</h2>",
    ]
    panels = []
    for i, name in enumerate(META_SIGNALS):
        values = [r.get(name) for r in records]
        if not any(finite(v) is not None for v in values):
            continue  # never measured in this life
        series = [Series("", steps, values, color=PALETTE[i % len(PALETTE)])]
        panels.append(
            line_chart(
                series,
                fig_id=f"fig-meta-{name}",
                title=name,
                markers=_change_markers(changes, legend=False),
                width=300,
                height=180,
            )
        )
    if panels:
        body.append(f'<div class="grid">{"".join(panels)}</div>')
    else:
        body.append('<p class="note">No meta-state signal was measured in this life.</p>')
    world_series = [
        Series(key.removeprefix("diag_error_ratio_"), steps, [r.get(key) for r in records], color=c)
        for key, c in zip(_world_model_keys(records), PALETTE, strict=False)
    ]
    body += [
        "<h2>World model</h2>",
        _figure(
            line_chart(
                world_series,
                fig_id="fig-world-model",
                title="World-model error / copy-last",
                ylabel="ratio",
                markers=_change_markers(changes, legend=True),
                hlines=[(1.0, "copy-last = 1")],
            ),
            "Below 1: A predicts better than copying the last latent. k* = k-step latent error on"
            " held-out transitions.",
        ),
    ]
    return _page(f"lifelong report: {directory.name}", body)


# ---------------------------------------------------------------------------------------------
# A bench.


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _metric_order(names: set[str]) -> list[str]:
    known = [name for name in METRIC_ORDER if name in names]
    return known + sorted(names - set(known))


def _comparison_table(agents: list[str], results: dict) -> str:
    """Metrics down, agents across; each cell IQM [low, high]; the best per row highlighted."""
    metrics = _metric_order({str(m) for agent in agents for m in _mapping(results.get(agent))})
    if not metrics:
        return '<p class="note">summary.json holds no metrics.</p>'
    head = "".join(f"<th>{esc(agent)}</th>" for agent in agents)
    rows = []
    for metric in metrics:
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
    curve_series = [
        Series(
            agent,
            curves.get(agent, {}).get("step") or [],
            curves.get(agent, {}).get("iqm") or [],
            curves.get(agent, {}).get("low") or [],
            curves.get(agent, {}).get("high") or [],
            colors[agent],
            width=2,
        )
        for agent in agents
    ]
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
        f"seeds {_value_text(info['seeds'])} · {len(agents)} agents · {esc(directory)}</p>",
        "<h2>Comparison</h2>",
        '<p class="note">IQM over seeds [95% stratified-bootstrap CI]; ↑ higher is better, ↓ lower'
        " is better, best per row highlighted.</p>",
        _comparison_table(agents, results),
        "<h2>Curves</h2>",
        _figure(
            line_chart(
                curve_series,
                fig_id="fig-curves",
                title="Reward rate: IQM over seeds with 95% CI",
                ylabel="reward / step",
            )
        ),
        "<h2>Recovery</h2>",
        _figure(
            _aligned_figure(agents, aligned, colors),
            "Every change of every seed lined up at step 0 (dashed): the mean reward per step of"
            " each bin, plotted at the bin's end. Bins of a neighbouring change's stretch are"
            " left out, so points far from 0 may average fewer changes.",
        ),
        _figure(
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
    return _page(f"lifelong bench report: {directory.name}", body)


def _aligned_figure(agents: list[str], aligned: dict[str, dict], colors: dict[str, str]) -> str:
    """The change-aligned mean reward curve of each agent (summary.json's "aligned")."""
    series = [
        Series(
            agent,
            aligned.get(agent, {}).get("step") or [],
            aligned.get(agent, {}).get("mean") or [],
            color=colors[agent],
            width=2,
        )
        for agent in agents
    ]
    return line_chart(
        series,
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
    head = "".join(
        f"<th>{name}</th>"
        for name in ("generation", "level", "lives", "best", "median", "worst", "failed", "s")
    )
    rows = []
    for i, record in enumerate(generations):
        best, median, worst, failed = _fitness_spread(record)
        cells = [
            number_text(i + 1),
            number_text(record.get("level")),
            number_text(len(_list(record.get("lives")))),
            number_text(best),
            number_text(median),
            number_text(worst),
            number_text(failed),
            number_text(record.get("seconds")),
        ]
        rows.append("<tr>" + "".join(f'<td class="num">{esc(c)}</td>' for c in cells) + "</tr>")
    return (
        f'<table id="generations"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


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
    rows = "".join(
        f'<tr><th>{esc(name)}</th><td class="num">{_value_text(start.get(name))}</td>'
        f'<td class="num">{_value_text(best.get(name))}</td></tr>'
        for name in fields
        if name not in frozen
    )
    return (
        '<table id="best"><thead><tr><th>field</th><th>start</th><th>best</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


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
        _figure(
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
    return _page(f"lifelong evolution report: {directory.name}", body)


def write_report(directory: str | Path) -> Path:
    """Write `directory/report.html` for the life, bench or evolution in `directory`; returns it.

    Written to a temporary file and renamed, so a browser reloading the report while it is being
    rewritten never sees half a page.
    """
    directory = Path(directory)
    pages = {"life": _life_page, "bench": _bench_page, "evolution": _evolution_page}
    page = pages[_kind(directory)](directory)
    path = directory / "report.html"
    partial = directory / ".report.html.partial"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path
