"""A life: the never-ending loop between a world and an agent, with its records and checkpoints.

A run directory holds one life:
    config.yaml     where and how it runs (world, seed, intervals)
    genome.yaml     who the agent is (fixed for the life)
    metrics.jsonl   one record per `log_every` world steps, append-only; each carries its
                    interval's mean reward per `bin_width` steps (`reward_bins`)
    events.jsonl    regime changes (ground truth), M's mode switches and detector alarms, by step
    tensorboard/    the same scalars for TensorBoard
    checkpoints/    everything needed to continue exactly (see `Life.state_dict`)

Resuming is the default: opening a directory that already holds a life continues it from its
newest valid checkpoint, and records written after that checkpoint are dropped so that the
continued life writes them again exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from lifelong.agents import build_agent, check_fits, check_ours
from lifelong.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_latest_checkpoint,
    save_checkpoint,
)
from lifelong.config import Config, newborn
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.memory import shared_state
from lifelong.mind import ABMMind
from lifelong.modes import Mode
from lifelong.policies import load_policy
from lifelong.records import Record, Recorder, read_jsonl
from lifelong.worlds import adopt_world, make_world, noop_action
from lifelong.worlds.messages import subjects_of
from lifelong.worlds.wrappers import saved_completely

# A world: a spec string (`lifelong.worlds`), a Gymnasium env, or a callable returning one.
World = str | gym.Env | Callable[[], gym.Env]
CUSTOM = "custom:"  # the config's world for a world given from Python: "custom:<its name>"
_NOT_SCALARS = ("step", "wall_time", "reward_bin_width")  # numbers in a record but no curve


def open_life(
    directory: str | Path,
    world: World | None = None,
    seed: int | None = None,
    genome_file: str | Path | None = None,
    config_changes: dict[str, Any] | None = None,
    genome_changes: dict[str, Any] | None = None,
) -> Life:
    """Start a new life in `directory`, or continue the one already there.

    `world` is a spec string (saved in config.yaml, so the life can continue from the directory
    alone), a Gymnasium env, or a callable that returns a new one. A world from Python is saved
    as "custom:<its name>" and must be given again to continue the life; a callable can also be
    rebuilt if the world breaks. Whether the world itself continues where it was depends on it
    (a world without `state_dict` starts a new episode, and the life says so). Diagnostics
    (`diagnose_every`) build a fresh world from its spec, so they need a spec string.

    A new life's genome is the newborn's for the world's kind of actions (`config.newborn`),
    with what `genome_file` and `genome_changes` set on top. Everything is validated before
    anything is written, so a mistake leaves the directory as it was. A life's world, seed and
    genome are fixed once it has begun.
    """
    directory = Path(directory)
    build_world, custom_actions = None, None
    if world is not None and not isinstance(world, str):
        build_world, world, custom_actions = _world_builder(world)
    config_changes = dict(config_changes or {})
    genome_changes = dict(genome_changes or {})
    if "agent" in config_changes:
        check_ours(str(config_changes["agent"]))
    if world is not None:
        config_changes["world"] = world
    if build_world is not None and config_changes.get("diagnose_every", Config.diagnose_every):
        raise UserError(
            f"diagnose_every needs a world named by a spec string (its probe builds a fresh"
            f" one); {world} is given from Python"
        )
    if seed is not None:
        config_changes["seed"] = seed
    if (directory / "config.yaml").exists():
        config = Config.load(directory / "config.yaml")
        genome = Genome.load(directory / "genome.yaml")
        fixed = {k: v for k, v in config_changes.items() if k not in Config.RESUMABLE}
        changed = {k: v for k, v in fixed.items() if getattr(config, k) != v}
        if changed:
            key = next(iter(changed))
            raise UserError(
                f"{directory} holds a life with {key}={getattr(config, key)!r}; it cannot change"
                f" to {changed[key]!r} (start a new life in another --dir)"
            )
        if genome_file is not None or genome_changes:
            raise UserError(
                f"{directory} holds a life whose genome is fixed; --genome and genome --set keys"
                " only apply to a new life (use another --dir)"
            )
        config = Config(**{**config.to_dict(), **config_changes})
        if build_world is None and config.world.startswith(CUSTOM):
            raise UserError(
                f"{directory} holds a life in a world given from Python ({config.world}); pass"
                " the same world to open_life(..., world=...) to continue it"
            )
        if build_world is None:
            # fail early if this version no longer knows it
            make_world(config.world, load_policy=load_policy).close()
        return Life(directory, config, genome, build_world)
    config = Config(**{**Config().to_dict(), **config_changes})
    actions = custom_actions
    if build_world is None:
        probe_world = make_world(config.world, load_policy=load_policy)
        actions = probe_world.action_space
        probe_world.close()
    check_fits(config.agent, actions, config.world)  # a world given from Python too
    born = newborn(actions)
    genome = Genome.load(genome_file, base=born) if genome_file is not None else born
    genome = genome.replace(**genome_changes) if genome_changes else genome
    try:
        (directory / "checkpoints").mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to run directory {directory}: {error.strerror}") from None
    genome.save(directory / "genome.yaml")
    config.save(directory / "config.yaml")
    return Life(directory, config, genome, build_world)


def _world_builder(
    world: gym.Env | Callable[[], gym.Env],
) -> tuple[Callable[[], gym.Env], str, gym.Space]:
    """A function that builds the world given from Python, its name for config.yaml, and its
    action space."""
    if isinstance(world, gym.Env):
        given: list[gym.Env] = [world]

        def build() -> gym.Env:
            if not given:
                raise RuntimeError(
                    "a world given as an instance cannot be rebuilt (give a callable)"
                )
            return adopt_world(given.pop())

        first = world
    elif callable(world):

        def build() -> gym.Env:
            return adopt_world(world())

        first = world()
        if not isinstance(first, gym.Env):
            raise UserError(f"world callable returned {type(first).__name__}, not a gymnasium.Env")
    else:
        raise UserError(
            f"world must be a spec string, a gymnasium.Env or a callable returning one; got"
            f" {type(world).__name__}"
        )
    name = first.spec.id if first.spec is not None else type(first.unwrapped).__name__
    try:
        # Seen as the life will see it: spaces no agent can live in are refused here, before
        # anything is written.
        actions = adopt_world(first).action_space
    finally:
        if first is not world:
            first.close()
    return build, f"{CUSTOM}{name}", actions


class Life:
    def __init__(
        self,
        directory: Path,
        config: Config,
        genome: Genome,
        build_world: Callable[[], gym.Env] | None = None,
    ) -> None:
        """`build_world` builds a world given from Python (see `open_life`); None builds the
        world `config.world` names."""
        self.directory, self.config, self.genome = directory, config, genome
        torch.set_num_threads(config.threads)
        self._build_world = build_world or (
            lambda: make_world(config.world, load_policy=load_policy)
        )
        self.world = self._build_world()
        self.agent = build_agent(
            config,
            self.world.observation_space,
            self.world.action_space,
            genome,
            noop_action=noop_action(self.world),
            subjects=subjects_of(self.world),
        )
        self.stop_requested = False
        self.on_record: Callable[[Record], None] | None = None
        self.recorder = Recorder(self.directory, config.bin_width)
        self._diagnostics: dict[str, Any] = {}
        self._probe = None  # held-out frames for diagnostics, collected on first use
        self._writer = None
        self._restore()

    # --- The loop -----------------------------------------------------------------------------
    def run(self, steps: int | None = None) -> None:
        """Live until `steps` world steps in total (None: until stopped), then checkpoint."""
        self.recorder.start_clock()
        try:
            self._live(steps)
        except UserError:  # a record or checkpoint could not be written: the life stops here
            self.close()
            raise
        self.close()

    def _live(self, steps: int | None) -> None:
        agent, config = self.agent, self.config
        saved_at = agent.counters["env_steps"]
        while (steps is None or agent.counters["env_steps"] < steps) and not self.stop_requested:
            previous = agent.meta.mode
            action = agent.tick()
            meta = agent.meta
            self.recorder.tick(meta.mode.value)
            if meta.mode != previous:
                # Stamped with the world step it governs, so no event shares a checkpoint's step.
                self._event("mode", mode=meta.mode.value, rule=meta.rule, ahead=1)
            if action is None:  # asleep or imagining: no world step
                continue
            try:
                obs, reward, terminated, truncated, info = self.world.step(action)
            except Exception as error:  # a broken world must not end the life
                self._recreate_world(error, "step")
                continue
            agent.observe(action, obs, float(reward), bool(terminated), info)
            self.recorder.world_step(agent.counters["env_steps"], float(reward), info)
            if agent.alarm:
                self._event("alarm", source=config.agent)
            if terminated or truncated:
                try:
                    agent.begin(*self.world.reset())
                except Exception as error:
                    self._recreate_world(error, "reset")
            step = agent.counters["env_steps"]
            if config.diagnose_every and step % config.diagnose_every == 0:
                self._diagnose()
            if step % config.log_every == 0:
                self._log()
            if step % config.checkpoint_every == 0:
                self.checkpoint()
                saved_at = step
        if agent.counters["env_steps"] != saved_at or self.stop_requested:
            self.checkpoint()

    def _recreate_world(self, error: Exception, during: str, attempts: int = 3) -> None:
        """Log a world's exception, build the world anew and start a new stream in it.

        The agent keeps everything it learned; only the world's episode is lost. A world that
        cannot even be rebuilt and reset `attempts` times in a row ends the life with an error,
        after a checkpoint of everything but the world: run again once the world is mended and
        the life goes on from here, in a new episode.
        """
        counters = self.agent.counters
        counters["world_errors"] += 1
        print(
            f"lifelong: warning: world raised {type(error).__name__} during {during} at step "
            f"{counters['env_steps']}: {str(error).splitlines()[0] if str(error) else ''}; "
            "recreating it",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(Exception):
            self.world.close()
        for attempt in range(attempts):
            try:
                self.world = self._build_world()
                seed = self.config.seed + counters["env_steps"] + counters["world_errors"] + attempt
                obs, info = self.world.reset(seed=seed)
            except Exception as again:
                error = again
                continue
            self.agent.begin(obs, info)
            return
        self.world = None  # nothing of a world that cannot be built is worth saving
        self.checkpoint()
        self.close()
        raise UserError(
            f"the world {self.config.world} failed to rebuild {attempts} times in a row"
            f" ({type(error).__name__}: {error}); the life is saved at step"
            f" {counters['env_steps']} and goes on from there when run again"
        ) from error

    # --- Records ------------------------------------------------------------------------------
    def _event(self, kind: str, ahead: int = 0, **fields: Any) -> None:
        self.recorder.event(self.agent.counters["env_steps"] + ahead, kind, **fields)

    def _diagnose(self) -> None:
        """Held-out measurements of the networks (k-step error, probe, dormant units, rank)."""
        from lifelong.diagnostics import collect_probe, diagnose

        if self._probe is None:
            self._probe = collect_probe(self.config.world, self.config.seed)
            if self.agent.beliefs is not None:  # the mind reads frames with beliefs appended
                self._probe.obs = np.stack([self.agent.widen(frame) for frame in self._probe.obs])
        if isinstance(self.agent.mind, ABMMind):  # minds without networks have nothing to show
            self._diagnostics = diagnose(self.agent.mind, self._probe)

    def _log(self) -> None:
        agent = self.agent
        shares = self.recorder.mode_shares()
        # M's reading of the reward rate is a fast EMA: recorded under its own name, so that
        # `reward_rate` stays the interval's mean, the curve every metric is computed from.
        signals = agent.telemetry.meta_state().to_dict()
        signals["reward_rate_fast"] = signals.pop("reward_rate")
        fields = {
            **signals,
            **{k: v for k, v in agent.counters.items() if k != "env_steps"},
            "mode": agent.meta.mode.value,
            "rule": agent.meta.rule,
            **{f"mode_{m.value}": shares.get(m.value, 0.0) for m in Mode},
            "error_vs_copy_last": agent.telemetry.error_vs_copy_last(),
            **agent.losses,
            **agent.realised_returns(),
            **{f"trust_{source}": value for source, value in agent.trusts().items()},
            **self._diagnostics,
        }
        record = self.recorder.write(agent.counters["env_steps"], fields)
        self._diagnostics = {}
        if self.config.tensorboard:
            self._tensorboard(record)
        if self.on_record is not None:
            self.on_record(record)

    def _tensorboard(self, record: Record) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter  # slow import, only when used

            self._writer = SummaryWriter(str(self.directory / "tensorboard"))
        for key, value in record.items():
            if isinstance(value, int | float) and key not in _NOT_SCALARS:
                self._writer.add_scalar(key, value, record["step"])

    # --- Checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        # Worlds that can be saved say so with state_dict(); our wrappers chain to the world
        # inside them. Others start a new stream on resume (see _restore).
        world_state = getattr(self.world, "state_dict", None)
        return {
            "agent": self.agent.state_dict(),
            "world": world_state() if world_state is not None else None,
            **self.recorder.state_dict(),
            "diagnostics": self._diagnostics,
        }

    def checkpoint(self) -> Path:
        """Save the whole life (`state_dict`) as the checkpoint of this step; return its path.

        A write that fails (a full disk, a read-only directory) leaves the earlier checkpoints as
        they were and raises UserError naming the error and the step of the last good one: a
        life that cannot save would go on only to lose what it lives, so it stops, and continues
        from that checkpoint when run again once the disk takes writes.
        """
        step = self.agent.counters["env_steps"]
        self.recorder.flush_events()
        directory = self.directory / "checkpoints"
        try:
            with shared_state():  # the replay memory goes to the file without a copy of it
                path = save_checkpoint(
                    directory, step, self.state_dict(), keep=self.config.keep_checkpoints
                )
        except CheckpointError as error:
            saved = list_checkpoints(directory)
            last = (
                f"from its last checkpoint, at step {int(saved[-1].stem[5:])},"
                if saved
                else "from its birth (no checkpoint was saved)"
            )
            raise UserError(
                f"{error}; the life stops at step {step} and continues {last} when run again"
                " (free some space, or make the directory writable)"
            ) from error
        if self._writer is not None:
            self._writer.flush()
        return path

    def _restore(self) -> None:
        try:
            found = load_latest_checkpoint(self.directory / "checkpoints")
        except CheckpointError as error:
            raise UserError(f"refusing to resume {self.directory}: {error}") from None
        if found is None:
            # Born again: what a life killed before its first checkpoint wrote is written anew.
            obs, info = self.world.reset(seed=self.config.seed)
            self.agent.begin(obs, info)
            self._rewrite_records(0)
            return
        step, state, _ = found
        self.agent.load_state_dict(state["agent"])
        self.recorder.load_state_dict(state)
        self._diagnostics = dict(state["diagnostics"])
        if saved_completely(state["world"]):
            self.world.load_state_dict(state["world"])
        else:
            # A world that cannot be saved (or wrappers around one) starts a new stream where
            # the life left off; the wrappers' own state (schedules, regimes) is kept.
            print(
                f"lifelong: note: {self.config.world} cannot be saved; it resumes as a new episode"
                f" at step {step}",
                file=sys.stderr,
                flush=True,
            )
            obs, info = self.world.reset(seed=self.config.seed + step)
            if state["world"] is not None:
                self.world.load_state_dict(state["world"])
            self.agent.begin(obs, info)
        self._rewrite_records(step)

    def _rewrite_records(self, step: int) -> None:
        """Drop the records after `step`: the continued life writes them again, once."""
        try:
            self._drop_records_after(step)
        except OSError as error:  # a full disk or a read-only directory; each file is atomic
            for name in ("metrics.tmp", "events.tmp"):
                with contextlib.suppress(OSError):
                    (self.directory / name).unlink(missing_ok=True)
            raise UserError(
                f"cannot resume {self.directory}: {error.strerror or error} while rewriting its"
                " records; free some space, or make the directory writable, and run it again"
            ) from error

    def _drop_records_after(self, step: int) -> None:
        for name in ("metrics.jsonl", "events.jsonl"):
            _drop_lines_after(self.directory / name, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.world is not None:
            self.world.close()


def _drop_lines_after(path: Path, step: int) -> None:
    """Keep the JSON lines of `path` up to `step`: the continued life writes the rest again."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError):
            continue  # a line torn by a kill mid-write
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(line + "\n" for line in kept))
    os.replace(temporary, path)


def read_metrics(directory: str | Path) -> list[Record]:
    """The records of a life, oldest first."""
    return read_jsonl(Path(directory) / "metrics.jsonl")
