"""Claims about objects (issue 28): a trust-weighted belief the body hands the mind as input,
and source vigilance that checks such claims by what the agent ate."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import TINY
from test_life import assert_same_state, comparable

import lifelong
from lifelong.advice import ClaimBeliefs, belief_width, widened_space
from lifelong.genome import Genome
from lifelong.grounding import MessageGrounding
from lifelong.life import open_life, read_metrics
from lifelong.vigilance import SourceVigilance
from lifelong.worlds import make_world
from lifelong.worlds.informants import FOODS
from lifelong.worlds.messages import DIRECTIONS, WORTH, subjects_of

SUBJECTS = {"food_a": WORTH, "food_b": WORTH, "predator": DIRECTIONS}
QUIET = "nursery(teachers=0,predator=False,noisy_tv=False,season_length=100)"
GENES = {**TINY, "sleep_rules": 0}


def _taught(mode: str = "vigilant") -> ClaimBeliefs:
    """An ear that has tasted ten meals while a reliable source and a liar spoke of them: the
    food alternates between good (+0.7) and bad (-0.6) among ordinary steps near 0."""
    beliefs = ClaimBeliefs(SUBJECTS, mode, SourceVigilance(), half_life=100.0)
    noise = np.random.default_rng(0).normal(0.0, 0.01, size=200)
    for step, reward in enumerate(noise):
        meal = step % 20 == 19
        good = step % 40 == 19
        if meal:
            truth, lie = ("good", "bad") if good else ("bad", "good")
            beliefs.hear([("reliable", "food_a", truth), ("liar", "food_a", lie)])
            reward = 0.7 if good else -0.6
        beliefs.step("food_a" if meal else None, float(reward))
    return beliefs


def test_vigilance_catches_a_food_liar_by_what_the_agent_ate():
    beliefs = _taught()
    trust = beliefs.vigilance.trusts()
    assert trust["reliable"] > 0.85 and trust["liar"] < 0.15
    # Each claim is checked once: another meal with nothing new said changes no trust.
    beliefs.step("food_a", 0.7)
    assert beliefs.vigilance.trusts() == trust
    # A thing of no worth (where the predator is) is never tasted; nor is what nobody named.
    beliefs.hear([("liar", "predator", "up")])
    beliefs.step("predator", -0.8)
    beliefs.step("food_b", 0.7)
    assert beliefs.vigilance.trusts() == trust


def test_the_belief_follows_a_trusted_source_and_not_a_distrusted_one():
    beliefs = _taught()
    beliefs.hear([("reliable", "food_b", "bad"), ("liar", "food_a", "good")])
    beliefs.latest["food_a"].pop("reliable")  # only the liar has spoken of food_a
    food_a, food_b, *predator = beliefs.features()
    assert food_b < -0.9  # the trusted source is believed
    assert food_a < -0.5  # the known liar is not: what it says is doubted, not followed
    assert predator == [0.0] * 4  # nobody spoke of the predator: no belief either way
    # Blind belief follows the liar; the oracle, told it lies, doubts it as vigilance learned to.
    credulous = _taught("credulous")
    credulous.latest["food_a"] = {"liar": [0, 0, False]}
    assert credulous.features()[0] > 0.9
    oracle = _taught("oracle")
    oracle.hear([("liar", "food_a", "good")], truth={"liar": 0.0, "reliable": 1.0})
    oracle.latest["food_a"].pop("reliable")
    assert oracle.features()[0] < -0.9


def test_a_belief_fades_as_its_claim_grows_old():
    beliefs = ClaimBeliefs({"food_a": WORTH}, "credulous", SourceVigilance(), half_life=10.0)
    beliefs.hear([("anyone", "food_a", "good")])
    fresh = beliefs.features()[0]
    for _ in range(60):
        beliefs.step(None, 0.0)
    assert fresh > 0.97 and 0.0 < beliefs.features()[0] < 0.1
    beliefs.hear([("anyone", "food_a", "bad")])  # a new claim replaces the source's old one
    assert beliefs.features()[0] < -0.97


def test_beliefs_widen_images_and_vectors_alike():
    assert belief_width(SUBJECTS) == 1 + 1 + 4
    image = gym.spaces.Box(0.0, 1.0, (3, 3, 2), np.float32)
    assert widened_space(image, 6).shape == (3, 3, 8)
    assert widened_space(image, 6).low[0, 0, 2] == -1.0
    assert widened_space(gym.spaces.Box(-5.0, 5.0, (4,), np.float32), 2).shape == (6,)
    assert widened_space(gym.spaces.Discrete(3), 2) is None
    beliefs = ClaimBeliefs({"food_a": WORTH}, "credulous", SourceVigilance(), half_life=10.0)
    beliefs.hear([("anyone", "food_a", "bad")])
    wide = beliefs.widen(np.zeros((3, 3, 2), np.float32))
    assert wide.shape == (3, 3, 3) and wide.dtype == np.float32
    assert np.all(wide[..., 2] == beliefs.features()[0]) and wide[0, 0, 2] < -0.9
    assert beliefs.widen(np.ones(4, np.float32)).tolist()[:4] == [1.0] * 4


@pytest.mark.parametrize("agent", ["abm", "abm_deaf"])
def test_a_listening_body_hands_the_mind_its_belief_and_the_deaf_one_does_not(agent):
    """A reliable source in a Nursery of short seasons: the mind of a listening body is born
    seeing two more planes, which say the season's food is good and the other bad."""
    world = make_world(f"{QUIET}+messages(says=food,sources=reliable)")
    stepwise = lifelong.make_agent(
        world.observation_space,
        world.action_space,
        agent=agent,
        genome=Genome(**GENES),
        seed=0,
        subjects=subjects_of(world),
    )
    body = stepwise.agent
    obs, info = world.reset(seed=0)
    agreed = 0
    for _ in range(250):
        action = stepwise.act(obs, info)
        obs, reward, terminated, truncated, info = world.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        if body.beliefs is not None:
            good = FOODS.index(FOODS[info["shift"] & 1])
            agreed += body.belief[good] > 0.0 > body.belief[1 - good]
    if agent == "abm_deaf":
        assert body.beliefs is None and body.obs.shape == (7, 7, 10) and body.trusts() == {}
        return
    assert body.obs.shape == (7, 7, 12) and np.all(body.obs[..., 10:] == body.belief)
    assert body.mind.memory.obs_shape == (7, 7, 12)
    assert agreed > 240  # wrong only in the steps after a season turns, before it is told
    assert body.trusts()["reliable"] > 0.6, body.trusts()


def test_a_resumed_believing_life_equals_an_uninterrupted_one(tmp_path):
    spec = f"{QUIET}+messages(says=food,sources=reliable|liar)"
    quick = {"tensorboard": False, "log_every": 50, "checkpoint_every": 1_000_000}
    quick["diagnose_every"] = 100  # the probe's frames are widened as the mind reads them

    def begin(directory):
        return open_life(directory, world=spec, config_changes=quick, genome_changes=GENES)

    whole = begin(tmp_path / "whole")
    whole.run(200)
    first = begin(tmp_path / "split")
    first.run(117)
    second = open_life(tmp_path / "split")
    second.run(200)
    assert_same_state(whole.state_dict(), second.state_dict())
    records = read_metrics(tmp_path / "whole")
    assert comparable(records) == comparable(read_metrics(tmp_path / "split"))
    last = records[-1]
    assert {"trust_reliable", "trust_liar"} <= set(last)
    assert last["message_present"] == 1.0 and 0.0 < last["message_trust"] <= 1.0


def test_grounding_learns_what_a_claim_about_food_predicts():
    """Meals alternate between good (+1.5 deviations) and bad (-1.5): a reliable source's
    "good" comes to mean a meal above the usual, a liar's "good" one below."""
    grounding = MessageGrounding(seed=0)
    for meal in range(300):
        good = meal % 2 == 0
        truth, lie = ("good", "bad") if good else ("bad", "good")
        claims = [("reliable", "food_a", truth), ("liar", "food_a", lie)]
        grounding.hear_claims(claims)
        grounding.learn_claims((claims, "food_a", 1.5 if good else -1.5))
    assert grounding.meaning_of("reliable", "food_a", "good") > 1.0
    assert grounding.meaning_of("liar", "food_a", "good") < -1.0
    assert grounding.meaning_of("liar", "food_a", "bad") > 1.0
    assert set(grounding.meanings()) == {"reliable", "liar"}  # recorded as meaning_<source>
