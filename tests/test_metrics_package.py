"""The layout of `lifelong.metrics` (one module per job, every name importable from the package)
and the helpers the split made shared: `reward_curve`, `floor_levels`, `time_per_mode(since=)`."""

import importlib
import math
import pkgutil
from pathlib import Path

import numpy as np
import pytest

from lifelong import metrics as m
from lifelong.metrics.recovery import floor_levels

SUBMODULES = [info.name for info in pkgutil.iter_modules(m.__path__)]


def test_every_public_name_comes_from_one_submodule():
    homes = {}
    for name in SUBMODULES:
        module = importlib.import_module(f"lifelong.metrics.{name}")
        for attr, value in vars(module).items():
            if getattr(value, "__module__", None) == module.__name__:
                homes.setdefault(attr, module.__name__)
    for name in m.__all__:
        value = getattr(m, name)
        if callable(value):
            assert value.__module__ in {f"lifelong.metrics.{s}" for s in SUBMODULES}, name
            assert homes[name] == value.__module__, name


@pytest.mark.parametrize("name", SUBMODULES)
def test_each_submodule_says_what_it_implements_and_stays_short(name):
    module = importlib.import_module(f"lifelong.metrics.{name}")
    assert module.__doc__ and "METRICS.md" in module.__doc__
    lines = Path(module.__file__).read_text().count("\n")
    assert lines < 600, f"{name}.py has {lines} lines"


def test_reward_curve_reads_reward_rate_with_nan_for_missing():
    records = [{"step": 1, "reward_rate": 0.5}, {"step": 2, "reward_rate": None}, {"step": 3}]
    curve = m.reward_curve(records)
    assert curve[0] == 0.5 and math.isnan(curve[1]) and math.isnan(curve[2])
    assert m.reward_curve([]).shape == (0,)


def test_floor_levels_of_a_dict_a_number_and_none():
    assert floor_levels({0: 1.0, "1": 3.0}) == ({"0": 1.0, "1": 3.0}, 2.0)
    assert floor_levels(0.5) == ({}, 0.5)
    assert floor_levels(None) == ({}, 0.0)
    assert floor_levels({}) == ({}, 0.0)


def test_time_per_mode_since_keeps_the_late_records_weighted_by_their_own_ticks():
    records = [
        {"step": 10, "ticks": 10, "mode_observe": 1.0, "mode_explore": 0.0},
        {"step": 20, "ticks": 40, "mode_observe": 0.5, "mode_explore": 0.5},
        {"step": 30, "ticks": 50, "mode_observe": 0.0, "mode_explore": 1.0},
    ]
    # The last two intervals hold 30 and 10 ticks (not 40 and 50, the cumulative counts).
    expected = {"observe": 30 * 0.5 / 40, "explore": (30 * 0.5 + 10) / 40}
    assert m.time_per_mode(records, since=10) == pytest.approx(expected)
    assert m.time_per_mode(records, since=None) == m.time_per_mode(records)
    assert m.time_per_mode(records, since=30) == {}


def test_floor_curve_gives_each_change_the_level_of_its_new_regime():
    from lifelong.metrics.summary import _floor_curve

    steps = np.array([100.0, 200.0, 300.0, 400.0])
    changes = [(100, 1), (300, 2)]  # regime 2 has no level: the mean of the dict's levels
    curve = _floor_curve({1: 0.0, "0": 1.0}, steps, changes)
    assert curve.tolist() == [0.5, 0.0, 0.0, 0.5]
    assert _floor_curve(0.25, steps, changes).tolist() == [0.25] * 4
    assert _floor_curve(None, steps, changes).tolist() == [0.0] * 4
