"""The nights wrapper: still, dark spells in which acting teaches nothing, saved exactly."""

from __future__ import annotations

import numpy as np
import pytest

from lifelong.baselines import oracle_for
from lifelong.errors import UserError
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world

STILL = "nursery-small(teachers=0, season_length=1000000000)"


@pytest.mark.parametrize(
    "spec", [f"{STILL}+nights(day=50, night=100)", "lure+nights(day=7, night=13)"]
)
def test_passes_the_world_checker(spec: str) -> None:
    report = check_world(spec, steps=600)
    assert report.passed, [check for check in report.checks if not check[1]]
    assert (
        "continues identically"
        in dict((n, d) for n, _, d in report.checks)["state_dict round trip"]
    )
    assert report.changes == 0  # a night is not a change of regime


def test_at_night_the_world_is_dark_still_and_pays_nothing() -> None:
    world = make_world(f"{STILL}+nights(day=20, night=30)")
    inner = world.unwrapped
    world.reset(seed=0)
    rng = np.random.default_rng(0)
    for step in range(100):
        night = step % 50 >= 20
        before = inner.state_dict()
        obs, reward, terminated, truncated, info = world.step(int(rng.integers(6)))
        assert info["night"] is night and not terminated and not truncated
        if night:
            assert not obs.any() and reward == 0.0
            assert inner.state_dict() == before  # the world beneath was not stepped
            assert "body" in info and "shift" in info  # the last ones, kept through the night
        else:
            assert obs.any()


def test_without_night_it_is_the_world_itself() -> None:
    lit, bare = make_world("lure+nights(night=0)"), make_world("lure")
    lit.reset(seed=4)
    bare.reset(seed=4)
    for action in np.random.default_rng(1).integers(4, size=500):
        a, b = lit.step(int(action)), bare.step(int(action))
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1] == b[1]


def test_learning_signal_is_scarce_a_third_of_the_steps_are_lit() -> None:
    world = make_world("lure(distance=3)+nights(day=500, night=1000)")
    act = oracle_for(world, "lure")
    world.reset(seed=0)
    rewards = [world.step(act())[1] for _ in range(3000)]
    lit = np.array([step % 1500 < 500 for step in range(3000)])
    assert sum(rewards) == pytest.approx(sum(r for r, day in zip(rewards, lit, strict=True) if day))
    assert np.mean(rewards) == pytest.approx(1 / 9, abs=1e-3)  # the ceiling, lit a third


def test_a_restored_world_continues_exactly_through_the_night() -> None:
    spec = f"{STILL}+nights(day=30, night=40)"
    first = make_world(spec)
    first.reset(seed=2)
    rng = np.random.default_rng(0)
    for action in rng.integers(6, size=45):  # stop in the middle of the first night
        first.step(int(action))
    copy = make_world(spec)
    copy.load_state_dict(first.state_dict())
    for action in rng.integers(6, size=150):
        a, b = first.step(int(action)), copy.step(int(action))
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4] and a[4]["night"] == b[4]["night"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("lure+nights(day=0)", "day=0 is invalid"),
        ("lure+nights(night=-1)", "night=-1 is invalid"),
        ("lure+nights(night=2.5)", "night=2.5 is invalid"),
        ("lure+nights(dusk=3)", "unknown parameter 'dusk'"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(spec: str, says: str) -> None:
    with pytest.raises(UserError, match=says) as caught:
        make_world(spec)
    assert "\n" not in str(caught.value)
