"""Learning progress as a windowed test of A's error (`lifelong.progress`)."""

import random

import pytest

from lifelong.progress import BLOCKS, ProgressTest


def autocorrelated_errors(rng: random.Random, n: int, level, keep: float = 0.95):
    """Heavy-tailed, strongly autocorrelated errors around `level(t)`: runs of large errors, as
    a predator in view makes, that a short average mistakes for change."""
    x = 0.0
    for t in range(n):
        x = keep * x + (1 - keep) * rng.gauss(0, 1) * 8
        yield level(t) * (1.0 + 0.3 * x + 0.2 * rng.expovariate(1.0))


def verdicts(stream, window: int = 2000, z: float = 3.5) -> list[float]:
    """The test's value at the close of each window."""
    test = ProgressTest(window, z)
    values = []
    for i, error in enumerate(stream, start=1):
        test.add(error)
        if i % window == 0:
            values.append(test.value)
    return values


def test_a_stationary_world_reads_no_progress_however_noisy_its_errors():
    """What M's explore rule reads (a positive verdict) in < 1% of 600 windows (measured: 2; at
    z = 4, none; at z = 3, 4)."""
    positive = 0
    for seed in range(3):
        values = verdicts(autocorrelated_errors(random.Random(seed), 400_000, lambda t: 1.0))
        positive += sum(v > 0 for v in values)
    assert positive < 6, positive


def test_a_falling_error_is_progress_and_it_ends_when_the_model_is_mastered():
    def level(t: int) -> float:  # falls by half every 4,000 steps until 20,000, then flat
        return 0.5 ** (min(t, 20_000) / 4000)

    values = verdicts(autocorrelated_errors(random.Random(1), 60_000, level))
    learning, mastered = values[1:10], values[12:]
    assert sum(v > 0.05 for v in learning) >= 7, learning
    assert all(v == 0 for v in mastered), mastered


def test_a_rising_error_is_negative_progress():
    values = verdicts(autocorrelated_errors(random.Random(2), 8000, lambda t: 1 + t / 2000))
    assert all(v < 0 for v in values[1:])


def test_a_restored_test_continues_as_the_original():
    rng = random.Random(3)
    errors = [rng.random() * (1 + i / 3000) for i in range(9000)]
    original, copy = ProgressTest(1000, 2.0), ProgressTest(1000, 2.0)
    for e in errors[:4321]:
        original.add(e)
    copy.load_state_dict(original.state_dict())
    for e in errors[4321:]:
        original.add(e)
        copy.add(e)
    assert copy.state_dict() == original.state_dict() and original.value != 0


def test_progress_is_relative_to_the_no_change_floor():
    """A's error that keeps its level while copy-last's doubles (latents grown richer) is A
    predicting better; measurements without a floor are skipped."""
    test = ProgressTest(200, 4.0)
    rng = random.Random(5)
    for floor in (1.0, 2.0):
        for _ in range(200):
            test.add(0.5 * (1 + 0.1 * rng.random()), floor)
            test.add(9.0, float("nan"))
    assert test.value > 0.4


def test_a_window_shorter_than_its_blocks_is_refused_in_one_line():
    with pytest.raises(ValueError, match=f"window=5 is invalid: it must be >= {BLOCKS}"):
        ProgressTest(5, 3.0)
