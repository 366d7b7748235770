"""Behaviour of the built-in world, Nursery v1."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import lifelong.worlds.nursery as nursery_module
from lifelong.worlds.nursery import Nursery

CHANNEL = {name: i for i, name in enumerate(Nursery.CHANNELS)}
STAY, UP, RIGHT, DOWN, LEFT = range(5)
MOVES = {STAY: (0, 0), UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}


def run(env: Nursery, actions: list[int]) -> list[tuple[np.ndarray, float, dict[str, Any]]]:
    trace = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert not terminated and not truncated
        trace.append((obs, reward, info))
    return trace


def assert_same_trace(first: list, second: list) -> None:
    assert len(first) == len(second)
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b
        assert info_a == info_b


def random_actions(n: int, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(0, 5, size=n).tolist()


def arrange(env: Nursery, **changes: Any) -> None:
    """Put the world into a hand-made situation by editing and reloading its state.

    Everything not named is moved into the bottom row, out of the way of the agent at (2, 2).
    """
    state = env.state_dict()
    bottom = env.size - 2
    spare = iter((bottom, x) for x in range(1, env.size - 1))
    state.update(
        agent=[2, 2],
        teacher=list(next(spare)),
        tv=list(next(spare)),
        hazards=[list(next(spare)) for _ in state["hazards"]],
        food_a=[list(next(spare)) for _ in state["food_a"]],
        food_b=[list(next(spare)) for _ in state["food_b"]],
        energy=0.5,
        pain=0.0,
    )
    state.update(changes)
    env.load_state_dict(state)


def small_env(**kwargs: Any) -> Nursery:
    """A 13x13 map with one food of each kind and one hazard, so `arrange` has room."""
    params = {"size": 13, "n_food": 1, "n_hazards": 1} | kwargs
    env = Nursery(**params)
    env.reset(seed=0)
    return env


def test_same_seed_same_trajectory_and_different_seed_differs() -> None:
    actions = random_actions(500)
    traces = []
    for seed in (7, 7, 8):
        env = Nursery()
        obs, info = env.reset(seed=seed)
        traces.append([(obs, 0.0, info), *run(env, actions)])
    assert_same_trace(traces[0], traces[1])
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(traces[0], traces[2], strict=True))


def test_passes_gymnasium_env_checker() -> None:
    env = gymnasium.make("lifelong/Nursery-v1", render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


def test_observations_stay_in_space_and_life_never_ends() -> None:
    env = Nursery()
    obs, info = env.reset(seed=1)
    assert obs in env.observation_space
    for obs, _, info in run(env, random_actions(5000, seed=1)):
        assert obs.dtype == np.float32 and obs.shape == (7, 7, 8)
        assert env.observation_space.contains(obs)
        assert np.all(obs[:, :, CHANNEL["energy"]] == np.float32(info["body"]["energy"]))
        assert np.all(obs[:, :, CHANNEL["pain"]] == np.float32(info["body"]["pain"]))
        assert set(info) <= {"body", "shift", "fainted", "ate", "teacher"}
        assert info["ate"] in (None, "food_a", "food_b")


def test_view_outside_the_map_reads_as_wall() -> None:
    env = small_env()
    arrange(env, agent=[1, 1])
    obs, *_ = env.step(STAY)
    walls = obs[:, :, CHANNEL["wall"]]
    assert np.all(walls[:3, :] == 1.0) and np.all(walls[:, :3] == 1.0)
    assert np.all(walls[3:, 3:] == 0.0)


def test_season_flips_exactly_at_multiples_of_season_length() -> None:
    env = Nursery(season_length=7)
    _, info = env.reset(seed=0)
    assert info["shift"] == 0
    shifts = [info["shift"] for _, _, info in run(env, random_actions(40))]
    assert shifts == [(t // 7) % 2 for t in range(1, 41)]


@pytest.mark.parametrize("season", [0, 1])
def test_nutritious_food_restores_energy_and_rewards(season: int) -> None:
    env = small_env(season_length=50)
    kind = ("food_a", "food_b")[season]
    arrange(env, **{kind: [[2, 3]]}, step=50 * season)
    _, reward, _, _, info = env.step(RIGHT)
    assert info["shift"] == season and info["ate"] == kind
    assert reward == pytest.approx(env.food_energy)
    assert info["body"]["energy"] == pytest.approx(0.5 - env.energy_decay + env.food_energy)
    assert env.state_dict()[kind] != [[2, 3]]


@pytest.mark.parametrize("season", [0, 1])
def test_toxic_food_costs_energy_and_reward(season: int) -> None:
    env = small_env(season_length=50)
    kind = ("food_b", "food_a")[season]
    arrange(env, **{kind: [[3, 2]]}, step=50 * season)
    _, reward, _, _, info = env.step(DOWN)
    assert info["ate"] == kind
    assert reward == pytest.approx(-env.toxic_energy)
    assert info["body"]["energy"] == pytest.approx(0.5 - env.energy_decay - env.toxic_energy)


def test_eating_when_nearly_full_gains_only_what_fits() -> None:
    env = small_env()
    arrange(env, food_a=[[1, 2]], energy=1.0)
    _, reward, _, _, info = env.step(UP)
    assert info["body"]["energy"] == pytest.approx(1.0)
    assert reward == pytest.approx(env.energy_decay)


def test_hazard_hurts_while_standing_and_pain_then_decays() -> None:
    env = small_env()
    arrange(env, hazards=[[2, 1]])
    rewards, pains = [], []
    for action in (LEFT, STAY, RIGHT, STAY):
        obs, reward, _, _, info = env.step(action)
        rewards.append(reward)
        pains.append(info["body"]["pain"])
        assert np.all(obs[:, :, CHANNEL["pain"]] == np.float32(info["body"]["pain"]))
    assert rewards == pytest.approx([-0.5, -0.5, 0.0, 0.0])
    assert pains == pytest.approx([0.5, 0.5, 0.4, 0.32])


def test_running_out_of_energy_faints_and_respawns_with_penalty() -> None:
    env = small_env()
    arrange(env, energy=0.004)
    _, reward, _, _, info = env.step(STAY)
    assert info["fainted"] is True
    assert reward == pytest.approx(-env.faint_penalty)
    assert info["body"]["energy"] == pytest.approx(0.5)
    state = env.state_dict()
    assert state["agent"] != [2, 2]
    assert state["agent"] not in state["hazards"] + state["food_a"] + state["food_b"]
    _, reward, _, _, info = env.step(STAY)
    assert info["fainted"] is False and reward == 0.0


def test_energy_decays_each_step_without_reward() -> None:
    env = small_env()
    arrange(env, energy=0.5)
    rewards = [reward for _, reward, _ in run(env, [STAY] * 10)]
    assert rewards == [0.0] * 10
    assert env.state_dict()["energy"] == pytest.approx(0.5 - 10 * env.energy_decay)


def test_noisy_tv_changes_every_step_and_is_absent_when_disabled() -> None:
    env = small_env()
    arrange(env, tv=[2, 4])
    values = [obs[3, 5, CHANNEL["tv"]] for obs, _, _ in run(env, [STAY] * 20)]
    assert len(set(values)) == 20
    assert all(0.0 <= v <= 1.0 for v in values)

    quiet = Nursery(noisy_tv=False)
    quiet.reset(seed=0)
    assert all(not obs[:, :, CHANNEL["tv"]].any() for obs, _, _ in run(quiet, random_actions(300)))


def test_teacher_info_only_in_view_and_its_action_moves_it() -> None:
    env = Nursery()
    env.reset(seed=2)
    seen = unseen = 0
    for action in random_actions(1000, seed=2):
        before = env.state_dict()["teacher"]
        obs, _, _, _, info = env.step(action)
        state = env.state_dict()
        dy = state["teacher"][0] - state["agent"][0]
        dx = state["teacher"][1] - state["agent"][1]
        in_view = abs(dy) <= 3 and abs(dx) <= 3
        assert ("teacher" in info) == in_view
        if in_view:
            seen += 1
            assert info["teacher"]["offset"] == (dy, dx)
            move = MOVES[info["teacher"]["action"]]
            assert state["teacher"] == [before[0] + move[0], before[1] + move[1]]
            assert obs[3 + dy, 3 + dx, CHANNEL["teacher"]] == 1.0
        else:
            unseen += 1
            assert not obs[:, :, CHANNEL["teacher"]].any()
    assert seen > 50 and unseen > 50


def test_no_teacher_means_no_teacher_signal() -> None:
    env = Nursery(teacher=False)
    env.reset(seed=0)
    for obs, _, info in run(env, random_actions(300)):
        assert "teacher" not in info
        assert not obs[:, :, CHANNEL["teacher"]].any()


def test_teacher_finds_nutritious_food_far_better_than_a_random_walker() -> None:
    env = Nursery(season_length=500, teacher_patience=1)
    env.reset(seed=3)
    random_meals = 0
    since_teacher_meal = longest_gap = 0
    meals = 0
    for _, _, info in run(env, random_actions(2000, seed=3)):
        if info["ate"] == ("food_a", "food_b")[info["shift"]]:
            random_meals += 1
        since_teacher_meal += 1
        if env.state_dict()["teacher_meals"] > meals:
            meals += 1
            longest_gap = max(longest_gap, since_teacher_meal)
            since_teacher_meal = 0
    assert meals > 5 * max(random_meals, 1)
    assert longest_gap <= 60


def test_state_dict_round_trip_continues_bit_identically() -> None:
    env = Nursery()
    env.reset(seed=4)
    run(env, random_actions(300, seed=4))
    state = env.state_dict()
    later = random_actions(200, seed=5)
    original = run(env, later)

    restored = Nursery()
    restored.load_state_dict(state)
    assert_same_trace(original, run(restored, later))

    env.load_state_dict(state)
    assert_same_trace(original, run(env, later))


def test_state_dict_holds_only_plain_values_and_is_a_copy() -> None:
    env = Nursery()
    env.reset(seed=0)
    state = env.state_dict()

    def check(value: Any) -> None:
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)
        else:
            assert isinstance(value, (bool, int, float, str, np.ndarray))

    check(state)
    state["rng"]["state"]["state"] = 0
    state["food_a"][0][0] = 99
    assert env.state_dict() != state


def test_state_from_another_configuration_is_refused() -> None:
    state = Nursery(size=11).state_dict()
    with pytest.raises(ValueError, match="config"):
        Nursery(size=13).load_state_dict(state)


def test_render_shows_the_whole_map_in_colour() -> None:
    env = Nursery(render_mode="rgb_array")
    env.reset(seed=0)
    run(env, random_actions(10))
    image = env.render()
    assert image.dtype == np.uint8 and image.shape == (11 * 16, 11 * 16, 3)
    colours = {tuple(c) for c in image.reshape(-1, 3).tolist()}
    assert len(colours) >= 8


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 4}, "size"),
        ({"size": 11.0}, "size"),
        ({"view": 4}, "view"),
        ({"view": 1}, "view"),
        ({"n_food": -1}, "n_food"),
        ({"n_hazards": -2}, "n_hazards"),
        ({"size": 5, "n_food": 4}, "n_food"),
        ({"season_length": 0}, "season_length"),
        ({"energy_decay": -0.1}, "energy_decay"),
        ({"food_energy": float("nan")}, "food_energy"),
        ({"toxic_energy": 2.0}, "toxic_energy"),
        ({"hazard_pain": 1.5}, "hazard_pain"),
        ({"faint_penalty": -1.0}, "faint_penalty"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Nursery(**kwargs)


def test_bad_action_raises() -> None:
    env = Nursery()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(5)


def test_registered_with_gymnasium_and_reimport_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(nursery_module)
    env = gymnasium.make("lifelong/Nursery-v1")
    obs, info = env.reset(seed=0)
    assert obs.shape == (7, 7, 8) and "body" in info
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert not terminated and not truncated
    env.close()


def test_following_the_teacher_feeds_the_learner() -> None:
    """The teacher waits on good food; walking its `follow` moves eats more than wandering."""

    def good_meals(follow: bool) -> int:
        env = Nursery(season_length=500)
        _, info = env.reset(seed=5)
        rng = np.random.default_rng(5)
        meals = 0
        for _ in range(3000):
            teacher = info.get("teacher")
            action = teacher["follow"] if follow and teacher else int(rng.integers(5))
            _, _, _, _, info = env.step(action)
            meals += info["ate"] == ("food_a", "food_b")[info["shift"]]
        return meals

    assert good_meals(follow=True) > 2 * good_meals(follow=False)


def test_teacher_waits_on_nutritious_food_for_its_patience() -> None:
    env = Nursery(teacher_patience=7, season_length=10**6)
    env.reset(seed=1)
    waits = []
    for _ in range(400):
        env.step(0)
        waits.append(env.state_dict()["teacher_wait"])
    assert max(waits) == 6  # eats on the 7th step of waiting, then walks on
