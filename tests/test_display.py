"""The live display draws every mode M can choose."""

from lifelong.display import LiveDisplay
from lifelong.modes import Mode


def test_the_mode_bar_shows_every_mode():
    record = {f"mode_{mode.value}": 1 / len(Mode) for mode in Mode}
    text = LiveDisplay._mode_bar(record).plain
    for mode in Mode:
        assert mode.value in text
