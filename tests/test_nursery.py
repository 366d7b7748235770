"""Behaviour of the built-in world, the Nursery."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import lifelong.worlds.nursery as nursery_module
from lifelong.worlds.nursery import PRESETS, Nursery

CHANNEL = {name: i for i, name in enumerate(Nursery.CHANNELS)}
STAY, UP, RIGHT, DOWN, LEFT, REST = range(6)
MOVES = {STAY: (0, 0), UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1), REST: (0, 0)}
INFO_KEYS = {
    *("body", "shift", "fainted", "ate", "bitten", "storm", "teacher", "teachers"),
    *("position", "reachable", "tv_in_view", "truth", "predator_offset"),
}
# Everything that moves or happens by itself switched off: for hand-made situations.
QUIET = {
    "predator": False,
    "storm_mean_interval": 0,
    "slip": 0.0,
    "day_length": 0,
    "teachers": 1,
}


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
    return np.random.default_rng(seed).integers(0, 6, size=n).tolist()


def arrange(env: Nursery, teacher_cells: list[list[int]] | None = None, **changes: Any) -> None:
    """Put the world into a hand-made situation by editing and reloading its state.

    Everything not named is moved into the bottom rows, out of the way of the agent at (2, 2).
    """
    state = env.state_dict()
    inner = range(1, env.size - 1)
    spare = iter((y, x) for y in reversed(inner) for x in inner)
    for teacher in state["teachers"]:
        teacher.update(pos=list(next(spare)), target=None, wait=0)
    for teacher, cell in zip(state["teachers"], teacher_cells or [], strict=False):
        teacher["pos"] = cell
    if env.noisy_tv:
        state["tv"] = list(next(spare))
    if env.predator:
        state["predator"] = list(next(spare))
    state.update(
        agent=[2, 2],
        hazards=[list(next(spare)) for _ in state["hazards"]],
        food_a=[list(next(spare)) for _ in state["food_a"]],
        food_b=[list(next(spare)) for _ in state["food_b"]],
        energy=0.5,
        pain=0.0,
    )
    state.update(changes)
    env.load_state_dict(state)


def small_env(**kwargs: Any) -> Nursery:
    """A quiet 13x13 map with one food of each kind and one hazard, so `arrange` has room."""
    params = QUIET | {"size": 13, "n_food": 1, "n_hazards": 1} | kwargs
    env = Nursery(**params)
    env.reset(seed=0)
    return env


# ------------------------------------------------------------------------------ the whole world


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
    assert env.action_space.n == 6 and Nursery.ACTIONS[Nursery.rest_action] == "rest"
    assert Nursery.noop_action == 0
    for obs, _, info in run(env, random_actions(5000, seed=1)):
        assert obs.dtype == np.float32 and obs.shape == (7, 7, 10)
        assert env.observation_space.contains(obs)
        body = info["body"]
        assert set(body) == {"energy", "pain", "threat", "night"}
        assert np.all(obs[:, :, CHANNEL["energy"]] == np.float32(body["energy"]))
        assert np.all(obs[:, :, CHANNEL["pain"]] == np.float32(body["pain"]))
        assert 0.0 <= body["threat"] <= 1.0 and body["night"] in (0.0, 1.0)
        assert set(info) <= INFO_KEYS and info["shift"] in (0, 1, 2, 3)
        assert info["ate"] in (None, "food_a", "food_b")


def test_channels_are_one_per_kind_of_thing_then_the_body() -> None:
    assert Nursery.CHANNELS == (
        "wall",
        "food_a",
        "food_b",
        "hazard",
        "tv",
        "teacher_a",
        "teacher_b",
        "predator",
        "energy",
        "pain",
    )


def test_view_outside_the_map_reads_as_wall() -> None:
    env = small_env()
    arrange(env, agent=[1, 1])
    obs, *_ = env.step(STAY)
    walls = obs[:, :, CHANNEL["wall"]]
    assert np.all(walls[:3, :] == 1.0) and np.all(walls[:, :3] == 1.0)
    assert np.all(walls[3:, 3:] == 0.0)


# ------------------------------------------------------------------------------ food and body


def test_season_flips_exactly_at_multiples_of_season_length() -> None:
    env = Nursery(season_length=7, slip=0.0)
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
    assert reward == pytest.approx(env.food_energy + env.meal_reward)
    assert info["body"]["energy"] == pytest.approx(0.5 - env.energy_decay + env.food_energy)
    assert env.state_dict()[kind] != [[2, 3]]


@pytest.mark.parametrize("season", [0, 1])
def test_toxic_food_costs_energy_and_hurts(season: int) -> None:
    env = small_env(season_length=50)
    kind = ("food_b", "food_a")[season]
    arrange(env, **{kind: [[3, 2]]}, step=50 * season)
    _, reward, _, _, info = env.step(DOWN)
    assert info["ate"] == kind
    assert env.toxic_pain > 0  # the default economy: poison costs beyond the energy
    assert reward == pytest.approx(-env.toxic_energy - env.toxic_pain)
    assert info["body"]["energy"] == pytest.approx(0.5 - env.energy_decay - env.toxic_energy)
    assert info["body"]["pain"] == pytest.approx(env.toxic_pain)  # the sickness is felt


def test_a_meal_is_worth_its_price_even_when_full_and_sickness_adds_to_a_hazard() -> None:
    """The meal's reward is not capped by satiety (that cap is what bounded every policy by
    the drain before issue 27); a toxic meal eaten on a hazard hurts by both, pain capped at 1."""
    env = small_env(meal_reward=2.0, toxic_pain=0.3)
    arrange(env, food_a=[[1, 2]], energy=1.0)
    _, reward, _, _, _ = env.step(UP)
    assert reward == pytest.approx(env.energy_decay + 2.0)
    arrange(env, food_b=[[2, 3]], hazards=[[2, 3]])
    _, reward, _, _, info = env.step(RIGHT)
    assert reward == pytest.approx(-env.toxic_energy - 0.3 - env.hazard_pain)
    assert info["body"]["pain"] == pytest.approx(0.8)


def test_without_the_economy_no_policy_earns_more_than_the_drain() -> None:
    """meal_reward = toxic_pain = 0 is the world before issue 27: reward is energy regained,
    so even the oracle, eating as fast as it can, earns at most `energy_decay` per step."""
    env = Nursery(meal_reward=0.0, toxic_pain=0.0, predator=False)
    env.reset(seed=0)
    oracle = env.scripted_oracle()
    total = sum(env.step(oracle())[1] for _ in range(2000))
    assert 0 < total / 2000 <= env.energy_decay


def test_eating_when_nearly_full_gains_only_what_fits() -> None:
    env = small_env()
    arrange(env, food_a=[[1, 2]], energy=1.0)
    _, reward, _, _, info = env.step(UP)
    assert info["body"]["energy"] == pytest.approx(1.0)
    assert reward == pytest.approx(env.energy_decay + env.meal_reward)


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


# ------------------------------------------------------------------------------ rest, day, night


def test_rest_stays_put_and_halves_the_energy_decay_by_day() -> None:
    env = small_env(day_length=10)
    arrange(env, energy=0.5)
    _, reward, _, _, info = env.step(REST)
    assert info["body"]["night"] == 0.0 and reward == 0.0
    assert env.state_dict()["agent"] == [2, 2]
    assert info["body"]["energy"] == pytest.approx(0.5 - 0.5 * env.energy_decay)


def test_rest_is_cheaper_at_night_than_by_day_and_than_staying() -> None:
    env = small_env(day_length=10)
    arrange(env, energy=0.5, step=5)  # the next step, t = 6, is night
    _, _, _, _, info = env.step(REST)
    assert info["body"]["night"] == 1.0
    assert info["body"]["energy"] == pytest.approx(0.5 - 0.2 * env.energy_decay)
    _, _, _, _, info = env.step(STAY)
    assert info["body"]["energy"] == pytest.approx(0.5 - 1.2 * env.energy_decay)


def test_night_darkens_the_world_channels_only() -> None:
    """The same life seen with and without darkness differs exactly by `night_dim` at night."""
    dark, lit = Nursery(day_length=10, night_dim=0.4), Nursery(day_length=10, night_dim=1.0)
    dark.reset(seed=3)
    lit.reset(seed=3)
    actions = random_actions(60, seed=3)
    world = slice(0, CHANNEL["energy"])
    for t, ((obs_d, _, info_d), (obs_l, _, info_l)) in enumerate(
        zip(run(dark, actions), run(lit, actions), strict=True), start=1
    ):
        night = t % 10 >= 5
        assert info_d["body"]["night"] == float(night) == info_l["body"]["night"]
        expected = obs_l[:, :, world] * np.float32(0.4) if night else obs_l[:, :, world]
        np.testing.assert_array_equal(obs_d[:, :, world], expected)
        np.testing.assert_array_equal(obs_d[:, :, CHANNEL["energy"] :], obs_l[:, :, 8:])


def test_no_night_when_day_length_is_zero() -> None:
    env = Nursery(day_length=0)
    env.reset(seed=0)
    assert all(info["body"]["night"] == 0.0 for _, _, info in run(env, random_actions(500)))


# ------------------------------------------------------------------------------ predator


def test_predator_approaches_across_a_hazard_looms_and_bites() -> None:
    env = small_env(predator=True, predator_speed=1.0)
    arrange(env, predator=[2, 6], hazards=[[2, 4]])
    threats, cells = [], []
    for _ in range(3):
        obs, reward, _, _, info = env.step(STAY)
        threats.append(info["body"]["threat"])
        cells.append(env.state_dict()["predator"])
        dx = cells[-1][1] - 2
        assert obs[3, 3 + dx, CHANNEL["predator"]] == 1.0 and reward == 0.0
    assert cells == [[2, 5], [2, 4], [2, 3]]  # straight at the agent, over the hazard
    assert threats == pytest.approx([0.25, 0.5, 0.75])

    _, reward, _, _, info = env.step(STAY)
    assert info["bitten"] is True
    assert reward == pytest.approx(-env.predator_pain)
    assert info["body"]["pain"] == pytest.approx(0.8)
    assert info["body"]["threat"] == 0.0  # it has slunk off out of view
    predator = env.state_dict()["predator"]
    assert abs(predator[0] - 2) + abs(predator[1] - 2) >= env.view

    _, reward, _, _, info = env.step(STAY)
    assert info["bitten"] is False and reward == 0.0
    assert info["body"]["pain"] == pytest.approx(0.64)


def test_walking_into_a_still_predator_is_a_bite_and_speed_sets_its_pace() -> None:
    env = small_env(predator=True, predator_speed=0.0)
    arrange(env, predator=[2, 3])
    _, _, _, _, info = env.step(STAY)
    assert env.state_dict()["predator"] == [2, 3]  # speed 0: it never moves
    _, reward, _, _, info = env.step(RIGHT)
    assert info["bitten"] and reward == pytest.approx(-0.8)

    env = small_env(predator=True, predator_speed=0.5)
    moves = 0
    for _ in range(400):
        arrange(env, predator=[11, 11])
        env.step(STAY)
        moves += env.state_dict()["predator"] != [11, 11]
    assert 150 < moves < 250


def test_no_predator_means_no_threat_and_an_empty_channel() -> None:
    env = Nursery(predator=False)
    env.reset(seed=0)
    for obs, _, info in run(env, random_actions(500)):
        assert info["body"]["threat"] == 0.0 and not info["bitten"]
        assert not obs[:, :, CHANNEL["predator"]].any()


# ------------------------------------------------------------------------------ teachers


def test_teachers_have_their_own_channels_and_sources_only_when_in_view() -> None:
    env = Nursery()
    env.reset(seed=2)
    seen = {"teacher_a": 0, "teacher_b": 0}
    unseen = 0
    for action in random_actions(2000, seed=2):
        before = [t["pos"] for t in env.state_dict()["teachers"]]
        obs, _, _, _, info = env.step(action)
        state = env.state_dict()
        agent = state["agent"]
        visible = {}
        for name, teacher, old in zip(
            ("teacher_a", "teacher_b"), state["teachers"], before, strict=True
        ):
            dy, dx = teacher["pos"][0] - agent[0], teacher["pos"][1] - agent[1]
            if abs(dy) <= 3 and abs(dx) <= 3:
                visible[name] = (dy, dx)
                assert obs[3 + dy, 3 + dx, CHANNEL[name]] > 0.0
                move = MOVES[teacher["action"]]
                assert teacher["pos"] == [old[0] + move[0], old[1] + move[1]]
            else:
                assert not obs[:, :, CHANNEL[name]].any()
        reported = {entry["source"]: entry for entry in info.get("teachers", [])}
        assert set(reported) == set(visible)
        for name, entry in reported.items():
            seen[name] += 1
            assert set(entry) == {"source", "action", "offset", "follow"}  # no reliability
            assert entry["offset"] == visible[name]
        if reported:
            nearest = min(sum(map(abs, offset)) for offset in visible.values())
            assert sum(map(abs, info["teacher"]["offset"])) == nearest
            assert info["teacher"] in info["teachers"]
        else:
            unseen += 1
            assert "teacher" not in info
    assert min(seen.values()) > 50 and unseen > 50


def test_one_teacher_is_teacher_a_and_none_means_no_signal() -> None:
    one = Nursery(teachers=1)
    one.reset(seed=0)
    for obs, _, info in run(one, random_actions(500)):
        assert all(entry["source"] == "teacher_a" for entry in info.get("teachers", []))
        assert not obs[:, :, CHANNEL["teacher_b"]].any()
    assert len(one.state_dict()["teachers"]) == 1

    none = Nursery(teachers=0)
    none.reset(seed=0)
    for obs, _, info in run(none, random_actions(300)):
        assert "teacher" not in info and "teachers" not in info
        assert not obs[:, :, CHANNEL["teacher_a"] : CHANNEL["predator"]].any()


def test_unreliable_teacher_sometimes_eats_toxic_food_and_the_reliable_one_never() -> None:
    env = Nursery(teacher_patience=2, season_length=300, predator=False)
    env.reset(seed=6)
    run(env, [STAY] * 3000)
    reliable, unreliable = env.state_dict()["teachers"]
    assert reliable["toxic_meals"] == 0 and reliable["meals"] > 50
    assert unreliable["toxic_meals"] > 10
    assert unreliable["meals"] > 0  # a random pick is nutritious half the time


def test_teacher_finds_nutritious_food_far_better_than_a_random_walker() -> None:
    env = Nursery(season_length=500, teacher_patience=1, **QUIET)
    env.reset(seed=3)
    random_meals = 0
    since_teacher_meal = longest_gap = 0
    meals = 0
    for _, _, info in run(env, random_actions(2000, seed=3)):
        if info["ate"] == ("food_a", "food_b")[info["shift"]]:
            random_meals += 1
        since_teacher_meal += 1
        if env.state_dict()["teachers"][0]["meals"] > meals:
            meals += 1
            longest_gap = max(longest_gap, since_teacher_meal)
            since_teacher_meal = 0
    assert meals > 5 * max(random_meals, 1)
    assert longest_gap <= 60


def test_following_the_teacher_feeds_the_learner() -> None:
    """The teacher waits on good food; walking its `follow` moves eats more than wandering."""

    def good_meals(follow: bool) -> int:
        env = Nursery(season_length=500, **QUIET)
        _, info = env.reset(seed=5)
        rng = np.random.default_rng(5)
        meals = 0
        for _ in range(3000):
            teacher = info.get("teacher")
            action = teacher["follow"] if follow and teacher else int(rng.integers(6))
            _, _, _, _, info = env.step(action)
            meals += info["ate"] == ("food_a", "food_b")[info["shift"]]
        return meals

    assert good_meals(follow=True) > 2 * good_meals(follow=False)


def test_teacher_waits_on_nutritious_food_for_its_patience() -> None:
    env = Nursery(teacher_patience=7, season_length=10**6, **QUIET)
    env.reset(seed=1)
    waits = []
    for _ in range(400):
        env.step(STAY)
        waits.append(env.state_dict()["teachers"][0]["wait"])
    assert max(waits) == 6  # eats on the 7th step of waiting, then walks on


# ------------------------------------------------------------------------------ storms and slip


def test_storm_scatters_every_food_and_says_so() -> None:
    env = small_env(n_food=3, storm_mean_interval=3000)
    arrange(env, food_a=[[4, 4], [4, 5], [4, 6]], food_b=[[5, 4], [5, 5], [5, 6]], next_storm=1)
    _, _, _, _, info = env.step(STAY)
    assert info["storm"] is True
    state = env.state_dict()
    moved = {tuple(c) for c in state["food_a"] + state["food_b"]}
    before = {(4, 4), (4, 5), (4, 6), (5, 4), (5, 5), (5, 6)}
    assert len(moved) == 6 and moved != before
    taken = state["hazards"] + [state["agent"], state["tv"]] + [t["pos"] for t in state["teachers"]]
    assert not moved & {tuple(c) for c in taken}
    assert state["next_storm"] > 1
    _, _, _, _, info = env.step(STAY)
    assert info["storm"] is False and env.state_dict()["food_a"] == state["food_a"]


def test_storm_gaps_are_heavy_tailed_with_the_asked_mean() -> None:
    mean = 20
    env = Nursery(**QUIET | {"teachers": 0, "n_food": 1, "storm_mean_interval": mean})
    env.reset(seed=0)
    times = [
        t for t, (_, _, info) in enumerate(run(env, [STAY] * 40_000), start=1) if info["storm"]
    ]
    gaps = np.diff(times)
    assert len(gaps) > 1000
    assert gaps.min() >= round(mean / 3)  # the Pareto floor: never two storms close together
    assert 0.6 * mean < gaps.mean() < 1.6 * mean
    assert np.median(gaps) < 0.7 * mean  # most gaps are short ...
    assert gaps.max() > 10 * mean  # ... and a few are enormous (an exponential would stay < 8x)

    calm = Nursery(storm_mean_interval=0)
    calm.reset(seed=0)
    assert not any(info["storm"] for _, _, info in run(calm, random_actions(2000)))


def test_slip_sends_moves_astray_only_in_the_slippery_regime() -> None:
    env = small_env(slip=0.5, slip_period=50, season_length=10**6)
    astray = {False: 0, True: 0}
    directions = set()
    for t in range(1, 201):
        state = env.state_dict()
        state.update(agent=[6, 6], energy=1.0)
        env.load_state_dict(state)
        _, _, _, _, info = env.step(UP)
        slippery = (t // 50) % 2 == 1
        assert info["shift"] == 2 * slippery
        dy, dx = (c - 6 for c in env.state_dict()["agent"])
        assert abs(dy) + abs(dx) == 1
        if (dy, dx) != (-1, 0):
            astray[slippery] += 1
            directions.add((dy, dx))
    assert astray[False] == 0 and 30 < astray[True] < 70
    assert directions == {(0, 1), (1, 0), (0, -1)}

    still = small_env(slip=1.0, slip_period=1)  # every odd step is slippery
    for action in (STAY, REST):
        arrange(still, step=0)
        _, _, _, _, info = still.step(action)
        assert info["shift"] == 2 and still.state_dict()["agent"] == [2, 2]


def test_shift_is_season_plus_twice_slippery() -> None:
    env = Nursery(season_length=7, slip_period=5, slip=0.1)
    env.reset(seed=0)
    shifts = [info["shift"] for _, _, info in run(env, random_actions(60))]
    assert shifts == [(t // 7) % 2 + 2 * ((t // 5) % 2) for t in range(1, 61)]
    assert set(shifts) == {0, 1, 2, 3}

    dry = Nursery(season_length=7, slip_period=5, slip=0.0)
    dry.reset(seed=0)
    assert {info["shift"] for _, _, info in run(dry, random_actions(60))} == {0, 1}


# ------------------------------------------------------------------------------ truth for metrics


def test_position_follows_the_agent_and_stays_put_at_a_wall() -> None:
    env = small_env()
    arrange(env, agent=[2, 2])
    positions = [info["position"] for _, _, info in run(env, [RIGHT, UP, UP, LEFT, STAY, DOWN])]
    assert positions == [(2, 3), (1, 3), (1, 3), (1, 2), (1, 2), (2, 2)]
    assert env.reset(seed=3)[1]["position"] == tuple(env.state_dict()["agent"])


def test_reachable_is_the_whole_interior_and_constant() -> None:
    # Hazards hurt but can be stood on: coverage counts them, so it never exceeds 1.
    env = Nursery()  # 11x11: 9x9 interior
    _, info = env.reset(seed=0)
    assert info["reachable"] == 81
    positions = {info["position"] for _, _, info in run(env, random_actions(3000))}
    assert {info["reachable"] for _, _, info in run(env, random_actions(300))} == {81}
    assert len(positions) <= 81
    small = small_env(n_hazards=5)  # 13x13: 11x11 interior
    assert small.step(STAY)[4]["reachable"] == 121


def test_tv_in_view_is_the_egocentric_window_test() -> None:
    env = small_env()  # view 7: the agent at (2, 2) sees 3 cells each way
    cases = [([2, 5], True), ([5, 5], True), ([1, 1], True), ([2, 6], False), ([6, 2], False)]
    for tv, seen in cases:
        arrange(env, tv=tv)
        assert env.step(STAY)[4]["tv_in_view"] is seen, tv

    world = Nursery()  # the window test agrees with what the observation shows
    world.reset(seed=2)
    trace = run(world, random_actions(2000, seed=2))
    flags = [info["tv_in_view"] for _, _, info in trace]
    assert flags == [bool(obs[:, :, CHANNEL["tv"]].any()) for obs, _, _ in trace]
    assert 0 < sum(flags) < len(flags)


def test_no_tv_is_never_in_view_even_beside_where_it_is_parked() -> None:
    env = small_env(noisy_tv=False)
    arrange(env, agent=[1, 1])  # a disabled TV sits on wall cell (0, 0), next to the agent
    assert env.step(STAY)[4]["tv_in_view"] is False
    assert not any(info["tv_in_view"] for _, _, info in run(env, random_actions(300)))


def test_truth_is_scaled_ground_truth_in_the_unit_range() -> None:
    env = Nursery(season_length=50, day_length=40)
    _, info = env.reset(seed=5)
    trace = [(None, 0.0, info), *run(env, random_actions(400, seed=5))]
    for _, _, info in trace:
        truth = info["truth"]
        assert set(truth) == {"y", "x", "energy", "season", "night"}
        assert all(type(v) is float and 0.0 <= v <= 1.0 for v in truth.values())
        y, x = info["position"]
        assert (truth["y"], truth["x"]) == (y / 10, x / 10)
        assert truth["energy"] == info["body"]["energy"]
        assert truth["night"] == info["body"]["night"]
        assert truth["season"] == info["shift"] & 1
    seasons = [info["truth"]["season"] for _, _, info in trace]
    assert seasons[:50] == [0.0] * 50 and seasons[50:100] == [1.0] * 50
    assert {info["truth"]["night"] for _, _, info in trace} == {0.0, 1.0}


def test_a_returned_info_is_not_changed_by_later_steps() -> None:
    env = small_env()
    arrange(env, agent=[2, 2])
    first = env.step(RIGHT)[4]
    env.step(DOWN)
    assert first["position"] == (2, 3) and first["truth"]["x"] == 3 / 12


# ------------------------------------------------------------------------------ presets


def test_presets_construct_and_differ() -> None:
    assert set(PRESETS) >= {"nursery-small", "nursery", "nursery-hard"}
    envs = {name: Nursery(**kwargs) for name, kwargs in PRESETS.items()}
    configs = [env.state_dict()["config"] for env in envs.values()]
    assert all(a != b for i, a in enumerate(configs) for b in configs[i + 1 :])
    for env in envs.values():
        obs, _ = env.reset(seed=0)
        assert obs in env.observation_space
        run(env, random_actions(200))

    small, default, hard = envs["nursery-small"], envs["nursery"], envs["nursery-hard"]
    assert small.size < default.size < hard.size and small.view == 5
    assert not small.predator and small.storm_mean_interval == 0 and small.teachers == 1
    assert default.predator and default.teachers == 2 and default.storm_mean_interval > 0
    assert default.slip > 0 and default.day_length > 0
    assert hard.n_hazards > default.n_hazards
    assert hard.predator_speed > default.predator_speed
    assert 0 < hard.storm_mean_interval < default.storm_mean_interval
    assert hard.slip > default.slip


def test_default_preset_is_the_default_world() -> None:
    actions = random_actions(300)
    traces = []
    for env in (Nursery(), Nursery(**PRESETS["nursery"])):
        env.reset(seed=9)
        traces.append(run(env, actions))
    assert_same_trace(*traces)


def test_default_world_is_learnable() -> None:
    """Random sits near -0.03 per step; following the nearest teacher clearly does better."""

    def reward_rate(follow: bool, steps: int) -> float:
        env = Nursery()
        _, info = env.reset(seed=0)
        rng = np.random.default_rng(0)
        total = 0.0
        for _ in range(steps):
            teacher = info.get("teacher")
            action = teacher["follow"] if follow and teacher else int(rng.integers(6))
            _, reward, _, _, info = env.step(action)
            total += reward
        return total / steps

    random_rate = reward_rate(follow=False, steps=5000)
    assert -0.045 < random_rate < -0.02
    assert reward_rate(follow=True, steps=5000) > random_rate + 0.01


# ------------------------------------------------------------------------------ state, render, args


EVENTFUL = {"storm_mean_interval": 30, "slip_period": 40, "day_length": 20, "predator_speed": 0.5}


@pytest.mark.parametrize("kwargs", [{}, PRESETS["nursery-hard"], EVENTFUL])
def test_state_dict_round_trip_continues_bit_identically(kwargs: dict[str, Any]) -> None:
    env = Nursery(**kwargs)
    env.reset(seed=4)
    run(env, random_actions(300, seed=4))
    state = env.state_dict()
    later = random_actions(300, seed=5)
    original = run(env, later)
    if kwargs is EVENTFUL:  # storms, bites, nights and slips all fall inside the replay
        assert any(info["storm"] for _, _, info in original)
        assert any(info["bitten"] for _, _, info in original)

    restored = Nursery(**kwargs)
    restored.load_state_dict(state)
    assert_same_trace(original, run(restored, later))

    env.load_state_dict(state)
    assert_same_trace(original, run(env, later))


def test_state_dict_holds_only_plain_values_and_is_a_copy() -> None:
    env = Nursery()
    env.reset(seed=0)
    run(env, random_actions(50))
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
            assert value is None or isinstance(value, (bool, int, float, str, np.ndarray))

    check(state)
    state["rng"]["state"]["state"] = 0
    state["food_a"][0][0] = 99
    state["teachers"][0]["pos"][0] = 99
    assert env.state_dict() != state


def test_state_from_another_configuration_is_refused() -> None:
    state = Nursery(size=11).state_dict()
    with pytest.raises(ValueError, match="config"):
        Nursery(size=13).load_state_dict(state)
    with pytest.raises(ValueError, match="config"):
        Nursery(teachers=1).load_state_dict(Nursery().state_dict())
    # Another economy too: a life saved under other prices must not continue under these.
    with pytest.raises(ValueError, match="meal_reward"):
        Nursery(meal_reward=1.0).load_state_dict(Nursery().state_dict())
    old = {**Nursery().state_dict(), "version": 2}  # saved before the economy was in it
    with pytest.raises(ValueError, match="version=2"):
        Nursery().load_state_dict(old)


def test_render_shows_every_being_in_colour_and_night_darker() -> None:
    env = Nursery(render_mode="rgb_array")
    env.reset(seed=0)
    run(env, random_actions(10))
    arrange(env, teacher_cells=[[1, 1], [1, 3]], predator=[3, 5])  # nothing hidden under another
    image = env.render()
    assert image.dtype == np.uint8 and image.shape == (11 * 16, 11 * 16, 3)
    colours = {tuple(c) for c in image.reshape(-1, 3).tolist()}
    assert len(colours) >= 8
    assert {(60, 140, 255), (40, 220, 210), (255, 80, 120)} <= colours  # teachers, predator

    state = env.state_dict()
    state["step"] = 300  # the second half of a 400-step day
    env.load_state_dict(state)
    assert env.render().mean() < 0.6 * image.mean()


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
        ({"meal_reward": -0.5}, "meal_reward"),
        ({"meal_reward": float("inf")}, "meal_reward"),
        ({"meal_reward": True}, "meal_reward"),
        ({"toxic_pain": 1.5}, "toxic_pain"),
        ({"toxic_pain": float("nan")}, "toxic_pain"),
        ({"hazard_pain": 1.5}, "hazard_pain"),
        ({"faint_penalty": -1.0}, "faint_penalty"),
        ({"teachers": 3}, "teachers"),
        ({"teachers": True}, "teachers"),
        ({"teacher_reliability": (1.0,)}, "teacher_reliability"),
        ({"teacher_reliability": (1.0, 1.5)}, "teacher_reliability"),
        ({"teacher_reliability": "ab"}, "teacher_reliability"),
        ({"teacher_patience": 0}, "teacher_patience"),
        ({"predator_speed": 1.5}, "predator_speed"),
        ({"predator_pain": -0.1}, "predator_pain"),
        ({"day_length": 1}, "day_length"),
        ({"day_length": -4}, "day_length"),
        ({"night_dim": 2.0}, "night_dim"),
        ({"storm_mean_interval": -1.0}, "storm_mean_interval"),
        ({"storm_mean_interval": 1.0}, "storm_mean_interval"),
        ({"storm_mean_interval": float("inf")}, "storm_mean_interval"),
        ({"slip": 1.5}, "slip"),
        ({"slip_period": 0}, "slip_period"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Nursery(**kwargs)


def test_bad_action_raises() -> None:
    env = Nursery()
    env.reset(seed=0)
    env.step(REST)
    with pytest.raises(ValueError, match="action"):
        env.step(6)


def test_registered_with_gymnasium_and_reimport_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(nursery_module)
    env = gymnasium.make("lifelong/Nursery-v1")
    obs, info = env.reset(seed=0)
    assert obs.shape == (7, 7, 10) and "body" in info
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert not terminated and not truncated
    env.close()
