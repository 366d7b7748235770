"""A life killed with SIGKILL inside a checkpoint write or a sleep tick resumes bit for bit.

The short version of benchmarks/faults.py (20 moments, benches and evolution too; see
docs/faults.md): a tiny life, its reference and two killed copies run side by side.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import TINY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import faults  # noqa: E402

SPEC = faults.LifeSpec(
    "bandit(arms=3,every=200)",
    400,
    (
        *(f"{key}={value}" for key, value in TINY.items()),
        "plan_rules=1",
        "explore_rules=1",
        "log_every=100",
        "checkpoint_every=200",
        "tensorboard=false",
    ),
)


def test_a_life_killed_mid_checkpoint_or_asleep_resumes_identical(tmp_path):
    cases = {
        # the second checkpoint (step 400), killed 40 kB into its temporary file
        "checkpoint-write": dict(place="checkpoint-write", k=2, limit=40_000),
        # a sleep tick past the first checkpoint (step 200)
        "sleep": dict(place="sleep", k=30),
    }
    with ThreadPoolExecutor(3) as pool:
        reference = pool.submit(faults.reference_life, tmp_path, "tiny", SPEC)
        running = {
            name: pool.submit(faults.kill_and_resume, tmp_path / name, SPEC, **case)
            for name, case in cases.items()
        }
        found = {name: future.result() for name, future in running.items()}
        expected = reference.result()
    assert expected.counts["checkpoint"] == 2 and expected.counts["sleep"] >= 30
    for name, result in found.items():
        assert result["killed"], name
        assert "FALLBACK" not in result["detail"], result  # killed where it was meant to be
        assert result["resumed_from"] == "step 200", result
        resumed = faults.life_fingerprint(tmp_path / name / "life")
        assert faults.differences(expected.fingerprint, resumed) == [], (
            name,
            faults.explain(expected.directory, tmp_path / name / "life"),
        )
    assert "(40000 bytes in;" in found["checkpoint-write"]["detail"]
