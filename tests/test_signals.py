import random

import pytest

from lifelong.genome import Genome
from lifelong.progress import MIN_SPELLS, ProgressTest
from lifelong.signals import EMA, MetaState, ModeReturns, RunningMoments, Telemetry


def make_telemetry(**kwargs):
    values = dict(fast_rate=0.5, slow_rate=0.05, sleep_rise=0.1, sleep_fall=0.25, teacher_trust=0.8)
    values.update(kwargs)
    return Telemetry(**values)


def test_ema_starts_at_first_value_then_moves_by_rate():
    ema = EMA(0.5)
    assert ema.update(4.0) == 4.0
    assert ema.update(0.0) == 2.0


def test_zscore_flags_an_outlier():
    moments = RunningMoments(0.1)
    for x in [1.0, 1.1, 0.9, 1.0, 1.05, 0.95] * 10:
        moments.update(x)
    assert abs(moments.zscore(1.0)) < 1.0
    assert moments.zscore(3.0) > 5.0


def test_learning_progress_is_positive_while_error_falls_and_negative_when_it_rises():
    """Read from the windowed test (`progress.py`): one window of 200 against the one before,
    of A's error relative to copy-last's."""
    rng = random.Random(0)
    telemetry = make_telemetry(progress=ProgressTest(200, 4.0))
    for level in (1.0, 0.5):
        for _ in range(200):
            telemetry.on_prediction(level * (1 + 0.1 * rng.random()), 0.1, copy_last=1.0)
    assert telemetry.meta_state().learning_progress > 0.4
    for _ in range(200):
        telemetry.on_prediction(1.0 + 0.1 * rng.random(), 0.1, copy_last=1.0)
    assert telemetry.meta_state().learning_progress < -0.8


def test_sleep_pressure_rises_awake_falls_asleep_and_stays_in_unit_interval():
    telemetry = make_telemetry()
    for _ in range(20):
        telemetry.on_world_step(0.0, None)
    assert telemetry.sleep_pressure == 1.0
    telemetry.on_sleep_tick()
    assert telemetry.sleep_pressure == pytest.approx(0.75)
    for _ in range(10):
        telemetry.on_sleep_tick()
    assert telemetry.sleep_pressure == 0.0


def test_body_drives_stress_and_teacher_drives_trust():
    telemetry = make_telemetry()
    telemetry.on_world_step(0.0, {"energy": 0.2, "pain": 0.1}, "teacher_a")
    state = telemetry.meta_state()
    assert state.stress == pytest.approx(0.8)
    assert state.teacher_present == 1.0 and state.teacher_trust == 0.8
    telemetry.on_world_step(0.0, {"energy": 1.0, "pain": 0.0})
    assert telemetry.meta_state().teacher_trust == 0.0


def test_without_a_body_stress_follows_a_fall_in_reward():
    telemetry = make_telemetry()
    for _ in range(100):
        telemetry.on_world_step(1.0, None)
    assert telemetry.meta_state().stress == 0.0
    for _ in range(5):
        telemetry.on_world_step(-1.0, None)
    assert telemetry.meta_state().stress > 0.5


def test_non_finite_predictions_are_ignored():
    telemetry = make_telemetry()
    telemetry.on_prediction(1.0, 0.1)
    telemetry.on_prediction(float("nan"), 0.1)
    assert telemetry.meta_state().prediction_error_fast == 1.0


def test_state_dict_round_trip():
    telemetry = make_telemetry()
    for i in range(30):
        telemetry.on_world_step(i % 3, {"energy": 0.5}, "t" if i % 2 == 0 else None)
        telemetry.on_prediction(1.0 / (i + 1), 0.01 * i)
    copy = make_telemetry()
    copy.load_state_dict(telemetry.state_dict())
    assert copy.meta_state() == telemetry.meta_state()
    assert set(MetaState.names()) == set(copy.meta_state().to_dict())


def test_error_against_copy_last_baseline():
    telemetry = make_telemetry()
    assert telemetry.error_vs_copy_last() != telemetry.error_vs_copy_last()  # nan: no data yet
    for _ in range(10):
        telemetry.on_prediction(0.2, 0.0, copy_last=0.8)
    assert telemetry.error_vs_copy_last() == pytest.approx(0.25)


def test_a_looming_threat_is_stressful():
    telemetry = make_telemetry()
    telemetry.on_world_step(0.0, {"energy": 1.0, "pain": 0.0, "threat": 0.7})
    assert telemetry.meta_state().stress == pytest.approx(0.7)


def test_trust_is_earned_by_following_and_lost_to_a_teacher_who_misleads():
    telemetry = make_telemetry(teacher_trust=0.5)
    for _ in range(200):
        telemetry.on_world_step(0.0, None)  # on its own: nothing happens
    assert telemetry.trust_in("good") == telemetry.trust_in("bad") == 0.5  # unseen: the prior
    for i in range(300):
        telemetry.on_world_step(1.0 if i % 4 == 0 else 0.0, None, "good", followed="good")
        telemetry.on_world_step(-1.0 if i % 4 == 0 else 0.0, None, "bad", followed="bad")
    assert telemetry.trust_in("good") > 0.9
    assert telemetry.trust_in("bad") < 0.1
    telemetry.on_world_step(0.0, None, "bad")
    assert telemetry.meta_state().teacher_trust == telemetry.trust_in("bad")
    assert telemetry.trust_in(None) == 0.0


def test_a_jump_in_prediction_error_raises_change_detected_until_m_reads_it():
    telemetry = make_telemetry(fast_rate=0.1, slow_rate=0.01)
    rng = random.Random(0)
    for _ in range(2000):
        telemetry.on_world_step(0.0, None)
        telemetry.on_prediction(0.1 * (1 + 0.2 * rng.random()), 0.01)
    assert telemetry.meta_state().change_detected == 0.0
    steps = 0
    while not telemetry.change_pending and steps < 200:
        telemetry.on_world_step(0.0, None)
        telemetry.on_prediction(1.0 * (1 + 0.2 * rng.random()), 0.01)
        steps += 1
    assert steps < 100 and telemetry.meta_state().change_detected == 1.0
    telemetry.change_pending = False  # the agent clears it once M has decided on it
    assert telemetry.meta_state().change_detected == 0.0


def test_reliabilities_compare_the_model_with_copy_last_and_the_habit_with_its_values():
    telemetry = make_telemetry()
    for _ in range(50):
        telemetry.on_prediction(0.2, 0.01, copy_last=1.0)
        telemetry.on_value(value_error=0.5, value=1.0)
    state = telemetry.meta_state()
    assert state.model_reliability == pytest.approx(0.8)
    assert state.habit_reliability == pytest.approx(0.5)


def test_telemetry_state_round_trips_with_trust_and_detector():
    telemetry = make_telemetry()
    for i in range(100):
        telemetry.on_world_step(float(i % 5 == 0), None, "t", followed="t" if i % 2 else None)
        telemetry.on_prediction(0.3 + 0.01 * (i % 7), 0.05, copy_last=0.9)
    copy = make_telemetry()
    copy.load_state_dict(telemetry.state_dict())
    for t in (telemetry, copy):
        for i in range(50):
            t.on_world_step(float(i % 3 == 0), None, "t", followed="t")
            t.on_prediction(0.5, 0.05, copy_last=0.9)
    assert copy.meta_state() == telemetry.meta_state()


def test_on_a_noisy_tv_learning_progress_stays_near_zero_and_m_does_not_explore_there():
    from lifelong.genome import Genome
    from lifelong.modes import Mode
    from lifelong.systems.control import MetaController

    rng = random.Random(1)
    telemetry = make_telemetry(fast_rate=0.05, slow_rate=0.005)
    progress = []
    for _ in range(5000):  # unlearnable: the error is noise around a level that never falls
        telemetry.on_prediction(1.0 + 0.3 * rng.gauss(0, 1), 0.01, copy_last=1.0)
        progress.append(telemetry.meta_state().learning_progress)
    tail = progress[1000:]
    assert abs(sum(tail) / len(tail)) < 0.02
    state = telemetry.meta_state()
    assert state.model_reliability < Genome().complexity_low + 0.1
    controller = MetaController(Genome(min_dwell=1))
    modes = [controller.decide(telemetry.meta_state()).mode for _ in range(50)]
    assert Mode.EXPLORE not in modes


def test_the_plan_verdict_compares_blocks_of_returns_and_needs_significance():
    """Returns after PLAN and EXPLOIT steps in blocks of `plan_block` (about one spell each):
    nothing is reported until each mode has MIN_SPELLS blocks; a small advantage in noisy
    returns is not significant, a large one is, and both survive a save and restore."""
    rng = random.Random(0)
    telemetry = make_telemetry(plan_block=4)
    telemetry.on_world_step(1.0, None)  # a reward scale of 0.05 to measure the advantage in
    for _ in range(4 * MIN_SPELLS):
        telemetry.on_return("exploit", rng.gauss(0.0, 1.0))
        telemetry.on_return("explore", 5.0)  # other modes do not enter
    assert telemetry.meta_state().plan_significance == 0.0  # PLAN not measured yet
    for _ in range(4 * MIN_SPELLS):
        telemetry.on_return("plan", rng.gauss(0.1, 1.0))
    unsure = telemetry.meta_state()
    assert unsure.plan_advantage != 0.0 and abs(unsure.plan_significance) < 2.0
    for _ in range(4 * 20):
        telemetry.on_return("plan", rng.gauss(2.0, 1.0))
        telemetry.on_return("exploit", rng.gauss(0.0, 1.0))
    sure = telemetry.meta_state()
    assert sure.plan_significance > 5.0
    assert sure.plan_advantage == pytest.approx(2.0 / telemetry.reward_scale.value, rel=0.2)
    restored = make_telemetry(plan_block=4)
    restored.load_state_dict(telemetry.state_dict())
    assert restored.meta_state() == sure
    telemetry.on_return("plan", -100.0)
    restored.on_return("plan", -100.0)
    assert restored.meta_state() == telemetry.meta_state()


def test_an_agreed_change_clears_the_evidence_about_planning():
    """One stream's alarm leaves the evidence; both streams agreeing on a change clear it."""
    telemetry = make_telemetry(plan_block=1)
    for i in range(40):
        telemetry.on_return("plan", 1.0 + 0.1 * (i % 3))
        telemetry.on_return("exploit", 0.1 * (i % 3))
    assert telemetry.meta_state().plan_significance > 5.0
    rng = random.Random(0)
    for error, reward in ((0.01, 0.0), (1.0, 0.0), (1.0, 1.0)):  # A's error jumps, then reward
        for _ in range(400):
            telemetry.on_prediction(error * (1 + 0.1 * rng.random()), 0.1, copy_last=1.0)
            telemetry.on_world_step(reward * rng.random(), None)
        state = telemetry.meta_state()
        if reward == 0.0 and error == 1.0:
            assert state.change_detected == 1.0 and state.change_agreed == 0.0
            assert state.plan_significance > 5.0
    assert telemetry.meta_state().change_agreed == 1.0
    assert telemetry.meta_state().plan_significance == 0.0


def test_a_telemetry_saved_before_the_plan_test_still_loads():
    """A checkpoint from before PLAN's test carried EMAs of returns: they are retired."""
    saved = make_telemetry().state_dict()
    saved["plan_return"] = saved["exploit_return"] = {"value": 0.5, "count": 3}
    for name in ("plan_test", "replay_progress", "sleep_replay", "sleep_novelty"):
        del saved[name]
    restored = make_telemetry()
    restored.load_state_dict(saved)
    assert restored.meta_state().plan_significance == 0.0


def _replayed_and_fresh(telemetry, fresh, replayed, windows, rng):
    """`windows` windows of 200 replayed and of 200 fresh measurements whose error relative
    to copy-last is `replayed(w)` and `fresh(w)` in window w, each with 10% noise, one world
    step per fresh measurement."""
    for w in range(windows):
        for _ in range(200):
            telemetry.on_replay_predictions([replayed(w) * (1 + 0.1 * rng.random())], [1.0])
            telemetry.on_prediction(fresh(w) * (1 + 0.1 * rng.random()), 0.1, copy_last=1.0)
            telemetry.on_world_step(0.0, None)


def _sleepy(**genes):
    genome = Genome(progress_window=200, sleep_rise=0.01, **genes)
    return Telemetry.from_genome(genome)


def test_sleep_pressure_does_not_rise_while_the_world_brings_new_experience():
    """Replayed error falls (A fits its memory) while fresh experience stays well above it:
    the world, not replay, is what learning lacks. On a clock pressure would be 1 by now."""
    rng = random.Random(0)
    telemetry = _sleepy()
    _replayed_and_fresh(telemetry, lambda w: 0.8, lambda w: 0.6 * 0.9**w, 6, rng)
    assert telemetry.replay_progress.value > 0  # replay still teaches
    assert telemetry.sleep_pressure == 0.0 and telemetry.meta_state().replay_need == 0.0
    clock = _sleepy(sleep_replay=0)
    _replayed_and_fresh(clock, lambda w: 0.8, lambda w: 0.6 * 0.9**w, 1, rng)
    assert clock.sleep_pressure == 1.0


def test_sleep_pressure_rises_when_learning_lacks_replay_and_not_once_mastered():
    """Replayed error falls and fresh experience is no worse than it: more replay, not more
    world, is what is missing, and pressure rises; once neither falls it stops rising."""
    rng = random.Random(1)
    telemetry = _sleepy()
    _replayed_and_fresh(telemetry, lambda w: 0.62 * 0.9**w, lambda w: 0.6 * 0.9**w, 3, rng)
    assert telemetry.meta_state().replay_need == 1.0
    assert telemetry.sleep_pressure > 0.5
    mastered = 0.6 * 0.9**3  # a last fall, then nothing: a verdict holds for one window
    _replayed_and_fresh(telemetry, lambda w: mastered, lambda w: mastered, 2, rng)
    assert telemetry.meta_state().replay_need == 0.0
    for _ in range(100):
        telemetry.on_sleep_tick()
    _replayed_and_fresh(telemetry, lambda w: mastered, lambda w: mastered, 6, rng)
    assert telemetry.sleep_pressure == 0.0
    restored = _sleepy()
    restored.load_state_dict(telemetry.state_dict())
    assert restored.state_dict() == telemetry.state_dict()


def test_realised_returns_are_counted_per_mode_of_the_step_that_earned_them():
    """n 2, gamma 0.5: each step's return is r_{t+1} + 0.5 r_{t+2}, filed under its mode; a new
    stream drops the returns still open."""
    returns = ModeReturns(gamma=0.5, n=2)
    done = []
    for mode, reward in [("plan", 1.0), ("exploit", 2.0), ("plan", 4.0), ("exploit", 8.0)]:
        done += returns.add(mode, reward)
    # Closed: PLAN 1 + 0.5 * 2 and 4 + 0.5 * 8 (mean 5); EXPLOIT 2 + 0.5 * 4. The last is open.
    assert done == [("plan", 2.0), ("exploit", 4.0), ("plan", 8.0)]
    assert returns.means() == {"return_after_plan": 5.0, "return_after_exploit": 4.0}
    restored = ModeReturns(gamma=0.5, n=2)
    restored.load_state_dict(returns.state_dict())
    for fresh in (returns, restored):
        fresh.clear()
        fresh.add("exploit", 100.0)
    assert (
        returns.means()
        == restored.means()
        == {
            "return_after_plan": 5.0,
            "return_after_exploit": 4.0,
        }
    )


def test_surprise_fires_on_under_one_block_in_a_hundred_of_stationary_heavy_tailed_errors():
    """Per-transition errors with a heavy tail, one block of 32 after another: the block's
    surprise exceeds 3 (the default threshold) on under 1% of 2,000 blocks: measured 9; 79
    exceed 2. The largest per-transition z-score of a block, the signal before, exceeded 2 on
    1,440 of them."""
    rng = random.Random(4)
    telemetry = make_telemetry(slow_rate=0.005)
    surprised = 0
    for _ in range(2000):
        errors = [rng.expovariate(1.0) ** 2 for _ in range(32)]
        telemetry.on_predictions(errors, [0.1] * 32, [1.0] * 32)
        surprised += telemetry.surprise > 3.0
    assert surprised < 20, surprised


def test_a_telemetry_saved_with_the_retired_per_transition_moments_still_loads():
    """Lives saved before surprise became a block's carry `error_moments`: it is skipped."""
    saved = make_telemetry().state_dict()
    saved["error_moments"] = {"mean": 1.0, "var": 0.5, "count": 10}
    telemetry = make_telemetry()
    telemetry.load_state_dict(saved)
    assert not hasattr(telemetry, "error_moments")
