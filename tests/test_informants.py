"""Informants in the Nursery (issue 28): sources that say which food is good this season and
where the predator is, each as truthfully as its kind says; their words declared and checked."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from lifelong.errors import UserError
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world
from lifelong.worlds.informants import FOODS
from lifelong.worlds.messages import DIRECTIONS, WORTH, object_claims, subjects_of, vocabulary_of

QUIET = "nursery(teachers=0,predator=False,noisy_tv=False,season_length=100)"
FOOD = f"{QUIET}+messages(says=food,sources=reliable|noisy(p=0.5)|liar|turncoat(at=300))"
PREDATOR = "nursery(teachers=0,noisy_tv=False,predator_speed=0.5)"


def test_food_sources_say_the_season_as_their_kind_says():
    """600 steps over six seasons: reliable always right, the liar always wrong, the noisy one
    right 75% of the time (0.5 + 0.5 x 1/2), the turncoat right until step 300; each names
    both foods."""
    world = make_world(FOOD)
    world.reset(seed=4)
    actions = np.random.default_rng(4).integers(6, size=600)
    right, said, named = Counter(), Counter(), Counter()
    for step, action in enumerate(actions, start=1):
        info = world.step(int(action))[-1]
        good = FOODS[info["shift"] & 1]
        for source, food, value in object_claims(info["messages"], subjects_of(world)):
            key = source + ("_late" if source == "turncoat" and step >= 300 else "")
            said[key] += 1
            right[key] += (value == "good") == (food == good)
            named[(source, food)] += 1
        truth = info["message_truth"]
        assert truth["noisy"] == 0.75 and truth["liar"] == 0.0
        assert truth["turncoat"] == (1.0 if step < 300 else 0.0)
    rate = {source: right[source] / said[source] for source in said}
    assert rate["reliable"] == rate["turncoat"] == 1.0
    assert rate["liar"] == rate["turncoat_late"] == 0.0
    assert abs(rate["noisy"] - 0.75) < 0.06  # sd ~ 0.018 over 600 claims
    assert min(named.values()) > 240  # every source names each food about half the time


def test_predator_sources_name_its_direction_or_lie():
    world = make_world(f"{PREDATOR}+messages(says=predator,sources=reliable|liar,speak=0.5)")
    world.reset(seed=2)
    spoken, lies = 0, Counter()
    for _ in range(400):
        info = world.step(5)[-1]  # rest: the predator stalks the agent
        dy, dx = info["predator_offset"]
        truth = (
            ("down" if dy > 0 else "up") if abs(dy) >= abs(dx) else "right" if dx > 0 else "left"
        )
        for source, subject, value in object_claims(info["messages"], subjects_of(world)):
            assert subject == "predator"
            spoken += 1
            if source == "reliable":
                assert value == truth
            else:
                assert value != truth
                lies[value] += 1
    assert 300 < spoken < 500  # two sources, each speaking half the time
    assert sorted(lies) == sorted(DIRECTIONS)  # every wrong direction is told


def test_the_world_declares_what_is_said_and_check_world_passes():
    world = make_world(f"{PREDATOR}+messages(says=predator,sources=liar)+messages(says=food)")
    assert vocabulary_of(world) == ("predator", *DIRECTIONS, *FOODS, *WORTH)
    subjects = subjects_of(world)
    assert subjects == {"predator": DIRECTIONS, "food_a": WORTH, "food_b": WORTH}
    info = world.reset(seed=0)[1]
    # Stacked wrappers: both sets of sources speak, and the truth of both is recorded.
    assert [m["source"] for m in info["messages"]] == ["liar", "reliable"]
    assert info["message_truth"] == {"liar": 0.0, "reliable": 1.0}
    report = check_world(FOOD, steps=200)
    found = {name: (ok, detail) for name, ok, detail in report.checks}
    ok, detail = next(v for name, v in found.items() if name.startswith("messages"))
    assert ok and "messages in 4 words, seeded and restored alike" in detail
    assert all(ok for ok, _ in found.values()), found


def test_go_sources_in_a_nursery_without_teachers_follow_its_scripted_oracle():
    world = make_world(f"{QUIET}+messages(advice=oracle,sources=reliable)")
    oracle = world.unwrapped.scripted_oracle()
    obs, info = world.reset(seed=1)
    for _ in range(50):
        assert info["messages"] == [{"source": "reliable", "tokens": ("go", str(oracle()))}]
        obs, _, _, _, info = world.step(oracle())


def _said(world: gym.Env, actions: list[int]) -> list[Any]:
    return [world.step(action)[-1]["messages"] for action in actions]


def test_a_restored_world_says_the_very_same_things():
    actions = [int(a) for a in np.random.default_rng(3).integers(6, size=300)]
    spec = f"{QUIET}+messages(says=food,sources=noisy|turncoat(at=200),speak=0.6)"
    world = make_world(spec)
    world.reset(seed=9)
    _said(world, actions[:150])
    state = copy.deepcopy(world.state_dict())
    expected = _said(world, actions[150:])
    resumed = make_world(spec)
    resumed.load_state_dict(state)
    assert _said(resumed, actions[150:]) == expected


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("nursery+messages(says=gossip)", "says='gossip' is invalid; allowed: one of go, food"),
        ("bandit+messages(says=food)", "says=food needs the Nursery"),
        (f"{QUIET}+messages(says=predator)", "says=predator needs a Nursery with a predator"),
        (f"{QUIET}+messages(advice=teacher,says=food,sources=bogus)", "unknown source 'bogus'"),
    ],
)
def test_every_mistake_is_one_line(spec, named):
    with pytest.raises(UserError, match=named) as caught:
        make_world(spec)
    assert "\n" not in str(caught.value)
