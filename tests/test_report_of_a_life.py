"""`lifelong report` on a life that really ran: the page shows that life's numbers.

test_report.py checks the pages on records written by hand; here a short A-B-M life in a bandit
whose best arm changes every 200 steps writes its own records and events, the command line
builds the report, and the report is read back as a reader would read it: the counters in its
table, the points of its reward curve (converted back to numbers through the chart's own axis
labels) and its change points against metrics.jsonl, events.jsonl and the living agent.
"""

import math

import numpy as np
import pytest
from conftest import TINY
from test_report import SVG, data_paths, figures, parse

from lifelong.charts import number_text
from lifelong.cli import main
from lifelong.life import open_life, read_metrics
from lifelong.records import read_jsonl
from lifelong.report import META_SIGNALS

WORLD = "bandit(arms=3, every=200)"  # the best arm changes at steps 201 and 401
STEPS, LOG_EVERY = 600, 50


def tick_value(text: str) -> float:
    """An axis label as a number: '0.25', '-1', '20k', '1.5M'."""
    scale = {"k": 1e3, "M": 1e6}.get(text[-1:], 1.0)
    return float(text[:-1] if scale != 1.0 else text) * scale


def axes(svg) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The value -> pixel maps of a linear chart, fitted to its own tick labels: (slope,
    intercept) for x and for y, and the data units one pixel spans on each axis."""
    group = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "axes")
    children = list(group)
    xs, ys = [], []
    for line, label in zip(children, children[1:], strict=False):
        if line.tag != f"{SVG}line" or label.tag != f"{SVG}text":
            continue
        x1, x2, y1, y2 = (float(line.get(k)) for k in ("x1", "x2", "y1", "y2"))
        if y1 == y2 and x1 != x2:  # a gridline of the y axis
            ys.append((y1, tick_value(label.text)))
        elif x1 == x2:  # a tick of the x axis
            xs.append((x1, tick_value(label.text)))
    assert len(xs) >= 2 and len(ys) >= 2, (xs, ys)
    pixel_x, value_x = np.array(xs).T
    pixel_y, value_y = np.array(ys).T
    fit_x, fit_y = np.polyfit(value_x, pixel_x, 1), np.polyfit(value_y, pixel_y, 1)
    return fit_x, fit_y, 1 / abs(fit_x[0]), 1 / abs(fit_y[0])


def points(path) -> np.ndarray:
    """The (x, y) pixels of a line's path 'Mx,y Lx,y ...'."""
    return np.array([p.split(",") for p in path.get("d")[1:].split(" L")], float)


def texts_of(element) -> str:
    return " ".join(t.text or "" for t in element.iter(f"{SVG}title"))


def finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def life(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report") / "life"
    quick = {"tensorboard": False, "log_every": LOG_EVERY}
    lived = open_life(directory, world=WORLD, config_changes=quick, genome_changes=TINY)
    lived.run(STEPS)
    assert main(["report", str(directory)]) == 0
    return lived, directory


def test_the_report_s_tables_are_the_life_s_counters_config_and_events(life):
    lived, directory = life
    root = parse(directory / "report.html")
    tables = {t.get("id"): t for t in root.iter("table")}
    cells = {r[0].text: r[1].text for r in tables["counters"].iter("tr") if len(r) == 2}
    records = read_metrics(directory)
    assert len(records) == STEPS // LOG_EVERY
    counters = dict(lived.agent.counters)
    assert counters["updates_a"] > 0 and counters["updates_b"] > 0 and counters["sleep_ticks"] > 0
    # Every counter the agent keeps is in the table with the value it ended the life with (the
    # life ended on a record), and with the last record's value.
    for name, value in counters.items():
        shown = "step" if name == "env_steps" else name
        assert cells[shown] == number_text(value), name
        assert records[-1][shown] == value, name
    assert cells["records"] == str(len(records))
    # The bandit's two changes, and every mode event: the life writes one only when M switches.
    events = read_jsonl(directory / "events.jsonl")
    assert [e["step"] for e in events if e["kind"] == "regime"] == [201, 401]
    assert cells["change points"] == "2"
    mode_events = [e for e in events if e["kind"] == "mode"]
    assert len(mode_events) > 5
    assert cells["mode switches"] == str(len(mode_events))
    assert cells["alarms"] == str(sum(e["kind"] == "alarm" for e in events))
    config = {r[0].text: r[1].text for r in tables["config"].iter("tr") if len(r) == 2}
    assert config["world"] == WORLD and config["agent"] == "abm" and config["seed"] == "0"
    assert config["log_every"] == str(LOG_EVERY)


def test_the_report_s_curves_are_the_life_s_records(life):
    _, directory = life
    records = read_metrics(directory)
    svgs = figures(parse(directory / "report.html"))
    # The reward curve: one point per record, at its step and its reward rate, read back
    # through the chart's axis labels (coordinates are written to 0.1 pixel).
    reward = svgs["fig-reward"]
    raw = points(data_paths(reward)[0])
    (sx, cx), (sy, cy), per_px_x, per_px_y = axes(reward)
    steps = (raw[:, 0] - cx) / sx
    rates = (raw[:, 1] - cy) / sy
    expected_steps = [r["step"] for r in records]
    expected_rates = [r["reward_rate"] for r in records]
    assert steps == pytest.approx(expected_steps, abs=0.06 * per_px_x + 1e-9)
    assert rates == pytest.approx(expected_rates, abs=0.06 * per_px_y + 1e-9)
    assert len(set(expected_rates)) > 3  # a curve that moves, so the order of points matters
    # The change points are drawn at the bandit's changes.
    lines = [e for e in reward.iter() if e.get("class") == "changepoint"]
    drawn = sorted((float(e.get("x1")) - cx) / sx for e in lines)
    assert drawn == pytest.approx([201, 401], abs=0.06 * per_px_x)
    # A's error against copying the last latent: a point for each record that measured it.
    world_model = svgs["fig-world-model"]
    (copy_last,) = [p for p in data_paths(world_model) if "error_vs_copy_last" in texts_of(p)]
    (sx, cx), (sy, cy), per_px_x, per_px_y = axes(world_model)
    measured = [r for r in records if finite(r.get("error_vs_copy_last"))]
    assert 0 < len(measured) < len(records)  # the first record comes before A's first update
    shown = points(copy_last)
    assert (shown[:, 0] - cx) / sx == pytest.approx(
        [r["step"] for r in measured], abs=0.06 * per_px_x + 1e-9
    )
    assert (shown[:, 1] - cy) / sy == pytest.approx(
        [r["error_vs_copy_last"] for r in measured], abs=0.06 * per_px_y + 1e-9
    )
    # A panel for each meta-state signal the life measured, none for the others.
    panels = {name for name in META_SIGNALS if f"fig-meta-{name}" in svgs}
    assert panels == {name for name in META_SIGNALS if any(finite(r.get(name)) for r in records)}
    assert "fig-meta-coverage" not in svgs  # a bandit has no places to cover: never measured
    # And the modes figure stacks exactly the modes the records share ticks between.
    assert len(data_paths(svgs["fig-modes"])) == sum(
        any(finite(r.get(f"mode_{m}")) for r in records)
        for m in ("observe", "explore", "exploit", "sleep", "plan", "imagine")
    )
