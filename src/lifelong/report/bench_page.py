"""A bench's page: the comparison table, reward curves, recovery, and links to the lives' pages.

Everything drawn is read from the bench's summary.json (written by `lifelong bench` from
`lifelong.metrics`) and bench.yaml; nothing is recomputed here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from lifelong import metrics
from lifelong.charts import (
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
    value_text,
)
from lifelong.report.common import mapping, read_mapping

# Which way is better, for highlighting the best agent per metric; other metrics get no highlight.
HIGHER_IS_BETTER = {"auc", "auc_normalised", "coverage", "env_steps_per_s"}
LOWER_IS_BETTER = {
    "recovery_median", "aligned_recovery_median", "aligned_regret_mean", "drop_mean",
    "regret_mean", "forgetting_mean", "detection_delay_median", "false_alarms_per_1e5", "missed",
    "tv_fraction",
}  # fmt: skip


def _metric_order(names: set[str]) -> list[str]:
    """The summary's metrics in `metrics.SUMMARY_METRICS` order, then any others by name."""
    known = [name for name in metrics.SUMMARY_METRICS if name in names]
    return known + sorted(names - set(known))


def _comparison_table(agents: list[str], results: dict) -> str:
    """Metrics down, agents across; each cell IQM [low, high]; the best per row highlighted."""
    names = _metric_order({str(m) for agent in agents for m in mapping(results.get(agent))})
    if not names:
        return '<p class="note">summary.json holds no metrics.</p>'
    head = "".join(f"<th>{esc(agent)}</th>" for agent in agents)
    rows = []
    for metric in names:
        cells = {agent: mapping(mapping(results.get(agent)).get(metric)) for agent in agents}
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


def bench_page(directory: Path) -> str:
    bench = read_mapping(directory / "bench.yaml")
    summary = read_mapping(directory / "summary.json")
    results, curves = mapping(summary.get("agents")), mapping(summary.get("curves"))
    recovery = mapping(summary.get("recovery"))
    aligned = {str(k): mapping(v) for k, v in mapping(summary.get("aligned")).items()}
    listed = bench.get("agents") if isinstance(bench.get("agents"), list) else []
    agents = list(dict.fromkeys(str(a) for a in [*listed, *results, *curves, *recovery]))
    results = {str(k): v for k, v in results.items()}
    curves = {str(k): mapping(v) for k, v in curves.items()}
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
