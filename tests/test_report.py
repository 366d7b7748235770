"""HTML reports: figures, tables, escaping, null handling, and what Chromium actually draws.

Life and bench directories are written by hand (a few dozen records), so no torch and no life.
"""

import json
import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lifelong import metrics
from lifelong.charts import (
    Series,
    line_chart,
    log_ticks,
    nice_ticks,
    spans_decades,
    tick_text,
)
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.report import COUNTERS, write_report

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
LIFE_FIGURES = [
    "fig-reward",
    "fig-modes",
    "fig-meta-prediction_error_fast",
    "fig-meta-surprise",
    "fig-meta-stress",
    "fig-meta-energy",
    "fig-world-model",
]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def make_life(directory: Path, world: str = "nursery", agent: str = "abm", events=True):
    """40 records, regime 0 -> 1 at step 20000 -> 2 at step 30000; some signals unmeasured.

    `events`: True for a few regime, alarm and mode events, False for none, or a list to write.
    """
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(
        json.dumps({"format": 1, "world": world, "seed": 3, "agent": agent, "log_every": 1000})
    )
    records = []
    for i in range(40):
        step = 1000 * (i + 1)
        regime = 0 if step <= 20000 else 1 if step <= 30000 else 2
        explore = 0.6 if i % 10 < 3 else 0.1
        records.append(
            {
                "step": step,
                "reward_rate": 0.05 * (i % 20) + (0.1 if i % 3 else 0.0),
                "regime": regime,
                "steps_per_s": 900.0 + i,
                "learn_steps": 250 * (i + 1),
                "updates_a": 200 * (i + 1),
                "updates_b": 150 * (i + 1),
                "mode": "explore" if explore > 0.5 else "exploit",
                "rule": "surprise",
                "mode_observe": 0.1,
                "mode_explore": explore,
                "mode_exploit": 0.7 - explore if explore < 0.5 else 0.2,
                "mode_sleep": 0.1 if explore < 0.5 else 0.1,
                "wall_time": 1.5 * (i + 1),
                "prediction_error_fast": 1.0 / (1 + i % 20),
                "surprise": None if i % 4 == 0 else math.sin(i / 3),
                "learning_progress": None,  # never measured: no panel
                "energy": 1.0 - 0.01 * i,
                "stress": 0.2 if i % 5 else None,
                "teacher_trust": None,  # never measured: no panel
                "error_vs_copy_last": 0.5 + 0.4 * ((i % 20) / 20),
                **({"diag_error_ratio_k1": 0.3 + 0.01 * i} if i % 8 == 0 else {}),
                **({"diag_error_ratio_k4": 0.8 + 0.01 * i} if i % 8 == 0 else {}),
            }
        )
    write_jsonl(directory / "metrics.jsonl", records)
    if isinstance(events, list):
        write_jsonl(directory / "events.jsonl", events)
    elif events:
        write_jsonl(
            directory / "events.jsonl",
            [
                {"step": 19500, "kind": "regime", "regime": 1},
                {"step": 19800, "kind": "alarm", "source": "surprise"},
                {"step": 20100, "kind": "mode", "mode": "explore", "rule": "<b>bold</b>"},
                {"step": 29400, "kind": "regime", "regime": 2},
                {"step": 31000, "kind": "mode", "mode": "exploit", "rule": "calm"},
            ],
        )
    return directory


def make_bench(directory: Path, agents=("abm", "frozen", "random"), metric: str = "auc"):
    """A finished bench with curves, recovery times and three metrics; no per-life reports."""
    directory.mkdir(parents=True)
    seeds = [0, 1, 2]
    (directory / "bench.yaml").write_text(
        json.dumps(
            {
                "suite": "shift",
                "world": "nursery",
                "agents": list(agents),
                "seeds": seeds,
                "steps": 5000,
            }
        )
    )
    results, curves, recovery, aligned = {}, {}, {}, {}
    for a, agent in enumerate(agents):
        results[agent] = {
            metric: {
                "iqm": 0.5 + 0.1 * a,
                "low": 0.4 + 0.1 * a,
                "high": 0.6 + 0.1 * a,
                "per_seed": [0.5, 0.6, None],
            },
            "recovery_median": {
                "iqm": 3000.0 - 500 * a,
                "low": 2000.0,
                "high": 4000.0,
                "per_seed": [1, 2, 3],
            },
            "missed": {"iqm": None, "low": None, "high": None, "per_seed": [None, None, None]},
        }
        steps = list(range(0, 5000, 250))
        iqm = [0.1 * a + 0.3 * (1 - math.exp(-s / 1500)) for s in steps]
        curves[agent] = {
            "step": steps,
            "iqm": iqm,
            "low": [v - 0.05 for v in iqm],
            "high": [v + 0.05 for v in iqm],
        }
        recovery[agent] = [1000.0 + 200 * k + 300 * a for k in range(6)] + [None]
        offsets = list(range(-400, 1001, 100))  # a dip at the change, climbing back
        aligned[agent] = {
            "step": offsets,
            "mean": [0.5 if x <= 0 else min(0.5, 0.1 * a + x / 2000) for x in offsets[:-1]]
            + [None],
            "changes": [6] * (len(offsets) - 1) + [0],
        }
    summary = {
        "suite": "shift",
        "world": "nursery",
        "steps": 5000,
        "seeds": seeds,
        "agents": results,
        "curves": curves,
        "recovery": recovery,
        "aligned": aligned,
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    return directory


def make_evolution(directory: Path) -> Path:
    """Two generations of an evolution written by hand (no torch, no lives)."""
    directory.mkdir(parents=True)
    settings = {
        "worlds": ["bandit(arms=3, every=100)"],
        "population": 3,
        "generations": 2,
        "lifetime": 300,
        "seed": 1,
        "frozen": [],
        "start": {},
        "curriculum": [{"from": 0, "lives": 1, "variants": ["{world}"]}],
    }
    fields = Genome.names()
    generations = [
        {
            "level": 0,
            "lives": [["bandit(arms=3, every=100)", g]],
            "fitness": [0.5 + g, 0.4 + g, 0.3],
            "errors": [None, None, None],
            "mean": [0.5] * len(fields),
            "seconds": 1.0,
        }
        for g in range(2)
    ]
    (directory / "evolve.yaml").write_text(json.dumps(settings))
    (directory / "state.json").write_text(
        json.dumps({"fields": fields, "generations": generations})
    )
    return directory


def parse(path: Path) -> ET.Element:
    """The report parsed as strict XML: fails on unbalanced or unescaped markup."""
    return ET.fromstring(path.read_text().replace("<!DOCTYPE html>", "", 1))


def figures(root: ET.Element) -> dict[str, ET.Element]:
    return {svg.get("id"): svg for svg in root.iter(f"{SVG}svg")}


def data_paths(svg: ET.Element) -> list[ET.Element]:
    return [
        e for e in svg.iter() if "data" in (e.get("class") or "").split() and e.get("d", "x") != ""
    ]


def texts(svg: ET.Element) -> list[str]:
    """Every text element's words, tooltips included (a legend label's full text is its title)."""
    return [t.text or "" for t in svg.iter() if t.tag in (f"{SVG}text", f"{SVG}title")]


def svg_title(svg: ET.Element) -> str:
    return svg.find(f"{SVG}title").text


# --- plotting pieces ------------------------------------------------------------------------


def test_nice_ticks_are_round_and_enclose_the_data():
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(1000, 40000) == [0, 10000, 20000, 30000, 40000]
    assert nice_ticks(-0.33, 0.12, 4) == [-0.4, -0.2, 0, 0.2]
    assert nice_ticks(5, 5, 2) == [4.5, 5.0, 5.5]  # a constant gets a little room


def test_tick_labels_use_the_decimals_the_step_needs():
    assert tick_text(20000, 10000) == "20k"
    assert tick_text(1_500_000, 500_000) == "1.5M"
    assert tick_text(0.4, 0.2) == "0.4"
    assert tick_text(0.25, 0.05) == "0.25"
    assert tick_text(7.5, 2.5) == "7.5"
    assert tick_text(0, 0.2) == "0"


def test_log_ticks_are_powers_of_ten_enclosing_the_data():
    assert log_ticks(0.3, 2000) == pytest.approx([0.1, 1, 10, 100, 1000, 10000])
    assert log_ticks(1, 10) == [1, 10]
    assert log_ticks(5, 5) == [1, 10]
    assert log_ticks(1e-9, 1e9, 5) == pytest.approx([10.0**k for k in range(-9, 12, 4)])
    assert spans_decades([2000.0, 0.9, None, 0.5])
    assert not spans_decades([20.0, 0.9, 0.5])  # 40x: one decade and a half
    assert not spans_decades([2000.0, 0.0, 0.5])  # a log axis has no place for 0
    assert not spans_decades([2000.0, -1.0, 0.5])
    assert not spans_decades([None])


def test_a_log_chart_spaces_decades_evenly_and_says_so():
    svg = ET.fromstring(
        line_chart(
            [Series("err", [1, 2, 3], [1000.0, 10.0, 0.1])],
            fig_id="f",
            title="t",
            ylabel="ratio",
            log_y=True,
        )
    )
    (path,) = data_paths(svg)
    ys = [float(point.split(",")[1]) for point in path.get("d")[1:].split(" L")]
    assert ys[1] - ys[0] == pytest.approx(ys[2] - ys[1], abs=0.15)  # two decades each
    assert "ratio (log scale)" in texts(svg)
    assert {"0.1", "1", "10", "100", "1k"} <= set(texts(svg))


def test_a_chart_without_finite_data_says_so():
    svg = line_chart(
        [Series("x", [1, 2, 3], [None, float("nan"), "text"])], fig_id="f", title="empty"
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}text[@class='nodata']").text == "no data"
    assert data_paths(root) == []


def test_a_chart_skips_nulls_and_keeps_isolated_points_visible():
    svg = ET.fromstring(
        line_chart([Series("s", [0, 1, 2, 3], [None, 2.0, None, 4.0])], fig_id="f", title="t")
    )
    (path,) = data_paths(svg)
    assert path.get("d").count("L") == 1  # two points joined, nulls skipped
    assert len([e for e in svg.iter(f"{SVG}circle")]) == 2


# --- life reports ---------------------------------------------------------------------------


def test_life_report_has_its_figures_and_tables(tmp_path):
    life = make_life(tmp_path / "life")
    path = write_report(life)
    assert path == life / "report.html"
    root = parse(path)
    svgs = figures(root)
    assert list(svgs) == LIFE_FIGURES  # learning_progress and teacher_trust never measured
    for fig_id in LIFE_FIGURES:
        assert data_paths(svgs[fig_id]), fig_id
    assert svg_title(svgs["fig-reward"]) == "Reward rate"
    assert len(data_paths(svgs["fig-reward"])) == 2  # raw and EWMA
    assert len(data_paths(svgs["fig-modes"])) == 4  # four stacked mode bands
    assert len(data_paths(svgs["fig-world-model"])) == 3  # copy-last ratio, k1, k4
    legend = texts(svgs["fig-world-model"])
    assert "k1" in legend and "k4" in legend and "copy-last = 1" in legend
    # change points from events.jsonl (19500, 29400), not from the records (21000, 31000)
    lines = [e for e in svgs["fig-reward"].iter() if e.get("class") == "changepoint"]
    assert len(lines) == 2
    ticks = [e for e in svgs["fig-modes"].iter() if e.get("class") == "tick"]
    assert len(ticks) == 3  # two mode switches, one alarm
    tables = {t.get("id"): t for t in root.iter("table")}
    config = {r[0].text: r[1].text for r in tables["config"].iter("tr")}
    assert config["world"] == "nursery" and config["seed"] == "3" and config["agent"] == "abm"
    counters = {r[0].text: r[1].text for r in tables["counters"].iter("tr")}
    assert counters["step"] == "40,000"
    assert counters["updates_a"] == "8,000"
    assert counters["change points"] == "2"
    assert counters["mode switches"] == "2" and counters["alarms"] == "1"
    # a clock and a rate are in every record, but they are not counters
    assert "wall_time" not in counters and "steps_per_s" not in counters
    counted = ["step", "learn_steps", "updates_a", "updates_b"]  # the ones these records hold
    assert list(counters)[1:] == [*counted, "records", "change points", "mode switches", "alarms"]


def test_life_without_events_takes_change_points_from_records(tmp_path):
    root = parse(write_report(make_life(tmp_path / "life", events=False)))
    reward = figures(root)["fig-reward"]
    notes = [e.find(f"{SVG}title").text for e in reward.iter() if e.get("class") == "changepoint"]
    # a change first shown by a record happened after the previous record: metrics' tau
    assert notes == ["regime 1 from step 20000", "regime 2 from step 30000"]
    assert not [e for e in figures(root)["fig-modes"].iter() if e.get("class") == "tick"]


def changepoint_notes(svg: ET.Element) -> list[str]:
    return [e.find(f"{SVG}title").text for e in svg.iter() if e.get("class") == "changepoint"]


# Events on which the report's own change points once disagreed with lifelong.metrics: a first
# regime event before the first record (a change: a life writes none at birth), a repeated
# regime, and, without events, where in a record's interval a change falls.
DISPUTED_EVENTS = [
    {"step": 0, "kind": "mode", "mode": "observe", "rule": "birth"},
    {"step": 500, "kind": "regime", "regime": 0},
    {"step": 12000, "kind": "regime", "regime": 1},
    {"step": 12500, "kind": "regime", "regime": 1},
    {"step": 15000, "kind": "mode", "mode": "explore", "rule": "surprise"},
    {"step": 16000, "kind": "mode", "mode": "explore", "rule": "surprise"},
    {"step": 25000, "kind": "regime", "regime": 2},
    {"step": "soon", "kind": "regime", "regime": 3},  # a damaged line: ignored
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (DISPUTED_EVENTS, [(500, 0), (12000, 1), (25000, 2)]),
        (False, [(20000, 1), (30000, 2)]),
    ],
)
def test_the_change_points_drawn_are_the_ones_metrics_measures(tmp_path, events, expected):
    life = make_life(tmp_path / "life", events=events)
    records = [json.loads(line) for line in (life / "metrics.jsonl").read_text().splitlines()]
    readable = [e for e in events or [] if isinstance(e["step"], int)]
    assert metrics.change_points(readable, records) == expected
    notes = [f"regime {regime} from step {step}" for step, regime in expected]
    root = parse(write_report(life))
    svgs = figures(root)
    for fig_id in ("fig-reward", "fig-modes", "fig-world-model", "fig-meta-energy"):
        assert changepoint_notes(svgs[fig_id]) == notes, fig_id
    counters = next(t for t in root.iter("table") if t.get("id") == "counters")
    rows = {r[0].text: r[1].text for r in counters.iter("tr")}
    assert rows["change points"] == str(len(expected))
    switches = metrics.mode_switches(readable)
    assert rows["mode switches"] == str(len(switches))
    ticks = [e for e in svgs["fig-modes"].iter() if e.get("class") == "tick"]
    assert len(ticks) == len(switches) == (1 if events else 0)  # birth and repeat are no switch


def test_counters_are_the_agents_counters():
    agent = pytest.importorskip("lifelong.agent")  # needs torch; the report itself does not
    assert set(COUNTERS) == {"step"} | set(agent.COUNTERS) - {"env_steps"}


def rewrite_first_record(life: Path, **changes) -> None:
    path = life / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0].update(changes)
    write_jsonl(path, records)


def ylabel(svg: ET.Element) -> str:
    label = (t for t in svg.iter(f"{SVG}text") if "rotate(-90)" in t.get("transform", ""))
    return next(label).text or ""


def test_errors_spanning_decades_get_a_log_axis(tmp_path):
    life = make_life(tmp_path / "life")
    svgs = figures(parse(write_report(life)))
    assert ylabel(svgs["fig-world-model"]) == "ratio"  # 0.3 to 1.2: linear
    assert ylabel(svgs["fig-meta-prediction_error_fast"]) == ""
    # A's first error is 2,000 times the later ones: on a linear axis they would be flat at 0
    rewrite_first_record(life, error_vs_copy_last=2000.0, prediction_error_fast=100.0, energy=1e-4)
    svgs = figures(parse(write_report(life)))
    world = svgs["fig-world-model"]
    assert ylabel(world) == "ratio (log scale)"
    assert {"0.1", "1", "10", "100", "1k", "10k"} <= set(texts(world))
    assert ylabel(svgs["fig-meta-prediction_error_fast"]) == "log scale"
    assert ylabel(svgs["fig-meta-energy"]) == ""  # a level in [0, 1], not an error: linear
    assert ylabel(svgs["fig-reward"]) == "reward / step"


LINK_ATTRIBUTES = {"src", "href", "srcset", "data", "poster", "action", "background"}
ADDRESS = re.compile(r"\s*(//|(?!data:)[a-z][a-z0-9+.-]*:)", re.I)  # a host or a scheme, not data:
CSS_URL = re.compile(r"url\(\s*['\"]?([^)'\"]*)|(@import)")


def external_resources(root: ET.Element) -> list[str]:
    """Every address the page would fetch: link attributes (src, href, ...) that name a host or a
    scheme (relative links, fragments and inline data: are fine), and CSS url(...) or @import
    anywhere that is not a fragment (#id, as clip paths use)."""
    found = []
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower() in LINK_ATTRIBUTES and ADDRESS.match(value):
                found.append(value)
        for text in [element.text or "", *element.attrib.values()]:
            found += [u or i for u, i in CSS_URL.findall(text) if not u.startswith("#")]
    return found


def test_reports_load_nothing_from_the_network(tmp_path):
    probe = ET.fromstring(
        '<p style="background: url(http://x/b.png)"><img src="https://x.org/a.png"/>'
        '<a href="//cdn.x/y">y</a><a href="abm/report.html">z</a><svg clip-path="url(#c)"/></p>'
    )
    found = external_resources(probe)  # the check bites
    assert found == ["http://x/b.png", "https://x.org/a.png", "//cdn.x/y"]
    bench = make_bench(tmp_path / "bench")
    (bench / "abm" / "seed0").mkdir(parents=True)
    (bench / "abm" / "seed0" / "report.html").write_text("<html></html>")
    made = [make_life(tmp_path / "life"), bench, make_evolution(tmp_path / "evolution")]
    for directory in made:
        root = parse(write_report(directory))
        assert figures(root), directory
        assert external_resources(root) == [], directory
        assert not [e for e in root.iter() if e.tag in {"script", "link", "img", "iframe"}]
    assert [a.get("href") for a in parse(bench / "report.html").iter("a")] == [
        "abm/seed0/report.html"
    ]


def test_life_with_nulls_everywhere_still_renders(tmp_path):
    life = tmp_path / "life"
    life.mkdir()
    (life / "config.yaml").write_text("world: nursery\nseed: 0\n")
    rows = [
        {"step": 100 * i, "reward_rate": None, "regime": None, "mode_observe": None}
        for i in range(5)
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 600, "rew'  # a write in progress
    (life / "metrics.jsonl").write_text(text)
    (life / "events.jsonl").write_text('{"step": "soon", "kind": "mode"}\nnot json\n')
    root = parse(write_report(life))
    svgs = figures(root)
    assert list(svgs) == ["fig-reward", "fig-modes", "fig-world-model"]
    for svg in svgs.values():
        assert svg.find(f"{SVG}text[@class='nodata']") is not None
        assert not data_paths(svg)
    assert "No meta-state signal was measured" in ET.tostring(root, encoding="unicode")


def test_an_empty_life_says_there_is_nothing_yet(tmp_path):
    life = tmp_path / "life"
    life.mkdir()
    (life / "config.yaml").write_text("world: nursery\nseed: 0\n")
    (life / "metrics.jsonl").write_text("")
    root = parse(write_report(life))
    assert not figures(root)
    nothing = next(e for e in root.iter("p") if e.get("id") == "nothing")
    assert nothing.text.startswith("Nothing yet")
    (life / "metrics.jsonl").unlink()  # newborn: not a single record written yet
    root = parse(write_report(life))
    assert next(e for e in root.iter("p") if e.get("id") == "nothing") is not None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ((), "neither a life (config.yaml + metrics.jsonl) nor a bench"),
        (("bench.yaml",), "summary.json missing (bench.yaml found)"),
    ],
)
def test_neither_life_nor_bench_is_a_user_error(tmp_path, files, message):
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(UserError, match=re.escape(message)) as caught:
        write_report(tmp_path)
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="no such directory"):
        write_report(tmp_path / "absent")


def test_user_strings_are_escaped_everywhere(tmp_path):
    life = make_life(tmp_path / "life", world=EVIL, agent=EVIL)
    bench = make_bench(tmp_path / "bench", agents=("abm", EVIL), metric='<img src=x onerror="x">')
    for path in (write_report(life), write_report(bench)):
        text = path.read_text()
        assert "<script" not in text.lower() and "<img" not in text and "<b>" not in text
        assert EVIL_ESCAPED in text
        parse(path)  # still well-formed
    life_text = (life / "report.html").read_text()
    assert life_text.count(EVIL_ESCAPED) >= 3  # subtitle, config world, config agent
    assert "&lt;b&gt;bold&lt;/b&gt;" in life_text  # the rule name in a mode tick's tooltip
    bench_root = parse(bench / "report.html")
    legend = texts(figures(bench_root)["fig-curves"])
    assert EVIL in legend  # parsed back: the SVG text held the escaped name
    assert "&lt;img src=x onerror=&quot;x&quot;&gt;" in (bench / "report.html").read_text()


# --- bench reports --------------------------------------------------------------------------


def test_bench_report_has_table_curves_recovery_and_links(tmp_path):
    bench = make_bench(tmp_path / "bench")
    (bench / "frozen" / "seed1").mkdir(parents=True)
    (bench / "frozen" / "seed1" / "report.html").write_text("<html></html>")
    (bench / "abm" / "seed0").mkdir(parents=True)  # a life without a report: no link
    root = parse(write_report(bench))
    svgs = figures(root)
    assert list(svgs) == ["fig-curves", "fig-aligned", "fig-recovery"]
    curves = data_paths(svgs["fig-curves"])
    assert len(curves) == 6  # a CI band and an IQM line per agent
    colours = {p.get("fill") if "band" in p.get("class") else p.get("stroke") for p in curves}
    assert len(colours) == 3  # one colour per agent
    legend = texts(svgs["fig-curves"])
    assert {"abm", "frozen", "random"} <= set(legend)
    aligned = data_paths(svgs["fig-aligned"])
    assert len(aligned) == 3 and {"abm", "frozen", "random"} <= set(texts(svgs["fig-aligned"]))
    assert len({p.get("stroke") for p in aligned}) == 3  # one line per agent, its colour
    assert aligned[0].get("d").count("L") == 13  # 14 points: the 15th bin, null, skipped
    (change,) = [e for e in svgs["fig-aligned"].iter() if e.get("class") == "changepoint"]
    assert change.find(f"{SVG}title").text == "the change"
    dots = data_paths(svgs["fig-recovery"]) or [
        e for e in svgs["fig-recovery"].iter(f"{SVG}circle") if e.get("class") == "data"
    ]
    assert len(dots) == 18  # 6 finite RT_k per agent, the null skipped
    medians = [e for e in svgs["fig-recovery"].iter() if e.get("class") == "median"]
    assert [m.find(f"{SVG}title").text for m in medians] == [
        "median 1,500",
        "median 1,800",
        "median 2,100",
    ]
    table = next(t for t in root.iter("table") if t.get("id") == "comparison")
    header = [th.text for th in table.find("thead").iter("th")]
    assert header == ["metric", "abm", "frozen", "random"]
    rows = {tr[0].text: tr[1:] for tr in table.find("tbody").iter("tr")}
    assert list(rows) == ["auc ↑", "recovery_median ↓", "missed ↓"]
    assert [td.text for td in rows["auc ↑"]] == [
        "0.5 [0.4, 0.6]",
        "0.6 [0.5, 0.7]",
        "0.7 [0.6, 0.8]",
    ]
    best = {
        metric: [i for i, td in enumerate(tds) if "best" in td.get("class")]
        for metric, tds in rows.items()
    }
    assert best == {"auc ↑": [2], "recovery_median ↓": [2], "missed ↓": []}
    assert rows["auc ↑"][0].get("title") == "per seed: 0.5, 0.6, –"
    links = [a.get("href") for a in root.iter("a")]
    assert links == ["frozen/seed1/report.html"]


def test_bench_with_a_broken_summary_is_a_user_error(tmp_path):
    bench = make_bench(tmp_path / "bench")
    (bench / "summary.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read .*summary.json"):
        write_report(bench)


# --- what a browser draws -------------------------------------------------------------------

PROBE = """<script>
var rects = {};
document.querySelectorAll('svg.chart').forEach(function (svg) {
  var r = svg.getBoundingClientRect();
  rects[svg.id] = [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
});
rects['_page'] = [window.innerWidth, document.documentElement.scrollHeight];
var out = document.createElement('pre');
out.id = 'rects';
out.textContent = JSON.stringify(rects);
document.body.appendChild(out);
</script>"""


def chromium() -> str:
    """The browser, or a skip; in CI (`LIFELONG_NEEDS_CHROMIUM=1`, set by .ci/run) a failure."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium not installed (apt-get install chromium)"
        if os.environ.get("LIFELONG_NEEDS_CHROMIUM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_chromium(browser: str, *args: str) -> str:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]
    done = subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def rendered_figures(browser: str, report: Path, tmp_path: Path):
    """Screenshot of the report and each figure's box on it.

    A copy of the report gets a probe script (the report itself allows none) that writes each
    figure's box into the page; --dump-dom reads it back, then the screenshot is taken with a
    window tall enough for the whole page at the same width, so the layout is the same.
    """
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", report.read_text())
    probe = tmp_path / f"probe-{report.parent.name}.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"))
    dom = run_chromium(browser, "--window-size=1280,900", "--dump-dom", probe.as_uri())
    rects = json.loads(re.search(r'<pre id="rects">(\{.*?)</pre>', dom).group(1))
    width, height = rects.pop("_page")
    assert width == 1280
    shot = tmp_path / f"shot-{report.parent.name}.png"
    run_chromium(browser, f"--window-size=1280,{height}", f"--screenshot={shot}", probe.as_uri())
    pixels = np.asarray(image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (height, 1280)
    return pixels, rects


def assert_drawn(pixels, rects: dict, expected: list[str]) -> None:
    """Every figure is on the page, has ink, and has coloured (data) pixels, not just grey axes."""
    assert sorted(rects) == sorted(expected)
    for fig_id, (left, top, width, height) in rects.items():
        assert width > 200 and height > 150, fig_id
        box = pixels[int(top) + 2 : int(top + height) - 2, int(left) + 2 : int(left + width) - 2]
        assert box.size, fig_id
        ink = (box.min(axis=2) < 235).mean()
        coloured = ((box.max(axis=2) - box.min(axis=2)) > 60).sum()
        assert ink > 0.02, (fig_id, ink)
        assert coloured > 150, (fig_id, coloured)


def test_chromium_draws_every_life_figure(tmp_path):
    browser = chromium()
    report = write_report(make_life(tmp_path / "life"))
    pixels, rects = rendered_figures(browser, report, tmp_path)
    assert_drawn(pixels, rects, LIFE_FIGURES)
    # the page around the figures stays the light background: no stray ink outside figures
    assert (pixels[:, -10:].min(axis=2) > 235).all()


def test_chromium_draws_every_bench_figure(tmp_path):
    browser = chromium()
    report = write_report(make_bench(tmp_path / "bench"))
    pixels, rects = rendered_figures(browser, report, tmp_path)
    assert_drawn(pixels, rects, ["fig-curves", "fig-aligned", "fig-recovery"])
