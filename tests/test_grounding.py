"""Grounding (issue 28): a message means what follows it, learned from the agent's experience."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import TINY

import lifelong
from lifelong.genome import Genome
from lifelong.grounding import CAPACITY, MessageGrounding
from lifelong.vigilance import SourceVigilance
from lifelong.worlds import make_world

MEANS = np.array([0.2, 0.5, 0.9, 0.3, 0.6])  # arm 2 pays best
BEST = int(MEANS.argmax())


def _said(rng: np.random.Generator, steps: int, shuffle: bool) -> list[list[tuple[str, int]]]:
    """Each step a reliable source names the best arm and a liar another one; shuffled, the
    same words are detached from when and by whom they were said."""
    said = [
        [("reliable", BEST), ("liar", (BEST + 1 + int(rng.integers(4))) % 5)] for _ in range(steps)
    ]
    if shuffle:
        pool = [action for claims in said for _, action in claims]
        rng.shuffle(pool)
        said = [[(s, pool[2 * k + j]) for j, (s, _) in enumerate(c)] for k, c in enumerate(said)]
    return said


def _grounded(seed: int, shuffle: bool = False, steps: int = 600) -> tuple[dict, list[float]]:
    """A stream as the body lives it: the agent follows one source or the other, or acts on its
    own; vigilance checks each step and grounding learns from what it checked. Returns the mean
    meaning of each source's claims over the last 200 steps, and the agent's own expectation of
    each arm."""
    rng = np.random.default_rng(seed)
    vigilance, grounding = SourceVigilance(), MessageGrounding(seed)
    late: dict[str, list[float]] = {"reliable": [], "liar": []}
    for step, claims in enumerate(_said(rng, steps, shuffle)):
        grounding.hear(claims)
        u = rng.random()
        action = claims[0][1] if u < 0.35 else claims[1][1] if u < 0.7 else int(rng.integers(5))
        vigilance.step(claims, action, float(rng.random() < MEANS[action]), 5)
        grounding.learn(vigilance.judged())
        if step >= steps - 200:
            for source, said in claims:
                late[source].append(grounding.meaning(source, said))
    return {source: float(np.mean(v)) for source, v in late.items()}, grounding.own(5)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_reliable_source_s_words_come_to_mean_more_than_a_liar_s(seed):
    """The meaning of what the reliable source says (the standing of the return that follows
    acting on it) is well above the liar's, and the agent's own word for the best arm means the
    most; with the words shuffled against what followed, the difference is gone."""
    meaning, own = _grounded(seed)
    assert meaning["reliable"] - meaning["liar"] > 0.6, meaning
    assert int(np.argmax(own)) == BEST, own
    shuffled, _ = _grounded(seed, shuffle=True)
    assert abs(shuffled["reliable"] - shuffled["liar"]) < 0.25, shuffled


def test_grounding_resumes_exactly_and_leaves_other_draws_alone():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    grounding = MessageGrounding(seed=1)
    assert torch.equal(torch.get_rng_state(), before)  # built from a generator of its own
    verdicts = [([("a", k % 3), ("b", 1)], k % 3, float(k % 2) - 0.5) for k in range(21)]
    grounding.hear([("a", 0), ("b", 1)])
    for k in range(14):
        grounding.learn(verdicts[k : k + 1])  # one Adam step per checked step
    assert grounding.loss > 0.0 and grounding.tried == {0: 5, 1: 5, 2: 4}
    copy_ = MessageGrounding(seed=99)
    copy_.load_state(copy.deepcopy(grounding.state()))
    for k in range(14, 21):
        grounding.learn(verdicts[k : k + 1])
        copy_.learn(verdicts[k : k + 1])
    assert grounding.own(3) == copy_.own(3) and grounding.meanings() == copy_.meanings()
    assert list(grounding.meanings()) == ["a", "b"]
    # More symbols than rows: the last row is shared, nothing fails.
    many = [([(f"s{k}", 0)], 0, 1.0) for k in range(CAPACITY + 10)]
    grounding.learn(many)
    assert len(grounding.symbols) > CAPACITY
    assert max(grounding.symbols.values()) == CAPACITY - 1


def test_a_listening_life_grounds_what_it_acts_on_and_records_it():
    """abm_credulous acts on both a reliable and a lying source, so both grow meanings from its
    own rewards (never the truth): acting on the reliable one pays about the usual, on the liar
    far less; its own word for the best arm means the most. The deaf agent records nothing."""
    world = make_world("bandit(arms=5,every=100000)+messages(sources=reliable|liar)")
    genome = Genome(**{**TINY, "sleep_rules": 0})
    bodies, late = {}, {}
    for agent in ("abm_credulous", "abm_deaf"):
        stepwise = lifelong.make_agent(
            world.observation_space, world.action_space, agent=agent, genome=genome, seed=0
        )
        obs, info = world.reset(seed=0)
        for step in range(300):
            grounding = stepwise.agent.grounding
            if grounding is not None and step >= 200:
                for source, said in stepwise.agent.claims:
                    late.setdefault(source, []).append(grounding.meaning(source, said))
            action = stepwise.act(obs, info)
            obs, reward, terminated, truncated, info = world.step(action)
            stepwise.observe(reward, obs, terminated, truncated, info)
        bodies[agent] = stepwise.agent
    meaning = {source: float(np.mean(values)) for source, values in late.items()}
    assert meaning["reliable"] > meaning["liar"] + 0.5, meaning
    own = bodies["abm_credulous"].grounding.own(5)
    assert int(np.argmax(own)) == int(np.argmax(info["means"])), (own, info["means"])
    assert {"grounding_loss", "meaning_reliable", "meaning_liar"} <= set(
        bodies["abm_credulous"].losses
    )
    assert bodies["abm_deaf"].grounding is None
    assert not any(key.startswith(("meaning_", "grounding")) for key in bodies["abm_deaf"].losses)
