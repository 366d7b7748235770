import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY

from lifelong.cli import main
from lifelong.genome import Genome

TINY_SETS = [f"--set={k}={v}" for k, v in TINY.items()]
QUICK = ["--quiet", "--world", "nursery-small", "--set", "tensorboard=false", *TINY_SETS]


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def existing(tmp_path_factory) -> Path:
    """A life that already ran: mistakes must leave it exactly as it was."""
    directory = tmp_path_factory.mktemp("life") / "run"
    assert main(["run", "--dir", str(directory), "--steps", "200", *QUICK]) == 0
    return directory


def bad_genome_file(tmp_path: Path) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text("lr_a: 7\n")
    return str(path)


def old_run(tmp_path: Path) -> str:
    directory = tmp_path / "old"
    directory.mkdir()
    (directory / "config.yaml").write_text("format: 0\nworld: nursery\n")
    (directory / "genome.yaml").write_text("{}\n")
    return str(directory)


MISTAKES = [
    # (name, arguments (with {new}, {existing}, {tmp} placeholders), text the error must contain)
    ("unknown world", ["--world", "mars", "--dir", "{new}"], "unknown world 'mars'"),
    ("malformed --set", ["--set", "lr_a", "--dir", "{new}"], "--set expects key=value"),
    ("empty --set key", ["--set", "=3", "--dir", "{new}"], "--set expects key=value"),
    ("unknown --set key", ["--set", "speed=3", "--dir", "{new}"], "unknown key 'speed'"),
    ("genome out of range", ["--set", "gamma=2", "--dir", "{new}"], "'gamma' = 2.0 is out of"),
    ("genome wrong type", ["--set", "min_dwell=1.5", "--dir", "{new}"], "must be an integer"),
    ("genome not a number", ["--set", "lr_a=fast", "--dir", "{new}"], "must be a number"),
    ("config wrong type", ["--set", "log_every=often", "--dir", "{new}"], "'log_every' must be"),
    ("config out of range", ["--set", "log_every=0", "--dir", "{new}"], "must be >= 1"),
    ("bad device", ["--set", "device=tpu", "--dir", "{new}"], "'device' must be"),
    ("sleep below wake", ["--set", "sleep_threshold=0.05", "--dir", "{new}"], "wake_threshold"),
    (
        "missing genome file",
        ["--genome", "{tmp}/none.yaml", "--dir", "{new}"],
        "cannot read genome file",
    ),
    ("bad genome file", ["--genome", "{badgenome}", "--dir", "{new}"], "'lr_a' = 7"),
    ("unwritable directory", ["--dir", "/proc/lifelong-test"], "cannot write to run directory"),
    ("negative steps", ["--steps", "-5", "--dir", "{new}"], "--steps must be >= 0"),
    ("steps not a number", ["--steps", "many", "--dir", "{new}"], "invalid int value"),
    ("unknown option", ["--speed", "3", "--dir", "{new}"], "unrecognized arguments"),
    ("change seed on resume", ["--dir", "{existing}", "--seed", "9"], "cannot change"),
    ("change world on resume", ["--dir", "{existing}", "--world", "nursery"], "cannot change"),
    ("genome on resume", ["--dir", "{existing}", "--set", "lr_b=0.01"], "genome is fixed"),
    ("incompatible run", ["--dir", "{old}"], "incompatible lifelong"),
    (
        "a bandit algorithm in continuous actions",
        ["--world", "gym:Pendulum-v1", "--set", "agent=sw_ucb", "--dir", "{new}"],
        "'sw_ucb' acts in a Discrete action space",
    ),
    ("unknown wrapper", ["--world", "nursery+fog", "--dir", "{new}"], "unknown wrapper 'fog'"),
    (
        "unknown wrapper parameter",
        ["--world", "nursery+noisy_tv(colour=2)", "--dir", "{new}"],
        "colour",
    ),
    ("bad world spec", ["--world", "nursery+shift(kind=", "--dir", "{new}"], "bad world spec"),
]


@pytest.mark.parametrize("name, arguments, fragment", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_give_one_line_exit_2_and_touch_nothing(
    name, arguments, fragment, existing, tmp_path, capsys
):
    before = snapshot(existing)
    places = {
        "{new}": str(tmp_path / "new"),
        "{existing}": str(existing),
        "{tmp}": str(tmp_path),
        "{badgenome}": bad_genome_file(tmp_path),
        "{old}": old_run(tmp_path),
    }
    argv = ["run", "--quiet"] + [
        places.get(a, a).replace("{tmp}", str(tmp_path)) for a in arguments
    ]
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "new").exists()  # nothing created for a rejected new life
    assert snapshot(existing) == before


def test_run_continues_an_existing_life_up_to_the_new_step_count(existing, capsys):
    assert main(["run", "--dir", str(existing), "--steps", "300", "--quiet"]) == 0
    assert "checkpointed at step 300" in capsys.readouterr().out


def test_genome_command_prints_a_loadable_genome(capsys):
    assert main(["genome"]) == 0
    assert Genome.from_dict(yaml.safe_load(capsys.readouterr().out)) == Genome()


def test_worlds_command_lists_the_nursery(capsys):
    assert main(["worlds"]) == 0
    assert "nursery" in capsys.readouterr().out


def test_interrupt_checkpoints_and_exits_zero(tmp_path):
    """A life without --steps runs until SIGINT, then checkpoints and exits 0."""
    directory = tmp_path / "life"
    command = [
        sys.executable,
        "-m",
        "lifelong.cli",
        "run",
        "--dir",
        str(directory),
        "--world",
        "nursery-small",
        "--set",
        "log_every=50",
        *TINY_SETS,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    deadline = time.monotonic() + 60
    while not (directory / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped by signal" in out and "Traceback" not in err
    assert "mode" in out  # the display printed records (no terminal: one line each)
    assert list((directory / "checkpoints").glob("ckpt-*.pt"))


def test_check_world_reports_a_good_world(capsys):
    assert main(["check-world", "nursery-small", "--steps", "500"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "same seed, same stream" in out and "regimes seen" in out


def test_check_world_finds_a_broken_world(monkeypatch, capsys):
    """A world whose observations leave their space fails the check and exits 1."""
    from lifelong.worlds import check
    from lifelong.worlds.nursery import Nursery

    class Broken(Nursery):
        def step(self, action):
            obs, reward, terminated, truncated, info = super().step(action)
            return obs * 3.0, reward, terminated, truncated, info

    monkeypatch.setattr(check, "make_world", lambda spec, **_: Broken())
    assert main(["check-world", "broken", "--steps", "200"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_world_refuses_an_unknown_world(capsys):
    assert main(["check-world", "atlantis"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unknown world" in err


def test_default_run_directory_is_a_tidy_name_for_the_world(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = "nursery-small(season_length=50)"
    assert main(["run", "--quiet", "--world", spec, "--steps", "20", *QUICK[3:]]) == 0
    assert (tmp_path / "runs" / "nursery-small_season_length_50-s0" / "config.yaml").exists()


@pytest.mark.parametrize(
    "world",
    [
        "minatar:breakout",
        "minigrid:MiniGrid-DoorKey-5x5-v0",
        "gym:CartPole-v1+shift(every=100,kind=gravity,scale=2.0)+noisy_tv",
    ],
)
def test_the_agent_lives_unchanged_in_other_worlds(world, tmp_path, capsys):
    directory = tmp_path / "life"
    argv = ["run", "--quiet", "--world", world, "--dir", str(directory), "--steps", "300"]
    assert main([*argv, "--set", "tensorboard=false", *TINY_SETS]) == 0
    assert "checkpointed at step 300" in capsys.readouterr().out
    assert main(["run", "--quiet", "--dir", str(directory), "--steps", "400"]) == 0  # resumes
