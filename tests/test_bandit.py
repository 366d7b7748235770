"""The piecewise-stationary bandit: segments, means, observations, seeding and saving."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from lifelong.errors import UserError
from lifelong.worlds import WORLDS, make_world
from lifelong.worlds.bandit import PiecewiseBandit


def run(env: PiecewiseBandit, actions: list[int]) -> list[tuple[np.ndarray, float, dict[str, Any]]]:
    trace = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert terminated is False and truncated is False
        trace.append((obs, reward, info))
    return trace


def assert_same_trace(first: list, second: list) -> None:
    assert len(first) == len(second)
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b and info_a == info_b


def random_actions(n: int, arms: int = 5, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(0, arms, size=n).tolist()


def segment_lengths(shifts: list[int]) -> list[int]:
    """Lengths of the complete runs of equal segment indices (the last, cut off, is dropped)."""
    changes = [i for i in range(1, len(shifts)) if shifts[i] != shifts[i - 1]]
    return [b - a for a, b in zip([0, *changes], changes, strict=False)]


def test_spaces_and_the_observation_is_last_action_and_reward() -> None:
    env = PiecewiseBandit(arms=4)
    assert env.action_space.n == 4
    assert env.observation_space.shape == (5,) and env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0.0] * 5 and obs in env.observation_space
    assert info["shift"] == 0 and info["regret"] == 0.0
    actions = random_actions(500, arms=4)
    for action, (obs, reward, info) in zip(actions, run(env, actions), strict=True):
        assert obs.dtype == np.float32 and obs in env.observation_space
        assert obs.tolist() == [float(a == action) for a in range(4)] + [reward]
        assert reward in (0.0, 1.0)
        assert set(info) == {"shift", "best_arm", "means", "regret"}


def test_passes_gymnasium_env_checker() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(PiecewiseBandit())
    # The only complaint: a bare instance has no registry spec to try render modes with.
    assert all("spec" in str(w.message) for w in caught)


def test_changes_happen_exactly_every_n_steps_and_only_then() -> None:
    env = PiecewiseBandit(arms=3, every=7)
    _, first = env.reset(seed=1)
    trace = run(env, random_actions(50, arms=3))
    assert [info["shift"] for _, _, info in trace] == [t // 7 for t in range(50)]
    means = [first["means"]] + [info["means"] for _, _, info in trace]
    # means[t + 1] is the means at step t: a new tuple at steps 7, 14, ..., equal ones between.
    changed = [t for t in range(50) if means[t + 1] != means[t]]
    assert changed == [7, 14, 21, 28, 35, 42, 49]
    assert env.steps == 50


def test_the_best_arm_changes_at_every_change() -> None:
    env = PiecewiseBandit(arms=2, every=1)  # the hardest case: one in two draws is refused
    _, info = env.reset(seed=0)
    bests = [i["best_arm"] for _, _, i in run(env, [0] * 400)]
    assert bests[0] == info["best_arm"]  # step 0 is still segment 0, then every step is new
    assert all(a != b for a, b in zip(bests, bests[1:], strict=False))

    env = PiecewiseBandit(arms=5, every=3)
    env.reset(seed=0)
    trace = run(env, random_actions(600))
    by_segment = {info["shift"]: info["best_arm"] for _, _, info in trace}
    assert len(by_segment) == 200
    assert all(by_segment[k] != by_segment[k + 1] for k in range(199))
    assert set(by_segment.values()) == set(range(5))


def test_means_are_uniform_in_the_unit_interval_and_truth_is_consistent() -> None:
    env = PiecewiseBandit(arms=5, every=2)
    env.reset(seed=3)
    actions = random_actions(4000, seed=3)
    drawn = []
    for action, (_, _, info) in zip(actions, run(env, actions), strict=True):
        means = info["means"]
        assert type(means) is tuple and len(means) == 5
        assert all(type(m) is float and 0.0 <= m <= 1.0 for m in means)
        assert info["best_arm"] == int(np.argmax(means))
        assert info["regret"] == pytest.approx(max(means) - means[action])
        assert info["regret"] >= 0.0 and (info["regret"] == 0.0) == (action == info["best_arm"])
        drawn.extend(means)
    values = np.array(drawn).reshape(-1, 5)[::2].ravel()  # each segment once (it lasts 2 steps)
    assert values.min() < 0.01 and values.max() > 0.99
    assert np.mean(values) == pytest.approx(0.5, abs=0.03)


def test_rewards_are_bernoulli_with_the_arm_mean() -> None:
    env = PiecewiseBandit(arms=3, every=100_000)
    _, info = env.reset(seed=0)
    for arm in range(3):
        rewards = [reward for _, reward, _ in run(env, [arm] * 5000)]
        assert np.mean(rewards) == pytest.approx(info["means"][arm], abs=0.025)


def test_pareto_segments_vary_with_the_asked_mean() -> None:
    env = PiecewiseBandit(arms=3, every=20, pareto=3.0)
    env.reset(seed=0)
    shifts = [info["shift"] for _, _, info in run(env, [0] * 40_000)]
    lengths = segment_lengths(shifts)
    assert len(lengths) > 1500
    assert np.mean(lengths) == pytest.approx(20, abs=1.5)
    assert min(lengths) < 14 and max(lengths) > 60  # x_m = 20 * 2/3 and a heavy tail
    assert all(b == a + 1 for a, b in zip(shifts, shifts[1:], strict=False) if b != a)


@pytest.mark.parametrize("kwargs", [{}, {"arms": 3, "every": 10, "pareto": 1.5}])
def test_same_seed_same_life_and_another_seed_differs(kwargs: dict[str, Any]) -> None:
    actions = random_actions(3000, arms=kwargs.get("arms", 5))
    traces = []
    for seed in (7, 7, 8):
        env = PiecewiseBandit(**kwargs)
        obs, info = env.reset(seed=seed)
        traces.append([(obs, 0.0, info), *run(env, actions)])
    assert_same_trace(traces[0], traces[1])
    assert traces[0][0][2]["means"] != traces[2][0][2]["means"]
    rewards = [[reward for _, reward, _ in trace] for trace in traces]
    assert rewards[0] != rewards[2]

    env = PiecewiseBandit(**kwargs)  # a seeded reset starts the same life again
    env.reset(seed=7)
    run(env, actions[:100])
    obs, info = env.reset(seed=7)
    assert_same_trace(traces[0], [(obs, 0.0, info), *run(env, actions)])


@pytest.mark.parametrize("kwargs", [{"every": 25}, {"arms": 4, "every": 15, "pareto": 2.0}])
def test_state_dict_round_trip_continues_identically(kwargs: dict[str, Any]) -> None:
    arms = kwargs.get("arms", 5)
    env = PiecewiseBandit(**kwargs)
    env.reset(seed=4)
    run(env, random_actions(310, arms=arms, seed=4))
    state = env.state_dict()
    json.dumps(state)  # plain data only
    later = random_actions(400, arms=arms, seed=5)
    original = run(env, later)
    assert len({info["shift"] for _, _, info in original}) > 3  # changes fall in the replay

    restored = PiecewiseBandit(**kwargs)
    restored.load_state_dict(state)
    assert_same_trace(original, run(restored, later))
    assert restored.steps == env.steps == 710

    env.load_state_dict(state)  # the saved state is a copy: continuing did not change it
    assert_same_trace(original, run(env, later))


def test_state_from_another_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="config"):
        PiecewiseBandit(arms=3).load_state_dict(PiecewiseBandit(arms=4).state_dict())
    with pytest.raises(ValueError, match="config"):
        PiecewiseBandit(pareto=2.0).load_state_dict(PiecewiseBandit().state_dict())


def test_bad_action_raises() -> None:
    env = PiecewiseBandit(arms=3)
    env.reset(seed=0)
    for action in (-1, 3):
        with pytest.raises(ValueError, match="action"):
            env.step(action)


def test_is_a_base_world_built_from_a_spec() -> None:
    assert "bandit" in WORLDS
    env = make_world("bandit(arms=3,every=1e3)")
    assert isinstance(env, PiecewiseBandit)
    assert (env.arms, env.every, env.pareto) == (3, 1000, None)
    env = make_world("bandit(pareto=2)")
    assert (env.arms, env.every, env.pareto) == (5, 1000, 2.0)
    assert env.reset(seed=0)[0].shape == (6,)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bandit(arms=1)", "arms=1 is invalid"),
        ("bandit(arms=2.5)", "arms=2.5 is invalid"),
        ("bandit(arms=true)", "arms=True is invalid"),
        ("bandit(every=0)", "every=0 is invalid"),
        ("bandit(every=-5)", "every=-5 is invalid"),
        ("bandit(every=many)", "every='many' is invalid"),
        ("bandit(pareto=1)", "pareto=1 is invalid"),
        ("bandit(pareto=0.5)", "pareto=0.5 is invalid"),
        ("bandit(pareto=.inf)", "pareto=inf is invalid"),
        ("bandit(pareto=heavy)", "pareto='heavy' is invalid"),
        ("bandit(arm=3)", "unknown parameter 'arm'"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(spec: str, expected: str) -> None:
    with pytest.raises(UserError) as caught:
        make_world(spec)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert "bandit" in message
