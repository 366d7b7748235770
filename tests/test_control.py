import subprocess
import sys

from lifelong.genome import Genome
from lifelong.modes import ROUTES, Mode
from lifelong.signals import MetaState
from lifelong.systems.control import MetaController


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
    controller = MetaController(Genome(min_dwell=3))
    assert run(controller, MetaState(sleep_pressure=0.9), 4)[-1] == Mode.SLEEP
    assert controller.decide(MetaState(sleep_pressure=0.5)).mode == Mode.SLEEP
    assert controller.decide(MetaState(sleep_pressure=0.05)).mode != Mode.SLEEP


def test_minimum_dwell_holds_a_mode():
    controller = MetaController(Genome(min_dwell=10))
    controller.decide(MetaState())  # birth: the first choice is free
    assert controller.mode == Mode.EXPLOIT
    modes = run(controller, MetaState(learning_progress=0.5), 13)
    assert modes == [Mode.EXPLOIT] * 9 + [Mode.EXPLORE] * 4
    modes = run(controller, MetaState(pain=0.9), 7)
    assert modes == [Mode.EXPLORE] * 6 + [Mode.EXPLOIT]


def test_rules_pick_modes_from_signals():
    cases = [
        (MetaState(pain=0.9, sleep_pressure=0.95), Mode.EXPLOIT, "pain"),
        (MetaState(energy=0.1, stress=0.9), Mode.EXPLOIT, "stress"),
        (MetaState(teacher_present=1.0, teacher_trust=0.9), Mode.OBSERVE, "trusted teacher"),
        (MetaState(teacher_present=1.0, teacher_trust=0.1), Mode.EXPLOIT, "default"),
        (MetaState(learning_progress=0.3), Mode.EXPLORE, "learning progress"),
        (MetaState(surprise=5.0), Mode.EXPLORE, "surprise"),
        (MetaState(), Mode.EXPLOIT, "default"),
    ]
    for state, mode, rule in cases:
        controller = MetaController(Genome(min_dwell=1))
        action = controller.decide(state)
        assert (action.mode, action.rule) == (mode, rule), state


def test_meta_action_follows_the_mode():
    genome = Genome(min_dwell=1)
    explore = MetaController(genome).decide(MetaState(learning_progress=0.5))
    exploit = MetaController(genome).decide(MetaState())
    sleep = MetaController(genome).decide(MetaState(sleep_pressure=1.0))
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
