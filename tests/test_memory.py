"""Tests for the episodic memory: ring, reservoir, sampling and exact save/restore.

Most tests write the frame's index into its observation, so a sampled sequence can be checked
for contiguity and age just by reading its observations.
"""

import numpy as np
import pytest

from lifelong.checkpoint import load_latest_checkpoint, save_checkpoint
from lifelong.memory import Memory


def make_memory(**kwargs) -> Memory:
    config = {
        "obs_shape": (1,),
        "recent_capacity": 50,
        "longterm_capacity": 4,
        "segment_length": 8,
        "obs_dtype": np.int64,
    }
    config.update(kwargs)
    return Memory(**config)


def fill(memory: Memory, frames: int, start: int = 0) -> None:
    """Add frames whose observation, action, reward and flags are functions of their index."""
    for i in range(start, start + frames):
        memory.add(
            np.array([i]), action=i % 4, reward=i * 0.5, first=i % 10 == 0, terminal=i % 10 == 9
        )


def frame_index(batch: dict[str, np.ndarray]) -> np.ndarray:
    return batch["obs"][..., 0]


def test_add_len_and_wraparound():
    memory = make_memory()
    assert len(memory) == 0 and memory.frames_seen == 0
    fill(memory, 30)
    assert len(memory) == 30 and memory.frames_seen == 30
    fill(memory, 107, start=30)
    assert len(memory) == 50  # capped at the ring's capacity
    assert memory.frames_seen == 137
    assert memory.longterm_size == 4  # 17 segments offered, 4 slots
    assert frame_index(memory.latest(50)).tolist() == [list(range(87, 137))]


def test_ring_sequences_are_contiguous_across_the_wrap_point_but_never_the_head():
    memory = make_memory()
    fill(memory, 137)  # ring holds frames 87..136; frame f sits in slot f % 50
    index = frame_index(memory.sample(batch=2000, length=8, recent_fraction=1.0))
    assert index.shape == (2000, 8)
    assert (np.diff(index, axis=1) == 1).all()
    assert index.min() >= 87 and index.max() <= 136
    # Frames 99 and 100 sit in the last and first slot: some windows must cross there.
    assert ((index == 99).any(axis=1) & (index == 100).any(axis=1)).any()
    # Every window that fits between the oldest and the newest frame is drawn.
    assert set(index[:, 0].tolist()) == set(range(87, 130))


def test_ring_sampling_before_the_ring_is_full():
    memory = make_memory()
    fill(memory, 7)
    assert memory.can_sample(7) and not memory.can_sample(8)
    fill(memory, 3, start=7)
    index = frame_index(memory.sample(batch=500, length=8))
    assert (np.diff(index, axis=1) == 1).all()
    assert set(index[:, 0].tolist()) == {0, 1, 2}


def test_recent_fraction_chooses_between_ring_and_reservoir():
    memory = make_memory(longterm_capacity=100)  # large enough to keep every segment
    fill(memory, 137)
    assert memory.longterm_size == 17

    recent = frame_index(memory.sample(batch=500, length=5, recent_fraction=1.0))
    assert recent.min() >= 87

    longterm = frame_index(memory.sample(batch=500, length=5, recent_fraction=0.0))
    assert longterm.min() < 87  # the reservoir remembers what the ring has forgotten
    assert (np.diff(longterm, axis=1) == 1).all()
    # A window never leaves its segment, and segments tile the life from frame 0.
    assert (longterm[:, 0] // 8 == longterm[:, -1] // 8).all()
    assert longterm.max() < 136  # frame 136 is in no complete segment yet

    mixed = frame_index(memory.sample(batch=400, length=5, recent_fraction=0.25))
    assert mixed[:100].min() >= 87  # round(400 * 0.25) ring rows come first
    assert mixed[100:].min() < 87


def test_empty_reservoir_serves_everything_from_the_ring():
    memory = make_memory()
    fill(memory, 7)  # one frame short of the first segment
    assert memory.longterm_size == 0
    batch = memory.sample(batch=16, length=4, recent_fraction=0.0)
    assert batch["obs"].shape == (16, 4, 1)


def test_reservoir_is_a_roughly_uniform_sample_of_the_whole_life():
    memory = make_memory(recent_capacity=64, longterm_capacity=500, segment_length=4, seed=3)
    life = 40_000  # 10,000 segments offered for 500 slots
    for i in range(life):
        memory.add(np.array([i]), action=0, reward=0.0, first=False)
    starts = memory.state_dict()["longterm"]["obs"][:, 0, 0]
    assert len(np.unique(starts)) == 500
    counts, _ = np.histogram(starts, bins=10, range=(0, life))
    # 50 expected per bin, standard deviation about 7: a loose bound that still catches bias
    # towards the start (no replacement) or the end (replacing too eagerly).
    assert counts.min() >= 25 and counts.max() <= 75, counts


def test_sampled_fields_carry_actions_rewards_and_flags():
    memory = make_memory(longterm_capacity=100)
    fill(memory, 137)
    for fraction in (1.0, 0.0):
        batch = memory.sample(batch=300, length=8, recent_fraction=fraction)
        index = frame_index(batch)
        assert batch["obs"].dtype == np.int64
        assert batch["action"].dtype == np.int64 and batch["action"].shape == (300, 8)
        assert batch["reward"].dtype == np.float32
        assert batch["first"].dtype == bool and batch["terminal"].dtype == bool
        np.testing.assert_array_equal(batch["action"], index % 4)
        np.testing.assert_array_equal(batch["reward"], index * 0.5)
        np.testing.assert_array_equal(batch["first"], index % 10 == 0)
        np.testing.assert_array_equal(batch["terminal"], index % 10 == 9)
        assert batch["first"].any() and batch["terminal"].any()


def test_default_dtype_and_image_observations():
    memory = Memory((4, 4, 3), recent_capacity=20, longterm_capacity=2, segment_length=4)
    for i in range(12):
        memory.add(np.full((4, 4, 3), i), action=1, reward=1.0, first=i == 0)
    batch = memory.sample(batch=3, length=4, recent_fraction=0.5)
    assert batch["obs"].shape == (3, 4, 4, 4, 3) and batch["obs"].dtype == np.float32


def test_latest_returns_the_newest_frames_as_a_batch_of_one():
    memory = make_memory()
    fill(memory, 5)
    batch = memory.latest(3)
    assert frame_index(batch).tolist() == [[2, 3, 4]]
    assert {key: value.shape for key, value in batch.items()} == {
        "obs": (1, 3, 1),
        "action": (1, 3),
        "reward": (1, 3),
        "first": (1, 3),
        "terminal": (1, 3),
        "source": (1, 3),
    }
    fill(memory, 100, start=5)  # wraps the ring twice
    assert frame_index(memory.latest(4)).tolist() == [[101, 102, 103, 104]]
    with pytest.raises(ValueError, match="length"):
        memory.latest(51)


def test_state_dict_round_trip_continues_identically():
    original = make_memory(longterm_capacity=3, seed=7)
    fill(original, 90)
    state = original.state_dict()
    restored = make_memory(longterm_capacity=3, seed=12345)  # the seed must not matter
    restored.load_state_dict(state)

    for memory in (original, restored):
        fill(memory, 45, start=90)  # wraps the ring and keeps replacing reservoir segments
    assert original.frames_seen == restored.frames_seen == 135
    for _ in range(3):
        a = original.sample(batch=32, length=6, recent_fraction=0.5)
        b = restored.sample(batch=32, length=6, recent_fraction=0.5)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_state_dict_is_compact_and_plain():
    memory = make_memory(recent_capacity=1000, longterm_capacity=100)
    fill(memory, 20)
    state = memory.state_dict()
    assert state["recent"]["obs"].shape == (20, 1)
    assert state["longterm"]["obs"].shape == (2, 8, 1)

    def check_plain(value):
        if isinstance(value, dict):
            for item in value.values():
                check_plain(item)
        elif isinstance(value, list):
            for item in value:
                check_plain(item)
        else:
            assert isinstance(value, np.ndarray | int | float | bool | str), type(value)

    check_plain(state)


def test_state_survives_a_checkpoint_file(tmp_path):
    original = make_memory(seed=1)
    fill(original, 77)
    save_checkpoint(tmp_path, 77, {"memory": original.state_dict()})
    _, state, _ = load_latest_checkpoint(tmp_path)
    restored = make_memory(seed=2)
    restored.load_state_dict(state["memory"])
    a = original.sample(batch=16, length=8, recent_fraction=0.5)
    b = restored.sample(batch=16, length=8, recent_fraction=0.5)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_loading_into_a_memory_of_another_shape_is_refused():
    memory = make_memory()
    fill(memory, 10)
    with pytest.raises(ValueError, match="recent_capacity"):
        make_memory(recent_capacity=60).load_state_dict(memory.state_dict())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"recent_capacity": 0}, "recent_capacity"),
        ({"longterm_capacity": 0}, "longterm_capacity"),
        ({"segment_length": 1}, "segment_length"),
        ({"recent_capacity": 4, "segment_length": 8}, "recent_capacity"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_memory(**kwargs)


def test_bad_sampling_arguments_raise():
    memory = make_memory()
    fill(memory, 5)
    with pytest.raises(ValueError, match="length"):
        memory.sample(batch=4, length=9)  # longer than a segment
    with pytest.raises(ValueError, match="length"):
        memory.sample(batch=4, length=0)
    with pytest.raises(ValueError, match="recent_fraction"):
        memory.sample(batch=4, length=2, recent_fraction=1.5)
    with pytest.raises(ValueError, match="recent_fraction"):
        memory.sample(batch=4, length=2, recent_fraction=-0.1)
    with pytest.raises(ValueError, match="batch"):
        memory.sample(batch=0, length=2)
    assert not memory.can_sample(6)
    with pytest.raises(ValueError, match="only 5 frames"):
        memory.sample(batch=4, length=6)
    with pytest.raises(ValueError, match="shape"):
        memory.add(np.zeros(2), action=0, reward=0.0, first=True)


def test_the_source_of_each_action_is_kept_for_imitation_weights():
    memory = make_memory()
    for i in range(10):
        memory.add(np.array([float(i)]), action=0, reward=0.0, first=i == 0, source=i % 3 - 1)
    batch = memory.latest(10)
    assert batch["source"].tolist() == [[i % 3 - 1 for i in range(10)]]
    restored = make_memory()
    restored.load_state_dict(memory.state_dict())
    assert restored.latest(10)["source"].tolist() == batch["source"].tolist()


def test_a_half_life_draws_ring_windows_with_exponentially_falling_odds_by_age():
    memory = make_memory(recent_capacity=5_000, longterm_capacity=4, segment_length=8)
    fill(memory, 5_000)
    starts = frame_index(memory.sample(batch=20_000, length=8, half_life=100.0))[:, 0]
    ages = 4_992 - starts  # the newest window starts at frame 4,992
    assert ages.min() >= 0
    assert 0.45 < np.mean(ages < 100) < 0.55  # half the draws are younger than one half-life
    assert 0.70 < np.mean(ages < 200) < 0.80  # three quarters younger than two
    uniform = frame_index(memory.sample(batch=20_000, length=8))[:, 0]
    assert 0.4 < np.mean(4_992 - uniform < 2_496) < 0.6
    with pytest.raises(ValueError, match="half_life"):
        memory.sample(batch=4, length=8, half_life=0.0)
