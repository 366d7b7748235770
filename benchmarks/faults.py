"""Crash anywhere: kill lives with SIGKILL at random moments, resume them, compare bit for bit.

    python benchmarks/faults.py [--cases 20] [--seed 0] [--root DIR] [--out FILE] [--no-ray]
                                [--only 7,9]    # some of the cases, at the moments of the full plan

Each case kills something with SIGKILL at a moment drawn from a seeded generator, resumes it
with the ordinary command (`lifelong run`, `lifelong bench`, `lifelong evolve`, same arguments)
and compares the result with the same thing never interrupted:

* a life (`lifelong run`): killed inside a checkpoint write (the temporary file cut at a drawn
  fraction of its bytes; written and fsynced but not renamed; renamed but the directory not
  fsynced and the old checkpoints not pruned), inside a sleep tick, an imagine tick or an
  intervention, after a world step, half-way through a line of metrics.jsonl or events.jsonl, or
  killed twice (after a world step, then again while the resume cuts the records back to its
  checkpoint). Compared: `identical_lives.fingerprint` (metrics.jsonl without wall-clock fields,
  events.jsonl, every value of the final checkpoint).
* a bench (`lifelong bench`, on the local process pool and on Ray) and an evolution
  (`lifelong evolve`): every process of its session (pool workers, Ray's processes) killed at a
  random time once it is under way, then the same command run again. Compared: every life's
  fingerprint (records only where no checkpoint comes back: Ray lives and evolution lives keep
  none), summary.json, state.json, history.csv, best.yaml, mean.yaml and done.json without
  timing fields.

Results and what they show: docs/faults.md. A case that differs prints why (the first record
or event that differs, a step written twice, a line that does not parse).

The moment inside a life is chosen from outside: the child is `python benchmarks/faults.py
--child PLACE K NOTE -- <lifelong arguments>`, which wraps one function (by name, at run time:
`save_checkpoint` wherever it was imported, the file calls made during it, `ABMMind.sleep` ...)
so that its K-th call kills the process, writes where it was to NOTE and calls the CLI's main.
The uninterrupted reference runs through the same wrapper with nothing armed, counting the calls
so K can be drawn from the calls a life really makes. Nothing in src/ knows about this.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from identical_lives import digest_value, fingerprint  # noqa: E402

# --- The lives ----------------------------------------------------------------------------------

RULES = ["sleep_rules=1", "plan_rules=1", "explore_rules=1", "warmup=200"]  # M's rule families on
SHORT = ["log_every=250", "checkpoint_every=500", "tensorboard=false"]


@dataclass(frozen=True)
class LifeSpec:
    world: str
    steps: int
    sets: tuple[str, ...]

    def new_args(self, directory: Path) -> list[str]:
        sets = [part for pair in self.sets for part in ("--set", pair)]
        return [
            "run",
            "--world",
            self.world,
            "--dir",
            str(directory),
            "--steps",
            str(self.steps),
            "--quiet",
            *sets,
        ]

    @property
    def checkpoint_every(self) -> int:
        return next(int(s.split("=")[1]) for s in self.sets if s.startswith("checkpoint_every="))

    def resume_args(self, directory: Path) -> list[str]:
        return ["run", "--dir", str(directory), "--steps", str(self.steps), "--quiet"]


LIVES = {
    # 2,000 steps: sleeps, imagines and one intervention (a change both detector streams agree on)
    "bandit": LifeSpec("bandit(arms=3,every=500)", 2000, (*RULES, *SHORT)),
    "nursery": LifeSpec("nursery", 2000, (*RULES, *SHORT)),
    # continuous actions planned with MPPI; M trusts the model from birth: one intervention
    "pendulum": LifeSpec("gym:Pendulum-v1", 2000, (*RULES, *SHORT, "plan_reliability=0.0")),
}

# --- Where a life is killed ---------------------------------------------------------------------

# place -> (the counted call, what is happening when the process dies)
PLACES = {
    "checkpoint-write": ("checkpoint", "mid-write of the checkpoint's temporary file"),
    "checkpoint-fsync": ("checkpoint", "temporary file written and fsynced, not renamed"),
    "checkpoint-rename": ("checkpoint", "renamed into place; directory not fsynced, none pruned"),
    "sleep": ("sleep", "inside a sleep tick, after its replay updates"),
    "imagine": ("imagine", "inside an imagine tick, after B learned from the dream"),
    "intervene": ("intervene", "inside an intervention: units reset, learning rates boosted"),
    "world-step": ("step", "after a world step, before the recorder counted it"),
    "record-write": ("record", "half of a metrics.jsonl line written"),
    "event-write": ("event", "half of an events.jsonl append written"),
    # the second kill of a `resume` case, while the resume cuts the records back
    "cut-records": ("cut", "cut records written to a temporary file, not yet renamed"),
}
LIFE_PLACES = [p for p in PLACES if p != "cut-records"] + ["resume"]
GROUP_PLACES = ["bench-local", "bench-ray", "evolve"]
WRITE_MODES = set("wax+")


class _Hooks:
    """The child's state: calls counted so far, and what to do at the armed call."""

    def __init__(self, place: str, k: int, note: Path, limit: int | None = None) -> None:
        self.place, self.k, self.note = place, k, note
        self.counts: Counter[str] = Counter()
        self.step = 0  # the last world step the recorder counted
        self.saving: str | None = None  # inside the armed save_checkpoint: its place
        self.tearing: str | None = None  # inside the armed write whose bytes are torn: its place
        self.limit = limit  # checkpoint-write: bytes let through before the kill (None: half)
        self.written = 0
        self.cutting = False  # inside the armed cut of the records
        self.sizes: list[int] = []  # of each checkpoint written
        self.original: dict[str, Any] = {}

    def hit(self, key: str) -> bool:
        """Count a call of `key`; True when it is the armed one."""
        self.counts[key] += 1
        return PLACES.get(self.place, ("",))[0] == key and self.counts[key] == self.k

    def die(self, detail: str, step: int | None = None) -> None:
        note = {
            "place": self.place,
            "k": self.k,
            "step": self.step if step is None else step,
            "detail": detail,
            "counts": dict(self.counts),
        }
        with self.original["open"](self.note, "w") as file:
            file.write(json.dumps(note))
        os.kill(os.getpid(), signal.SIGKILL)

    def torn(self, name: str) -> bool:
        """Whether writes to the file called `name` are torn now."""
        if self.tearing == "checkpoint-write":
            return True  # whatever the armed save writes
        return name == {"record-write": "metrics.jsonl", "event-write": "events.jsonl"}.get(
            self.tearing or ""
        )

    def tear(self, data: Any, write: Any) -> int:
        """Let `data` through (what `write` returns), or its head up to the limit and die."""
        size = len(data) if isinstance(data, str) else memoryview(data).nbytes
        if self.limit is not None and self.written + size <= self.limit:
            done = write(data)
            self.written += size if done is None else done
            return size if done is None else done
        keep = size // 2 if self.limit is None else self.limit - self.written
        write(data[:keep] if isinstance(data, str) else memoryview(data).cast("B")[:keep])
        self.die(
            f"{PLACES[str(self.tearing)][1]} ({self.written + keep} bytes in; {size - keep} bytes"
            " of the write under way not written)"
        )
        return 0


class _Torn:
    """A file opened for writing while writes are torn: each write goes through `tear`."""

    def __init__(self, handle: Any, hooks: _Hooks) -> None:
        self._handle, self._hooks = handle, hooks

    def _write(self, data: Any) -> int:
        done = self._handle.write(data)
        self._handle.flush()
        return done

    def write(self, data: Any) -> int:
        return self._hooks.tear(data, self._write)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __enter__(self) -> _Torn:
        self._handle.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._handle.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _fd_name(fd: int) -> str:
    try:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return ""


def _install(hooks: _Hooks) -> None:
    """Wrap, by name and at run time, every call a place counts, and the file calls beneath:
    whatever writes a checkpoint or a record (open, os.fdopen, os.write), the kill comes in the
    middle of its bytes."""
    import lifelong.life
    import lifelong.records
    from lifelong import checkpoint
    from lifelong.mind import ABMMind

    original = hooks.original
    original.update(
        open=builtins.open,
        fdopen=os.fdopen,
        write=os.write,
        fsync=os.fsync,
        replace=os.replace,
        rename=os.rename,
    )

    def hooked_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = original["open"](file, mode, *args, **kwargs)
        if hooks.tearing and WRITE_MODES & set(mode):
            name = _fd_name(file) if isinstance(file, int) else os.path.basename(os.fsdecode(file))
            if hooks.torn(name):
                return _Torn(handle, hooks)
        return handle

    def hooked_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = original["fdopen"](fd, mode, *args, **kwargs)
        if hooks.tearing and WRITE_MODES & set(mode) and hooks.torn(_fd_name(fd)):
            return _Torn(handle, hooks)
        return handle

    def hooked_write(fd: int, data: Any) -> int:
        if hooks.tearing and hooks.torn(_fd_name(fd)):
            return hooks.tear(data, lambda part: original["write"](fd, part))
        return original["write"](fd, data)

    def hooked_fsync(fd: int) -> None:
        original["fsync"](fd)
        if hooks.saving == "checkpoint-fsync":
            hooks.die(PLACES["checkpoint-fsync"][1])
        if hooks.saving == "checkpoint-write":  # the limit was past the file's end
            hooks.die(f"FALLBACK: the whole file ({hooks.written} bytes) written; killed at fsync")

    def renaming(name: str) -> Any:
        def hooked(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
            if hooks.cutting:
                hooks.die(f"{PLACES['cut-records'][1]} ({os.path.basename(os.fsdecode(target))})")
            if hooks.saving in ("checkpoint-write", "checkpoint-fsync"):
                hooks.die(f"FALLBACK: killed before the rename ({hooks.saving} not reached)")
            original[name](source, target, *args, **kwargs)
            if hooks.saving == "checkpoint-rename":
                hooks.die(PLACES["checkpoint-rename"][1])

        return hooked

    builtins.open = io.open = hooked_open
    os.fdopen, os.write, os.fsync = hooked_fdopen, hooked_write, hooked_fsync
    os.replace, os.rename = renaming("replace"), renaming("rename")

    save = checkpoint.save_checkpoint

    def hooked_save(directory: Any, step: int, *args: Any, **kwargs: Any) -> Any:
        armed = hooks.hit("checkpoint") and hooks.place.startswith("checkpoint-")
        hooks.saving = hooks.place if armed else None
        hooks.tearing = "checkpoint-write" if armed and hooks.place == "checkpoint-write" else None
        try:
            path = save(directory, step, *args, **kwargs)
        finally:
            hooks.saving = hooks.tearing = None
        if armed:  # the save went a way none of the hooks saw
            hooks.die("FALLBACK: killed after the save returned", step)
        with contextlib.suppress(OSError, TypeError):
            hooks.sizes.append(os.stat(path).st_size)
        return path

    for module in list(sys.modules.values()):  # wherever it was imported by name
        if getattr(module, "save_checkpoint", None) is save:
            module.save_checkpoint = hooked_save

    def tearing(method: Any, key: str, place: str) -> Any:
        def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
            pending = key == "record" or bool(getattr(self, "events", None))
            armed = pending and hooks.hit(key)
            hooks.tearing = place if armed else hooks.tearing
            try:
                result = method(self, *args, **kwargs)
            finally:
                hooks.tearing = None if armed else hooks.tearing
            if armed:
                hooks.die(f"FALLBACK: killed after {method.__name__} returned")
            return result

        return hooked

    recorder = lifelong.records.Recorder
    recorder.write = tearing(recorder.write, "record", "record-write")
    recorder.flush_events = tearing(recorder.flush_events, "event", "event-write")

    def ticking(name: str) -> Any:
        tick = getattr(ABMMind, name)

        def hooked(self: Any, meta: Any) -> Any:
            result = tick(self, meta)
            if hooks.hit(name):
                hooks.die(PLACES[name][1], self.counters["env_steps"])
            return result

        return hooked

    for name in ("sleep", "imagine", "intervene"):
        setattr(ABMMind, name, ticking(name))

    world_step = recorder.world_step

    def hooked_world_step(self: Any, step: int, *args: Any, **kwargs: Any) -> None:
        if hooks.hit("step"):
            hooks.die(PLACES["world-step"][1], step)
        hooks.step = step
        world_step(self, step, *args, **kwargs)

    recorder.world_step = hooked_world_step

    cut = lifelong.life._drop_lines_after

    def hooked_cut(path: Path, step: int) -> None:
        hooks.cutting = Path(path).exists() and hooks.hit("cut")
        try:
            cut(path, step)
        finally:
            hooks.cutting = False

    lifelong.life._drop_lines_after = hooked_cut


def child(argv: list[str]) -> int:
    """`--child PLACE[@BYTES] K NOTE -- ARGS`: the CLI with PLACE's K-th call armed ("count":
    none); BYTES, for checkpoint-write, is where in the file the kill comes."""
    place, _, limit = argv[0].partition("@")
    k, note = int(argv[1]), Path(argv[2])
    cli_args = argv[argv.index("--") + 1 :]
    hooks = _Hooks(place, k, note, int(limit) if limit else None)
    _install(hooks)
    from lifelong.cli import main

    code = main(cli_args)
    with hooks.original["open"](note, "w") as file:  # not killed: what was counted
        file.write(json.dumps({"counts": dict(hooks.counts), "sizes": hooks.sizes}))
    return code


# --- Running and comparing ----------------------------------------------------------------------

LIFELONG = [sys.executable, "-m", "lifelong.cli"]
TIMING = ("seconds", "wall_time", "steps_per_s")  # and every key ending in _per_s


def run_child(place: str, k: int, note: Path, args: list[str], timeout: float = 1800) -> int:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        place,
        str(k),
        str(note),
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.returncode


def run_lifelong(args: list[str], timeout: float = 1800) -> float:
    """Run `lifelong ARGS` to its end; its wall time."""
    began = time.perf_counter()
    done = subprocess.run([*LIFELONG, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"lifelong {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - began


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _untimed(v)
            for k, v in value.items()
            if k not in TIMING and not str(k).endswith("_per_s")
        }
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _digest(value: Any) -> str:
    hasher = hashlib.sha256()
    digest_value(value, hasher)
    return hasher.hexdigest()[:16]


def _jsonl(path: Path) -> list[Any]:
    """The lines of a .jsonl file without timing fields; a line that does not parse (torn by a
    kill) as {"torn": its text}."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            lines.append(_untimed(json.loads(line)))
        except json.JSONDecodeError:
            lines.append({"torn": line})
    return lines


def life_fingerprint(directory: Path) -> dict[str, str]:
    """`identical_lives.fingerprint`, flattened; records and events only where no checkpoint is
    kept (Ray lives and evolution lives)."""
    if (directory / "checkpoints").is_dir() and any((directory / "checkpoints").iterdir()):
        try:
            found = fingerprint(directory)
        except json.JSONDecodeError:  # a torn line in metrics.jsonl: differs from any reference
            found = {"metrics": "a torn line", "agent_parts": {}}
        parts = found.pop("agent_parts")
        return {**found, **{f"agent.{k}": v for k, v in parts.items()}}
    return {
        "metrics": _digest(_jsonl(directory / "metrics.jsonl")),
        "events": _digest(_jsonl(directory / "events.jsonl")),
        "records": str(len(_jsonl(directory / "metrics.jsonl"))),
    }


OUTPUTS = (
    "summary.json",
    "state.json",
    "history.csv",
    "best.yaml",
    "mean.yaml",
    "bench.yaml",
    "evolve.yaml",
    "done.json",
)


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Every life under `root` (a directory with metrics.jsonl) and every output file."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        where = str(path.relative_to(root))
        if path.is_dir() and (path / "metrics.jsonl").exists():
            for key, value in life_fingerprint(path).items():
                found[f"{where}:{key}"] = value
        elif path.name in OUTPUTS:
            text = path.read_text()
            found[where] = _digest(_untimed(json.loads(text)) if path.suffix == ".json" else text)
    return found


def differences(reference: dict[str, str], resumed: dict[str, str]) -> list[str]:
    return [
        key
        for key in sorted(set(reference) | set(resumed))
        if reference.get(key) != resumed.get(key)
    ]


def explain(reference: Path, resumed: Path) -> str:
    """Where two lives' records first part, in words."""
    for name in ("metrics.jsonl", "events.jsonl"):
        a, b = _jsonl(reference / name), _jsonl(resumed / name)
        if a == b:
            continue
        torn = [i + 1 for i, line in enumerate(b) if "torn" in line]
        if torn:
            return f"{name}: line {torn[0]} does not parse: {b[torn[0] - 1]['torn'][:70]!r}"
        before, after = Counter(r.get("step") for r in a), Counter(r.get("step") for r in b)
        repeated = sorted(step for step in after if after[step] > max(before[step], 1))
        if repeated:
            return f"{name}: steps written twice {repeated[:5]} ({len(b)} lines, not {len(a)})"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                return f"{name}: line {i + 1} (step {x.get('step')}) differs in {keys[:6]}"
        return f"{name}: {len(b)} lines, not {len(a)}"
    return "records equal"


# --- The cases ----------------------------------------------------------------------------------


@dataclass
class Reference:
    directory: Path
    counts: dict[str, int]
    fingerprint: dict[str, str]
    seconds: float
    sizes: list[int] | None = None  # bytes of each checkpoint it wrote


def reference_life(root: Path, name: str, spec: LifeSpec) -> Reference:
    """The life never interrupted, through the child with nothing armed (counting calls)."""
    directory, note = root / f"reference-{name}", root / f"reference-{name}.json"
    began = time.perf_counter()
    run_child("count", 0, note, spec.new_args(directory))
    seconds = time.perf_counter() - began
    counted = json.loads(note.read_text())
    return Reference(
        directory, counted["counts"], life_fingerprint(directory), seconds, counted["sizes"]
    )


def _resumed_from(directory: Path) -> str:
    from lifelong.checkpoint import load_latest_checkpoint

    found = load_latest_checkpoint(directory / "checkpoints")
    return "birth" if found is None else f"step {found[0]}"


def kill_and_resume(
    root: Path, spec: LifeSpec, place: str, k: int, k_cut: int = 1, limit: int | None = None
) -> dict[str, Any]:
    """Start the life in ROOT/life, kill it at the K-th call of PLACE, resume it to its end with
    `lifelong run`. `resume` kills at the K-th world step, then the resume at its K_CUT-th cut of
    the records; `checkpoint-write` kills once `limit` bytes of the file are written."""
    directory, note = root / "life", root / "note.json"
    first = "world-step" if place == "resume" else place
    armed = f"{first}@{limit}" if limit is not None else first
    code = run_child(armed, k, note, spec.new_args(directory))
    killed = json.loads(note.read_text())
    found = {
        "place": place,
        "killed": bool(code),
        "step": killed.get("step"),
        "detail": killed.get("detail", "not reached"),
        "cut": "",
    }
    found["resumed_from"] = _resumed_from(directory)
    if place == "resume":
        second = root / "note-cut.json"
        if run_child("cut-records", k_cut, second, spec.resume_args(directory)):
            found["cut"] = f"; again in cut {k_cut} of the resume from {found['resumed_from']}"
            found["detail"] += "; then " + json.loads(second.read_text())["detail"]
        else:
            found["cut"] = "; the resume was not killed (it had nothing to cut)"
    run_lifelong(spec.resume_args(directory))
    return found


def life_case(
    root: Path,
    spec: LifeSpec,
    reference: Reference,
    place: str,
    k: int,
    k_cut: int = 1,
    fraction: float = 0.5,
) -> dict[str, Any]:
    """`kill_and_resume`, then the comparison with the reference; a checkpoint write is killed
    at `fraction` of the file (as long as the reference's checkpoint of the same step)."""
    limit = None
    if place == "checkpoint-write" and reference.sizes:
        limit = int(fraction * reference.sizes[k - 1])
    found = kill_and_resume(root, spec, place, k, k_cut, limit)
    key = PLACES["world-step" if place == "resume" else place][0]
    moment = "not reached"
    if found["killed"]:
        moment = f"{key} {k} of {reference.counts.get(key, 0)} (step {found['step']})"
    moment += found.pop("cut")
    differ = differences(reference.fingerprint, life_fingerprint(root / "life"))
    return {
        **found,
        "moment": moment,
        "identical": found["killed"] and not differ,
        "differ": differ,
        "why": explain(reference.directory, root / "life") if differ else "",
    }


def _sessions() -> dict[int, tuple[int, int]]:
    """pid -> (parent, session) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            found[int(entry)] = (int(fields[1]), int(fields[3]))
    return found


def kill_tree(process: subprocess.Popen) -> int:
    """SIGKILL the process, its process group and every descendant; how many processes died."""
    table = _sessions()
    doomed, stack = set(), [process.pid]
    while stack:
        pid = stack.pop()
        doomed.add(pid)
        stack += [p for p, (parent, _) in table.items() if parent == pid and p not in doomed]
    doomed |= {p for p, (_, session) in table.items() if session == process.pid}
    for pid in sorted(doomed):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    time.sleep(1.0)  # anything started in between (a Ray worker) is in the session
    for pid, (_, session) in _sessions().items():
        if session == process.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return len(doomed)


def group_args(place: str, directory: Path) -> list[str]:
    if place == "evolve":
        return [
            "evolve",
            "--world",
            "bandit(arms=3,every=500)",
            "--population",
            "4",
            "--generations",
            "2",
            "--lifetime",
            "400",
            "--jobs",
            "2",
            "--seed",
            "0",
            "--dir",
            str(directory),
        ]
    backend = ["--backend", "ray"] if place == "bench-ray" else []
    return [
        "bench",
        "bandits",
        "--agents",
        "abm,random_m,sw_ucb",
        "--seeds",
        "1",
        "--steps",
        "1000",
        "--jobs",
        "2",
        "--dir",
        str(directory),
        *backend,
    ]


def _progress(directory: Path) -> str:
    done = len(list(directory.rglob("done.json")))
    lives = len({p.parent for p in directory.rglob("metrics.jsonl")})
    checkpoints = len(list(directory.rglob("ckpt-*.pt")))
    state = directory / "state.json"
    generations = len(json.loads(state.read_text())["generations"]) if state.exists() else 0
    made = f"{generations} generations stored, " if "evolve" in directory.name else ""
    return f"{made}{done}/{lives} lives done, {checkpoints} checkpoints on disk"


def _launch(args: list[str], log: Path) -> subprocess.Popen:
    """`lifelong ARGS` in a session of its own (its pool workers and Ray's processes too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        return subprocess.Popen(
            [*LIFELONG, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for(process: subprocess.Popen, path: Path, timeout: float = 600) -> float:
    """Seconds until `path` exists (the bench or evolution is under way: Ray connected, the
    pool made); the process's whole run if it ends first."""
    began = time.perf_counter()
    while not path.exists() and process.poll() is None:
        if time.perf_counter() - began > timeout:
            raise RuntimeError(f"no {path} after {timeout} s")
        time.sleep(0.1)
    return time.perf_counter() - began


def group_case(root: Path, place: str, reference: Reference, fraction: float) -> dict[str, Any]:
    """Kill a bench or an evolution (SIGKILL to the whole session) once it is under way, at
    `fraction` of the time the reference spent after that point; run the same command again,
    compare every life and output. A run that ends before its kill is started afresh with half
    the delay (up to three tries)."""
    directory = root / place
    args = group_args(place, directory)
    marker = directory / MARKERS[place.split("-")[0]]
    started, total = reference.counts["started_ms"] / 1000, reference.seconds
    killed, moment = False, "finished before the kill, three times"
    for _ in range(3):
        if directory.exists():
            shutil.rmtree(directory)
        process = _launch(args, root / "killed.log")
        under_way = _wait_for(process, marker)
        delay = fraction * (total - started)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            count = kill_tree(process)
            killed = True
            moment = (
                f"{delay:.0f} s into the run ({under_way:.0f} s to start; reference"
                f" {total - started:.0f} s + {started:.0f} s), {count} processes:"
                f" {_progress(directory)}"
            )
            break
        fraction /= 2
    run_lifelong(args)
    differ = differences(reference.fingerprint, tree_fingerprint(directory))
    why = ""
    if differ:
        life = differ[0].split(":")[0]
        if (directory / life / "metrics.jsonl").exists():
            why = f"{life}: {explain(reference.directory / life, directory / life)}"
    return {
        "place": place,
        "killed": killed,
        "moment": moment,
        "detail": "SIGKILL to every process of the run",
        "resumed_from": "its checkpoints and finished lives",
        "identical": killed and not differ,
        "differ": differ,
        "why": why,
    }


MARKERS = {"bench": "bench.yaml", "evolve": "evolve.yaml"}  # written once the runner is up


def reference_group(root: Path, place: str) -> Reference:
    """The bench or evolution never interrupted; `counts["started_ms"]`: when it was under way."""
    directory = root / f"reference-{place}"
    began = time.perf_counter()
    log = root / f"reference-{place}.log"
    process = _launch(group_args(place, directory), log)
    started = _wait_for(process, directory / MARKERS[place.split("-")[0]])
    if process.wait(timeout=1800) != 0:
        raise RuntimeError(f"{place} exited {process.returncode}:\n{log.read_text()[-3000:]}")
    seconds = time.perf_counter() - began
    started_ms = int(1000 * started)
    return Reference(directory, {"started_ms": started_ms}, tree_fingerprint(directory), seconds)


def plan(rng: random.Random, cases: int, ray: bool) -> list[tuple[str, str | None]]:
    """(place, life) of every case: each place once, the rest drawn from the lives' places."""
    groups = [p for p in GROUP_PLACES if ray or p != "bench-ray"]
    places = LIFE_PLACES + groups
    places += [rng.choice(LIFE_PLACES) for _ in range(max(cases - len(places), 0))]
    chosen: list[tuple[str, str | None]] = []
    for place in places[:cases]:
        if place in GROUP_PLACES:
            chosen.append((place, None))
        elif place == "intervene":  # the nursery makes none in 2,000 steps
            first = not any(p == "intervene" for p, _ in chosen)
            chosen.append((place, "pendulum" if first else "bandit"))
        else:
            chosen.append((place, rng.choice(["bandit", "nursery"])))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the moments")
    parser.add_argument("--root", type=Path, help="keep every life here (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--no-ray", action="store_true", help="leave out the bench on Ray")
    parser.add_argument("--only", default="", help="comma-separated case numbers to run")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # Every draw is made up front, so --only runs the very moments of the full plan.
    cases = [
        (place, life, rng.random(), rng.uniform(0.2, 0.8), rng.randint(1, 2))
        for place, life in plan(rng, args.cases, not args.no_ray)
    ]
    only = {int(n) for n in args.only.split(",") if n.strip()}
    with tempfile.TemporaryDirectory(prefix="faults-") as temporary:
        root = args.root or Path(temporary)
        root.mkdir(parents=True, exist_ok=True)
        references: dict[str, Reference] = {}
        results = []
        print("| case | where killed | life | moment | resumed from | identical |")
        print("|---:|---|---|---|---|---|")
        for number, (place, life, draw, fraction, k_cut) in enumerate(cases, 1):
            if only and number not in only:
                continue
            name = life or place
            if name not in references:
                references[name] = (
                    reference_group(root, place)
                    if life is None
                    else reference_life(root, life, LIVES[life])
                )
            began = time.perf_counter()
            where = root / f"case{number:02d}"
            if life is None:
                result = group_case(where, place, references[name], fraction)
            else:
                key = PLACES["world-step" if place == "resume" else place][0]
                k = 1 + int(draw * references[name].counts.get(key, 0))
                if place == "resume":  # after the first checkpoint, so the resume cuts records
                    first = LIVES[life].checkpoint_every
                    k = first + 1 + int(draw * (LIVES[life].steps - first))
                result = life_case(where, LIVES[life], references[name], place, k, k_cut, fraction)
            result.update(
                case=number, life=life or "-", seconds=round(time.perf_counter() - began, 1)
            )
            results.append(result)
            mark = "yes" if result["identical"] else f"NO: {', '.join(result['differ'][:4])}"
            if not result["killed"]:
                mark = "NOT KILLED"
            print(
                f"| {number} | {place} | {result['life']} | {result['moment']} | "
                f"{result['resumed_from']} | {mark} |",
                flush=True,
            )
            if result["why"]:
                print(f"|   | why: {result['why']} | | | | |", flush=True)
        same = sum(r["identical"] for r in results)
        print(f"\n{same}/{len(results)} resumed bit-identical")
        if args.out:
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0 if same == len(results) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(main())
