"""Change detectors: hand-computed steps first, then streams with known change points.

The statistical tests run fixed seeds of Python's own `random`, so they are exact and
repeatable; their bounds leave a margin of about two over what the seeds give (noted beside
each) while staying far from what a broken detector would do.
"""

import json
import math
import random
import subprocess
import sys

import pytest

from lifelong.detectors import ChangeDetector, Cusum, PageHinkley

SEEDS = range(5)


def alarms(detector, stream):
    """Indices of the samples on which `detector.update` alarmed."""
    return [t for t, x in enumerate(stream) if detector.update(x)]


def student_t3(rng):
    """Student-t with 3 degrees of freedom: infinite fourth moment, sd sqrt(3)."""
    chi2 = sum(rng.gauss(0.0, 1.0) ** 2 for _ in range(3))
    return rng.gauss(0.0, 1.0) / math.sqrt(chi2 / 3)


def feed_errors(detector, errors):
    """One world step (reward 0) per error, as the agent measures them; steps that alarmed."""
    out = []
    for t, error in enumerate(errors):
        detector.update_reward(0.0)
        if detector.update_error(error):
            out.append(t)
    return out


def feed_rewards(detector, rewards):
    return [t for t, r in enumerate(rewards) if detector.update_reward(r)]


# --- Page-Hinkley by hand ---------------------------------------------------------------------
def test_page_hinkley_hand_case_upward():
    ph = PageHinkley(delta=0.5, threshold=1.9, rate=0.5, warmup=1)
    assert ph.update(0.0) is False  # warmup: mean = 0, nothing tested
    assert ph.update(2.0) is False  # deviation 2: up = 2 - 0.5 = 1.5 <= 1.9; mean -> 1
    assert (ph.up, ph.down, ph.down_max, ph.mean) == (1.5, 2.5, 2.5, 1.0)
    assert ph.update(2.0) is True  # deviation 1: up = 1.5 + 0.5 = 2.0 > 1.9
    assert (ph.direction, ph.alarms) == (1, 1)
    assert (ph.count, ph.up, ph.mean) == (0, 0.0, 0.0)  # restarted for the new regime


def test_page_hinkley_hand_case_downward_mirror():
    ph = PageHinkley(delta=0.5, threshold=1.9, rate=0.5, warmup=1)
    assert [ph.update(x) for x in (0.0, -2.0, -2.0)] == [False, False, True]
    assert ph.direction == -1


def test_page_hinkley_ignores_a_shift_smaller_than_delta():
    # A shift of 0.4 < delta = 0.5 makes every increment of `up` negative: no alarm, ever.
    ph = PageHinkley(delta=0.5, threshold=1.0, rate=1e-6, warmup=1)
    assert alarms(ph, [0.0] + [0.4] * 1000) == []


# --- CUSUM by hand ----------------------------------------------------------------------------
def test_cusum_hand_case_standardises_then_accumulates():
    cusum = Cusum(drift=0.5, threshold=10.0, rate=0.01, warmup=2)
    cusum.update(1.0)
    cusum.update(3.0)  # mean 2, population variance 1
    assert (cusum.mean, cusum.var) == (2.0, 1.0)
    assert cusum.zscore(3.5) == 1.5
    assert cusum.update(3.5) is False
    assert (cusum.hi, cusum.lo) == (1.0, 0.0)  # hi = 1.5 - 0.5; lo = max(0, -1.5 - 0.5)
    # weight 1/3: mean 2 + 1.5/3 = 2.5; var (2/3) (1 + (1/3) 1.5^2) = 7/6
    assert cusum.mean == 2.5 and cusum.var == pytest.approx(7 / 6)


def test_cusum_on_a_constant_stream_alarms_once_a_new_value_persists():
    cusum = Cusum(drift=0.5, threshold=6.0, rate=0.01, warmup=3, clip=4.0)
    assert alarms(cusum, [5.0, 5.0, 5.0]) == []
    assert cusum.update(6.0) is False  # variance 0: z = +clip = 4, hi = 3.5
    assert cusum.hi == 3.5 and cusum.var == 0.0  # winsorised: the outlier taught nothing
    assert cusum.update(6.0) is True  # hi = 7 > 6
    assert cusum.direction == 1 and cusum.count == 0


def test_cusum_clips_so_one_outlier_never_alarms_alone():
    cusum = Cusum(drift=0.5, threshold=10.0, rate=0.01, warmup=2)
    cusum.update(-1.0)
    cusum.update(1.0)
    assert cusum.update(1e9) is False
    assert cusum.hi == 2.5  # clip 3 - drift 0.5
    # Learned from the winsorised value 0 + 3 sd = 3, weight 1/3: not from 1e9.
    assert cusum.mean == 1.0 and cusum.var == pytest.approx((2 / 3) * (1.0 + 9.0 / 3))


def test_cusum_one_sided_ignores_the_other_direction():
    up = Cusum(drift=0.5, threshold=6.0, rate=0.01, warmup=3, sides="up")
    assert alarms(up, [5.0, 5.0, 5.0] + [4.0] * 50) == []
    assert up.lo == 0.0
    assert alarms(up, [6.0, 6.0, 6.0]) == [2]  # 2.5 per sample with clip 3: alarms on the third


# --- Known change points ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda: Cusum(0.5, 10.0, 1e-3), lambda: PageHinkley(0.5, 10.0, 1e-3)]
)
def test_gaussian_mean_shift_of_one_sd_is_found_within_60_steps(make):
    found, false = [], 0
    for seed in SEEDS:
        rng = random.Random(seed)
        stream = [rng.gauss(0, 1) for _ in range(3000)] + [rng.gauss(1, 1) for _ in range(1000)]
        steps = alarms(make(), stream)
        false += sum(t < 3000 for t in steps)
        found.append(next(t for t in steps if t >= 3000) - 3000)
    assert max(found) <= 60  # seeds: 10-21 steps (theory: (h + 1.17) / (1 - k) = 22)
    assert false <= 1  # seeds: 0 (Cusum), 1 (Page-Hinkley)


def test_variance_tripling_is_found_as_a_side_effect():
    delays = []
    for seed in SEEDS:
        rng = random.Random(seed)
        stream = [rng.gauss(0, 1) for _ in range(3000)] + [rng.gauss(0, 3) for _ in range(1000)]
        steps = alarms(Cusum(0.5, 10.0, 1e-3), stream)
        assert steps and steps[0] >= 3000  # nothing before the change
        delays.append(steps[0] - 3000)
    assert max(delays) <= 700 and sorted(delays)[2] <= 100  # seeds: 19-336, median 44


def test_heavy_tailed_noise_rarely_alarms_and_its_shift_is_found():
    false, delays = 0, []
    for seed in SEEDS:
        rng = random.Random(seed)
        stream = [student_t3(rng) for _ in range(20000)] + [2 + student_t3(rng) for _ in range(500)]
        steps = alarms(Cusum(0.5, 10.0, 1e-3), stream)
        false += sum(t < 20000 for t in steps)
        delays.append(next(t for t in steps if t >= 20000) - 20000)
    assert false <= 8  # seeds: 3 in 100,000 samples (unclipped Page-Hinkley: over 500)
    assert max(delays) <= 60  # seeds: 9-14


def test_page_hinkley_without_clipping_is_fooled_by_heavy_tails():
    """Why ChangeDetector uses the clipped CUSUM: the same stream, hundreds of false alarms."""
    rng = random.Random(0)
    stream = [student_t3(rng) for _ in range(20000)]
    assert len(alarms(PageHinkley(0.5, 10.0, 1e-3), stream)) > 50  # seed 0: 122


def test_reward_rate_tripling_is_found_and_quiet_before():
    early = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        rewards = [float(rng.random() < (0.02 if t < 6000 else 0.06)) - 0.01 for t in range(9000)]
        steps = feed_rewards(ChangeDetector(), rewards)
        early += sum(t < 6000 for t in steps)
        assert any(6000 <= t <= 7000 for t in steps)  # seeds: 111-335 steps
    assert early <= 1  # one false alarm (seed 3, at 3743) in all the seeds' quiet stretches


def test_a_reward_rate_that_climbs_slowly_as_b_learns_rarely_alarms():
    total = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        rewards = [float(rng.random() < 0.01 + 0.04 * t / 50000) - 0.01 for t in range(50000)]
        total += len(feed_rewards(ChangeDetector(), rewards))
    assert total <= 12  # seeds: 6 in 250,000 steps, about 2.4 per 10^5


def test_errors_falling_as_a_learns_never_alarm():
    """A fast decay (time constant 5,000 steps) that a two-sided test takes for changes."""
    for seed in SEEDS:
        rng = random.Random(seed)
        errors = [
            (0.1 + 1.5 * math.exp(-t / 5000)) * rng.lognormvariate(0, 0.7) for t in range(30000)
        ]
        assert feed_errors(ChangeDetector(), errors) == []
    # The same decay through a two-sided test on the same blocks alarms (downward) every time.
    rng = random.Random(0)
    two_sided, block = Cusum(0.5, 10.0, 4e-3), []
    falls = 0
    for t in range(30000):
        block.append(math.log((0.1 + 1.5 * math.exp(-t / 5000)) * rng.lognormvariate(0, 0.7)))
        if len(block) == 4:
            falls += two_sided.update(sum(block) / 4) and two_sided.direction == -1
            block = []
    assert falls >= 2  # seed 0: 4


def test_heavy_tailed_errors_jumping_threefold_are_found():
    false = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        errors = [(0.5 if t < 10000 else 1.5) * rng.paretovariate(1.5) for t in range(11000)]
        steps = feed_errors(ChangeDetector(), errors)
        false += sum(t < 10000 for t in steps)
        assert any(10000 <= t <= 10060 for t in steps)  # seeds: 15-23 steps
    assert false <= 4  # seeds: 0 in 50,000 steps


# --- ChangeDetector: clock, refractory period, restarts ---------------------------------------
def test_refractory_period_hand_case():
    change = ChangeDetector(
        threshold=6.0, error_drift=0.5, reward_drift=0.5, rate=0.01, refractory=5,
        error_block=1, reward_block=1, warmup=2, clip=4.0, agree_window=5,
    )  # fmt: skip

    def step(reward, error=None):
        raised = change.update_reward(reward)
        if error is not None:
            raised = change.update_error(error) or raised
        return raised

    # Steps 1-2 teach both baselines (errors 1, rewards 0); the error then jumps (z = +4 on a
    # variance of 0): hi = 3.5 at step 3, 7 > 6 at step 4.
    steps = [step(0.0, 1.0), step(0.0, 1.0), step(0.0, 10.0), step(0.0, 10.0)]
    assert steps == [False, False, False, True]
    assert change.detected and change.step == 4 and change.last_stream == "error"
    assert change.reward.count == 4  # the other stream keeps its evidence
    assert step(0.0) is False and not change.detected  # step 5: the alarm was step 4's
    # Rewards: 0 at steps 5-6, 1 at 7-8: the reward test alarms at step 8, 8 - 4 <= 5 steps
    # after the error's alarm: it confirms that change (agreement), and that test restarts.
    assert [step(0.0), step(1.0), step(1.0)] == [False, False, False]
    assert change.reward.alarms == 1 and change.alarms == 1 and change.reward.count == 0
    assert change.agreed and change.agreements == 1 and change.last_agreed_step == 8
    # Steps 9-10 teach the baseline 2, 11-12 rise to 3: alarm at 12, 8 steps after the last.
    assert [step(2.0), step(2.0), step(3.0), step(3.0)] == [False, False, False, True]
    assert (change.alarms, change.last_stream, change.last_direction) == (2, "reward", 1)
    assert change.last_alarm_step == 12 and change.detected


def test_one_change_seen_by_both_streams_gives_one_alarm():
    """The change at 4,000 raises one alarm, the error stream's, which the reward stream then
    confirms (one agreement). The 4,000 steps after it are watched too: in seed 1 the reward
    stream raises one false alarm there, 1,356 steps after the change. Every alarm is listed,
    so a detector that alarms more, less or later shows here."""
    expected = {
        0: [(4015, "error")],
        1: [(4019, "error"), (5375, "reward")],  # 5375: the one false alarm
        2: [(4015, "error")],
        3: [(4015, "error")],
        4: [(4019, "error")],
    }
    seen, agreements = {}, {}
    for seed in SEEDS:
        rng = random.Random(seed)
        change, seen[seed] = ChangeDetector(), []
        for t in range(8000):
            after = t >= 4000  # the world changes: errors 4x, rewards from +1 to -1
            won = rng.random() < 0.05
            change.update_reward((-1.0 if after else 1.0) if won else 0.0)
            change.update_error((2.0 if after else 0.5) * rng.lognormvariate(0, 0.7))
            if change.detected:
                seen[seed].append((t, change.last_stream))
        agreements[seed] = change.agreements
    assert seen == expected
    assert agreements == dict.fromkeys(SEEDS, 1)  # the reward stream confirmed each change
    assert sum(t > 4060 for alarms in seen.values() for t, _ in alarms) == 1  # false alarms


def test_non_finite_inputs_are_skipped():
    change = ChangeDetector()
    before = change.state_dict()
    assert change.update_error(math.nan) is False and change.update_error(-1.0) is False
    assert change.state_dict() == before
    assert change.update_reward(math.inf) is False
    assert change.step == 1 and change.reward_blocks.count == 0  # the clock moved, nothing else


# --- Exact resume -----------------------------------------------------------------------------
def _mixed_stream(seed, length):
    rng = random.Random(seed)
    return [rng.gauss(0.0 if (t // 700) % 2 == 0 else 1.5, 1.0) for t in range(length)]


@pytest.mark.parametrize(
    "make", [lambda: PageHinkley(0.5, 5.0, 1e-2), lambda: Cusum(0.5, 5.0, 1e-2)]
)
def test_state_dict_round_trip_mid_stream_gives_identical_alarms(make):
    stream = _mixed_stream(1, 6000)
    whole = make()
    expected = alarms(whole, stream)
    first = make()
    head = alarms(first, stream[:3001])
    second = make()
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    tail = [t + 3001 for t in alarms(second, stream[3001:])]
    assert len(expected) >= 6  # changes every 700 steps: the resumed part has alarms to match
    assert head + tail == expected
    assert second.state_dict() == whole.state_dict()


def test_change_detector_round_trip_mid_block_gives_identical_alarms():
    rng = random.Random(2)
    steps = [
        (float(rng.random() < (0.02 if (t // 3000) % 2 == 0 else 0.08)), rng.lognormvariate(0, 0.7))
        for t in range(12000)
    ]

    def run(change, part):
        out = []
        for reward, error in part:
            change.update_reward(reward)
            change.update_error(error * (3.0 if (change.step // 2000) % 2 else 1.0))
            if change.detected:
                out.append(change.step)
        return out

    expected = run(ChangeDetector(), steps)
    first = ChangeDetector()
    head = run(first, steps[:5005])  # 5005: inside an error block and a reward block
    assert first.error_blocks.count and first.reward_blocks.count
    second = ChangeDetector()
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert head + run(second, steps[5005:]) == expected
    assert len(expected) >= 4


# --- Contract ---------------------------------------------------------------------------------
def test_module_imports_without_numpy_or_torch():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('numpy', 'torch'):\n"
        "            raise ImportError(name + ' is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from lifelong.detectors import ChangeDetector\n"
        "change = ChangeDetector()\n"
        "change.update_reward(1.0)\n"
        "change.update_error(0.5)\n"
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: PageHinkley(0.5, 0.0, 0.1), "threshold"),
        (lambda: PageHinkley(0.5, 1.0, 0.0), "rate"),
        (lambda: Cusum(0.5, 1.0, 0.1, warmup=1), "warmup"),
        (lambda: Cusum(0.5, 1.0, 0.1, clip=0.5), "clip"),
        (lambda: Cusum(-0.1, 1.0, 0.1), "drift"),
        (lambda: ChangeDetector(reward_block=0), "reward_block"),
        (lambda: ChangeDetector(rate=math.nan), "rate"),
    ],
)
def test_bad_parameters_name_themselves(make, name):
    with pytest.raises(ValueError, match=f"^{name}="):
        make()


def test_bad_sides_is_refused():
    with pytest.raises(ValueError, match="sides"):
        Cusum(0.5, 1.0, 0.1, sides="left")
