"""Shared fixtures: tiny genomes and quick worlds so that whole lives fit in a test budget."""

import os

# One BLAS thread per test process, set before numpy loads (torch loads it): the lives that
# tests run in this process (test_bench's `in_process`) compute diagnostics with small SVDs,
# which ran 4x slower with two BLAS threads per process on 2 busy cores. The bench's own pool
# gives each life one thread the same way (`runner.LocalBackend`).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from lifelong.genome import SMALL, Genome  # noqa: E402
from lifelong.systems.observation import world_model_loss  # noqa: E402

torch.set_num_threads(1)

# Small networks, early learning and quick sleep so a few hundred steps exercise every path:
# the library's small overlay with sleep, off by default, on so that lives in tests sleep.
TINY = {**SMALL, "sleep_rules": 1}


def train_a_alone(system, obs, action, alive, reward=None):
    """One step of System A alone (B left out): its loss, one backward pass, the target EMA.

    The agent's learning step adds B's TD loss to the same backward pass, and B's optimizer
    steps the encoder; tests of A alone use this to check what A's loss by itself teaches, the
    encoder stepped here at A's rate. Returns the loss's info.
    """
    encoder_optimizer = getattr(system, "encoder_optimizer", None)
    if encoder_optimizer is None:
        encoder_optimizer = torch.optim.Adam(system.encoder.parameters(), lr=system.genome.lr_a)
        system.encoder_optimizer = encoder_optimizer
    target = system.embed_sequences(obs)
    system.track_scale(target[:, 1:])
    z0 = system.encoder(obs[:, 0])
    total, info, _ = world_model_loss(system, z0, target, action, alive, reward, system.genome)
    for optimizer in (system.optimizer, encoder_optimizer):
        optimizer.zero_grad()
    total.backward()
    for optimizer in (system.optimizer, encoder_optimizer):
        optimizer.step()
    system.update_target()
    return info


@pytest.fixture
def tiny_genome() -> Genome:
    return Genome(**TINY)


class InProcess:
    """A backend (`lifelong.runner`) that lives each life here, one after the other: no pool."""

    def run(self, live, tasks, on_result):
        for task in tasks:
            on_result(task, live(task))

    def close(self):
        pass


@pytest.fixture
def in_process(monkeypatch):
    """Benches and evolutions with `backend="local"` live their lives in this process instead
    of on a spawned pool, whose workers each import torch: seconds per test. The lives are the
    same (test_bench and test_evolve each compare lives on the real pool with lives here); the
    backend's checks of its arguments stay. Ray is left as it is."""
    from lifelong import bench, runner
    from lifelong.evolve import run as evolve_run

    def make_backend(name, address, jobs):
        runner.check_backend(name, address, jobs)
        return InProcess() if name == "local" else runner.make_backend(name, address, jobs)

    for module in (bench, evolve_run):
        monkeypatch.setattr(module, "make_backend", make_backend)


# test_report.py's `chromium()` skips with this reason where no Chromium is installed.
CHROMIUM_MISSING = "chromium not installed"


def pytest_terminal_summary(terminalreporter) -> None:
    """A missing Chromium is said loudly at the end of a local run, not only as an `s` in the
    progress dots: which report tests did not run and how to make them run. Not under CI (the
    `CI` variable), whose own run (.ci/run, LIFELONG_NEEDS_CHROMIUM=1) fails those tests."""
    if os.environ.get("CI"):
        return
    skipped = [
        report.nodeid
        for report in terminalreporter.stats.get("skipped", [])
        if CHROMIUM_MISSING in str(report.longrepr).lower()
    ]
    if not skipped:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("!", "Chromium is missing", yellow=True, bold=True)
    write(f"{len(skipped)} tests of what reports draw did NOT run (skipped):", yellow=True)
    for nodeid in skipped:
        write(f"  {nodeid}")
    write(
        "install Chromium to run them: `sudo apt-get install chromium` (or `make browser` as"
        " root); .ci/run fails them instead of skipping",
        yellow=True,
    )
