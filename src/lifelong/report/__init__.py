"""HTML reports of a life, a bench or an evolution: one self-contained file with inline SVG figures.

`lifelong report DIR` calls `write_report`, which picks the page builder by the files in DIR. The
pages are assembled from `lifelong.charts` (SVG charts and the page shell: no scripts, nothing
fetched); every figure that is a metric of ../shared/METRICS.md is computed by `lifelong.metrics`,
the module a bench's summary comes from, never again here. The modules, by job:

    common          reading a directory: its kind, its YAML/JSON mappings, untrusted values
    life_page       a life's page (config.yaml, metrics.jsonl, events.jsonl)
    bench_page      a bench's page (bench.yaml, summary.json, links to the lives' pages)
    evolution_page  an evolution's page (evolve.yaml, state.json, best.yaml)

Everything read from disk is untrusted: world specs, agent, metric and rule names are escaped
wherever they land (HTML text, attributes, SVG text). Null or non-finite values (a signal that was
not measured in an interval) are skipped, never drawn as zero; a partly written last line of a
.jsonl file (a life that is still running) is skipped too.
"""

from __future__ import annotations

import os
from pathlib import Path

from lifelong.report.bench_page import HIGHER_IS_BETTER, LOWER_IS_BETTER, bench_page
from lifelong.report.common import directory_kind
from lifelong.report.evolution_page import evolution_page
from lifelong.report.life_page import COUNTERS, ERROR_SIGNALS, EWMA_ALPHA, META_SIGNALS, life_page

__all__ = [
    "COUNTERS",
    "ERROR_SIGNALS",
    "EWMA_ALPHA",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "META_SIGNALS",
    "bench_page",
    "directory_kind",
    "evolution_page",
    "life_page",
    "write_report",
]


def write_report(directory: str | Path) -> Path:
    """Write `directory/report.html` for the life, bench or evolution in `directory`; returns it.

    Written to a temporary file and renamed, so a browser reloading the report while it is being
    rewritten never sees half a page.
    """
    directory = Path(directory)
    pages = {"life": life_page, "bench": bench_page, "evolution": evolution_page}
    text = pages[directory_kind(directory)](directory)
    path = directory / "report.html"
    partial = directory / ".report.html.partial"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
