"""Peak memory of a checkpoint write, for a life whose memory is full (issue 29).

    python benchmarks/checkpoint_memory.py [--world nursery] [--steps 1000] [--repeats 3]

A life's checkpoint is as big as it will ever be once its memory is full: the recent ring holds
`memory_recent` frames (50,000 by default) and the long-term reservoir `memory_longterm` segments
(2,000); the rest (networks, optimisers, counters) is about 2 MiB in the Nursery. A 1M-step life
takes about 20 minutes here, so this script lives the first `--steps` steps of a default `abm`
life (its networks and optimisers learn, so their state is real), then fills the agent's Memory
directly with random frames until the ring and the reservoir are full: from then on the memory
is the size it has at step 1,000,000, and so is the checkpoint.

It then writes `--repeats` checkpoints (`Life.checkpoint`, exactly what a living life calls) and
for each one reads the process's resident memory from /proc/self/status: `VmRSS` just before the
write (the steady state) and `VmHWM`, the high-water mark, after it, having reset the mark to
the current RSS (`echo 5 > /proc/self/clear_refs`) just before. Peak over steady is what the write
costs in memory. Linux only.

Last, it loads the newest checkpoint back (`load_latest_checkpoint`, what a resumed life calls
first) and measures the same way: a loaded state holds a copy of the memory by nature, so the
figure to compare with is the file's size.

To compare two versions of the code, run it with each one's `src` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def status_kib(field: str) -> int:
    """A `Vm*` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def reset_high_water_mark() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def fill(memory, rng: np.random.Generator) -> int:
    """Add random frames until the ring and the reservoir are full; return how many."""
    added = 0
    action_shape = getattr(memory, "action_shape", ())
    while len(memory) < memory.recent_capacity or memory.longterm_size < memory.longterm_capacity:
        obs = rng.random(memory.obs_shape, dtype=np.float32).astype(memory.obs_dtype)
        action = rng.random(action_shape, dtype=np.float32) if action_shape else int(added % 4)
        memory.add(obs, action, float(rng.random()), first=added % 500 == 0)
        added += 1
    return added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="nursery")
    parser.add_argument("--steps", type=int, default=1000, help="steps the life lives first")
    parser.add_argument("--repeats", type=int, default=3, help="checkpoints measured")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import lifelong
    from lifelong.checkpoint import load_latest_checkpoint
    from lifelong.life import open_life

    with tempfile.TemporaryDirectory() as directory:
        life = open_life(
            Path(directory) / "life",
            world=args.world,
            config_changes={"tensorboard": False, "checkpoint_every": 10**9, "log_every": 1000},
        )
        life.run(args.steps)
        memory = life.agent.mind.memory
        before_fill = status_kib("VmRSS")
        added = fill(memory, np.random.default_rng(0))
        storage = sum(a.nbytes for a in (*memory._recent.values(), *memory._longterm.values()))
        print(f"lifelong from {Path(lifelong.__file__).parent}")
        print(
            f"{args.world}: lived {args.steps} steps, then added {added} frames: ring "
            f"{len(memory)}/{memory.recent_capacity} frames, reservoir "
            f"{memory.longterm_size}/{memory.longterm_capacity} segments of "
            f"{memory.segment_length}; memory storage {storage / 2**20:.1f} MiB, RSS "
            f"{before_fill / 1024:.0f} -> {status_kib('VmRSS') / 1024:.0f} MiB"
        )
        rows = []
        for repeat in range(args.repeats):
            gc.collect()
            steady = status_kib("VmRSS")
            reset_high_water_mark()
            start = time.perf_counter()
            path = life.checkpoint()
            seconds = time.perf_counter() - start
            peak = status_kib("VmHWM")
            after = status_kib("VmRSS")
            row = {
                "repeat": repeat + 1,
                "steady_mib": steady / 1024,
                "peak_mib": peak / 1024,
                "extra_mib": (peak - steady) / 1024,
                "peak_over_steady": peak / steady,
                "after_mib": after / 1024,
                "file_mib": path.stat().st_size / 2**20,
                "seconds": seconds,
            }
            rows.append(row)
            print(
                f"checkpoint {repeat + 1}: steady {row['steady_mib']:.0f} MiB, peak "
                f"{row['peak_mib']:.0f} MiB (+{row['extra_mib']:.1f} MiB, "
                f"{row['peak_over_steady']:.3f}x), after {row['after_mib']:.0f} MiB; file "
                f"{row['file_mib']:.1f} MiB in {seconds:.2f} s"
            )
        life.close()
        gc.collect()
        steady = status_kib("VmRSS")
        reset_high_water_mark()
        found = load_latest_checkpoint(path.parent)
        load = {
            "steady_mib": steady / 1024,
            "extra_mib": (status_kib("VmHWM") - steady) / 1024,
            "held_mib": (status_kib("VmRSS") - steady) / 1024,
        }
        del found
    worst = max(rows, key=lambda row: row["peak_over_steady"])
    print(
        f"worst: peak {worst['peak_over_steady']:.3f}x steady (+{worst['extra_mib']:.1f} MiB over "
        f"{worst['steady_mib']:.0f} MiB)"
    )
    print(
        f"load: peak +{load['extra_mib']:.0f} MiB over {load['steady_mib']:.0f} MiB, of which the "
        f"loaded state still holds +{load['held_mib']:.0f} MiB"
    )
    if args.json:
        figures = {"world": args.world, "rows": rows, "load": load}
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
