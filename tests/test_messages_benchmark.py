"""benchmarks/messages.py: informants' lives measured (issue 28), on 2 seeds x 200 steps."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

from lifelong.errors import UserError
from lifelong.genome import Genome

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import messages  # noqa: E402

SEEDS = (0, 1)
SOURCES = (messages.MIXED, "turncoat(at=100)")


@pytest.fixture(scope="module")
def lives():
    genome = Genome(**messages.SMALL)
    mixed = messages.measure("bandit(arms=5)", SOURCES[:1], ("abm", "abm_deaf"), SEEDS, 200, genome)
    return mixed | messages.measure("bandit(arms=5)", SOURCES[1:], ("abm",), SEEDS, 200, genome)


def test_every_life_is_measured_step_by_step_and_written(lives, tmp_path):
    pairs = [(SOURCES[0], "abm"), (SOURCES[0], "abm_deaf"), (SOURCES[1], "abm")]
    assert sorted(lives) == sorted((s, a, seed) for s, a in pairs for seed in SEEDS)
    for (_, agent, _), lived in lives.items():
        assert 0.0 <= lived.reward_per_step <= 1.0
        assert len(lived.trusts) == len(lived.spoke) == len(lived.truth) == 200
        assert (lived.trusts[-1] == {}) == (agent == "abm_deaf")  # the deaf trust nobody
    out = tmp_path / "lives.csv"
    messages.write_csv(out, lives)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    header = ["sources", "agent", "seed", "reward_per_step", "last_quarter", "share"]
    assert list(rows[0]) == header and len(rows) == 6
    assert all(row["share"] == "" for row in rows)  # the bandit has no scripted oracle here
    rewards = messages.rewards(lives)
    assert rewards[(messages.MIXED, "abm")] == [
        lives[(messages.MIXED, "abm", s)].reward_per_step for s in SEEDS
    ]
    assert "abm_deaf" in messages.reward_table(lives, SEEDS)
    iqms = {key: sum(values) / 2 for key, values in rewards.items()}
    assert "abm / abm_deaf" in messages.iqm_table(iqms)


def test_trust_ranks_the_mixed_sources_and_listening_pays(lives):
    for seed in SEEDS:
        assert messages.rank_at(lives[(messages.MIXED, "abm", seed)], 200) == 1.0
        assert messages.rank_at(lives[(messages.MIXED, "abm", seed)], 500) is None  # too short
        deaf = lives[(messages.MIXED, "abm_deaf", seed)].reward_per_step
        assert lives[(messages.MIXED, "abm", seed)].reward_per_step > deaf + 0.2
        told = messages.caught(lives[("turncoat(at=100)", "abm", seed)])
        assert 0.0 < told.peak <= 1.0 and 0.0 < told.at_turn <= told.peak
        assert told.lies is None or 0 <= told.lies < 100
    assert messages.caught(lives[(messages.MIXED, "abm", 0)], "reliable") is None
    lines = messages.turncoat_lines(
        {seed: lives[("turncoat(at=100)", "abm", seed)] for seed in SEEDS}
    )
    assert len(lines) == 3 and "best arm +" in lines[0] and lines[-1].startswith("  within 20")


def test_a_turncoat_is_caught_after_the_lies_heard_before_trust_halves():
    truth = [{"t": 1.0}] * 3 + [{"t": 0.0}] * 4
    trusts = [{"t": v} for v in (0.6, 0.9, 0.8, 0.7, 0.5, 0.44, 0.3)]
    lived = messages.Lived(0.5, spoke=[("t",), (), ("t",), ("t",), (), ("t",), ("t",)])
    lived.truth, lived.trusts = truth, trusts
    # One lie heard (step 3) before trust fell below 0.45 (step 5).
    assert messages.caught(lived, "t") == messages.Caught(1, 0.9, 0.8)
    lived.trusts = trusts[:5]
    assert messages.caught(lived, "t") == messages.Caught(None, 0.9, 0.8)  # never fell


def test_the_headroom_share_and_the_command_line(tmp_path, capsys):
    iqms = {("m", "abm"): 0.8, ("m", "abm_deaf"): 0.4, ("m", "abm_oracle"): 0.9}
    assert messages.headroom(iqms, "m") == pytest.approx(0.8)
    assert math.isnan(messages.headroom({("m", "abm"): 0.8}, "m"))
    out = tmp_path / "one.csv"
    args = [
        "--seeds",
        "0-0",
        "--steps",
        "60",
        "--agents",
        "abm",
        "--rank-at",
        "20",
        "--csv",
        str(out),
    ]
    assert messages.main(args) == 0
    printed = capsys.readouterr().out
    assert "rank correlation 1.0 on" in printed and "seed 0: never turned" in printed
    assert len(out.read_text().splitlines()) == 4  # header + 3 source sets


def test_grounding_is_summarised_per_source_set(lives):
    """Every listening life kept what each source's claims meant over its last steps."""
    for (_, agent, _), lived in lives.items():
        assert (lived.meanings == {}) == (agent == "abm_deaf")
    lines = messages.grounding_lines(lives)
    assert len(lines) == 2 and lines[0].split()[0] == messages.MIXED
    assert "reliable" in lines[0] and "of 2" in lines[0] and "turncoat" in lines[1]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (["advice_gain"], "'advice_gain' is invalid; allowed: NAME=VALUE"),
        (["bogus=1"], "unknown genome field 'bogus'"),
        (["advice_gain=99"], "advice_gain' = 99 is out of range"),
        (["advice_gain=[1"], "is not a number"),
    ],
)
def test_a_gene_change_is_checked_with_one_line(changes, named):
    with pytest.raises(UserError, match=named) as caught:
        messages.changed(Genome(**messages.SMALL), changes)
    assert "\n" not in str(caught.value)


def test_gene_changes_apply_on_top_of_the_genome():
    small = Genome(**messages.SMALL)
    assert messages.changed(small, []) is small
    changed = messages.changed(small, ["advice_content=0", "source_hazard=0.02"])
    assert changed.advice_content == 0 and changed.source_hazard == 0.02
    assert changed.latent_dim == small.latent_dim


def test_in_the_nursery_sources_say_the_food_and_shares_are_measured(tmp_path, capsys):
    """The command line in a Nursery told the season's food: the deaf agent lives once per seed
    and its rewards are repeated under each source set; the scripted lives give each life's
    share of the headroom; grounding separates what the sources' good and bad mean."""
    out = tmp_path / "nursery.csv"
    world = "nursery(teachers=0,predator=False,noisy_tv=False,season_length=50)"
    args = ["--world", world, "--says", "food", "--sources", "reliable|liar;liar|liar"]
    args += ["--seeds", "0-0", "--steps", "120", "--agents", "abm,abm_deaf", "--csv", str(out)]
    assert messages.main(args) == 0
    printed = capsys.readouterr().out
    assert "sources say food" in printed and "(scripted)" in printed
    assert "reliable|liar: abm - abm_deaf" in printed
    with out.open() as f:
        rows = list(csv.DictReader(f))
    deaf = [row for row in rows if row["agent"] == "abm_deaf"]
    assert len(deaf) == 2 and deaf[0]["last_quarter"] == deaf[1]["last_quarter"]
    assert {row["agent"] for row in rows if row["sources"] == ""} == set(messages.SCRIPTED)
    oracle = next(row for row in rows if row["agent"] == "oracle")
    assert float(oracle["share"]) == 1.0 and all(row["share"] != "" for row in rows)
    with pytest.raises(SystemExit):
        messages.main(["--world", "bandit", "--says", "food", "--seeds", "0-0", "--steps", "5"])
