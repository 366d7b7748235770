"""Metrics on small hand-computed cases: every expected number below can be checked on paper."""

import math

import numpy as np
import pytest

from lifelong import metrics as m

# A ten-record life, one record per 10 steps: level 1 until a change at step 50, then a dip that
# climbs back (60: 0, 70: 0.5, 80: 0.9, 90: 1, 100: 1).
STEPS = np.arange(10, 110, 10)
CURVE = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.9, 1.0, 1.0])


# --- Reward curves ----------------------------------------------------------------------------
def test_auc_is_the_mean_of_the_finite_bins():
    assert m.auc(np.array([1.0, 2.0, np.nan, 3.0])) == pytest.approx(2.0)
    assert m.auc(CURVE) == pytest.approx(8.4 / 10)
    assert math.isnan(m.auc(np.array([np.nan])))
    assert math.isnan(m.auc(np.array([])))


def test_ewma_starts_at_the_first_value_and_holds_through_nan():
    out = m.ewma(np.array([np.nan, 1.0, 3.0, np.nan, 5.0]), alpha=0.5)
    assert math.isnan(out[0])
    assert out[1:].tolist() == [1.0, 2.0, 2.0, 3.5]
    with pytest.raises(ValueError):
        m.ewma(np.array([1.0]), alpha=0.0)


def test_ewma_with_widths_is_the_per_step_recursion_on_each_record():
    rewards, widths = np.array([0.5, 1.0, np.nan, 0.0]), np.array([3, 4, 2, 5])
    per_step = m.ewma(np.repeat(rewards, widths), alpha=0.1)
    ends = np.cumsum(widths) - 1
    assert m.ewma(rewards, 0.1, widths) == pytest.approx(per_step[ends])
    assert m.ewma(rewards, 0.1, widths)[1] == pytest.approx(0.5 + (1 - 0.9**4) * 0.5)
    with pytest.raises(ValueError):
        m.ewma(rewards, 0.1, widths[:3])


def test_life_records_keeps_the_last_record_per_step_in_step_order():
    records = [{"step": 200, "v": 1}, {"step": 100}, {"step": 200, "v": 2}, {"step": None}]
    records += [{"step": "soon"}, {"v": 3}, {"step": True}]
    assert m.life_records(records) == [{"step": 100}, {"step": 200, "v": 2}]


def test_per_regime_weights_records_by_width_and_skips_unknown_regimes():
    steps = np.array([10, 20, 40, 50])
    out = m.per_regime(steps, np.array([1.0, 2.0, 4.0, 9.0]), [0, 1, 1, None])
    assert out == pytest.approx({0: 1.0, 1: (10 * 2.0 + 20 * 4.0) / 30})


# --- Change points ----------------------------------------------------------------------------
def test_change_points_from_events_are_every_change_and_skip_repeats():
    records = [{"step": 100}, {"step": 200}]
    events = [
        {"step": 50, "kind": "mode", "mode": "explore", "rule": "x"},
        # A life writes a regime event only when the regime changes, never at birth: this one,
        # at the first record's step (the Nursery's first season change), is a change.
        {"step": 100, "kind": "regime", "regime": 1},
        {"step": 260, "kind": "regime", "regime": 1},  # repeats the regime: not a change
        {"step": 700, "kind": "regime", "regime": 0},
    ]
    assert m.change_points(events, records) == [(100, 1), (700, 0)]
    assert m.change_points(events, []) == [(100, 1), (700, 0)]  # records are not needed


def test_change_points_from_records_use_the_previous_record_step():
    records = [
        {"step": 100, "regime": None},
        {"step": 200, "regime": 0},  # first regime seen: birth, not a change
        {"step": 300, "regime": 0},
        {"step": 400, "regime": 1},
        {"step": 500, "regime": 1},
    ]
    assert m.change_points([], records) == [(300, 1)]
    assert m.change_points([], records[:3]) == []
    assert m.change_points([], []) == []


def test_change_point_stats_on_a_hand_computed_dip():
    (s,) = m.change_point_stats(STEPS, CURVE, [50], 20, 0.0, np.ones(10), horizon=30)
    assert s["tau"] == 50
    assert s["rho"] == pytest.approx(1.0)  # records 40, 50
    assert s["rho_eventual"] == pytest.approx(1.0)  # records 90, 100
    assert s["drop"] == pytest.approx(1.0)  # 1 - min(0, 0.5)
    assert s["threshold"] == pytest.approx(0.9)  # 1 - 0.1 (1 - 0)
    assert s["recovery_time"] == pytest.approx(30.0)  # record 80 reaches 0.9
    assert s["regret"] == pytest.approx(10 * 1.0 + 10 * 0.5 + 10 * 0.1)  # records 60, 70, 80


def test_change_point_stats_floor_curve_and_missing_reference():
    floor = np.zeros(10)
    floor[8:] = 0.5  # the random agent's level over the eventual records 90, 100
    (s,) = m.change_point_stats(STEPS, CURVE, [50], 20, floor, None, horizon=30)
    assert s["threshold"] == pytest.approx(0.95)
    assert s["recovery_time"] == pytest.approx(40.0)  # 0.9 at 80 is not enough, 1.0 at 90 is
    assert s["regret"] is None


def test_change_point_stats_never_recovered():
    # A floor above the eventual level puts the threshold above every record of the stretch.
    (s,) = m.change_point_stats(STEPS, CURVE, [50], 20, 2.0, None, horizon=30)
    assert s["threshold"] == pytest.approx(1.1)
    assert s["recovery_time"] is None


def test_change_point_stats_clip_each_change_to_its_stretch():
    first, second = m.change_point_stats(STEPS, CURVE, [80, 50], 20, 0.0, np.ones(10), horizon=50)
    assert first["tau"] == 50 and second["tau"] == 80
    assert first["rho_eventual"] == pytest.approx(0.7)  # records 70, 80 (before the next change)
    assert first["threshold"] == pytest.approx(0.63)
    assert first["recovery_time"] == pytest.approx(30.0)  # 0.5 at 70 < 0.63 <= 0.9 at 80
    assert first["regret"] == pytest.approx(16.0)  # (50, 80], not (50, 100]
    assert second["rho"] == pytest.approx(0.7)  # (60, 80]
    assert second["drop"] == pytest.approx(0.7 - 1.0)
    assert second["regret"] == pytest.approx(0.0)


def test_change_point_stats_edges():
    assert m.change_point_stats(STEPS, CURVE, [], 20, 0.0, None, horizon=30) == []
    (at_birth,) = m.change_point_stats(STEPS, CURVE, [0], 20, 0.0, None, horizon=30)
    assert at_birth["rho"] is None and at_birth["drop"] is None
    (after_end,) = m.change_point_stats(STEPS, CURVE, [100], 20, 0.0, None, horizon=30)
    assert after_end["rho"] == pytest.approx(1.0)
    assert after_end["rho_eventual"] is None and after_end["recovery_time"] is None
    with pytest.raises(ValueError):
        m.change_point_stats(STEPS, CURVE, [50], 20, 0.0, np.ones(3), horizon=30)
    with pytest.raises(ValueError):
        m.change_point_stats(STEPS[::-1], CURVE, [50], 20, 0.0, None, horizon=30)


def test_change_point_stats_pre_window_narrower_than_a_record_uses_the_last_record():
    (s,) = m.change_point_stats(STEPS, CURVE, [55], 3, 0.0, None, horizon=3)
    assert s["rho"] == pytest.approx(1.0)  # record 50, although (52, 55] holds no record end


def test_recovery_trend_is_the_least_squares_slope():
    assert m.recovery_trend([10.0, 20.0, 40.0]) == pytest.approx(15.0)
    assert m.recovery_trend([10.0, None, 30.0]) == pytest.approx(10.0)  # k = 0 and 2
    assert math.isnan(m.recovery_trend([5.0, None]))
    assert math.isnan(m.recovery_trend([]))


def test_forgetting_compares_leaving_and_returning():
    steps = np.arange(10, 90, 10)
    curve = np.array([1.0, 2.0, 3.0, 4.0, 0.5, 1.5, 2.0, 5.0])
    regimes = [0, 0, 1, 1, 0, 0, 1, 1]
    assert m.forgetting(steps, curve, regimes, 10) == pytest.approx([2.0 - 0.5, 4.0 - 2.0])
    assert m.forgetting(steps, curve, regimes, 20) == pytest.approx([1.5 - 1.0, 3.5 - 3.5])
    assert m.forgetting(steps, curve, [0, 0, 0, 0, 1, 1, 1, 1], 20) == []


def test_forward_transfer_is_normalised_by_the_headroom():
    assert m.forward_transfer(0.8, 0.6) == pytest.approx(0.5)
    assert m.forward_transfer(0.3, 0.6) == pytest.approx(-0.75)
    assert math.isnan(m.forward_transfer(1.0, 1.0))
    with pytest.raises(ValueError):
        m.forward_transfer(3.0, 0.5)


# --- Change-aligned recovery ------------------------------------------------------------------
# A 3,000-step life in bins of 100 (bin j ends at step 100 j): level 1 up to a change at 1000,
# three empty bins (1100-1300), then 0.4 (1400) and 0.8 from 1500 on: the new regime pays less.
W = 100
DIP = np.array([1.0] * 10 + [0.0, 0.0, 0.0, 0.4] + [0.8] * 16)
DIP_ENDS = W * np.arange(1, 31)


def _binned_records(bins, log_every=1000, width=W):
    """Records of a life whose bin j holds bins[j - 1], written as Life writes them."""
    records = []
    for step in range(log_every, len(bins) * width + 1, log_every):
        first, last = (step - log_every) // width, step // width
        records.append(
            {"step": step, "reward_bins": list(bins[first:last]), "reward_bin_width": width}
        )
    return records


def test_reward_bins_are_placed_from_each_records_step():
    ends, values, width = m.reward_bins(_binned_records(DIP))
    assert width == W and ends.tolist() == DIP_ENDS.tolist() and values.tolist() == DIP.tolist()
    # Records every 30 steps carry zero or one bin each: the one ending at or before their step.
    sparse = [
        {
            "step": s,
            "reward_bins": [s // W] if s // W != (s - 30) // W else [],
            "reward_bin_width": W,
        }
        for s in range(30, 331, 30)
    ]
    ends, values, _ = m.reward_bins(sparse)
    assert ends.tolist() == [100, 200, 300] and values.tolist() == [1, 2, 3]
    # None is NaN; records without bins (an older life) add none.
    binned = {"step": 300, "reward_bins": [None, 2.0], "reward_bin_width": W}
    ends, values, _ = m.reward_bins([{"step": 100}, binned])
    assert ends.tolist() == [200, 300] and math.isnan(values[0]) and values[1] == 2.0
    ends, values, width = m.reward_bins([{"step": 100, "reward_rate": 1.0}])
    assert ends.size == values.size == 0 and width is None


def test_change_aligned_curve_of_a_known_dip():
    offsets, rows = m.change_aligned(DIP_ENDS, DIP, W, [1000], before=500, after=1000)
    assert offsets.tolist() == list(range(-400, 1001, 100))  # bin ends, change at 0
    assert rows.shape == (1, 15)
    assert rows[0].tolist() == [1.0] * 5 + [0.0, 0.0, 0.0, 0.4] + [0.8] * 6
    # A change off the grid: the bin holding it is the first one after it, so a change at 1050
    # has the same row as one at 1000 and a change at 999 has its row one bin earlier.
    _, off_grid = m.change_aligned(DIP_ENDS, DIP, W, [1050, 2999], before=500, after=1000)
    assert off_grid[0].tolist() == rows[0].tolist()
    _, early = m.change_aligned(DIP_ENDS, DIP, W, [999], before=500, after=1000)
    assert early[0].tolist() == DIP[4:19].tolist()


def test_change_aligned_keeps_each_change_to_its_own_stretch_and_the_life():
    offsets, rows = m.change_aligned(DIP_ENDS, DIP, W, [2600, 1000, 1300, 200], 500, 1000)
    assert rows.shape == (4, 15)  # sorted: 200, 1000, 1300, 2600
    early, first, second, late = rows
    assert np.isnan(early[:3]).all() and early[3:5].tolist() == [1.0, 1.0]  # birth at -200
    assert np.isnan(early[5 + 8 :]).all()  # bins after the change at 1000 belong to it
    assert first[:5].tolist() == [1.0] * 5 and np.isnan(first[5 + 3 :]).all()  # next at 1300
    assert np.isnan(second[:2]).all() and second[2:5].tolist() == [0.0, 0.0, 0.0]
    assert np.isfinite(late[:9]).all() and np.isnan(late[9:]).all()  # the life ends at 3000
    mean, counts = m.aligned_mean(rows)
    assert counts.tolist()[:5] == [2, 2, 3, 4, 4] and mean[4] == pytest.approx(0.7)
    assert counts[-1] == 1 and mean[-1] == pytest.approx(0.8)  # only 1300 has a bin at 2300
    assert np.isnan(m.aligned_mean(np.full((2, 3), np.nan))[0]).all()
    _, none = m.change_aligned(np.array([]), np.array([]), W, [1000])
    assert none.shape == (1, 15) and np.isnan(none).all()


def test_recovery_and_regret_after_a_known_dip():
    (s,) = m.change_recovery(DIP_ENDS, DIP, W, [(1000, 1)], {1: 0.0, 0: 0.5}, 500, 1000)
    assert s["pre_level"] == pytest.approx(1.0)
    assert s["eventual_level"] == pytest.approx(0.8)  # bins 2600-3000, the level the life ends on
    assert s["threshold"] == pytest.approx(0.72)  # 0.8 - 0.1 (0.8 - floor 0)
    # Smoothed (3 bins, centred, within the stretch) 0, 0, .13, .4, .67, .8: first >= 0.72 is the
    # bin ending at 1600. (Against the pre-change level 1, the threshold 0.9 is never reached.)
    assert s["recovered"] is True and s["recovery_time"] == pytest.approx(600.0)
    # 3 bins at 1 - 0, one at 1 - 0.4, six at 1 - 0.8; times 100 steps each.
    assert s["regret"] == pytest.approx((3 * 1.0 + 0.6 + 6 * 0.2) * 100)
    # The floor is the new regime's; a regime the floor lacks gets the mean of the others.
    (other,) = m.change_recovery(DIP_ENDS, DIP, W, [(1000, 7)], {1: 0.0, 0: 0.8}, 500, 1000)
    assert other["floor"] == pytest.approx(0.4) and other["threshold"] == pytest.approx(0.76)


def test_recovery_never_reached_and_changes_too_close_to_measure():
    (never,) = m.change_recovery(DIP_ENDS, DIP, W, [(1000, 1)], 2.0, 500, 1000)
    assert never["threshold"] == pytest.approx(0.92) and never["recovered"] is False
    assert never["recovery_time"] is None and never["regret"] is not None
    near_birth, near_next, last = m.change_recovery(
        DIP_ENDS, DIP, W, [(300, 1), (1000, 0), (1800, 1)], 0.0, 500, 1000
    )
    # Within 500 steps of birth: no pre-change level, so no regret; its stretch (300, 1000] is
    # 700 steps < 2 x 500: no eventual level either.
    assert near_birth["pre_level"] is None and near_birth["regret"] is None
    assert near_birth["recovered"] is None and near_birth["recovery_time"] is None
    # The next change 800 steps later: too short for an eventual level, and for regret's 1,000.
    assert near_next["pre_level"] == pytest.approx(1.0)
    assert near_next["eventual_level"] is None and near_next["regret"] is None
    # The last change runs to the life's end (1,200 steps): measured; regret needs 1,000 of them.
    assert last["eventual_level"] == pytest.approx(0.8) and last["recovery_time"] == 100.0
    # Its pre-change level (bins 1400-1800) is 0.72: the 0.8 after it is a negative regret.
    assert last["pre_level"] == pytest.approx(0.72) and last["regret"] == pytest.approx(-80.0)
    assert m.change_recovery(np.array([]), np.array([]), W, [(1000, 1)])[0]["recovered"] is None
    with pytest.raises(ValueError, match="odd"):
        m.change_recovery(DIP_ENDS, DIP, W, [(1000, 1)], smoothing=2)


def test_median_recovery_counts_a_change_never_recovered_as_the_slowest():
    def change(rt):
        return {"recovery_time": rt, "recovered": rt is not None}

    unmeasured = {"recovery_time": None, "recovered": None}
    assert m.median_recovery([change(600), change(200), change(None), unmeasured]) == 600
    assert m.median_recovery([change(600), change(None)]) is None  # half never recovered
    assert m.median_recovery([unmeasured]) is None and m.median_recovery([]) is None


# --- System A/B diagnostics -------------------------------------------------------------------
def test_dormant_fraction_scores_against_the_layer_mean():
    # E|h| = [1, 0, 0.01, 2]; layer mean 0.7525; scores 1.33, 0, 0.0133, 2.66.
    acts = np.array([[1.0, 0.0, 0.01, 3.0], [-1.0, 0.0, -0.01, 1.0]])
    assert m.dormant_fraction(acts) == pytest.approx(0.5)
    assert m.dormant_fraction(acts, tau=0.0) == pytest.approx(0.25)
    assert m.dormant_fraction(np.zeros((3, 4))) == 1.0
    with pytest.raises(ValueError):
        m.dormant_fraction(np.ones(4))


def test_effective_rank_on_known_spectra():
    assert m.effective_rank(np.eye(3)) == pytest.approx(3.0)
    # singular values 2, 1, 1: p = 1/2, 1/4, 1/4, entropy 1.5 ln 2, erank 2^1.5
    assert m.effective_rank(np.diag([2.0, 1.0, 1.0])) == pytest.approx(2**1.5)
    assert m.effective_rank(np.array([[1.0, 2.0], [2.0, 4.0]])) == pytest.approx(1.0)
    assert m.effective_rank(np.zeros((4, 3))) == 0.0


def test_linear_probe_r2_hand_case():
    x_train, y_train = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0.0, 1.0, 2.0, 3.0])
    # fit y = x; on the test set predictions (0, 2) against (0, 4): SS_res 4, SS_tot 8
    r2 = m.linear_probe_r2(x_train, y_train, np.array([[0.0], [2.0]]), np.array([0.0, 4.0]), 0.0)
    assert r2 == pytest.approx(0.5)


def test_linear_probe_r2_skips_constant_columns_and_does_not_penalise_the_bias():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.column_stack([2 * x[:, 0] + 1, np.full(4, 7.0)])
    assert m.linear_probe_r2(x, y, x, y) == pytest.approx(1.0, abs=1e-3)
    assert math.isnan(m.linear_probe_r2(x, y[:, 1], x, y[:, 1]))
    # A huge ridge kills the slope but not the bias: the probe predicts the train mean 11.5,
    # which is also the test mean, so R^2 is 0 rather than hugely negative.
    x_test, y_test = np.array([[0.0], [3.0]]), np.array([10.0, 13.0])
    r2 = m.linear_probe_r2(x, x[:, 0] + 10, x_test, y_test, ridge=1e9)
    assert r2 == pytest.approx(0.0, abs=1e-6)


def test_spearman_with_ties_and_nans():
    assert m.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert m.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    assert m.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(math.sqrt(0.9))
    assert m.spearman([1, 2, np.nan, 3], [3, 2, 100, 1]) == pytest.approx(-1.0)
    assert math.isnan(m.spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(m.spearman([1], [2]))


# --- System M ---------------------------------------------------------------------------------
def test_detection_stats_hand_case():
    out = m.detection_stats([500, 100], [900, 50, 130, 140, 400, 520], 1000, 100)
    assert out["delays"] == [30, 20]
    assert out["delay_median"] == pytest.approx(25.0)
    assert out["missed"] == 0
    # false: 50, 400, 900; stationary 1000 - 100 - 100 = 800 steps
    assert out["false_alarms_per_1e5"] == pytest.approx(3 * 1e5 / 800)


def test_detection_stats_missed_and_next_change_cut():
    out = m.detection_stats([100], [250], 1000, 100)
    assert out["delays"] == [] and out["delay_median"] is None and out["missed"] == 1
    assert out["false_alarms_per_1e5"] == pytest.approx(1e5 / 900)
    # 125 comes after the next change (120): it belongs to that one, the first is missed
    out = m.detection_stats([100, 120], [125], 1000, 100)
    assert out["delays"] == [5] and out["missed"] == 1
    assert out["false_alarms_per_1e5"] == pytest.approx(0.0)
    none = m.detection_stats([], [], 0, 100)
    assert none["missed"] == 0 and none["false_alarms_per_1e5"] is None


def test_time_per_mode_weights_intervals_by_ticks():
    records = [
        {"step": 10, "ticks": 10, "mode_observe": 1.0, "mode_explore": 0.0, "mode_sleep": 0.0},
        {"step": 20, "ticks": 40, "mode_observe": 0.0, "mode_explore": 1 / 3, "mode_sleep": 2 / 3},
    ]
    expected = {"observe": 0.25, "explore": 0.25, "sleep": 0.5}
    assert m.time_per_mode(records) == pytest.approx(expected)
    # Without the tick counter: 10 / (1 - 2/3) = 30 ticks in the second interval, the same.
    for record in records:
        del record["ticks"]
    assert m.time_per_mode(records) == pytest.approx(expected)
    assert m.time_per_mode([]) == {}


def test_switches_per_1e4_counts_changes_of_mode_only():
    events = [
        {"step": 0, "kind": "mode", "mode": "observe", "rule": "birth"},
        {"step": 100, "kind": "mode", "mode": "explore", "rule": "surprise"},
        {"step": 150, "kind": "mode", "mode": "explore", "rule": "surprise"},
        {"step": 200, "kind": "regime", "regime": 1},
        {"step": 300, "kind": "mode", "mode": "exploit", "rule": "habit"},
    ]
    assert m.switches_per_1e4(events, 2000) == pytest.approx(2 * 1e4 / 2000)
    assert [e["step"] for e in m.mode_switches(events)] == [100, 300]  # birth and repeat are not
    assert m.switches_per_1e4([], 2000) == 0.0
    assert math.isnan(m.switches_per_1e4(events, 0))


# --- Aggregation ------------------------------------------------------------------------------
def test_iqm_weights_boundary_values_fractionally():
    assert m.iqm([4, 1, 3, 2]) == pytest.approx(2.5)
    assert m.iqm([1, 2, 4, 8, 100]) == pytest.approx((0.75 * 2 + 4 + 0.75 * 8) / 2.5)
    assert m.iqm([1, 2, 10]) == pytest.approx((0.25 * 1 + 2 + 0.25 * 10) / 1.5)
    assert m.iqm([7.0, None, float("nan")]) == 7.0
    assert math.isnan(m.iqm([None]))


def test_bootstrap_ci_on_two_values():
    # resamples of (0, 1): IQM 0 (1/4), 0.5 (1/2), 1 (1/4)
    assert m.bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    assert m.bootstrap_ci([0.0, 1.0], confidence=0.4) == (0.5, 0.5)
    assert m.bootstrap_ci([3.0]) == (3.0, 3.0)
    assert m.bootstrap_ci([1.0, 5.0, 2.0], seed=3) == m.bootstrap_ci([1.0, 5.0, 2.0], seed=3)
    assert all(math.isnan(v) for v in m.bootstrap_ci([None]))


def test_bootstrap_ci_stratified_resamples_within_tasks():
    # task 2 is always (10, 10); task 1 resamples (0, 1): pooled middle two are (0 or 1, 10)
    matrix = np.array([[0.0, 10.0], [1.0, 10.0], [np.nan, np.nan]])
    assert m.bootstrap_ci_stratified(matrix) == (5.0, 5.5)
    assert all(math.isnan(v) for v in m.bootstrap_ci_stratified(np.full((2, 2), np.nan)))


def test_aggregate_keeps_seeds_in_order():
    out = m.aggregate([1.0, None, 3.0, float("nan")])
    assert out["iqm"] == pytest.approx(2.0)
    assert out["per_seed"] == [1.0, None, 3.0, None]
    assert out["low"] <= out["iqm"] <= out["high"]
    assert m.aggregate([None, None]) == {
        "iqm": None,
        "low": None,
        "high": None,
        "per_seed": [None, None],
    }


# --- One life ---------------------------------------------------------------------------------
def _life() -> tuple[list[dict], list[dict]]:
    """20 records of 100 steps; regime 0 -> 1 at step 1000; reward 0 for two records after."""
    records = []
    for i in range(1, 21):
        step = 100 * i
        records.append(
            {
                "step": step,
                "reward_rate": 0.0 if step in (1100, 1200) else 1.0,
                "regime": 0 if step <= 1000 else 1,
                "steps_per_s": 3000.0 if i == 3 else 1000.0,
                "updates_a": step,
                "updates_b": step // 2,
                "wall_time": step / 100,
                "mode": "observe",
                "mode_observe": 1.0,
                "mode_explore": 0.0,
                "mode_exploit": 0.0,
                "mode_sleep": 0.0,
                "coverage": 0.6 if i == 19 else (None if i == 20 else 0.2),
                "tv_in_view": {5: 0.5, 6: 1.0}.get(i),
                "diag_erank_a": {5: 3.0, 10: 4.0}.get(i),
            }
        )
    events = [
        {"step": 0, "kind": "mode", "mode": "observe", "rule": "birth"},
        {"step": 1000, "kind": "regime", "regime": 1},  # a life writes no regime event at birth
        {"step": 1050, "kind": "mode", "mode": "explore", "rule": "surprise"},
        {"step": 1500, "kind": "mode", "mode": "exploit", "rule": "habit"},
    ]
    return records, events


def test_summarize_life_hand_case():
    records, events = _life()
    out = m.summarize_life(records, events, {0: 0.0, 1: 0.5}, np.ones(20), window=300)
    assert set(m.SUMMARY_METRICS) <= set(out)
    assert out["auc"] == pytest.approx(18 / 20)
    assert out["recovery_median"] == pytest.approx(300.0)  # threshold 0.95, reached at 1300
    assert out["recovery_trend"] is None  # one change
    assert out["drop_mean"] == pytest.approx(1.0)
    assert out["regret_mean"] == pytest.approx(200.0)  # records 1100, 1200, 1300
    assert out["forgetting_mean"] is None
    assert out["detection_delay_median"] == pytest.approx(50.0)  # switch to explore at 1050
    assert out["false_alarms_per_1e5"] == pytest.approx(0.0)
    assert out["missed"] == 0
    assert out["switches_per_1e4"] == pytest.approx(2 * 1e4 / 2000)
    assert out["coverage"] == pytest.approx(0.6)
    assert out["tv_fraction"] == pytest.approx(0.75)
    assert out["env_steps_per_s"] == pytest.approx(1000.0)
    assert out["updates_per_s"] == pytest.approx((1900 + 950) / 19)
    assert out["time_observe"] == pytest.approx(1.0) and out["time_sleep"] == pytest.approx(0.0)
    assert out["diag_erank_a"] == pytest.approx(4.0)


def test_summarize_life_reads_the_fine_bins_for_aligned_recovery():
    records, events = _life()
    assert m.summarize_life(records, events)["aligned_recovery_median"] is None  # no bins
    for record in records:  # two bins of 50 steps per record; the dip ends mid-record at 1150
        rate = record["reward_rate"]
        record["reward_bins"] = [0.0, 1.0] if record["step"] == 1200 else [rate, rate]
        record["reward_bin_width"] = 50
    out = m.summarize_life(records, events, {0: 0.0, 1: 0.5}, before=200, after=400)
    # Threshold 0.95; smoothed 0, 0, 1/3, 2/3, 1 from 1050: recovered at 1250, where the
    # records (recovery_median) can only say 1300.
    assert out["aligned_recovery_median"] == pytest.approx(250.0)
    assert out["recovery_median"] == pytest.approx(300.0)
    assert out["aligned_regret_mean"] == pytest.approx(3 * 1.0 * 50)  # three empty bins


def test_summarize_life_alarm_events_win_over_explore_switches():
    records, events = _life()
    events.append({"step": 1200, "kind": "alarm", "source": "cusum"})
    events.append({"step": 1900, "kind": "alarm", "source": "cusum"})
    out = m.summarize_life(records, events, window=300, after=300)
    assert out["detection_delay_median"] == pytest.approx(200.0)
    assert out["false_alarms_per_1e5"] == pytest.approx(1e5 / 1700)
    # Detection's window is the change-aligned one: within 1,000 steps, 1900 belongs to the change.
    assert m.summarize_life(records, events, window=300)["false_alarms_per_1e5"] == 0.0
    assert out["regret_mean"] is None  # no reference
    # floor None means 0: threshold 0.9, still first reached at 1300
    assert out["recovery_median"] == pytest.approx(300.0)


def test_summarize_life_from_records_alone_and_default_window():
    records, _ = _life()
    out = m.summarize_life(records, [])
    # tau from the records: regime 1 first shows at 1100, so tau = 1000; window 10 x 100 steps.
    assert out["drop_mean"] == pytest.approx(1.0)
    assert out["recovery_median"] == pytest.approx(300.0)
    assert out["detection_delay_median"] is None and out["missed"] is None  # no detector
    assert out["switches_per_1e4"] == 0.0  # the records' mode never changed


def test_summarize_life_missing_inputs_give_none():
    empty = m.summarize_life([], [])
    assert set(empty) == set(m.SUMMARY_METRICS) and all(v is None for v in empty.values())
    bare = m.summarize_life([{"step": 100}], [], floor={"0": 0.1}, reference=np.ones(5))
    assert bare["auc"] is None and bare["updates_per_s"] is None and bare["coverage"] is None
    assert bare["switches_per_1e4"] == 0.0


def test_regimes_are_labels_not_numbers():
    records = [
        {"step": 10, "regime": "masspole:0", "reward_rate": 1.0},
        {"step": 20, "regime": "masspole:1", "reward_rate": 0.0},
        {"step": 30, "regime": "masspole:1", "reward_rate": 0.5},
    ]
    assert m.change_points([], records) == [(10, "masspole:1")]
    steps, curve = np.array([10, 20, 30]), np.array([1.0, 0.0, 0.5])
    regimes = [r["regime"] for r in records]
    assert m.per_regime(steps, curve, regimes) == {"masspole:0": 1.0, "masspole:1": 0.25}


def test_a_schedules_mode_switches_are_not_detections():
    records = [{"step": s, "reward_rate": 0.0, "regime": s >= 500} for s in range(100, 1100, 100)]
    events = [{"step": 520, "kind": "mode", "mode": "explore", "rule": "timer"}]
    by_m = m.summarize_life(records, events)
    by_timer = m.summarize_life(records, events, explore_as_alarm=False)
    assert by_m["detection_delay_median"] is not None
    assert by_timer["detection_delay_median"] is None and by_timer["missed"] is None


def test_trailing_rate_weighs_records_by_the_steps_they_cover():
    steps = np.array([250, 500, 1000, 1250])  # one record twice as wide as the others
    curve = np.array([0.0, 1.0, 0.5, 1.0])
    rate = m.trailing_rate(steps, curve, window=1000)
    assert np.isnan(rate[:2]).all()  # less than a whole window lived
    assert rate[2] == pytest.approx((0.0 * 250 + 1.0 * 250 + 0.5 * 500) / 1000)
    assert rate[3] == pytest.approx((1.0 * 250 + 0.5 * 500 + 1.0 * 250) / 1000)


def test_time_to_threshold_needs_the_rate_held_not_a_lucky_spell():
    steps = np.arange(250, 20_001, 250)
    curve = np.zeros(steps.size)
    curve[(steps > 2000) & (steps <= 3000)] = 1.0  # a lucky thousand steps, then back down
    curve[steps > 8000] = 0.6  # the skill, kept
    # The spell reaches 1.0 at step 3,000 but does not last; from 9,000 the rate is 0.6 and holds.
    assert m.time_to_threshold(steps, curve, 0.5) == 9000
    assert m.time_to_threshold(steps, curve, 0.7) is None  # never held above 0.7
    # Reached too late to be held for 5,000 steps before the life ends: not reached.
    assert m.time_to_threshold(steps, np.where(steps > 17_000, 1.0, 0.0), 0.5) is None
