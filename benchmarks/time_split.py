"""Where the time goes: our agent's step split by part, and SB3 DQN's for comparison.

    python benchmarks/time_split.py [--steps N] [--sb3]

Each part is timed by a wrapper around the method that does it (cProfile would inflate the many
small calls), over `steps` world steps after the warm-up, default configuration, one torch
thread. Times are per world step and per B update (one learning step: about 6 world steps, as
B also learns at sleep ticks). Parts nest: `ABMMind._learn` contains the updates and the sampling,
`ABMMind.act` contains `plan` and `ABMMind.b_input`. `--sb3` times SB3's DQN the same way, at our
replay ratio, with its MLP and with our encoder (as `throughput.py --sb3`): its `train` is the
update, the rest is acting, the world and its bookkeeping.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).parent))

from throughput import SB3_MISSING, SB3_NETWORKS, measure_agent, measure_sb3  # noqa: E402

import lifelong.mind  # noqa: E402
from lifelong.agent import Agent  # noqa: E402
from lifelong.memory import Memory  # noqa: E402
from lifelong.mind import ABMMind  # noqa: E402
from lifelong.systems.action import SystemB  # noqa: E402
from lifelong.systems.observation import SystemA  # noqa: E402

PARTS = [
    (ABMMind, "_learn"),
    (SystemB, "extrinsic_loss"),
    (SystemB, "intrinsic_loss"),
    (SystemB, "predicted_value_loss"),
    (lifelong.mind, "world_model_loss"),  # A's loss, joined every `a_every`-th learning step
    (SystemA, "embed_sequences"),
    (Memory, "sample"),
    (ABMMind, "act"),
    (lifelong.mind, "plan"),  # PLAN's lookahead, called by `ABMMind.act` in PLAN mode
    (ABMMind, "b_input"),
    (ABMMind, "_measure_prediction"),
    (Agent, "decide"),
    (Memory, "add"),
]


def timed(
    stack: ExitStack, owner: Any, name: str, label: str, spent: Counter, calls: Counter
) -> None:
    """Replace `owner.name`, until `stack` closes, with a wrapper adding its wall time to
    `spent[label]`."""
    method = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
            calls[label] += 1

    stack.enter_context(patch.object(owner, name, wrapper))


def split_ours(steps: int) -> tuple[float, float, dict[str, tuple[float, int]]]:
    """(seconds per world step, world steps per B update, {part: (seconds, calls)})."""
    spent: Counter = Counter()
    calls: Counter = Counter()

    def start_timers(life: Any) -> None:  # after the warm-up: only the timed stretch counts
        for owner, name in PARTS:
            timed(stack, owner, name, f"{owner.__name__}.{name}", spent, calls)
        timed(stack, life.world, "step", "world.step", spent, calls)

    with ExitStack() as stack:
        agent = measure_agent(steps, [], "nursery", on_timing=start_timers)
    parts = {label: (spent[label], calls[label]) for label in spent}
    return 1 / agent["env_steps_per_s"], agent["steps_per_b_update"], parts


def split_sb3(steps: int, train_freq: int, our_encoder: bool) -> tuple[float, float, float]:
    """SB3 DQN: (seconds per world step, seconds per update, other seconds per world step)."""
    spent: Counter = Counter()
    calls: Counter = Counter()
    with ExitStack() as stack:
        sb3 = measure_sb3(
            steps,
            "nursery",
            [f"replay_ratio={1 / train_freq}"],
            our_encoder,
            on_timing=lambda model: timed(stack, model, "train", "train", spent, calls),
        )
    per_step = 1 / sb3["env_steps_per_s"]
    update = spent["train"] / max(calls["train"], 1)
    return per_step, update, per_step - spent["train"] / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5_000, help="timed world steps")
    parser.add_argument("--sb3", action="store_true", help="also split SB3 DQN's time")
    args = parser.parse_args()
    if args.sb3:
        import importlib.util

        if importlib.util.find_spec("stable_baselines3") is None:
            print(SB3_MISSING, file=sys.stderr)
            sys.exit(2)
    per_step, per_update, parts = split_ours(args.steps)  # life.run stops at exactly `steps`
    print(
        f"A-B-M agent: {1 / per_step:.0f} env steps/s, {per_step * 1e3:.3f} ms per world step, "
        f"one B update per {per_update:.2f} world steps"
    )
    print(f"{'part':<28} {'ms/step':>8} {'ms/B update':>12} {'us/call':>9} {'calls':>7}")
    for label, (seconds, count) in sorted(parts.items(), key=lambda item: -item[1][0]):
        share = seconds / args.steps
        print(
            f"{label:<28} {share * 1e3:>8.3f} {share * per_update * 1e3:>12.2f} "
            f"{seconds / count * 1e6:>9.0f} {count:>7}"
        )
    if args.sb3:
        train_freq = max(1, round(per_update))
        for label, our_encoder in SB3_NETWORKS.items():
            total, update, other = split_sb3(args.steps, train_freq, our_encoder)
            print(
                f"SB3 DQN, {label}: {1 / total:.0f} env steps/s; update {update * 1e3:.2f} ms "
                f"every {train_freq} steps; the rest {other * 1e3:.3f} ms per world step"
            )


if __name__ == "__main__":
    main()
