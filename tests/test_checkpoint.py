"""Tests for checkpoints: exact round trips, retention, corruption, failed writes, safety."""

import errno
import hashlib
import io
import math
import os
import re
import tracemalloc
from collections import OrderedDict

import numpy as np
import pytest
import torch

from lifelong import checkpoint
from lifelong.checkpoint import (
    CheckpointError,
    CheckpointWarning,
    list_checkpoints,
    load_latest_checkpoint,
    save_checkpoint,
)
from lifelong.memory import Memory, shared_state


def write_raw_checkpoint(path, payload: bytes) -> None:
    """Write ``payload`` behind a correct header, as a forger who knows the format would."""
    digest = hashlib.sha256(payload).hexdigest()
    path.write_bytes(b"LIFELONG-CKPT 1 " + digest.encode() + b"\n" + payload)


def test_round_trip_keeps_values_types_and_dtypes(tmp_path):
    rng = np.random.default_rng(2024)
    rng.random(5)
    uint64_values = np.array([0, 2**63, 2**64 - 1], dtype=np.uint64)
    state = {
        "weights": {"w": torch.randn(3, 4), "steps": torch.arange(5)},
        "arrays": [
            np.array([True, False, True]),
            np.arange(12, dtype=np.uint8).reshape(3, 4),
            np.array([-(2**63), 2**63 - 1], dtype=np.int64),
            np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)[:, ::2],  # not contiguous
            uint64_values,
            np.zeros((0, 3), dtype=np.float64),
            np.array(7, dtype=np.int16),  # zero-dimensional
        ],
        "numpy_scalar": np.float64(2.5),
        "rng": rng.bit_generator.state,
        "big": [2**100, -(2**70), 2**64 - 1],
        "small": [0, -1, 2**63 - 1],
        "float": [1.5, math.inf],
        "flag": True,
        "nothing": None,
        "name": "life-7",
        "pair": (1, "two"),
    }
    save_checkpoint(tmp_path, 42, state)
    step, loaded, path = load_latest_checkpoint(tmp_path)

    assert step == 42 and path == tmp_path / "ckpt-000000000042.pt"
    assert torch.equal(loaded["weights"]["w"], state["weights"]["w"])
    assert torch.equal(loaded["weights"]["steps"], state["weights"]["steps"])
    for original, restored in zip(state["arrays"], loaded["arrays"], strict=True):
        assert isinstance(restored, np.ndarray)
        assert restored.dtype == original.dtype and restored.shape == original.shape
        np.testing.assert_array_equal(restored, original)
    assert loaded["arrays"][4].tolist() == [0, 2**63, 2**64 - 1]
    assert isinstance(loaded["numpy_scalar"], np.float64) and loaded["numpy_scalar"] == 2.5
    assert loaded["big"] == [2**100, -(2**70), 2**64 - 1]
    assert loaded["small"] == [0, -1, 2**63 - 1]
    assert loaded["float"] == [1.5, math.inf]
    assert loaded["flag"] is True and loaded["nothing"] is None and loaded["name"] == "life-7"
    assert loaded["pair"] == (1, "two")

    restored_rng = np.random.default_rng(0)
    restored_rng.bit_generator.state = loaded["rng"]
    np.testing.assert_array_equal(restored_rng.random(10), rng.random(10))
    np.testing.assert_array_equal(restored_rng.integers(0, 2**62, 5), rng.integers(0, 2**62, 5))


def test_round_trip_of_module_and_optimizer_state(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(8, 3)).square().mean().backward()
    optimizer.step()
    save_checkpoint(tmp_path, 1, {"model": model.state_dict(), "optim": optimizer.state_dict()})
    _, loaded, _ = load_latest_checkpoint(tmp_path)

    assert isinstance(loaded["model"], OrderedDict)
    assert loaded["model"]._metadata == model.state_dict()._metadata
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin_optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    twin.load_state_dict(loaded["model"])
    twin_optimizer.load_state_dict(loaded["optim"])
    for mine, theirs in zip(model.state_dict().values(), twin.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    assert twin_optimizer.state_dict()["state"][0]["step"] == 1


def test_file_format_and_name(tmp_path):
    path = save_checkpoint(tmp_path, 7, {"x": 1})
    assert path.name == "ckpt-000000000007.pt"
    header, payload = path.read_bytes().split(b"\n", 1)
    magic, version, digest = header.split(b" ")
    assert (magic, version) == (b"LIFELONG-CKPT", b"1")
    assert digest.decode() == hashlib.sha256(payload).hexdigest()
    # The payload is an ordinary torch file that loads with weights_only.
    assert torch.load(io.BytesIO(payload), weights_only=True)["step"] == 7


def test_keeps_only_the_newest_checkpoints(tmp_path):
    for step in (5, 10, 200, 1000, 20_000):
        save_checkpoint(tmp_path, step, {"step": step}, keep=3)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "ckpt-000000000200.pt",
        "ckpt-000000001000.pt",
        "ckpt-000000020000.pt",
    ]
    save_checkpoint(tmp_path, 20_001, {}, keep=1)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-000000020001.pt"]


def test_list_checkpoints_orders_by_step_and_ignores_other_files(tmp_path):
    for step in (3, 1, 2):
        save_checkpoint(tmp_path, step, {}, keep=10)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "ckpt-12.pt").write_text("wrong name")
    assert [p.name[-5:] for p in list_checkpoints(tmp_path)] == ["01.pt", "02.pt", "03.pt"]


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def flip_payload_byte(data: bytes) -> bytes:
    position = len(data) - 100
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def garble_header(data: bytes) -> bytes:
    return b"NOT-A-CHECKPOINT" + data[16:]


def empty(data: bytes) -> bytes:
    return b""


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (truncate, "checksum mismatch"),
        (flip_payload_byte, "checksum mismatch"),
        (garble_header, "bad header"),
        (empty, "no header"),
    ],
)
def test_corrupt_newest_falls_back_to_the_previous(tmp_path, damage, reason):
    save_checkpoint(tmp_path, 1, {"value": np.arange(100)})
    newest = save_checkpoint(tmp_path, 2, {"value": np.arange(100) * 2})
    newest.write_bytes(damage(newest.read_bytes()))

    expected = f"checkpoint {newest} is corrupt ({reason}"
    with pytest.warns(CheckpointWarning, match=re.escape(expected)):
        step, state, path = load_latest_checkpoint(tmp_path)
    assert step == 1 and path.name == "ckpt-000000000001.pt"
    np.testing.assert_array_equal(state["value"], np.arange(100))


def test_all_checkpoints_corrupt_gives_none(tmp_path):
    for step in (1, 2):
        path = save_checkpoint(tmp_path, step, {})
        path.write_bytes(truncate(path.read_bytes()))
    with pytest.warns(CheckpointWarning) as caught:
        assert load_latest_checkpoint(tmp_path) is None
    assert len(caught) == 2


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_keeps_the_previous_checkpoint_and_no_temp_file(
    tmp_path, monkeypatch, failing
):
    previous = save_checkpoint(tmp_path, 1, {"value": 1})
    previous_bytes = previous.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint.os, failing, no_space)
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(tmp_path, 2, {"value": 2})
    monkeypatch.undo()

    message = str(caught.value)
    assert "ckpt-000000000002.pt" in message and os.strerror(errno.ENOSPC) in message
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-000000000001.pt"]
    assert previous.read_bytes() == previous_bytes
    assert load_latest_checkpoint(tmp_path)[1] == {"value": 1}


class CreatesFileWhenUnpickled:
    """A pickle whose loading calls ``open(marker, "w")``: any code execution would show."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def malicious_payload(marker) -> bytes:
    buffer = io.BytesIO()
    torch.save({"step": 3, "state": {"x": CreatesFileWhenUnpickled(marker)}}, buffer)
    return buffer.getvalue()


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    # Control: the payload really does run code when unpickled without weights_only.
    control = tmp_path / "control-marker"
    torch.load(io.BytesIO(malicious_payload(control)), weights_only=False)
    assert control.exists()

    directory = tmp_path / "run"
    save_checkpoint(directory, 1, {"value": 1})
    marker = tmp_path / "pwned"
    write_raw_checkpoint(directory / "ckpt-000000000003.pt", malicious_payload(marker))

    with pytest.raises(CheckpointError, match="ckpt-000000000003.pt"):
        load_latest_checkpoint(directory)
    assert not marker.exists()


def test_missing_or_empty_directory_gives_none(tmp_path):
    assert load_latest_checkpoint(tmp_path / "does-not-exist") is None
    assert list_checkpoints(tmp_path / "does-not-exist") == []
    assert load_latest_checkpoint(tmp_path) is None


def test_save_creates_the_directory(tmp_path):
    path = save_checkpoint(tmp_path / "a" / "checkpoints", 0, {"x": None})
    assert path.exists()


def test_unsupported_values_are_rejected_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"state\['bad'\]\[1\]"):
        save_checkpoint(tmp_path, 1, {"bad": [1, object()]})
    with pytest.raises(TypeError, match="dtype object"):
        save_checkpoint(tmp_path, 1, {"bad": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path, 1, {"__lifelong_type__": "int"})
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="keep"):
        save_checkpoint(tmp_path, 1, {}, keep=0)
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(tmp_path, -1, {})


def test_a_disk_that_fills_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """The disk takes part of the payload, then no more: torch's own error gives way to the
    disk's, and no torn file stays behind."""
    previous = save_checkpoint(tmp_path, 1, {"value": np.arange(10)})
    real_write, room = os.write, [50_000]

    def filling(fd, data):
        if room[0] == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, memoryview(data).cast("B")[: room[0]])
        room[0] -= written
        return written

    monkeypatch.setattr(checkpoint.os, "write", filling)
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(tmp_path, 2, {"value": np.zeros(100_000)})
    monkeypatch.undo()

    message = str(caught.value)
    assert "ckpt-000000000002.pt" in message and os.strerror(errno.ENOSPC) in message
    assert "\n" not in message and room == [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [previous.name]
    np.testing.assert_array_equal(load_latest_checkpoint(tmp_path)[1]["value"], np.arange(10))


def test_short_writes_give_the_same_file(tmp_path, monkeypatch):
    state = {"value": np.arange(5_000, dtype=np.float64), "w": torch.ones(300)}
    whole = save_checkpoint(tmp_path / "whole", 3, state).read_bytes()
    real_write = os.write
    monkeypatch.setattr(
        checkpoint.os, "write", lambda fd, data: real_write(fd, memoryview(data).cast("B")[:999])
    )
    assert save_checkpoint(tmp_path / "short", 3, state).read_bytes() == whole


def test_writing_streams_the_arrays_without_copying_them(tmp_path):
    """numpy's allocations are traced; the payload once went through a BytesIO (traced too)."""
    big = np.random.default_rng(0).random(2_000_000)  # 16 MB
    tracemalloc.start()
    try:
        save_checkpoint(tmp_path, 1, {"big": big, "list": [big[:10], 2**70]})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < big.nbytes / 20
    np.testing.assert_array_equal(load_latest_checkpoint(tmp_path)[1]["big"], big)


def test_a_full_memory_is_checkpointed_from_its_own_storage(tmp_path):
    """Memory.state_dict copies its arrays, but inside shared_state (as Life.checkpoint calls
    it) it hands out views, so a checkpoint costs no second replay memory."""
    memory = Memory((16,), recent_capacity=20_000, longterm_capacity=100, segment_length=4)
    rng = np.random.default_rng(1)
    for t in range(memory.recent_capacity):
        memory.add(rng.random(16, dtype=np.float32), t % 3, 1.0, first=t == 0)
    assert not np.shares_memory(memory.state_dict()["recent"]["obs"], memory._recent["obs"])
    with shared_state():
        shared = memory.state_dict()
        assert np.shares_memory(shared["recent"]["obs"], memory._recent["obs"])
        tracemalloc.start()
        try:
            save_checkpoint(tmp_path, 1, {"memory": memory.state_dict()})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < memory._recent["obs"].nbytes / 10
    twin = Memory((16,), recent_capacity=20_000, longterm_capacity=100, segment_length=4)
    twin.load_state_dict(load_latest_checkpoint(tmp_path)[1]["memory"])
    np.testing.assert_array_equal(twin.sample(8, 4)["obs"], memory.sample(8, 4)["obs"])
