"""Atomic, checksummed, code-free checkpoints.

A life may run for weeks, so a checkpoint must survive the things that happen in weeks: the
machine dying mid-write, a full disk, a file damaged on the way to another machine, and a file
planted by someone else. Hence:

* **Atomic.** The checkpoint is written to a temporary file in the same directory, flushed and
  fsynced, renamed over its final name and the directory fsynced. A reader sees either the whole
  new file or none of it; a failed write leaves earlier checkpoints as they were.
* **Checksummed.** The first line is ``LIFELONG-CKPT 1 <sha256 of the payload>``. A truncated or
  damaged file is detected, reported with a :class:`CheckpointWarning`, and the loader falls back
  to the next older checkpoint.
* **Code-free.** The payload is read with ``torch.load(weights_only=True)``, which rebuilds only
  tensors and plain containers and never runs code from the file. Numpy arrays and integers
  beyond int64 are first encoded into such plain data, so nothing else is needed to load them.
* **Streamed.** A checkpoint is mostly a full replay memory (100 MiB and more), so no copy of it
  is made on the way to the disk: numpy arrays become tensors that share their memory, torch
  writes each tensor straight from that memory into the temporary file, and the payload is hashed
  as it passes. The header comes first but the hash is known last, so a placeholder of the same
  length is written first and overwritten at the end (the format is the same as a file written in
  one piece). Loading streams too: the checksum is computed while reading the file in chunks,
  and torch then reads the verified payload from the same open file.

Files are named ``ckpt-{step:012d}.pt`` so that they sort by step, and the newest ``keep`` are
kept.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

__all__ = [
    "CheckpointError",
    "CheckpointWarning",
    "list_checkpoints",
    "load_latest_checkpoint",
    "save_checkpoint",
]

_MAGIC = b"LIFELONG-CKPT"
_VERSION = b"1"
_NAME = re.compile(r"ckpt-(\d{12,})\.pt")
_MAX_HEADER = 128
# A dict carrying this key is an encoded value, not user data; user dicts may not use it.
_TAG = "__lifelong_type__"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class CheckpointError(Exception):
    """A checkpoint could not be written, or a file that passed its checksum could not be loaded
    safely (it was not written by this module, or it was tampered with before checksumming)."""


class CheckpointWarning(UserWarning):
    """A checkpoint was corrupt and an earlier one is used instead."""


# ---------------------------------------------------------------------------- public interface


def save_checkpoint(directory: str | Path, step: int, state: dict, keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step`` in ``directory`` and return its path.

    ``state`` is a nested structure of dicts, lists and tuples holding torch tensors, numpy
    arrays and numpy scalars (any non-object dtype), python ints of any size, floats, bools,
    strings and None. Anything else raises TypeError before a file is touched.

    A temporary file left by a write that was killed mid-way is removed first. After a
    successful write all but the newest ``keep`` checkpoints are deleted. Any OS error
    while writing (a full disk, say) removes the temporary file, leaves the existing checkpoints
    untouched and raises :class:`CheckpointError` naming the file and the error.
    """
    if step < 0:
        raise ValueError(f"step must be non-negative, got {step}")
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    directory = Path(directory)
    path = directory / f"ckpt-{step:012d}.pt"

    content = {"step": int(step), "state": _encode(state, "state")}  # shares arrays' memory

    temp_name: str | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob(".ckpt-*.tmp"):  # left by a write killed mid-way
            stale.unlink(missing_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            _write_streamed(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_name, path)
        temp_name = None
        _fsync_directory(directory)
    except BaseException as error:  # whatever stops the write, no temporary file stays behind
        if temp_name is not None:
            with contextlib.suppress(OSError):
                os.remove(temp_name)
        if isinstance(error, OSError):
            raise CheckpointError(f"could not write checkpoint {path}: {error}") from error
        raise

    for old in list_checkpoints(directory)[:-keep]:
        try:
            old.unlink()
        except OSError as error:
            warnings.warn(
                f"could not delete old checkpoint {old}: {error}", CheckpointWarning, stacklevel=2
            )
    return path


def load_latest_checkpoint(
    directory: str | Path, map_location: str | torch.device | None = "cpu"
) -> tuple[int, dict, Path] | None:
    """Load the newest intact checkpoint: ``(step, state, path)``, or None if there is none.

    A file with a bad header or a checksum mismatch (truncated, damaged) is reported with a
    :class:`CheckpointWarning` and the next older one is tried. A file whose checksum is right but
    whose payload cannot be loaded safely raises :class:`CheckpointError` instead: it is not a
    damaged checkpoint but something else posing as one, and it must not be skipped silently.

    Values come back with the types they were saved with: numpy arrays with their dtype and
    shape, numpy scalars, python ints of any size. Tuples come back as tuples, but named tuples
    and dict subclasses other than OrderedDict come back as plain tuples and dicts. Tensors are
    mapped to ``map_location`` (the CPU by default, so a checkpoint from a GPU loads anywhere).
    """
    for path in reversed(list_checkpoints(directory)):
        try:
            payload = _open_verified_payload(path)
        except _Corrupt as corrupt:
            warnings.warn(
                f"checkpoint {path} is corrupt ({corrupt}); falling back to an earlier one",
                CheckpointWarning,
                stacklevel=2,
            )
            continue
        with payload:
            try:
                content = torch.load(payload, map_location=map_location, weights_only=True)
                return int(content["step"]), _decode(content["state"]), path
            except OSError as error:  # the disk failed between the checksum and the load
                warnings.warn(
                    f"checkpoint {path} is corrupt (unreadable: {error}); falling back to an"
                    " earlier one",
                    CheckpointWarning,
                    stacklevel=2,
                )
                continue
            except Exception as error:  # whatever the cause, this file is not a checkpoint of ours
                raise CheckpointError(
                    f"checkpoint {path} passed its checksum but could not be loaded safely "
                    f"({_one_line_reason(error)})"
                ) from error
    return None


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files in ``directory``, oldest (lowest step) first; [] if it does not exist."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


# ---------------------------------------------------------------------------- file format


class _Corrupt(Exception):
    """Internal: the file is damaged; the message is the reason shown to the user."""


def _header(digest: bytes) -> bytes:
    return b"%s %s %s\n" % (_MAGIC, _VERSION, digest)


# Written where the header goes until the payload's hash is known; never a valid checksum.
_PLACEHOLDER = _header(b"0" * hashlib.sha256().digest_size * 2)


def _write_streamed(fd: int, content: dict) -> None:
    """Write the header and torch's serialisation of ``content`` to ``fd``, hashing on the way.

    The bytes are the ones ``torch.save`` would put in a buffer, written as torch produces them:
    each tensor goes from its own memory to the file, so the payload is never held in memory.
    """
    _write_all(fd, _PLACEHOLDER)
    writer = _HashingWriter(fd)
    try:
        torch.save(content, writer)
    except Exception:
        if writer.error is not None:  # torch reports a failed write as a RuntimeError of its own
            raise writer.error from None
        raise
    os.lseek(fd, 0, os.SEEK_SET)
    _write_all(fd, _header(writer.sha256.hexdigest().encode()))


class _HashingWriter:
    """The file ``torch.save`` writes to: straight to a descriptor, hashing what passes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sha256 = hashlib.sha256()
        self.error: OSError | None = None  # the first failed write: every later one fails too

    def write(self, data: Any) -> int:
        if self.error is not None:
            raise self.error
        view = memoryview(data).cast("B")  # torch passes views of the tensors' own memory
        self.sha256.update(view)
        try:
            _write_all(self.fd, view)
        except OSError as error:
            self.error = error
            raise
        return len(view)

    def flush(self) -> None:
        pass


def _write_all(fd: int, data: Any) -> None:
    """os.write until all of ``data`` is written (a nearly full disk may take part of it)."""
    view = memoryview(data).cast("B")
    while len(view):
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _open_verified_payload(path: Path) -> _Payload:
    """Check the file's header and checksum, reading it in chunks; its payload, open to read."""
    try:
        file = open(path, "rb")  # noqa: SIM115 -- handed on to the caller, who closes it
    except OSError as error:
        raise _Corrupt(f"unreadable: {error}") from error
    try:
        head = file.read(_MAX_HEADER)
        end = head.find(b"\n")
        if end < 0:
            raise _Corrupt("no header line")
        parts = head[:end].split(b" ")
        if len(parts) != 3 or parts[0] != _MAGIC:
            raise _Corrupt("bad header")
        if parts[1] != _VERSION:
            raise _Corrupt(f"unsupported format version {parts[1].decode(errors='replace')}")
        file.seek(end + 1)
        if hashlib.file_digest(file, "sha256").hexdigest().encode() != parts[2]:
            raise _Corrupt("checksum mismatch")
        return _Payload(file, end + 1)
    except OSError as error:
        file.close()
        raise _Corrupt(f"unreadable: {error}") from error
    except BaseException:
        file.close()
        raise


class _Payload(io.RawIOBase):
    """The payload of an open checkpoint file as a file of its own: position 0 is the byte after
    the header line, so torch reads it as the zip file it is."""

    def __init__(self, file: BinaryIO, start: int) -> None:
        super().__init__()
        self._file, self._start = file, start
        file.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._file.readinto(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        return self._file.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._file.tell() - self._start

    def close(self) -> None:
        self._file.close()
        super().close()


def _one_line_reason(error: Exception) -> str:
    """The informative line of an error; torch's weights_only refusals bury it mid-message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "WeightsUnpickler error" in line:
            return line
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable: without this a crash can forget the new directory entry."""
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- encoding


def _encode(value: Any, where: str) -> Any:
    """Turn ``value`` into data that ``torch.load(weights_only=True)`` accepts.

    ``where`` is the path to the value inside the state, so an error can say which entry is bad.
    """
    # numpy first: np.float64 and np.str_ subclass float and str but do not load as them.
    if isinstance(value, np.ndarray | np.generic):
        return _encode_numpy(value, where)
    if value is None or isinstance(value, bool | float | str | torch.Tensor):
        return value
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return int(value)
        # Recent torch versions also load big ints with weights_only; a decimal string keeps
        # the payload independent of that and of any loader's integer width.
        return {_TAG: "int", "value": str(value)}
    if isinstance(value, dict):
        if _TAG in value:
            raise ValueError(f"{where}: the key {_TAG!r} is reserved for checkpoint encoding")
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise TypeError(f"{where}: dict keys must be str or int, got {type(key).__name__}")
            encoded[key] = _encode(item, f"{where}[{key!r}]")
        if isinstance(value, OrderedDict):
            # torch module state_dicts carry version metadata that load_state_dict consults.
            ordered = OrderedDict(encoded)
            if hasattr(value, "_metadata"):
                ordered._metadata = _encode(value._metadata, f"{where}._metadata")
            return ordered
        return encoded
    if isinstance(value, list | tuple):
        items = [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(f"{where}: cannot checkpoint a value of type {type(value).__name__}")


def _encode_numpy(value: np.ndarray | np.generic, where: str) -> dict[str, Any]:
    array = np.ascontiguousarray(value)
    if array.dtype.hasobject or array.dtype.names is not None:
        raise TypeError(f"{where}: cannot checkpoint a numpy array of dtype {array.dtype}")
    raw = array.reshape(-1).view(np.uint8)
    if not raw.flags.writeable:  # torch.from_numpy refuses to share read-only memory quietly
        raw = raw.copy()
    return {
        _TAG: "ndarray" if isinstance(value, np.ndarray) else "numpy_scalar",
        "dtype": array.dtype.str,
        "shape": list(np.shape(value)),  # ascontiguousarray turns 0-d into 1-d
        "data": torch.from_numpy(raw),
    }


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag is None:
            decoded = {key: _decode(item) for key, item in value.items()}
            if isinstance(value, OrderedDict):
                ordered = OrderedDict(decoded)
                if hasattr(value, "_metadata"):
                    ordered._metadata = _decode(value._metadata)
                return ordered
            return decoded
        if tag == "int":
            return int(value["value"])
        if tag in ("ndarray", "numpy_scalar"):
            # No copy: the array keeps the freshly loaded tensor's memory, which nothing else holds.
            raw = value["data"].cpu().numpy()
            array = raw.view(np.dtype(value["dtype"])).reshape(tuple(value["shape"]))
            return array if tag == "ndarray" else array[()]
        raise ValueError(f"unknown encoded type {tag!r}")
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_decode(item) for item in value)
    return value
