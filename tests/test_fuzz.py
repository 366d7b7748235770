"""Generated inputs of every kind a person hands lifelong: accepted, or refused in one line.

The properties live in benchmarks/fuzz.py, which runs thousands of cases; here each runs a few
dozen, derandomised, so the suite stays fast and the same on every machine."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import fuzz  # noqa: E402

CASES = {
    "world specs": 40,
    "genome files": 40,
    "--set values": 60,
    "config files": 60,
    "checkpoints": 60,
    "metrics files": 60,
    "the step-wise API": 25,
    "command lines": 12,
}


@pytest.mark.parametrize("target", sorted(CASES))
def test_every_input_is_accepted_or_refused_in_one_line(target):
    fuzz.check(target, CASES[target])


def test_the_checker_catches_a_traceback_and_a_long_message():
    """The property can fail: an error that is not ours escapes, a message of two lines is
    caught."""
    with pytest.raises(KeyError):
        fuzz.accepted_or_refused(lambda: {}["x"])
    with pytest.raises(AssertionError, match="two"):
        fuzz.accepted_or_refused(lambda: (_ for _ in ()).throw(ValueError("two\nlines")))
