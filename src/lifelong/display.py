"""The live view of a life in the terminal (rich), refreshed at every metrics record.

Shows what a person needs to see the agent live: how fast it runs, which mode M chose and why,
how much of the time each mode took, the reward rate with a sparkline of its history, A's
prediction error and learning progress, and the body. Without a terminal it prints one line per
record instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lifelong.modes import Mode

_BARS = "▁▂▃▄▅▆▇█"
_COLOURS = {
    "observe": "cyan",
    "explore": "yellow",
    "exploit": "green",
    "sleep": "magenta",
    "plan": "red",
    "imagine": "blue",
}


def sparkline(values: list[float], width: int = 48) -> str:
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(_BARS[int((v - low) / span * (len(_BARS) - 1))] for v in values)


class LiveDisplay:
    def __init__(self, directory: Path, world: str, steps: int | None, verb: str) -> None:
        self.console = Console()
        self.title = f"lifelong · {world} · {directory} · {verb}"
        self.steps = steps
        self.rewards: list[float] = []
        self.live = Live(self._render(None), console=self.console, refresh_per_second=4)

    def __enter__(self) -> LiveDisplay:
        if self.console.is_terminal:
            self.live.__enter__()
        else:
            self.console.print(self.title)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.console.is_terminal:
            self.live.__exit__(*exc)

    def update(self, record: dict[str, Any]) -> None:
        self.rewards.append(record["reward_rate"])
        if self.console.is_terminal:
            self.live.update(self._render(record))
        else:
            self.console.print(
                f"step {record['step']:>9}  {record['steps_per_s']:7.0f} steps/s  "
                f"mode {record['mode']:<8} reward {record['reward_rate']:+.4f}  "
                f"error {record['prediction_error_fast']:.4f}  energy {record['energy']:.2f}",
                highlight=False,
            )

    def _render(self, record: dict[str, Any] | None) -> Group:
        if record is None:
            return Group(Text(self.title, style="bold"), Text("being born..."))
        target = f" / {self.steps}" if self.steps else " (Ctrl-C checkpoints and stops)"
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        mode = record["mode"]
        rows = [
            ("step", f"{record['step']}{target}   {record['steps_per_s']:.0f} steps/s"),
            ("mode", Text(f"{mode}  (rule: {record['rule']})", style=_COLOURS.get(mode, ""))),
            ("time per mode", self._mode_bar(record)),
            ("reward rate", f"{record['reward_rate']:+.4f}   {sparkline(self.rewards)}"),
            (
                "prediction error",
                f"{record['prediction_error_fast']:.4f}   learning progress "
                f"{record['learning_progress']:+.3f}   surprise "
                f"{record['surprise']:+.2f}",
            ),
            (
                "body",
                f"energy {record['energy']:.2f}   pain {record['pain']:.2f}   stress "
                f"{record['stress']:.2f}   sleep pressure {record['sleep_pressure']:.2f}",
            ),
            (
                "learning",
                f"A updates {record['updates_a']}   B updates {record['updates_b']}"
                f"   faints {record['faints']}   regime {record['regime']}",
            ),
        ]
        for name, value in rows:
            table.add_row(name, value)
        return Group(Text(self.title, style="bold"), table)

    @staticmethod
    def _mode_bar(record: dict[str, Any], width: int = 40) -> Text:
        bar = Text()
        for mode in Mode:
            share = record[f"mode_{mode.value}"]
            bar.append("█" * round(share * width), style=_COLOURS[mode.value])
        legend = "  ".join(f"{m.value} {record[f'mode_{m.value}']:.0%}" for m in Mode)
        return bar + Text(f"  {legend}")
