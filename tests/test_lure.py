"""The lure world: layout, the trap a one-step policy falls into, its oracle, saving, refusals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lifelong.baselines import oracle_for
from lifelong.errors import UserError
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world
from lifelong.worlds.lure import Lure


def mean_reward(world: Lure, policy: Callable[[], int], steps: int, seed: int) -> float:
    world.reset(seed=seed)
    total = 0.0
    for _ in range(steps):
        _, reward, terminated, truncated, _ = world.step(policy())
        assert not terminated and not truncated  # a life is one stream of trials
        total += reward
    return total / steps


def where(world: Lure, channel: int) -> list[tuple[int, int]]:
    """The cells marked in one channel of the egocentric view, as offsets from the agent."""
    obs = world._observation()
    centre = world.size - 1
    marked = np.argwhere(obs[:, :, channel] > 0)
    return [(int(y) - centre, int(x) - centre) for y, x in marked]


def greedy_one_step(world: Lure, rng: np.random.Generator) -> Callable[[], int]:
    """A policy that sees one step ahead: an action that pays now if there is one, else random
    (a habit whose values have not yet reached beyond the next step)."""

    def act() -> int:
        paying = []
        for action in range(4):
            cell = world._moved(world._agent, action)
            reward = world.goal if cell == world._goal else world.lure if cell == world._lure else 0
            paying.append(reward)
        best = max(paying)
        if best > 0:
            return int(np.argmax(paying))
        return int(rng.integers(4))

    return act


@pytest.mark.parametrize("spec", ["lure", "lure(lure=0, distance=1)", "lure(size=9, distance=5)"])
def test_passes_the_world_checker(spec: str) -> None:
    report = check_world(spec, steps=500)
    assert report.passed, [check for check in report.checks if not check[1]]
    assert (
        "continues identically"
        in dict((n, d) for n, _, d in report.checks)["state_dict round trip"]
    )


def test_every_trial_puts_the_goal_at_its_distance_and_the_lure_next_to_the_start() -> None:
    world = Lure(size=7, distance=3)
    world.reset(seed=1)
    for _ in range(300):
        (lure,), (goal,) = where(world, 1), where(world, 2)  # offsets from the agent
        assert abs(goal[0]) + abs(goal[1]) == 3 and abs(lure[0]) + abs(lure[1]) == 1
        (y, x) = world._agent
        assert (y + goal[0], x + goal[1]) == world._goal
        # The view is centred on the agent; outside the grid is marked.
        span = range(-(world.size - 1), world.size)
        off_grid = {
            (dy, dx)
            for dy in span
            for dx in span
            if not (0 <= y + dy < world.size and 0 <= x + dx < world.size)
        }
        assert set(where(world, 0)) == off_grid
        world.reset()  # a fresh trial


def test_the_twin_has_no_lure_and_the_goal_one_move_away() -> None:
    world = Lure(lure=0, distance=1)
    world.reset(seed=0)
    assert where(world, 1) == []
    ((dy, dx),) = where(world, 2)
    assert abs(dy) + abs(dx) == 1


def test_the_lure_traps_a_one_step_policy_and_the_oracle_earns_the_ceiling() -> None:
    assert Lure().rate == pytest.approx(0.2)  # the default: distance 5
    world = Lure(distance=3)  # lure 0.1, goal 1.0: ceiling 1/3 per step
    greedy = mean_reward(world, greedy_one_step(world, np.random.default_rng(0)), 3000, seed=0)
    oracle = mean_reward(world, world.oracle_action, 3000, seed=0)
    rng = np.random.default_rng(0)
    random = mean_reward(world, lambda: int(rng.integers(4)), 3000, seed=0)
    assert greedy == pytest.approx(0.1, abs=1e-9)  # the lure, every trial, one step each
    assert oracle == pytest.approx(1 / 3, abs=1e-3) and world.rate == pytest.approx(1 / 3)
    assert random < 0.03 < 0.1 < oracle / 3


def test_in_the_twin_the_one_step_policy_is_already_optimal() -> None:
    world = Lure(lure=0, distance=1)
    greedy = mean_reward(world, greedy_one_step(world, np.random.default_rng(0)), 1000, seed=0)
    assert greedy == pytest.approx(1.0)
    assert mean_reward(world, world.oracle_action, 1000, seed=0) == pytest.approx(1.0)


def test_when_the_lure_pays_more_per_step_the_oracle_takes_it() -> None:
    world = Lure(distance=5, lure=0.3, goal=1.0)  # 0.3 per step beats 1/5
    assert mean_reward(world, world.oracle_action, 1000, seed=0) == pytest.approx(0.3)


def test_the_oracle_agent_finds_it_through_wrappers() -> None:
    world = make_world("lure+nights(day=10, night=10)")
    act = oracle_for(world, "lure")
    world.reset(seed=0)
    assert act() == world.unwrapped.oracle_action()


def test_a_trial_without_a_reward_ends_after_its_patience() -> None:
    world = Lure(patience=8)
    world.reset(seed=0)
    starts = []
    for step in range(40):
        _, reward, _, _, info = world.step(0)  # always up: into the edge, and stuck there
        if info.get("reached") == "nothing":
            starts.append(step)
        assert reward == 0.0 or info["reached"] in ("lure", "goal")
    assert starts and all(b - a == 8 for a, b in zip(starts, starts[1:], strict=False))


def test_a_restored_world_continues_exactly() -> None:
    first = Lure()
    first.reset(seed=3)
    rng = np.random.default_rng(0)
    for action in rng.integers(4, size=100):
        first.step(int(action))
    copy = Lure()
    copy.load_state_dict(first.state_dict())
    for action in rng.integers(4, size=200):
        a, b = first.step(int(action)), copy.step(int(action))
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    with pytest.raises(ValueError, match="config"):
        Lure(size=9).load_state_dict(first.state_dict())


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("lure(size=4)", "size=4 is invalid"),
        ("lure(distance=0)", "distance=0 is invalid"),
        ("lure(distance=7)", "distance=7 is invalid"),
        ("lure(lure=1.0)", "lure=1.0 is invalid"),
        ("lure(lure=-0.1)", "lure=-0.1 is invalid"),
        ("lure(goal=0)", "goal=0 is invalid"),
        ("lure(size=7.5)", "size=7.5 is invalid"),
        ("lure(patience=2)", "patience=2 is invalid"),
        ("lure(colour=red)", "unknown parameter 'colour'"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(spec: str, says: str) -> None:
    with pytest.raises(UserError, match=says) as caught:
        make_world(spec)
    assert "\n" not in str(caught.value)
