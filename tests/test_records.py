"""The one recorder every life writes its records with: ground truth turned into records and
events, a resumed interval writing what an uninterrupted one would, the same schema for our
lives and SB3's."""

import json

import pytest
from conftest import TINY

from lifelong.config import Config
from lifelong.genome import Genome
from lifelong.life import open_life, read_metrics
from lifelong.records import Record, Recorder, read_jsonl

# A short stream of what a world reports: a regime change at step 3, positions, a noisy TV.
INFOS = [
    {"shift": 0, "position": (0, 0), "reachable": 4},
    {"shift": 0, "position": (0, 1), "tv_in_view": True},
    {"shift": 1, "position": (0, 1)},
    {"shift": 1, "position": (1, 1), "tv_in_view": True},
]


def live(recorder: Recorder, infos: list[dict], first_step: int) -> None:
    for i, info in enumerate(infos):
        recorder.tick("exploit" if i % 2 else "explore")
        recorder.world_step(first_step + i, float(first_step + i), info)


def test_a_record_holds_the_interval_and_the_world_s_ground_truth(tmp_path):
    recorder = Recorder(tmp_path, bin_width=2)
    live(recorder, INFOS, first_step=1)
    record = recorder.write(4, {"learn_steps": 7})
    assert record["step"] == 4 and record["learn_steps"] == 7
    assert record["reward_rate"] == pytest.approx(2.5)  # rewards 1, 2, 3, 4
    assert record["reward_bins"] == [1.5, 3.5] and record["reward_bin_width"] == 2
    assert record["regime"] == 1 and record["tv_in_view"] == 0.5
    assert record["coverage"] == 3 / 4  # (0,0), (0,1), (1,1) of 4 reachable cells
    assert recorder.mode_shares() == {}  # a new interval began with the record
    # The birth regime is no change; the switch to regime 1 at step 3 is.
    assert read_jsonl(tmp_path / "events.jsonl") == [{"step": 3, "kind": "regime", "regime": 1}]
    assert read_jsonl(tmp_path / "metrics.jsonl") == [json.loads(json.dumps(record))]
    # Every field the recorder writes is part of the one schema.
    assert set(record) - {"learn_steps"} <= set(Record.__annotations__)


def test_a_recorder_restored_mid_interval_writes_what_an_uninterrupted_one_would(tmp_path):
    whole = Recorder(tmp_path / "whole", bin_width=3)
    (tmp_path / "whole").mkdir()
    live(whole, INFOS, first_step=1)
    split = Recorder(tmp_path / "split", bin_width=3)
    (tmp_path / "split").mkdir()
    live(split, INFOS[:2], first_step=1)
    resumed = Recorder(tmp_path / "split", bin_width=3)
    resumed.load_state_dict(json.loads(json.dumps(split.state_dict())))  # as a checkpoint does
    assert resumed.mode_shares() == {"explore": 0.5, "exploit": 0.5}
    live(resumed, INFOS[2:], first_step=3)
    a, b = whole.write(4, {}), resumed.write(4, {})
    timing = ("steps_per_s", "wall_time")
    assert {k: v for k, v in a.items() if k not in timing} == {
        k: v for k, v in b.items() if k not in timing
    }


def test_our_lives_and_sb3_lives_write_the_recorder_s_fields(tmp_path):
    pytest.importorskip("stable_baselines3")
    from lifelong.sb3_life import run_sb3_life

    quick = {"tensorboard": False, "log_every": 100}
    open_life(
        tmp_path / "ours", world="nursery-small", config_changes=quick, genome_changes=TINY
    ).run(200)
    config = Config(world="nursery-small", agent="sb3_dqn", **quick)
    run_sb3_life(tmp_path / "sb3", config, Genome(**TINY), 200)
    written = set(Recorder(tmp_path, 1).write(0, {}))
    for kind in ("ours", "sb3"):
        records = read_metrics(tmp_path / kind)
        assert [r["step"] for r in records] == [100, 200]
        for record in records:
            assert written | {"learn_steps", "updates_a", "updates_b"} <= set(record), kind
            assert 0.0 < record["coverage"] <= 1.0  # the Nursery reports positions
