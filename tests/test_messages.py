"""Issue 28's foundation: the message channel, informants who speak, source vigilance (trust
earned by checking claims) and advice that moves B's policy as far as trust says."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TINY
from gymnasium import spaces
from test_life import assert_same_state, comparable

import lifelong
from lifelong.advice import CREDULOUS, checked, confidence_of, shaped
from lifelong.baselines import FixedController
from lifelong.checkpoint import load_latest_checkpoint, save_checkpoint
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.life import open_life, read_metrics
from lifelong.metrics import spearman
from lifelong.modes import Mode
from lifelong.report.life_page import life_page
from lifelong.vigilance import SourceVigilance
from lifelong.worlds import make_world
from lifelong.worlds.check import check_world
from lifelong.worlds.messages import action_vocabulary, advice, check_messages, go_claims

MIXED = "bandit(arms=5,every=100000)+messages(sources=reliable|noisy|liar)"
LIARS = "bandit(arms=5,every=100000)+messages(sources=liar|liar)"
GENES = {**TINY, "sleep_rules": 0}
RELIABILITY = {"reliable": 1.0, "noisy": 0.6, "liar": 0.0}  # noisy: 0.5 + 0.5 / 5 arms


def live(spec: str, agent: str, steps: int, seed: int) -> tuple[list[dict[str, float]], float]:
    """A life in a loop of our own (`make_agent`): each step's trusts, and the mean reward."""
    world = make_world(spec)
    stepwise = lifelong.make_agent(
        world.observation_space, world.action_space, agent=agent, genome=Genome(**GENES), seed=seed
    )
    obs, info = world.reset(seed=seed)
    trusts, total = [], 0.0
    for _ in range(steps):
        action = stepwise.act(obs, info)
        obs, reward, terminated, truncated, info = world.step(action)
        stepwise.observe(reward, obs, terminated, truncated, info)
        trusts.append(stepwise.agent.trusts())
        total += reward
    return trusts, total / steps


# --- The channel ------------------------------------------------------------------------------

VOCABULARY = action_vocabulary(3)


def test_a_message_keeps_the_contract_and_advice_is_read_from_it():
    said = [advice("ann", 2), {"source": "bob", "tokens": ("go", "0")}]
    assert check_messages(said, VOCABULARY) == 2
    assert check_messages([], None) == 0
    assert go_claims(said, 3) == [("ann", 2), ("bob", 0)]
    # Anything that is not advice in range is skipped by the body, never fatal.
    odd = [*said, {"source": "cy", "tokens": ("go", "7")}, {"source": "dee", "tokens": ("hi",)}, 5]
    assert go_claims(odd, 3) == [("ann", 2), ("bob", 0)]


@pytest.mark.parametrize(
    ("messages", "vocabulary", "named"),
    [
        ({"source": "a", "tokens": ("go", "1")}, VOCABULARY, "must be a list"),
        ([("a", ("go", "1"))], VOCABULARY, r"\[0\] must be a dict with keys source and tokens"),
        ([{"source": "a", "words": ("go",)}], VOCABULARY, "keys source and tokens"),
        ([{"source": "", "tokens": ("go", "1")}], VOCABULARY, r"\['source'\] must be a non-emp"),
        ([{"source": "a", "tokens": ["go", "1"]}], VOCABULARY, "must be a non-empty tuple"),
        ([{"source": "a", "tokens": ("go", 1)}], VOCABULARY, "holds 1, not a string"),
        ([advice("a", 1), advice("b", 9)], VOCABULARY, r"\[1\]\['tokens'\] holds '9', outside"),
        ([advice("a", 1)], None, "declares no message_vocabulary"),
    ],
)
def test_each_breach_of_the_contract_is_one_line_naming_it(messages, vocabulary, named):
    with pytest.raises(ValueError, match=named) as caught:
        check_messages(messages, vocabulary)
    assert "\n" not in str(caught.value)


class _Chatty(gym.Env):
    """A world whose informant speaks a word it never declared (or declares no vocabulary)."""

    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(3)

    def __init__(self, word: str = "7", declare: bool = True) -> None:
        self.word = word
        if declare:
            self.message_vocabulary = action_vocabulary(3)

    def _info(self) -> dict[str, Any]:
        return {"messages": [{"source": "x", "tokens": ("go", self.word)}]}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), self._info()

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, self._info()


gym.register(id="LifelongTest/Chatty-v0", entry_point=_Chatty)


def _messages_check(spec: str) -> tuple[bool, str]:
    report = check_world(spec, steps=200)
    return next((ok, detail) for name, ok, detail in report.checks if name.startswith("messages"))


def test_check_world_validates_the_channel():
    ok, detail = _messages_check(MIXED)
    assert ok and "messages in 6 words, seeded and restored alike" in detail
    assert _messages_check("bandit") == (True, "no messages")
    ok, detail = _messages_check("gym:LifelongTest/Chatty-v0")
    assert not ok and "holds '7', outside the world's message_vocabulary" in detail
    assert "\n" not in detail
    ok, detail = _messages_check("gym:LifelongTest/Chatty-v0(word='1',declare=false)")
    assert not ok and "declares no message_vocabulary" in detail
    assert _messages_check("gym:LifelongTest/Chatty-v0(word='1')")[0]


# --- Speaking sources -------------------------------------------------------------------------


def test_each_source_says_what_its_reliability_says():
    """3,000 steps, the oracle's best arm as the truth: the rates are the sources' kinds."""
    world = make_world(
        "bandit(arms=5,every=1000)+messages(sources=reliable|noisy(p=0.5)|liar|turncoat(at=1500))"
    )
    world.reset(seed=5)
    actions = np.random.default_rng(5).integers(5, size=3000)
    right, said, lies = Counter(), Counter(), Counter()
    for step, action in enumerate(actions, start=1):
        info = world.step(int(action))[-1]
        best = world.unwrapped.oracle_action()  # the right arm for the next step
        for message in info["messages"]:
            source = message["source"] + ("_late" if step >= 1500 else "")
            claimed = int(message["tokens"][1])
            said[source] += 1
            right[source] += claimed == best
            if message["source"] == "liar":
                lies[(claimed - best) % 5] += 1
        if step in (1499, 1500):
            truth = info["message_truth"]
            assert truth["turncoat"] == (1.0 if step == 1499 else 0.0)
            assert truth["noisy"] == pytest.approx(0.6) and truth["liar"] == 0.0
    rate = {source: right[source] / said[source] for source in said}
    assert rate["reliable"] == rate["reliable_late"] == rate["turncoat"] == 1.0
    assert rate["liar"] == rate["liar_late"] == rate["turncoat_late"] == 0.0
    noisy = right["noisy"] + right["noisy_late"]
    assert abs(noisy / 3000 - 0.6) < 0.03  # 0.5 right + 0.5 x 1/5 by chance; sd ~ 0.009
    assert sorted(lies) == [1, 2, 3, 4] and min(lies.values()) > 600  # every wrong arm, evenly


def test_sources_speak_as_often_as_asked_and_only_when_the_truth_is_known():
    world = make_world("bandit(arms=3)+messages(sources=[reliable;liar],speak=0.5)")
    world.reset(seed=1)
    spoken = sum(len(world.step(0)[-1]["messages"]) for _ in range(2000))
    assert abs(spoken / 4000 - 0.5) < 0.03
    # A teacher's move is the truth: the reliable source repeats it, and is silent while no
    # teacher is in view.
    pole = make_world("gym:CartPole-v1+teacher(policy=cartpole,visible=0.5)+messages")
    obs, info = pole.reset(seed=2)
    silent = 0
    for _ in range(300):
        obs, _, terminated, truncated, info = pole.step(pole.action_space.sample())
        if "teacher" in info:
            assert info["messages"] == [advice("reliable", info["teacher"]["action"])]
        else:
            silent += 1
            assert "messages" not in info
        if terminated or truncated:
            obs, info = pole.reset()
    assert 100 < silent < 200


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("bandit+messages(sources=gossip)", "unknown source 'gossip'; allowed: reliable, noisy"),
        ("bandit+messages(sources=noisy(q=1))", "unknown parameter 'q' of source 'noisy'"),
        ("bandit+messages(p=2)", "p=2 is invalid; allowed: a number in"),
        ("bandit+messages(sources=liar(name=x)|liar(name=x))", "name='x' is invalid or used"),
        ("bandit+messages(advice=rumour)", "advice='rumour' is invalid; allowed: auto, oracle"),
        ("gym:CartPole-v1+messages(advice=oracle)", "needs a world with an oracle_action"),
        ("gym:Pendulum-v1+messages", "advice cannot use Box"),
        ("bandit+messages(turn=0)", "turn=0 is invalid; allowed: a positive integer"),
    ],
)
def test_every_mistake_in_the_wrapper_is_one_line(spec, named):
    with pytest.raises(UserError, match=named) as caught:
        make_world(spec)
    assert "\n" not in str(caught.value)


def _said(world: gym.Env, actions: list[int]) -> list[Any]:
    out = []
    for action in actions:
        obs, reward, _, _, info = world.step(action)
        out.append((obs.tolist(), reward, info["messages"], info["message_truth"]))
    return out


def test_a_restored_world_says_the_very_same_things(tmp_path):
    spec = "bandit(arms=4,every=90)+messages(sources=noisy|turncoat(at=150)|liar,speak=0.7)"
    actions = [int(a) for a in np.random.default_rng(3).integers(4, size=400)]
    world = make_world(spec)
    world.reset(seed=9)
    _said(world, actions[:137])
    save_checkpoint(tmp_path, 137, {"world": world.state_dict()})  # plain data only
    expected = _said(world, actions[137:])
    resumed = make_world(spec)  # never reset, as a resumed life's world is
    resumed.load_state_dict(copy.deepcopy(load_latest_checkpoint(tmp_path)[1]["world"]))
    assert _said(resumed, actions[137:]) == expected
    # A seeded reset is a new life: the same seed says the same, the turncoat's clock restarts.
    again = make_world(spec)
    again.reset(seed=9)
    world.reset(seed=9)
    assert _said(again, actions) == _said(world, actions)


def test_a_resumed_listening_life_equals_an_uninterrupted_one(tmp_path):
    """Split inside a record interval and inside pending claims (horizon 3), the life goes on
    as if it never stopped: the world's sources, the body's claims and M's evidence alike."""
    spec = "bandit(arms=5,every=200)+messages(sources=reliable|noisy|turncoat(at=150))"
    quick = {"tensorboard": False, "log_every": 100, "checkpoint_every": 1_000_000}
    genes = {**GENES, "vigilance_horizon": 3}

    def begin(directory):
        return open_life(directory, world=spec, config_changes=quick, genome_changes=genes)

    whole = begin(tmp_path / "whole")
    whole.run(300)
    first = begin(tmp_path / "split")
    first.run(171)
    assert first.agent.telemetry.vigilance.pending  # claims still waiting for their return
    second = open_life(tmp_path / "split")
    second.run(300)
    assert_same_state(whole.state_dict(), second.state_dict())
    records = read_metrics(tmp_path / "whole")
    assert comparable(records) == comparable(read_metrics(tmp_path / "split"))
    last = records[-1]
    assert {"trust_reliable", "trust_noisy", "trust_turncoat"} <= set(last)
    assert last["message_present"] == 1.0 and 0.0 < last["message_trust"] < 1.0
    report = life_page(tmp_path / "whole")  # the report draws each informant's trust
    assert 'id="fig-trust"' in report and ">turncoat<" in report


# --- Source vigilance -------------------------------------------------------------------------


def test_trust_ranks_sources_by_their_reliability_within_200_messages():
    for seed in (0, 1, 2):
        trusts = live(MIXED, "abm", 200, seed)[0][-1]
        order = list(RELIABILITY)
        rho = spearman([trusts[s] for s in order], [RELIABILITY[s] for s in order])
        assert rho == 1.0, (seed, trusts)
        assert trusts["reliable"] > 0.7 and trusts["liar"] < 0.15, (seed, trusts)


def test_a_turncoat_loses_half_its_trust_within_20_of_its_messages():
    """Reliable for 300 steps, then a liar (in worlds where the lie costs: the best arm pays
    clearly more than the next, +0.37 and +0.35; where it pays +0.02 more, as on seed 7, most
    lies cost next to nothing and outcomes cannot tell them from the truth for long)."""
    spec = "bandit(arms=5,every=100000)+messages(sources=turncoat(at=300))"
    for seed in (4, 6):
        trusts = [t["turncoat"] for t in live(spec, "abm", 330, seed)[0]]
        peak = max(trusts[:300])
        assert peak > 0.8, (seed, peak)
        caught = next(k for k in range(300, 330) if trusts[k] < peak / 2) - 299
        assert caught <= 20, (seed, caught)


def test_vigilance_checks_claims_by_consensus_and_outcome_and_saves_its_state():
    """Three sources of accuracy 1, 2/3 and 0 about 3 actions; the agent takes the right one
    70% of the time and it pays 0.9 against 0.2: mean trust over the life ranks them."""
    vigilance = SourceVigilance(prior=0.6, half_life=5.0, horizon=2, gamma=0.9)
    rng = np.random.default_rng(0)
    sums = Counter()
    for step in range(600):
        right = int(rng.integers(3))
        noisy = right if rng.random() < 0.5 else int(rng.integers(3))
        claims = [("a", right), ("b", noisy), ("c", (right + 1 + int(rng.integers(2))) % 3)]
        action = right if rng.random() < 0.7 else int(rng.integers(3))
        vigilance.step(claims, action, float(rng.random() < (0.9 if action == right else 0.2)), 3)
        sums.update(vigilance.trusts())
        if step == 150:
            state = json.loads(json.dumps(vigilance.state_dict()))  # plain data
    mean = {source: total / 600 for source, total in sums.items()}
    assert mean["a"] > 0.8 and 0.4 < mean["b"] < 0.75 and mean["c"] < 0.15, mean
    assert SourceVigilance().trust("never heard") == 0.6  # the innate prior
    copy_ = SourceVigilance(prior=0.6, half_life=5.0, horizon=2, gamma=0.9)
    copy_.load_state_dict(state)
    assert copy_.pending  # horizon 2: the step before the save is still open
    rng = np.random.default_rng(1)
    stream = [([("a", 1), ("c", 2)], int(rng.integers(3)), float(rng.random())) for _ in range(9)]
    original = SourceVigilance(prior=0.6, half_life=5.0, horizon=2, gamma=0.9)
    original.load_state_dict(state)
    for claims, action, reward in stream:
        original.step(claims, action, reward, 3)
        copy_.step(claims, action, reward, 3)
        assert original.trusts() == copy_.trusts()


def test_a_source_that_turns_is_caught_by_a_change_point_not_a_slow_mean():
    """300 claims checked right (mostly), then wrong half the time (the other lies cost little
    and look right): trust with change points (hazard 0.01) falls below half its peak within 20
    lies; one long run of evidence (hazard 0, the same long memory) takes over three times as
    many."""
    rng = np.random.default_rng(0)
    stream = [0.9 if rng.random() < 0.9 else 0.05 for _ in range(300)]
    stream += [0.01 if rng.random() < 0.5 else 0.8 for _ in range(100)]  # half the lies cost

    def lies_until_halved(hazard: float) -> int:
        vigilance = SourceVigilance(hazard=hazard)
        vigilance.step([("s", 0)], 0, 0.0, 2)  # heard: the source's runs begin
        vigilance.pending.clear()
        trusts = []
        for right in stream:
            vigilance._update("s", right)
            trusts.append(vigilance.trust("s"))
        peak = max(trusts[:300])
        return next((k for k in range(300, 400) if trusts[k] < peak / 2), 400) - 299

    quick, slow = lies_until_halved(0.01), lies_until_halved(0.0)
    assert quick <= 20 and slow >= 3 * quick, (quick, slow)


def test_a_claim_that_contradicts_a_confident_expectation_is_discounted():
    """Content vigilance: what the agent itself expects of each action (in deviations of the
    return) counts against a claim of an action it expects to be much worse, both when the claim
    is checked and when it moves B; an expectation that sets no action apart changes nothing."""
    vigilance = SourceVigilance(content=3.0)
    vigilance.usual.add(0.0)
    flat, sure = [0.0] * 4, [0.0, -1.5, 0.0, 0.0]
    plain = vigilance.posterior([("s", 1)], 0, 4, 0.0)
    assert vigilance.posterior([("s", 1)], 0, 4, 0.0, flat) == pytest.approx(plain)
    doubted = vigilance.posterior([("s", 1)], 0, 4, 0.0, sure)
    assert doubted[1] < plain[1] / 10 and sum(doubted) == pytest.approx(1.0)
    assert checked(0.8, 1, flat, 3.0) == pytest.approx(0.8)
    assert checked(0.8, 1, sure, 0.0) == 0.8  # content not read
    assert checked(0.8, 1, sure, 3.0) < 0.2 < checked(0.8, 0, sure, 3.0)
    # The expectation handed over before acting judges that step's claims, and only those.
    vigilance.foresee(sure)
    vigilance.step([("s", 1)], 0, 0.0, 4)
    assert vigilance.foreseen is None and vigilance.judged()[0][:2] == ([("s", 1)], 0)


def test_when_every_source_lies_vigilance_earns_more_than_deafness():
    """Every source a liar, 4 seeds x 300 steps: the liars end trusted below chance on average
    (1/5: so advice pushes away from what they say), and abm earns more than abm_deaf (the
    first version earned the same: liars stayed near 0.3, above chance, and were followed)."""
    seeds = range(4)
    heard = [live(LIARS, "abm", 300, seed) for seed in seeds]
    deaf = [live(LIARS, "abm_deaf", 300, seed)[1] for seed in seeds]
    trust = np.mean([value for trusts, _ in heard for value in trusts[-1].values()])
    assert trust < 0.2, trust
    earned = np.mean([reward for _, reward in heard])
    assert earned > np.mean(deaf) + 0.03, (earned, deaf)


# --- Advice moving the agent ------------------------------------------------------------------


def test_advice_multiplies_the_odds_of_what_is_advised_by_trust():
    probs = [0.7, 0.2, 0.1]
    assert shaped(probs, [("s", 1)], {("s", 1): 0.5}, gain=4.0) == pytest.approx(probs)
    up = shaped(probs, [("s", 2)], {("s", 2): 0.8}, gain=1.0)
    assert up[2] / up[0] == pytest.approx(4.0 * 0.1 / 0.7)  # odds x C / (1 - C)
    down = shaped(probs, [("s", 0)], {("s", 0): 0.2}, gain=2.0)
    assert down[0] / down[1] == pytest.approx(0.7 / 0.2 / 16)  # a known liar pushes away
    assert confidence_of(1 / 5, 5) == pytest.approx(0.5)  # chance moves nothing
    assert confidence_of(1.0, 5) == 1.0 and confidence_of(0.0, 5) == 0.0
    assert confidence_of(0.6, 5) == pytest.approx(2.4 / 2.8)


def test_advice_that_moves_nothing_leaves_the_mind_acting_as_without_it():
    """The hook draws with the same one uniform draw as B's own choice."""
    world = make_world("bandit(arms=4)")
    pair = [
        lifelong.make_agent(world.observation_space, world.action_space, genome=Genome(**GENES))
        for _ in range(2)
    ]
    meta = FixedController(Genome(**GENES), Mode.EXPLORE, "test").current()
    obs = np.zeros(5, np.float32)
    plain = [pair[0].agent.mind.act(obs, meta) for _ in range(200)]
    hooked = [pair[1].agent.mind.act(obs, meta, advice=lambda probs: probs) for _ in range(200)]
    assert plain == hooked and len(set(plain)) > 1
    minds = [stepwise.agent.mind for stepwise in pair]
    assert torch.equal(minds[0].model_rng.get_state(), minds[1].model_rng.get_state())


def test_without_messages_a_listening_agent_lives_the_deaf_life():
    """abm listens, abm_deaf does not: with nobody speaking they are the same life."""
    assert live("bandit(arms=5)", "abm", 300, 4) == live("bandit(arms=5)", "abm_deaf", 300, 4)
    # Deaf, it leaves no trace of the messages either.
    assert live(MIXED, "abm_deaf", 50, 4)[0][-1] == {}


def test_trusted_advice_pays_and_blind_belief_in_liars_costs():
    """With a reliable, a noisy and a lying source the vigilant agent earns more than the deaf
    one; when every source lies it earns more than the credulous one."""
    rewards = {agent: live(MIXED, agent, 500, 0)[1] for agent in ("abm", "abm_deaf")}
    assert rewards["abm"] > rewards["abm_deaf"] + 0.2, rewards
    liars = {agent: live(LIARS, agent, 600, 3)[1] for agent in ("abm", "abm_credulous")}
    assert liars["abm"] > liars["abm_credulous"] + 0.2, liars
    assert CREDULOUS == 0.99
