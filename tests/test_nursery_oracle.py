"""The Nursery's scripted oracle (issue 27): what it does, that it is the ceiling, how it lives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_nursery import DOWN, QUIET, REST, RIGHT, arrange, small_env

from lifelong.baselines import oracle_for
from lifelong.bench import run_bench
from lifelong.errors import UserError
from lifelong.life import open_life
from lifelong.records import read_jsonl
from lifelong.worlds import make_world
from lifelong.worlds.nursery import Nursery
from lifelong.worlds.nursery_oracle import NurseryOracle


def oracle_life(env: Nursery, steps: int) -> dict[str, float]:
    """Step `env` with its oracle; reward per step and what happened, counted."""
    oracle = env.scripted_oracle()
    counts = {"reward": 0.0, "meals": 0, "toxic": 0, "hazard": 0, "bitten": 0, "rest": 0}
    for _ in range(steps):
        action = oracle()
        counts["rest"] += action == REST
        _, reward, _, _, info = env.step(action)
        counts["reward"] += reward
        if info["ate"]:
            nutritious = info["ate"] == ("food_a", "food_b")[info["shift"] & 1]
            counts["meals" if nutritious else "toxic"] += 1
        counts["hazard"] += (env._ay, env._ax) in env._hazards
        counts["bitten"] += info["bitten"]
    counts["reward"] /= steps
    return counts


def constant_rate(kwargs: dict, action: int, steps: int, seed: int) -> float:
    env = Nursery(**kwargs)
    env.reset(seed=seed)
    return sum(env.step(action)[1] for _ in range(steps)) / steps


# ------------------------------------------------------------------------------ what it does


def test_on_still_ground_the_oracle_never_eats_poison_nor_treads_on_a_hazard() -> None:
    """No slips, storms or predator to surprise it: every meal nutritious, no step on a hazard,
    and it eats often (a meal every few steps on the default map)."""
    env = Nursery(slip=0.0, storm_mean_interval=0, predator=False, season_length=300)
    env.reset(seed=0)
    counts = oracle_life(env, 3000)
    assert counts["toxic"] == 0 and counts["hazard"] == 0
    assert counts["meals"] > 3000 / 6  # measured: 737, a meal every 4 steps


def test_the_oracle_walks_to_the_food_that_is_nutritious_when_it_gets_there() -> None:
    """Two steps before the season flips, food_a (nutritious now) and food_b (nutritious from
    the flip) are both three steps away: the oracle goes for food_b, and eats it."""
    env = small_env(season_length=50)
    arrange(env, food_a=[[2, 5]], food_b=[[5, 2]], step=48)
    oracle = env.scripted_oracle()
    actions = []
    for _ in range(3):
        actions.append(oracle())
        _, reward, _, _, info = env.step(actions[-1])
    assert actions == [DOWN, DOWN, DOWN]
    assert info["ate"] == "food_b" and info["shift"] == 1 and reward > env.meal_reward
    arrange(env, food_a=[[2, 5]], food_b=[[5, 2]], step=10)  # mid-season: food_a
    assert env.scripted_oracle()() == RIGHT


def test_the_oracle_goes_around_the_predator_and_poison() -> None:
    """The straight way to the food passes next to a predator (which could step onto the agent)
    and over toxic food: it takes the longer way round."""
    env = small_env(predator=True, predator_speed=0.0, teachers=0)
    arrange(env, food_a=[[2, 5]], food_b=[[3, 2]], predator=[1, 3])
    oracle = env.scripted_oracle()
    first = oracle()
    assert first not in (RIGHT, DOWN)  # (2, 3) is beside the predator, (3, 2) is poison
    cells = []
    for _ in range(12):
        _, reward, _, _, info = env.step(oracle())
        cells.append(info["position"])
        if info["ate"]:
            break
    assert info["ate"] == "food_a" and not info["bitten"]
    assert (2, 3) not in cells and (3, 2) not in cells


def test_with_nothing_to_eat_the_oracle_rests_and_steps_off_a_hazard_first() -> None:
    env = small_env(n_food=0)
    arrange(env, hazards=[[2, 2]])  # it stands on the hazard
    oracle = env.scripted_oracle()
    action = oracle()
    assert action != REST
    env.step(action)
    assert (env._ay, env._ax) != (2, 2)
    assert [oracle() for _ in range(3)] == [REST] * 3


def test_the_oracle_is_a_reader_of_the_truth_and_draws_no_random_numbers() -> None:
    """Same seed, same life: it reads the world and leaves its generator alone."""
    lives = []
    for _ in range(2):
        env = Nursery()
        env.reset(seed=3)
        oracle = env.scripted_oracle()
        assert isinstance(oracle, NurseryOracle)
        lives.append([env.step(oracle())[1] for _ in range(300)])
    assert lives[0] == lives[1]


# ------------------------------------------------------------------------------ the ceiling


@pytest.mark.parametrize("kwargs", [{}, {"teachers": 0, "predator": False}, QUIET])
def test_the_oracle_earns_far_more_than_resting_random_or_any_constant_action(kwargs) -> None:
    """The headroom issue 27 asked for: a skilled forager earns many times what any constant
    action (resting included) or chance does. Measured at 3,000 steps, seed 0 (default world /
    no teachers or predator / quiet): oracle +0.112 / +0.133 / +0.136; best constant (rest)
    -0.010 / -0.003 / -0.005, closing 9% / 16% / 8% of the headroom above random (-0.022 /
    -0.030 / -0.017)."""
    steps = 3000
    env = Nursery(**kwargs)
    env.reset(seed=0)
    oracle = oracle_life(env, steps)["reward"]
    constants = [constant_rate(kwargs, action, steps, 0) for action in range(6)]
    rng = np.random.default_rng(0)
    env = Nursery(**kwargs)
    env.reset(seed=0)
    chance = sum(env.step(int(rng.integers(6)))[1] for _ in range(steps)) / steps
    assert oracle > 0.1
    assert max(constants) == constants[REST] < 0  # resting is the best a constant can do
    assert chance < max(constants)
    assert max(constants) - chance < 0.25 * (oracle - chance)


# ------------------------------------------------------------------------------ as an agent


def test_oracle_for_finds_a_world_s_oracle_or_says_which_worlds_have_one() -> None:
    nursery = make_world("nursery-small+noisy_tv")  # found through a wrapper
    assert isinstance(oracle_for(nursery), NurseryOracle)
    bandit = make_world("bandit(arms=3, every=100)")
    bandit.reset(seed=0)
    assert oracle_for(bandit)() == bandit.unwrapped.oracle_action()
    with pytest.raises(UserError, match="has none. Worlds with an oracle: nursery") as error:
        oracle_for(make_world("gym:CartPole-v1"), "gym:CartPole-v1")
    assert "\n" not in str(error.value)
    shifted = "nursery+shift(kind=actions, every=100)"
    with pytest.raises(UserError, match="kind=actions"):
        oracle_for(make_world(shifted), shifted)


def test_the_oracle_lives_only_in_benchmarks(tmp_path) -> None:
    with pytest.raises(UserError, match="lives only in benchmarks.*the world's oracle"):
        open_life(tmp_path / "x", world="nursery-small", config_changes={"agent": "oracle"})
    assert not (tmp_path / "x").exists()


def test_a_bench_s_oracle_lives_are_the_ceiling_of_its_normalised_scores(
    tmp_path, in_process
) -> None:
    """The oracle's lives on the bench's seeds set the ceiling (form "ceiling", their mean AUC):
    the oracle scores 1 on average, random 0; its records are the hand loop's; and a world
    without an oracle is refused before anything is written."""
    summary = run_bench(
        "nursery", ["random", "oracle"], 2, 400, 1, tmp_path, progress=lambda line: None
    )
    assert summary["failures"] == []
    basis = summary["normalisation"]["worlds"]["nursery"]
    oracle = summary["agents"]["oracle"]
    assert basis["form"] == "ceiling"
    assert basis["reference"] == pytest.approx(np.mean(oracle["auc"]["per_seed"]))
    assert np.mean(oracle["auc_normalised"]["per_seed"]) == pytest.approx(1.0)
    assert np.mean(summary["agents"]["random"]["auc_normalised"]["per_seed"]) == pytest.approx(0)
    records = read_jsonl(tmp_path / "oracle" / "seed1" / "metrics.jsonl")
    assert [r["step"] for r in records] == list(range(4, 401, 4))
    env = Nursery()
    env.reset(seed=1)
    oracle_policy = env.scripted_oracle()
    by_hand = [env.step(oracle_policy())[1] for _ in range(400)]
    recorded = [r["reward_rate"] for r in records]
    assert recorded == pytest.approx([np.mean(by_hand[i : i + 4]) for i in range(0, 400, 4)])
    assert json.loads((tmp_path / "oracle" / "seed1" / "done.json").read_text()) == {"steps": 400}

    with pytest.raises(UserError, match="agent 'oracle' needs a world with a scripted oracle"):
        run_bench(
            "control-shifts", ["oracle"], 1, 200, 1, tmp_path / "c", progress=lambda line: None
        )
    assert not (tmp_path / "c").exists()
