"""The kit the HTML reports are built from: escaping, numbers, inline SVG charts, the page shell.

Figures are drawn here instead of with matplotlib: two chart kinds (`line_chart`, `dot_chart`)
cover every figure of `lifelong.report`, and a report of a running life needs neither torch nor a
plotting stack. Null or non-finite values (a signal not measured in an interval) are skipped, never
drawn as zero. Every string is escaped wherever it lands (HTML text, attributes, SVG text): names
come from files on disk. A line chart's y axis is linear or logarithmic; `spans_decades` says when
data needs the latter.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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

MODE_COLORS = dict(  # one colour per mode of System M (lifelong.modes)
    observe="#4c78a8",
    explore="#f58518",
    exploit="#54a24b",
    sleep="#b279a2",
    plan="#e45756",
    imagine="#72b7b2",
)
MAX_POINTS = 1200  # longer series are averaged in buckets so a long life stays a small file
LOG_SPAN = 100.0  # max / min above which a positive series gets a log axis (`spans_decades`)
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
# Plotting: ticks (linear and log), a frame, line charts, dot charts.


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


def spans_decades(values: Iterable[Any], span: float = LOG_SPAN) -> bool:
    """Whether a series needs a log axis: all its finite values are positive and max / min > span.

    On a linear axis such a series shows only its largest values: a world-model error that starts
    2,000 times above where it settles flattens everything after its first record to the floor.
    A zero or negative value means no (a log axis cannot place it), as does a series without data.
    """
    numbers = [v for v in map(finite, values) if v is not None]
    return bool(numbers) and min(numbers) > 0 and max(numbers) / min(numbers) > span


def log_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Powers of ten enclosing [low, high] (both > 0), every k-th decade so at most ~count steps.

    As with `nice_ticks`, the first and last tick double as the axis limits.
    """
    first = math.floor(math.log10(min(low, high)) + 1e-9)
    last = math.ceil(math.log10(max(low, high)) - 1e-9)
    every = max(1, math.ceil((last - first) / max(count, 1)))
    steps = max(1, math.ceil((last - first) / every))
    return [10.0 ** (first + every * i) for i in range(steps + 1)]


def log_tick_text(value: float) -> str:
    """A power of ten as a tick label: 0.001 ... 1 ... 10k ... 1G, and 1e-5 beyond that."""
    k = round(math.log10(value))
    return tick_text(10.0**k, 10.0**k) if -3 <= k <= 9 else f"1e{k}"


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
    """The plot area in pixels and the data domain it shows; y in log10 when `ylog`."""

    left: float
    top: float
    right: float
    bottom: float
    x0: float
    x1: float
    y0: float
    y1: float
    ylog: bool = False

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def py(self, y: float) -> float:
        y0, y1 = self.y0, self.y1
        if self.ylog:
            y, y0, y1 = math.log10(y), math.log10(y0), math.log10(y1)
        return self.bottom - (y - y0) / (y1 - y0) * (self.bottom - self.top)


def _points(*columns: Sequence[Any] | None, positive: bool = False) -> list[tuple[float, ...]]:
    """Rows of the columns where every value is finite (unmeasured entries dropped), thinned.

    With `positive`, rows whose y values (every column but the first) are not all > 0 are dropped
    too: a log axis has no place for them.
    """
    if any(column is None for column in columns):
        return []
    rows = [tuple(map(finite, row)) for row in zip(*columns, strict=False)]
    kept = [row for row in rows if None not in row and (not positive or min(row[1:]) > 0)]
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
        label = log_tick_text(y) if frame.ylog else tick_text(y, ystep)
        out.append(
            f'<line x1="{frame.left:.1f}" x2="{frame.right:.1f}" y1="{py:.1f}" y2="{py:.1f}" '
            'stroke="#e6e6e6"/>'
            f'<text x="{frame.left - 5:.1f}" y="{py + 3.5:.1f}" text-anchor="end" {FONT} '
            f'font-size="10" fill="#444444">{esc(label)}</text>'
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
    log_y: bool = False,
    width: int = 900,
    height: int = 260,
) -> str:
    """An SVG line chart: lines, shaded bands, event markers, reference lines, a legend.

    Axes end on round ticks that enclose the data (and `ylim` and `hlines` when given). A series
    with 60 points or fewer also gets dots, so a signal measured only now and then stays visible.
    With `log_y` the y axis is logarithmic (ticks at powers of ten, "log scale" in its label) and
    values, limits and reference lines that are not positive are left out.
    """
    lines = [(s, _points(s.xs, s.ys, positive=log_y)) for s in series if s.ys is not None]
    bands = [(s, _points(s.xs, s.low, s.high, positive=log_y)) for s in series if s.low is not None]
    lines = [(s, pts) for s, pts in lines if pts]
    bands = [(s, pts) for s, pts in bands if pts]
    xs = [p[0] for _, pts in lines + bands for p in pts]
    if not xs:
        return no_data(fig_id, title, width, height)
    ys = [p[1] for _, pts in lines for p in pts] + [
        v for _, pts in bands for p in pts for v in p[1:]
    ]
    if log_y:
        hlines = [(y, label) for y, label in hlines if y > 0]
        ylim = tuple(y for y in ylim if y > 0) if ylim else None  # type: ignore[assignment]
        ylabel = f"{ylabel} (log scale)" if ylabel else "log scale"
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
    if log_y:  # decades are easy to read: allow more of them than linear ticks
        yticks = log_ticks(min(ys), max(ys), max(3, height // 30))
    else:
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
        ylog=log_y,
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
            offset = ((j * 0.6180339887 + 0.5) % 1 - 0.5) * 2 * spread  # the first: centred
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
# The page around the charts.

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


def page(title: str, body: Sequence[str]) -> str:
    """The whole document: well-formed XML too, so tests (and tools) can parse it strictly.

    Its Content-Security-Policy forbids scripts and every fetch, so the page can be archived,
    mailed or opened from a cluster's scratch disk years later and look the same.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"/>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )


def figure(svg: str, caption: str = "") -> str:
    """A chart with its caption (plain text, escaped here)."""
    text = f'<figcaption class="note">{esc(caption)}</figcaption>' if caption else ""
    return f"<figure>{svg}{text}</figure>"


def table(
    table_id: str, heading: Sequence[str], rows: Sequence[Sequence[str]], names: bool = True
) -> str:
    """A table of already escaped cells, right-aligned as numbers are; with `names` the first
    cell of each row is its name, a row header."""
    head = "".join(f"<th>{esc(name)}</th>" for name in heading)
    body = []
    for cells in rows:
        header = names and len(cells) > 0
        th = f"<th>{cells[0]}</th>" if header else ""
        tds = "".join(f'<td class="num">{cell}</td>' for cell in cells[int(header) :])
        body.append(f"<tr>{th}{tds}</tr>")
    return (
        f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def value_text(value: Any) -> str:
    """A config value for a table cell, escaped: numbers formatted, structures as JSON."""
    if finite(value) is not None:
        return esc(value)
    if isinstance(value, dict | list):
        return esc(json.dumps(value))
    return esc("–" if value is None else value)
