"""`lifelong bench --backend ray` from the command line, in a process of its own.

The command starts a Ray of its own (none runs before it), lives the bench's lives on Ray's
workers, writes what a local bench writes (the same lives and summary, timings aside) and shuts
its Ray down: no Ray process it started outlives it. Every process of that Ray carries a mark
in its environment, so the check never mistakes another Ray on this machine for it.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import TINY
from test_life import comparable

from lifelong.bench import run_bench
from lifelong.records import read_jsonl

pytest.importorskip("ray", reason="the ray extra is not installed: pip install ray")

AGENTS = ("abm", "random")
STEPS = 200
MARK = "LIFELONG_TEST_RAY_MARK"


def marked(mark: str) -> list[int]:
    """The processes whose environment carries `MARK=mark`: those the command started."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def outlivers(mark: str, patience: float = 20.0) -> list[int]:
    """The marked processes still running after `patience` seconds (Ray's own stop is
    asynchronous: its daemons exit a moment after the driver)."""
    deadline = time.monotonic() + patience
    while (alive := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive


def lifelong_command() -> list[str]:
    """The installed `lifelong` entry point, next to this interpreter."""
    script = Path(sys.executable).with_name("lifelong")
    if script.exists():
        return [str(script)]
    found = shutil.which("lifelong")
    if found is None:
        pytest.skip("the lifelong entry point is not installed (pip install -e .)")
    return [found]


def csv_rows(directory: Path) -> list[str]:
    """The summary's rows without timings and the commit column (which reads "-dirty" if the
    working tree changed between the two benches): nothing else may differ."""
    rows = (directory / "summary.csv").read_text().splitlines()
    return [row.rsplit(",", 1)[0] for row in rows if "_per_s," not in row]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_bench_on_ray_from_the_command_line_starts_and_stops_its_own_ray(tmp_path, in_process):
    mark = uuid.uuid4().hex
    # Ray's sockets live under its temp dir, whose path must stay short.
    ray_tmp = tempfile.mkdtemp(prefix="lr-")
    environment = {**os.environ, MARK: mark, "RAY_TMPDIR": ray_tmp}
    environment.pop("RAY_ADDRESS", None)  # a Ray of its own, not a cluster named outside
    where = tmp_path / "ray"
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    argv = [*lifelong_command(), "bench", "bandits", "--agents", ",".join(AGENTS),
            "--seeds", "1", "--steps", str(STEPS), "--jobs", "2", "--backend", "ray",
            "--dir", str(where), *sets]  # fmt: skip
    # Output to files, not pipes: a process left behind holding a pipe would keep the command
    # from ending instead of being found.
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    try:
        with out.open("w") as stdout, err.open("w") as stderr:
            done = subprocess.run(
                argv, env=environment, cwd=tmp_path, stdout=stdout, stderr=stderr, timeout=300
            )
        left = outlivers(mark)
    finally:
        for pid in marked(mark):  # only if the test failed on the way: what it started
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, out.read_text()[-3000:] + err.read_text()[-3000:]
    assert left == [], f"processes the command started outlived it: {left}"

    # What a bench writes: its settings, every life's records and end, the summary, the report.
    settings = yaml.safe_load((where / "bench.yaml").read_text())
    assert settings["agents"] == list(AGENTS) and settings["steps"] == STEPS
    assert settings["genome"] == TINY
    for agent in AGENTS:
        life = where / agent / "seed0"
        assert (life / "done.json").read_text() == f'{{"steps": {STEPS}}}'
        records = read_jsonl(life / "metrics.jsonl")
        assert [r["step"] for r in records] == list(range(2, STEPS + 1, 2))
        assert not (life / "checkpoints").exists()  # it lived on a worker, records came back
    assert (where / "report.html").exists()
    # (rich may fold a long path over lines: compare without the whitespace)
    assert f"report:{where / 'report.html'}" in "".join(out.read_text().split())

    # The same bench lived here (`in_process`), locally: the same lives, the same summary.
    here = tmp_path / "here"
    run_bench("bandits", list(AGENTS), 1, STEPS, 1, here, progress=lambda line: None,
              genome=TINY)  # fmt: skip
    assert csv_rows(where) == csv_rows(here) and len(csv_rows(here)) > 10
    for agent in AGENTS:
        lived_here = read_jsonl(here / agent / "seed0" / "metrics.jsonl")
        lived_on_ray = read_jsonl(where / agent / "seed0" / "metrics.jsonl")
        assert comparable(lived_on_ray) == comparable(lived_here), agent
