import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY

from lifelong.errors import UserError
from lifelong.life import open_life, read_metrics
from lifelong.modes import Mode
from lifelong.policies import load_policy
from lifelong.signals import MetaState
from lifelong.worlds import make_world

# The suite's learning checks are the benchmark's (benchmarks/nursery_headroom.py): the same
# references, measured the same way, as docs/benchmarks.md's table of the Nursery's headroom.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from nursery_headroom import CONSTANTS, agent_rates, scripted_rates, share  # noqa: E402

QUICK = {"tensorboard": False, "log_every": 100, "checkpoint_every": 1_000_000}


def start(directory, **config):
    return open_life(
        directory, world="nursery-small", config_changes={**QUICK, **config}, genome_changes=TINY
    )


def comparable(records):
    return [{k: v for k, v in r.items() if k not in ("wall_time", "steps_per_s")} for r in records]


def assert_same_state(a, b, where="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


# Every path of the loop within a few hundred steps: plans, imaginings and sleeps recur every
# 300 ticks, and a change announced at step 400 resets units and boosts the learning rates.
EVERY_PATH = {**TINY, "plan_rules": 1, "plan_retry": 300, "imagine_every": 300}
EVERY_PATH |= {"plan_reliability": 0.0, "reinit_fraction": 0.1}


def announce_a_change(life, at_step):
    """Both of M's detector streams alarm just after the record at `at_step`."""

    def on_record(record):
        if record["step"] == at_step:
            life.agent.telemetry.change_pending = True
            life.agent.telemetry.agreement_pending = True

    life.on_record = on_record


def test_a_resumed_life_equals_an_uninterrupted_one(tmp_path):
    """Interrupted at 450, inside a record interval (100) and a learning-rate boost, the life
    continues as if it never stopped, and the compared stretch holds every verb of the loop."""

    def begin(directory):
        return open_life(
            directory, world="nursery-small", config_changes=QUICK, genome_changes=EVERY_PATH
        )

    whole = begin(tmp_path / "whole")
    announce_a_change(whole, 400)
    whole.run(900)
    first = begin(tmp_path / "split")
    announce_a_change(first, 400)
    first.run(450)
    at_split = dict(first.agent.counters)
    assert at_split["interventions"] == 1  # the boost from step 400 is still decaying at 450
    assert first.agent.mind.b.optimizer.param_groups[0]["lr"] > first.genome.lr_b
    second = open_life(tmp_path / "split")  # a new process would do exactly this
    assert second.agent.counters["env_steps"] == 450
    second.run(900)
    assert_same_state(whole.state_dict(), second.state_dict())
    assert comparable(read_metrics(tmp_path / "whole")) == comparable(
        read_metrics(tmp_path / "split")
    )
    after = whole.agent.counters
    for counter in ("updates_a", "updates_b", "plans", "imagine_ticks", "sleep_ticks"):
        assert after[counter] > at_split[counter], f"no {counter} after the split"


def test_run_directory_holds_the_promised_files(tmp_path):
    life = start(tmp_path / "life", tensorboard=True, checkpoint_every=100)
    life.run(500)
    directory = tmp_path / "life"
    assert (directory / "config.yaml").exists() and (directory / "genome.yaml").exists()
    assert len(list((directory / "checkpoints").glob("ckpt-*.pt"))) == 3  # the newest 3 kept
    assert list((directory / "tensorboard").glob("events.out.tfevents.*"))
    records = read_metrics(directory)
    assert [r["step"] for r in records] == [100, 200, 300, 400, 500]
    for name in [*MetaState.names(), "reward_rate", *(f"mode_{m.value}" for m in Mode)]:
        assert name in records[-1], name
    assert sum(records[-1][f"mode_{m.value}"] for m in Mode) == pytest.approx(1.0)


def test_resume_drops_records_written_after_the_checkpoint(tmp_path):
    """A life killed between a record and a checkpoint writes that record again exactly once."""
    directory = tmp_path / "life"
    life = start(directory, checkpoint_every=200)
    life.run(300)  # checkpoints at 200 and 300, records at 100, 200, 300
    newest = sorted((directory / "checkpoints").glob("ckpt-*.pt"))[-1]
    newest.unlink()  # as if killed after the record at 300 but before its checkpoint
    resumed = open_life(directory)
    assert resumed.agent.counters["env_steps"] == 200
    assert [r["step"] for r in read_metrics(directory)] == [100, 200]
    resumed.run(400)
    assert [r["step"] for r in read_metrics(directory)] == [100, 200, 300, 400]


def test_sleep_happens_under_pressure_and_takes_no_world_steps(tmp_path):
    life = start(tmp_path / "life")
    world = life.world.unwrapped
    agent = life.agent
    decide = agent.decide
    log = []

    def logged_decide():
        pressure = agent.telemetry.meta_state().sleep_pressure
        world_steps = world.state_dict()["step"]
        was = agent.controller.mode
        meta = decide()
        log.append((was, meta.mode, pressure, world_steps))
        return meta

    agent.decide = logged_decide
    life.run(600)
    falls_asleep = [entry for entry in log if entry[1] == Mode.SLEEP and entry[0] != Mode.SLEEP]
    assert falls_asleep, "the agent never slept"
    threshold = life.genome.sleep_threshold
    assert all(pressure >= threshold for _, _, pressure, _ in falls_asleep)
    asleep = [i for i, entry in enumerate(log) if entry[1] == Mode.SLEEP]
    for i in asleep:  # the world clock does not move across a sleep tick
        if i + 1 < len(log):
            assert log[i + 1][3] == log[i][3]
    # Sleep and imagine are the two ticks without the world.
    counters = agent.counters
    assert (
        counters["ticks"]
        == counters["env_steps"] + counters["sleep_ticks"] + counters["imagine_ticks"]
    )
    assert world.state_dict()["step"] == agent.counters["env_steps"]


def test_a_life_uses_several_modes(tmp_path):
    life = start(tmp_path / "life")
    life.run(1500)
    records = read_metrics(tmp_path / "life")
    used = {m for m in Mode if sum(r[f"mode_{m.value}"] for r in records) > 0}
    assert len(used) >= 3, used


def test_world_seed_and_genome_are_fixed_once_a_life_began(tmp_path):
    start(tmp_path / "life").run(10)
    with pytest.raises(UserError, match="seed"):
        open_life(tmp_path / "life", seed=5)
    with pytest.raises(UserError, match="genome is fixed"):
        open_life(tmp_path / "life", genome_changes={"lr_a": 0.01})
    # Bookkeeping may change on resume.
    assert open_life(tmp_path / "life", config_changes={"log_every": 7}).config.log_every == 7


def test_metrics_are_json_lines(tmp_path):
    start(tmp_path / "life").run(200)

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    for line in (tmp_path / "life" / "metrics.jsonl").read_text().splitlines():
        assert isinstance(json.loads(line, parse_constant=refuse)["step"], int)


# A learning claim rests on several lives: one life's last quarter can be one predator attack or
# storm away from chance, and any change in floating-point order reshuffles which one that is.
SEEDS = (0, 1, 2)
LIFETIME = 16_000


def lives_against_references(directory: Path, world: str) -> dict[str, float]:
    """Means over `SEEDS` of the last quarter's reward per step, each life from the same seed:
    the default agent (`abm`) on all its world steps and on those it took in EXPLOIT (B's own
    policy, apart from a teacher's lead), the same agent never learning (its warm-up beyond the
    life, `abm_never`) likewise, uniform random, the best constant action (of each seed: the
    strongest such reference) and the Nursery's oracle, the ceiling of the headroom."""
    found: dict[str, list[float]] = {}
    for seed in SEEDS:
        learner = agent_rates(directory / f"seed{seed}", "abm", world, seed, LIFETIME)
        never = agent_rates(directory / f"never{seed}", "abm_never", world, seed, LIFETIME)
        scripted = scripted_rates(world, LIFETIME, seed)
        values = {
            "agent": learner["last_quarter"],
            "agent_exploit": learner["exploit"],
            "never": never["last_quarter"],
            "never_exploit": never["exploit"],
            "random": scripted["random"]["last_quarter"],
            "best_constant": max(scripted[name]["last_quarter"] for name in CONSTANTS),
            "oracle": scripted["oracle"]["last_quarter"],
        }
        for key, value in values.items():
            assert value is not None, f"seed {seed}: no {key} (no EXPLOIT tick in the quarter?)"
            found.setdefault(key, []).append(value)
    return {key: float(np.mean(values)) for key, values in found.items()}


def test_the_agent_s_own_policy_beats_resting_and_a_twin_that_never_learns_and_its_model_improves(
    tmp_path,
):
    """Default agent and world (teachers, predator): over the last quarter, what B's own policy
    earns (EXPLOIT ticks, not the teacher's lead in OBSERVE) beats the best constant action and
    the same agent never learning, on the same seeds, and closes a good share of the headroom
    between random and the oracle; the whole last quarter beats the never-learning twin too. A's
    prediction error on fresh experience, against the copy-last baseline's, falls and ends
    below it.

    Measured (issue 27's economy, 16,000 steps, seeds 0-2, means, replay 1/4): EXPLOIT ticks
    +0.029 (seeds -0.001, +0.074, +0.013), all ticks +0.046; never learning: EXPLOIT -0.100, all
    -0.071 (it follows teachers too); best constant (always rest) -0.011, random -0.030, oracle
    +0.107: B's own policy closes 43% of the headroom, resting 14%. (At replay 1/8 these seeds
    gave +0.050 and +0.066; on the ten fresh seeds that decided the default, 1/4 was ahead:
    docs/benchmarks.md, "Replay 1/4 on fresh seeds".)

    The error is read against copy-last in the same latent space, not on its own: A's target is
    the online encoder, whose latents grow richer as the agent learns, so the raw error can rise
    while A beats copying by more (measured: first 0.13-0.49, last quarter 0.36-0.42)."""
    means = lives_against_references(tmp_path, "nursery")
    own, headroom = means["agent_exploit"], (means["random"], means["oracle"])
    assert own > means["best_constant"] + 0.02, means
    assert own > means["never_exploit"] + 0.05, means
    assert means["agent"] > means["never"] + 0.05, means
    assert share(own, *headroom) > 0.3, means
    ratios = []
    for seed in SEEDS:
        records = read_metrics(tmp_path / f"seed{seed}")
        quarter = records[-len(records) // 4 :]
        first = next(r for r in records if r["error_vs_copy_last"] is not None)  # A has trained
        late_ratio = float(np.mean([r["error_vs_copy_last"] for r in quarter]))
        # Measured at bbe1088 + target_rate 1: first 0.99-1.06, last quarter 0.70-0.79.
        assert late_ratio < 0.9 * first["error_vs_copy_last"], f"seed {seed}"
        ratios.append(late_ratio)
    # Not only a falling number: A's one-step predictions beat copying the last embedding.
    assert np.mean(ratios) < 0.9, ratios


def test_without_a_teacher_the_agent_learns_from_its_own_actions(tmp_path):
    """No teacher to follow and no predator: what the agent earns is its own policy's (it is in
    EXPLOIT nearly all the time). It beats chance and the same agent never learning, on the
    same seeds, and comes close to the best constant action (always rest), but does not beat
    it yet: that part is reported as an expected failure (xfail, with the numbers) while it
    lasts, and the test simply passes the day the agent forages better than it rests.

    Measured (issue 27's economy, 16,000 steps, seeds 0-2, means, replay 1/4): EXPLOIT ticks
    -0.0056 (seeds -0.0056, -0.0057, -0.0056); never learning -0.059 (-0.014, -0.151, -0.014);
    random -0.030; always rest -0.0035; oracle +0.124. Share of the headroom: the agent 16%,
    resting 17%. Why resting is hard to beat here: the season (which food is nutritious) is not
    in the observation and flips every 2,000 steps, so a forager blind to it earns about +0.005
    (eating every food it meets, scripted); with the season fixed for the life (20,000 steps,
    seeds 100-109, replay 1/4) abm closes 24% of the headroom and b_only 19%
    (docs/benchmarks.md, "Replay 1/4 on fresh seeds: adopted")."""
    means = lives_against_references(tmp_path, "nursery(teachers=0,predator=False)")
    own, headroom = means["agent_exploit"], (means["random"], means["oracle"])
    assert own > means["random"] + 0.015, means
    assert own > means["never_exploit"] + 0.01, means
    assert share(own, *headroom) > 0.08, means
    assert own > means["best_constant"] - 0.01, means  # the gap to resting stays small
    if own <= means["best_constant"]:
        pytest.xfail(
            f"issue 27: without a teacher B's own policy ({own:+.4f} per step) does not beat"
            f" always resting ({means['best_constant']:+.4f}) in {LIFETIME} steps"
        )


def test_a_wrapped_world_that_cannot_be_saved_resumes_as_a_new_stream(tmp_path, capsys):
    """FrozenLake cannot be saved; its shift wrapper can. The life goes on and the wrapper's
    schedule keeps counting from where it was."""
    spec = "gym:FrozenLake-v1+shift(kind=actions,every=150)"
    life = open_life(tmp_path / "life", world=spec, config_changes=QUICK, genome_changes=TINY)
    life.run(200)
    saved = life.world.state_dict()
    resumed = open_life(tmp_path / "life")
    assert "resumes as a new episode at step 200" in capsys.readouterr().err
    assert resumed.world.state_dict()["regime"] == saved["regime"] == 1
    resumed.run(400)
    assert resumed.agent.counters["env_steps"] == 400
    assert resumed.world.state_dict()["regime"] == 2


def test_a_resumed_life_in_a_saved_classic_control_world_equals_an_uninterrupted_one(tmp_path):
    """CartPole is saved with its wrapper: the resumed life lives the very same steps.

    Split at 250, inside a record interval (100) and a gravity regime (150), and compared
    whole: the agent's every tensor, array and counter, the world, the recorder's half-filled
    interval, the records and the events."""
    spec = "gym:CartPole-v1+shift(kind=gravity,every=150,scale=2.0)"
    whole = open_life(tmp_path / "whole", world=spec, config_changes=QUICK, genome_changes=TINY)
    whole.run(400)
    first = open_life(tmp_path / "split", world=spec, config_changes=QUICK, genome_changes=TINY)
    first.run(250)
    assert first.world.state_dict()["regime"] == 1  # mid-regime: the shift at 150, next at 300
    second = open_life(tmp_path / "split")
    assert second.agent.counters["env_steps"] == 250
    second.run(400)
    assert_same_state(whole.state_dict(), second.state_dict())
    assert comparable(read_metrics(tmp_path / "whole")) == comparable(
        read_metrics(tmp_path / "split")
    )
    events = [(tmp_path / name / "events.jsonl").read_text() for name in ("whole", "split")]
    assert events[0] == events[1] and '"regime"' in events[0]


def test_a_saved_agent_can_be_loaded_as_a_policy(tmp_path):
    life = start(tmp_path / "life")
    life.run(300)
    policy = load_policy(tmp_path / "life")
    obs, _ = make_world("nursery-small").reset(seed=3)
    with torch.inference_mode():
        z = life.agent.mind.b_input(torch.as_tensor(obs).unsqueeze(0))
        expected = int(life.agent.mind.b.values(z).argmax().item())
    assert policy(obs) == expected
    with pytest.raises(UserError, match="no life in"):
        load_policy(tmp_path / "nothing")


def test_a_saved_agent_can_teach_in_another_life(tmp_path):
    teacher = start(tmp_path / "teacher", seed=2)  # seed 2: its greedy action varies
    teacher.run(200)
    mind = teacher.agent.mind  # as saved at 200
    spec = f"nursery-small+teacher(policy='{tmp_path / 'teacher'}',reliability=1.0)"
    world = make_world(spec, load_policy=load_policy)
    world.reset(seed=0)
    shown, greedy = [], []
    for step in range(30):
        obs, _, _, _, info = world.step(step % world.action_space.n)
        ours = [t for t in info["teachers"] if t["source"] == "teacher"]  # the Nursery's too
        assert len(ours) == 1  # always in view
        shown.append(ours[0]["action"])
        with torch.inference_mode():  # the saved agent's own best action where the learner is
            greedy.append(mind.greedy(mind.b_input(torch.as_tensor(obs)[None])))
    assert shown == greedy
    assert len(set(shown)) > 1  # else any fixed action could pass: try another seed


def test_the_teacher_who_misleads_ends_less_trusted_than_the_reliable_one(tmp_path):
    """The Nursery's teacher_a leads to the season's good food always, teacher_b 30% of the time
    (else to any food). A life that followed both trusts teacher_a more. Measured at 4,000
    steps, seeds 0-2: teacher_a 1.0 in each, teacher_b 0.69-0.86."""
    life = open_life(
        tmp_path / "life",
        world="nursery",
        config_changes={**QUICK, "log_every": 1000},
        genome_changes=TINY,
    )
    assert life.world.unwrapped.teacher_reliability == (1.0, 0.3)
    life.run(4000)
    telemetry = life.agent.telemetry
    assert sorted(life.agent.mind.sources) == ["teacher_a", "teacher_b"]  # both were followed
    assert telemetry.trust_in("teacher_a") > telemetry.trust_in("teacher_b")
