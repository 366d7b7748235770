"""Where many lives run: one runner, two backends (a process pool here, or a Ray cluster).

Benchmarks and evolution both hand the runner *tasks* and the module-level function that lives
one. A task is a frozen dataclass with a `directory` field: where the life keeps its files.
The function returns a result dict with at least

    error       None, or a one-line "Type: message" (a life's crash is a result, never raised)
    traceback   the whole traceback, for failed.txt
    files       {name: text}: the life's small files when it ran away from `directory`

On the process pool a life writes straight into its directory. On Ray it may run on another
node, so the runner gives it `directory=None` (the function lives in a temporary directory,
`work_in`, and sends its small files back, `small_files`), and writes those files into the
task's own directory before the caller sees the result. Nothing is shared but Ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from lifelong.errors import UserError

Task = Any  # a frozen dataclass with a `directory: str | Path | None` field
LiveFn = Callable[[Task], dict[str, Any]]
OnResult = Callable[[Task, dict[str, Any]], None]
BACKENDS = ("local", "ray")
# The files a life sends back from a Ray worker: its records and what it was. Checkpoints stay
# behind (a life on Ray that is interrupted starts again from birth).
SMALL_FILES = (".jsonl", ".yaml", ".json", ".txt")


# --- The worker's side ----------------------------------------------------------------------


@contextlib.contextmanager
def work_in(directory: str | Path | None) -> Iterator[Path]:
    """The directory a life runs in: its own, or a temporary one on a remote worker."""
    if directory is not None:
        yield Path(directory)
        return
    with tempfile.TemporaryDirectory(prefix="lifelong-life-") as temporary:
        yield Path(temporary) / "life"


def small_files(directory: Path) -> dict[str, str]:
    """The text files of a life on a worker (records, config, genome), to write on the driver."""
    return {
        path.name: path.read_text()
        for path in sorted(directory.iterdir())
        if path.is_file() and path.suffix in SMALL_FILES
    }


def failure(error: BaseException, detail: str = "") -> dict[str, Any]:
    """The result of a life that raised (or whose worker died)."""
    message = str(error).splitlines()[0] if str(error) else ""
    return {
        "error": f"{type(error).__name__}: {message}".rstrip(": "),
        "traceback": detail or f"{type(error).__name__}: {error}",
        "files": {},
    }


def _bring_back(task: Task, result: dict[str, Any]) -> None:
    """Write the files a remote life sent into the task's directory (best effort: the directory
    may be unwritable, and the caller still learns the result)."""
    if not result.get("files") or task.directory is None:
        return
    where = Path(task.directory)
    with contextlib.suppress(OSError):
        where.mkdir(parents=True, exist_ok=True)
        for name, text in result["files"].items():
            (where / name).write_text(text)


# --- Backends -------------------------------------------------------------------------------


class LocalBackend:
    """A process pool on this machine (spawned: no torch state shared with the driver)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def run(self, live: LiveFn, tasks: list[Task], on_result: OnResult) -> None:
        """Live every task, calling `on_result(task, result)` as each life ends."""
        if not tasks:
            return
        if self._pool is None:
            # One BLAS thread per life: lives already fill the cores, and the diagnostics' small
            # solves run several times slower when numpy's threads fight over them.
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(name, "1")
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context)
        futures: dict[Future, Task] = {self._pool.submit(live, task): task for task in tasks}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as error:  # the worker died (killed, out of memory): a new pool
                    result = failure(error)
                    self._discard_pool()
                on_result(futures[future], result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayBackend:
    """`ray.remote` tasks, one CPU each, on a local Ray or the cluster at `address`.

    Ray is left running if it was running before (a test's, or a notebook's); one started here
    is shut down by `close`. No retries: a life that kills its worker would kill the next one.
    """

    def __init__(self, address: str | None, jobs: int | None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError(
                "--backend ray needs Ray: pip install 'lifelong[ray]' (or use --backend local)"
            ) from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": address, "log_to_driver": False}
            if address is None and "RAY_ADDRESS" not in os.environ:  # a Ray of our own
                options.update(include_dashboard=False, num_cpus=jobs)
            try:
                ray.init(**options)
            except (ConnectionError, ValueError) as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise UserError(f"cannot connect to Ray at {address!r}: {reason}") from None
            self.started = True

    def run(self, live: LiveFn, tasks: list[Task], on_result: OnResult) -> None:
        """Live every task on the cluster, calling `on_result(task, result)` as each life ends."""
        ray = self.ray
        remote_live = ray.remote(num_cpus=1, max_retries=0)(live)
        refs = {
            remote_live.remote(dataclasses.replace(task, directory=None)): task for task in tasks
        }
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        result = ray.get(ref)
                    except Exception as error:  # the worker died, or the node went away
                        result = failure(error)
                    _bring_back(refs[ref], result)
                    on_result(refs[ref], result)
        except BaseException:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
            raise

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False


Backend = LocalBackend | RayBackend


def check_backend(name: str, address: str | None, jobs: int | None) -> None:
    """The backend's options, checked before anything is written or started."""
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; backends: {', '.join(BACKENDS)}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {jobs}")
    if name == "local" and address is not None:
        raise UserError("--address is for --backend ray (a Ray cluster); local needs none")
    if name == "ray" and importlib.util.find_spec("ray") is None:
        raise UserError(
            "--backend ray needs Ray: pip install 'lifelong[ray]' (or use --backend local)"
        )


def make_backend(name: str, address: str | None, jobs: int | None) -> Backend:
    """`local` runs `jobs` lives at once (default: one per CPU); `ray` connects to `address`
    (None: a local Ray with `jobs` CPUs, unless RAY_ADDRESS names a cluster)."""
    check_backend(name, address, jobs)
    if name == "local":
        return LocalBackend(jobs or os.cpu_count() or 1)
    return RayBackend(address, jobs)
