"""A MuJoCo life stopped and continued is the life that never stopped: records and weights.

Ant with the full agent, its floor's friction shifting inside the life, split inside a record
interval and after the shift, so the continued life has to bring back the simulator's state
(Ant's reward reads body positions MuJoCo derives, which HalfCheetah's does not), the shifted
physics, the agent's networks and optimizers and its memory.
"""

import pytest
from conftest import TINY
from test_life import assert_same_state, comparable

from lifelong.life import open_life, read_metrics

pytest.importorskip("mujoco", reason="the mujoco extra is not installed: pip install mujoco")

WORLD = "gym:Ant-v5+shift(kind=friction, every=150, scale=0.3)"
STEPS, SPLIT = 300, 230  # the friction shifts at 150; records at 100, 200 and 300
QUICK = {"tensorboard": False, "log_every": 100, "checkpoint_every": 100}


def begin(directory):
    return open_life(directory, world=WORLD, config_changes=QUICK, genome_changes=TINY)


def test_an_ant_life_in_two_sittings_is_the_uninterrupted_life(tmp_path):
    whole = begin(tmp_path / "whole")
    whole.run(STEPS)
    first = begin(tmp_path / "split")
    first.run(SPLIT)
    again = open_life(tmp_path / "split")
    assert again.agent.counters["env_steps"] == SPLIT  # continued, not born again
    again.run(STEPS)

    counters = whole.agent.counters
    assert counters["env_steps"] == STEPS
    assert counters["updates_a"] > 0 and counters["updates_b"] > 0  # it learned on both sides
    records = read_metrics(tmp_path / "whole")
    assert [record["step"] for record in records] == [100, 200, 300]
    # The friction shift at step 150 is in the records: the split fell after a change.
    assert len({record.get("regime") for record in records}) > 1, records
    assert comparable(read_metrics(tmp_path / "split")) == comparable(records)
    assert_same_state(whole.state_dict(), again.state_dict())
