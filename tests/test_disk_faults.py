"""A full disk or a read-only run directory mid-life (issue 29): the life stops with a one-line
error after its last good checkpoint, nothing half-written is ever read back, and the life
continues from that checkpoint once the disk takes writes again.

The tests run as root, where chmod does not stop writes, so the disk is simulated: `Disk` stands
between the process and the files under one directory. Checkpoints and records are written
through os.open and os.write, and resuming rewrites the records through io.open, so those (and
the calls that change a directory) are what it patches.
"""

import errno
import io
import json
import os
import signal
import warnings

import pytest
from conftest import TINY

from lifelong.checkpoint import CheckpointWarning, list_checkpoints, load_latest_checkpoint
from lifelong.cli import main
from lifelong.errors import UserError
from lifelong.life import open_life, read_metrics

QUICK = {"tensorboard": False, "log_every": 50, "checkpoint_every": 100}
NO_SPACE = os.strerror(errno.ENOSPC)
READ_ONLY = os.strerror(errno.EROFS)


class Disk:
    """The files under `root`, on a disk that can fill up or turn read-only.

    `free`: bytes the disk still takes (None: plenty). A write larger than what is left writes
    what fits and then fails, as a real disk does, so lines and checkpoints can be torn.
    `read_only`: opening to write, renaming into, creating or deleting fail with EROFS.
    """

    def __init__(self, monkeypatch, root):
        self.root = os.path.abspath(root) + os.sep
        self.free = None
        self.read_only = False
        self.partial_writes = 0
        self.fds = set()
        self.real = {
            "open": os.open,
            "write": os.write,
            "close": os.close,
            "replace": os.replace,
            "unlink": os.unlink,
            "io_open": io.open,
        }
        monkeypatch.setattr(os, "open", self.open)
        monkeypatch.setattr(os, "write", self.write)
        monkeypatch.setattr(os, "close", self.close)
        monkeypatch.setattr(os, "replace", self.replace)
        monkeypatch.setattr(os, "unlink", self.unlink)
        monkeypatch.setattr(os, "remove", self.unlink)
        monkeypatch.setattr(io, "open", self.io_open)

    def mine(self, path):
        return isinstance(path, str | os.PathLike) and os.path.abspath(path).startswith(self.root)

    def refuse(self, path):
        if self.read_only and self.mine(path):
            raise OSError(errno.EROFS, READ_ONLY, str(path))

    def open(self, path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND):
            self.refuse(path)
        fd = self.real["open"](path, flags, *args, **kwargs)
        if self.mine(path):
            self.fds.add(fd)
        return fd

    def write(self, fd, data):
        if fd not in self.fds or self.free is None:
            return self.real["write"](fd, data)
        room = min(len(data), self.free)
        if room == 0:
            raise OSError(errno.ENOSPC, NO_SPACE)
        if room < len(data):
            self.partial_writes += 1
        written = self.real["write"](fd, memoryview(data).cast("B")[:room])
        self.free -= written
        return written

    def close(self, fd):
        self.fds.discard(fd)
        return self.real["close"](fd)

    def replace(self, source, target, *args, **kwargs):
        self.refuse(target)
        return self.real["replace"](source, target, *args, **kwargs)

    def unlink(self, path, *args, **kwargs):
        self.refuse(path)
        return self.real["unlink"](path, *args, **kwargs)

    def io_open(self, file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and self.mine(file):
            self.refuse(file)
            if self.free is not None:  # resume's rewrite of the records: created, then full
                self.real["io_open"](file, mode, *args, **kwargs).close()
                raise OSError(errno.ENOSPC, NO_SPACE, str(file))
        return self.real["io_open"](file, mode, *args, **kwargs)


def start(directory):
    return open_life(directory, world="nursery-small", config_changes=QUICK, genome_changes=TINY)


def files(directory):
    """Every file under `directory` with its bytes."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def assert_whole_lines(directory):
    """No torn line in the records: each ends with a newline and parses."""
    for name in ("metrics.jsonl", "events.jsonl"):
        text = (directory / name).read_text()
        assert text.endswith("\n"), name
        for line in text.splitlines():
            json.loads(line)


def assert_newest_intact(directory, step):
    """The newest checkpoint is `step`, loads without falling back, and no temp file is left."""
    checkpoints = directory / "checkpoints"
    assert [p.name for p in checkpoints.iterdir() if not p.name.startswith("ckpt-")] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)
        assert load_latest_checkpoint(checkpoints)[0] == step


def assert_continues(directory, from_step, to_step):
    """Reopened, the life continues from `from_step` and writes each record exactly once."""
    life = open_life(directory)
    assert life.agent.counters["env_steps"] == from_step
    life.run(to_step)
    assert [r["step"] for r in read_metrics(directory)] == list(range(50, to_step + 1, 50))
    assert_whole_lines(directory)
    assert_newest_intact(directory, to_step)


def one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_disk_full_at_a_checkpoint_stops_the_life_after_its_last_good_one(tmp_path, monkeypatch):
    directory = tmp_path / "life"
    life = start(directory)
    life.run(100)  # records at 50 and 100, a checkpoint at 100
    disk = Disk(monkeypatch, directory)
    disk.free = 20_000  # the records of 150 and 200 fit; the checkpoint of 200 does not
    with pytest.raises(UserError) as caught:
        life.run(300)
    message = one_line(caught)
    assert NO_SPACE in message and "ckpt-000000000200.pt" in message
    assert "stops at step 200" in message and "last checkpoint, at step 100" in message
    assert disk.partial_writes == 1  # the checkpoint was torn mid-write, not refused whole
    assert [p.name for p in list_checkpoints(directory / "checkpoints")] == ["ckpt-000000000100.pt"]
    assert_newest_intact(directory, 100)
    assert [r["step"] for r in read_metrics(directory)] == [50, 100, 150, 200]

    disk.free = None  # space returns
    assert_continues(directory, 100, 200)  # the records of 150 and 200 are written again once


def test_a_disk_full_mid_record_leaves_no_torn_line(tmp_path, monkeypatch):
    directory = tmp_path / "life"
    life = start(directory)
    life.run(100)
    before = files(directory)
    disk = Disk(monkeypatch, directory)
    disk.free = 300  # less than a record's line: the next one is torn by the disk
    with pytest.raises(UserError) as caught:
        life.run(300)
    message = one_line(caught)
    assert NO_SPACE in message and ".jsonl" in message and "last checkpoint" in message
    assert disk.partial_writes == 1
    assert_whole_lines(directory)  # the torn line was cut back off
    after = files(directory)
    assert after["metrics.jsonl"] == before["metrics.jsonl"]
    assert after["events.jsonl"].startswith(before["events.jsonl"])  # whole events that fitted

    with pytest.raises(UserError, match=f"cannot resume .*{NO_SPACE}"):
        open_life(directory)  # resuming rewrites the records, and the disk is still full
    assert files(directory) == after  # its half-written temporary file is gone

    disk.free = None
    assert_continues(directory, 100, 200)


def test_a_read_only_run_directory_stops_the_life_and_it_resumes_once_writable(
    tmp_path, monkeypatch
):
    directory = tmp_path / "life"
    life = start(directory)
    life.run(100)
    before = files(directory)
    disk = Disk(monkeypatch, directory)
    disk.read_only = True
    with pytest.raises(UserError) as caught:
        life.run(300)
    assert READ_ONLY in one_line(caught)
    assert files(directory) == before
    with pytest.raises(UserError, match=f"cannot resume .*{READ_ONLY}"):
        open_life(directory)
    assert files(directory) == before

    disk.read_only = False
    assert_continues(directory, 100, 200)


def test_the_command_line_stops_with_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "life"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    sets = [f"--set={k}={v}" for k, v in {**TINY, **QUICK, "log_every": 1000}.items()]
    command = ["run", "--dir", str(directory), "--world", "nursery-small", "--quiet", *sets]
    try:
        assert main([*command, "--steps", "100"]) == 0
        disk = Disk(monkeypatch, directory / "checkpoints")  # its checkpoints only
        disk.read_only = True
        capsys.readouterr()
        assert main(["run", "--dir", str(directory), "--quiet", "--steps", "300"]) == 2
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("lifelong: error: could not write checkpoint")
    assert READ_ONLY in err and "stops at step 200" in err and "checkpoint, at step 100" in err
    assert_newest_intact(directory, 100)
