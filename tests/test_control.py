import random
import subprocess
import sys
from dataclasses import replace

import pytest

from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState, Telemetry
from lifelong.systems.control import PLAN_BACKOFF, MetaController


def run(controller, state, ticks):
    return [controller.decide(state).mode for _ in range(ticks)]


def test_system_m_imports_without_torch():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import lifelong.systems.control as control\n"
        "from lifelong.genome import Genome\n"
        "from lifelong.signals import MetaState\n"
        "print(control.MetaController(Genome()).decide(MetaState()).mode)\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {m.value for m in Mode}


def test_high_sleep_pressure_puts_the_agent_to_sleep_until_rested():
    controller = MetaController(Genome(min_dwell=3, sleep_rules=1))
    assert run(controller, MetaState(sleep_pressure=0.9), 4)[-1] == Mode.SLEEP
    assert controller.decide(MetaState(sleep_pressure=0.5)).mode == Mode.SLEEP
    assert controller.decide(MetaState(sleep_pressure=0.05)).mode != Mode.SLEEP


def test_minimum_dwell_holds_a_mode():
    controller = MetaController(Genome(min_dwell=10, explore_rules=1))
    controller.decide(MetaState())  # birth: the first choice is free
    assert controller.mode == Mode.EXPLOIT
    modes = run(
        controller,
        MetaState(learning_progress=0.5, model_reliability=0.4),
        13,
    )
    assert modes == [Mode.EXPLOIT] * 9 + [Mode.EXPLORE] * 4
    modes = run(controller, MetaState(stress=0.9), 7)
    assert modes == [Mode.EXPLORE] * 6 + [Mode.EXPLOIT]


def test_pain_aborts_a_plan_at_once_whatever_the_dwell():
    controller = MetaController(Genome(min_dwell=50, plan_rules=1))
    planning = MetaState(model_reliability=0.9, plan_advantage=1.0, plan_significance=5.0)
    controller.since_imagined = -(10**9)  # no imagining in this test
    assert run(controller, planning, 3) == [Mode.PLAN] * 3
    assert controller.decide(MetaState(pain=0.9)).mode == Mode.EXPLOIT


def test_stress_comes_before_a_trusted_teacher_and_boredom_ends_watching():
    genome = Genome(min_dwell=4, observe_span=6)
    stressed = MetaState(teacher_present=1.0, teacher_trust=0.9, stress=0.9)
    assert MetaController(genome).decide(stressed).rule == "stress"
    controller = MetaController(genome)
    modes = run(controller, MetaState(teacher_present=1.0, teacher_trust=0.9), 12)
    assert modes == [Mode.OBSERVE] * 6 + [Mode.EXPLOIT] * 4 + [Mode.OBSERVE] * 2


def test_rules_pick_modes_from_signals():
    cases = [
        (MetaState(pain=0.9, sleep_pressure=0.95), Mode.EXPLOIT, "pain"),
        (MetaState(energy=0.1, stress=0.9), Mode.EXPLOIT, "stress"),
        (MetaState(teacher_present=1.0, teacher_trust=0.9), Mode.OBSERVE, "trusted teacher"),
        (MetaState(teacher_present=1.0, teacher_trust=0.1), Mode.EXPLOIT, "default"),
        (
            MetaState(learning_progress=0.3, model_reliability=0.4),
            Mode.EXPLORE,
            "learning progress",
        ),
        # Progress where the model is hopeless (a noisy TV) or trivial does not hold attention.
        (MetaState(learning_progress=0.3, model_reliability=0.0), Mode.EXPLOIT, "default"),
        (MetaState(change_detected=1.0, stress=0.9), Mode.EXPLORE, "change detected"),
        (MetaState(model_reliability=0.8), Mode.IMAGINE, "model reliable: imagine"),
        (
            MetaState(model_reliability=0.3, plan_advantage=5.0, plan_significance=9.0),
            Mode.EXPLOIT,
            "default",
        ),
        (MetaState(surprise=5.0), Mode.EXPLORE, "surprise"),
        (MetaState(), Mode.EXPLOIT, "default"),
    ]
    for state, mode, rule in cases:
        controller = MetaController(Genome(min_dwell=1, explore_rules=1))
        action = controller.decide(state)
        assert (action.mode, action.rule) == (mode, rule), state


def test_the_explore_rules_are_innate_and_off_by_default():
    """Off by default (they cost reward at full size); the genome can switch them on."""
    curious = MetaState(learning_progress=0.3, model_reliability=0.4)
    surprised = MetaState(surprise=5.0)
    for state in (curious, surprised):
        assert MetaController(Genome(min_dwell=1)).decide(state).mode == Mode.EXPLOIT
        on = MetaController(Genome(min_dwell=1, explore_rules=1))
        assert on.decide(state).mode == Mode.EXPLORE
    # A change still sends the agent to explore: that is the change family, not these rules.
    change = MetaState(change_detected=1.0)
    assert MetaController(Genome(min_dwell=1)).decide(change).rule == "change detected"


def test_the_sleep_rules_are_innate_and_off_by_default():
    """Off by default (sleep lost to its ablation at full size); the genome can switch it on."""
    tired = MetaState(sleep_pressure=1.0)
    assert MetaController(Genome(min_dwell=1)).decide(tired).mode == Mode.EXPLOIT
    assert MetaController(Genome(min_dwell=1, sleep_rules=1)).decide(tired).mode == Mode.SLEEP


def test_meta_action_follows_the_mode():
    genome = Genome(min_dwell=1)
    explore = MetaController(genome.replace(explore_rules=1)).decide(
        MetaState(learning_progress=0.5, model_reliability=0.4)
    )
    exploit = MetaController(genome).decide(MetaState())
    sleep = MetaController(genome.replace(sleep_rules=1)).decide(MetaState(sleep_pressure=1.0))
    assert explore.intrinsic_weight == genome.intrinsic_gain > 0
    assert exploit.intrinsic_weight == 0.0
    assert explore.temperature > exploit.temperature
    assert sleep.updates == genome.sleep_updates and exploit.updates == 0
    assert sleep.recent_fraction == genome.replay_recent_sleep
    assert not ROUTES[Mode.SLEEP].steps_world and ROUTES[Mode.EXPLORE].steps_world


def test_state_dict_round_trip():
    controller = MetaController(Genome())
    run(controller, MetaState(sleep_pressure=0.99), 30)
    copy = MetaController(Genome())
    copy.load_state_dict(controller.state_dict())
    assert run(copy, MetaState(sleep_pressure=0.5), 5) == run(
        controller, MetaState(sleep_pressure=0.5), 5
    )


def test_a_detected_change_explores_and_only_an_agreed_one_resets_units_and_boosts():
    genome = Genome(min_dwell=1)
    alone = MetaController(genome).decide(MetaState(change_detected=1.0))
    assert alone.mode == Mode.EXPLORE and not alone.plasticity and alone.lr_boost == 1.0
    agreed = MetaController(genome).decide(MetaState(change_detected=1.0, change_agreed=1.0))
    assert agreed.mode == Mode.EXPLORE and agreed.plasticity
    assert agreed.lr_boost == genome.lr_boost
    calm = MetaController(genome).decide(MetaState(learning_progress=0.5, model_reliability=0.4))
    assert not calm.plasticity and calm.lr_boost == 1.0


def test_news_of_a_change_waits_out_a_dwelling_mode():
    controller = MetaController(Genome(min_dwell=5))
    controller.decide(MetaState())
    assert controller.decide(MetaState(change_detected=1.0)).mode == Mode.EXPLOIT
    modes = run(controller, MetaState(), 4)
    assert modes == [Mode.EXPLOIT] * 3 + [Mode.EXPLORE]
    assert controller.rule == "change detected"


def test_planning_is_admitted_by_its_measured_advantage_or_a_periodic_trial():
    genome = Genome(min_dwell=1, plan_retry=5, plan_margin=0.0, plan_rules=1)
    no_imagine = frozenset({"imagine"})
    unsure = MetaState(model_reliability=0.9, plan_advantage=-0.5, plan_significance=-1.0)
    modes = run(MetaController(genome, no_imagine), unsure, 13)
    assert modes == [Mode.PLAN] + ([Mode.EXPLOIT] * 5 + [Mode.PLAN]) * 2  # a trial at birth
    paying = MetaState(model_reliability=0.9, plan_advantage=0.5, plan_significance=4.0)
    assert run(MetaController(genome, no_imagine), paying, 3) == [Mode.PLAN] * 3
    unreliable = MetaController(genome, no_imagine)
    assert unreliable.decide(replace(paying, model_reliability=0.1)).mode == Mode.EXPLOIT
    # Off by default (it did not earn its place at full size): never, not even on trial.
    off = MetaController(Genome(min_dwell=1), no_imagine)
    assert run(off, replace(paying, plan_advantage=5.0), 3) == [Mode.EXPLOIT] * 3


def test_the_plan_verdict_needs_significance_not_just_a_positive_difference():
    """An advantage M is not sure of (t below `plan_z`) admits only trial spells; so does a
    significant one smaller than `plan_margin`."""
    genome = Genome(min_dwell=1, plan_retry=10, plan_rules=1)
    no_imagine = frozenset({"imagine"})
    for t, margin, share in [(2.0, 0.0, 2), (4.0, 0.0, 20), (4.0, 1.0, 2)]:
        state = MetaState(model_reliability=0.9, plan_advantage=0.5, plan_significance=t)
        controller = MetaController(genome.replace(plan_margin=margin), no_imagine)
        assert run(controller, state, 20).count(Mode.PLAN) == share, (t, margin)


def test_losing_plans_get_rarer_and_a_change_gives_planning_a_fresh_hearing():
    """Each trial begun while the evidence says planning loses doubles the interval to the
    next (up to PLAN_BACKOFF times `plan_retry`); an agreed change resets it."""
    genome = Genome(min_dwell=2, plan_retry=10, plan_rules=1)
    controller = MetaController(genome, frozenset({"imagine", "change"}))
    losing = MetaState(model_reliability=0.9, plan_advantage=-0.5, plan_significance=-5.0)
    modes = run(controller, losing, 20_000)
    starts = [i for i, m in enumerate(modes) if m == Mode.PLAN and (i == 0 or modes[i - 1] != m)]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[:7] == [2 + 20, 2 + 40, 2 + 80, 2 + 160, 2 + 320, 2 + 640, 2 + 640]
    assert modes.count(Mode.PLAN) / len(modes) < 0.01
    # A tie, not a loss, keeps trials at the base interval: no evidence against planning.
    tied = MetaController(genome, frozenset({"imagine"}))
    tie = replace(losing, plan_significance=-1.0)
    assert run(tied, tie, 120).count(Mode.PLAN) == 2 * 10
    assert controller.plan_interval == PLAN_BACKOFF * genome.plan_retry
    restored = MetaController(genome, frozenset({"imagine", "change"}))
    restored.load_state_dict(controller.state_dict())
    assert run(restored, losing, 3000) == run(controller, losing, 3000)
    # One stream's alarm is not enough; an agreed change is, and the telemetry forgets the
    # old world's evidence then (t reads 0).
    controller.decide(replace(losing, change_detected=1.0, plan_significance=0.0))
    assert controller.plan_interval == PLAN_BACKOFF * genome.plan_retry
    controller.decide(replace(losing, change_agreed=1.0, plan_significance=0.0))
    assert controller.plan_interval == genome.plan_retry
    # A checkpoint from before the back-off resumes at the base interval.
    old = {k: v for k, v in restored.state_dict().items() if k != "plan_interval"}
    restored.load_state_dict(old)
    assert restored.plan_interval == genome.plan_retry


def _closed_loop(plan_mean: float, ticks: int) -> list[Mode]:
    """M with its telemetry in a world where the return after a PLAN step is N(plan_mean, 1)
    and after an EXPLOIT step N(0, 1), A's model reliable (error 0.1 of copy-last's)."""
    genome = Genome(min_dwell=8, plan_retry=200, plan_rules=1)
    telemetry = Telemetry.from_genome(genome)
    telemetry.on_prediction(0.1, 0.1, copy_last=1.0)
    telemetry.reward_scale.update(1.0)
    controller = MetaController(genome, frozenset({"imagine"}))
    rng = random.Random(0)
    modes = []
    for _ in range(ticks):
        mode = controller.decide(telemetry.heard()).mode
        mean = plan_mean if mode == Mode.PLAN else 0.0
        telemetry.on_return(mode.value, rng.gauss(mean, 1.0))
        modes.append(mode)
    return modes


def test_planning_that_pays_is_admitted_and_planning_that_loses_falls_under_one_percent():
    paying = _closed_loop(1.0, 8_000)
    assert paying[-4_000:].count(Mode.PLAN) > 3_800
    losing = _closed_loop(-1.0, 20_000)
    assert losing.count(Mode.PLAN) / len(losing) < 0.01
    assert losing[-10_000:].count(Mode.PLAN) / 10_000 < 0.005


def test_imagining_runs_a_spell_then_the_model_plans_until_rested_again():
    genome = Genome(min_dwell=4, imagine_span=3, imagine_every=10, plan_rules=1)
    controller = MetaController(genome)
    state = MetaState(model_reliability=0.8, plan_advantage=1.0, plan_significance=5.0)
    modes = run(controller, state, 16)
    assert modes[:3] == [Mode.IMAGINE] * 3
    assert modes[3:13] == [Mode.PLAN] * 10
    assert modes[13:16] == [Mode.IMAGINE] * 3
    action = MetaController(genome).decide(state)
    assert not ROUTES[action.mode].steps_world and action.updates == genome.sleep_updates


def test_ablations_switch_off_one_rule_family_and_nothing_else():
    state = MetaState(model_reliability=0.8, plan_advantage=1.0, plan_significance=5.0)
    planner = Genome(min_dwell=1, plan_rules=1)
    no_imagine = MetaController(planner, disabled=frozenset({"imagine"}))
    assert no_imagine.decide(state).mode == Mode.PLAN
    neither = MetaController(planner, disabled=frozenset({"imagine", "plan"}))
    assert neither.decide(state).mode == Mode.EXPLOIT
    no_sleep = MetaController(Genome(min_dwell=1, sleep_rules=1), disabled=frozenset({"sleep"}))
    assert no_sleep.decide(MetaState(sleep_pressure=1.0)).mode == Mode.EXPLOIT
    with pytest.raises(ValueError, match="unknown rule families"):
        MetaController(Genome(), disabled=frozenset({"dreams"}))


def test_m_is_the_same_before_and_after_a_life():
    genome = Genome(min_dwell=2)
    controller = MetaController(genome, disabled=frozenset({"imagine"}))
    # Snapshots, not the objects themselves: a genome changed in place equals itself.
    before = (genome.to_dict(), set(controller.disabled))
    for i in range(500):
        controller.decide(MetaState(sleep_pressure=(i % 100) / 100, change_detected=i % 37 == 0))
    assert controller.genome is genome
    assert (genome.to_dict(), set(controller.disabled)) == before
    assert genome == Genome(min_dwell=2) and controller.disabled == frozenset({"imagine"})


def test_after_a_change_replay_favours_recent_experience_for_recency_span_ticks():
    genome = Genome(min_dwell=1, recency_span=3)
    controller = MetaController(genome)
    calm = MetaState(learning_progress=0.5, model_reliability=0.4)
    assert controller.decide(calm).recent_fraction == genome.replay_recent_awake
    actions = [controller.decide(MetaState(change_detected=1.0))]
    actions += [controller.decide(calm) for _ in range(4)]
    mixes = [action.recent_fraction for action in actions]
    assert mixes == [1.0, 1.0, 1.0] + [genome.replay_recent_awake] * 2
    half_lives = [action.half_life for action in actions]
    assert half_lives == [genome.replay_half_life_change] * 3 + [genome.replay_half_life] * 2
    off = MetaController(Genome(min_dwell=1))  # recency_span 0 by default: no bias
    assert off.decide(MetaState(change_detected=1.0)).recent_fraction == genome.replay_recent_awake
