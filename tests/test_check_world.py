"""`lifelong check-world`: the worlds the README shows pass their own check, and the check itself
never steps a world past an episode's end."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest

from lifelong.cli import main
from lifelong.worlds.check import check_world

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_worlds() -> list[str]:
    """The specs of the README's `lifelong run --world SPEC ...` examples, as a shell reads
    them (quotes removed, the options after the spec left out)."""
    lines = re.findall(r"^lifelong run --world (.+)$", README.read_text(), re.MULTILINE)
    return [shlex.split(line)[0] for line in lines]


def test_the_readme_shows_worlds_to_check():
    worlds = readme_worlds()
    assert len(worlds) >= 5, worlds
    assert any(w.startswith("gym:CartPole-v1+shift(kind=gravity") for w in worlds), worlds


@pytest.mark.parametrize("spec", readme_worlds())
def test_every_readme_world_passes_its_own_check(spec):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = check_world(spec, steps=300)
    failed = [(name, detail) for name, ok, detail in report.checks if not ok]
    assert report.passed and not failed, failed
    # Gymnasium warns when an env is stepped after its episode ended; the check resets first.
    assert not [w for w in caught if "step()" in str(w.message)]
    restore = next(detail for name, _, detail in report.checks if name == "state_dict round trip")
    if spec.startswith("minigrid:"):  # MiniGrid cannot be saved exactly
        assert "new episode" in restore
    else:
        assert "continues identically" in restore


def readme_checks() -> list[str]:
    """The specs of the README's `lifelong check-world "SPEC"` examples, quotes removed."""
    lines = re.findall(r"^lifelong check-world ([\"'].+)$", README.read_text(), re.MULTILINE)
    return [line.strip().strip("\"'") for line in lines]


def test_the_readme_shows_continuous_worlds_to_check():
    assert any(spec.startswith("gym:HalfCheetah-v5") for spec in readme_checks())


@pytest.mark.parametrize("spec", readme_checks())
def test_every_readme_check_world_example_passes(spec):
    if spec.startswith(("gym:HalfCheetah", "gym:Hopper", "gym:Ant")):
        pytest.importorskip("mujoco")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = check_world(spec, steps=300)
    failed = [(name, detail) for name, ok, detail in report.checks if not ok]
    assert report.passed and not failed, failed


def test_the_readmes_cartpole_shift_exits_0(capsys):
    spec = "gym:CartPole-v1+shift(kind=gravity,every=2000,scale=2.0)"
    assert main(["check-world", spec, "--steps", "200"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "gymnasium env checker" in out
