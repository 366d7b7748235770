"""Fuzzing every input a person hands to lifelong: each either works or fails in one clear line.

    python benchmarks/fuzz.py [--examples N] [--only NAME,...]

With Hypothesis, for each kind of input (`TARGETS`), `N` generated cases (default 1,500 each, 12,000
in all) must either be accepted or be refused with an error of ours (`UserError`, or a
`ValueError` / `CheckpointError` from the public API) whose message is one line that names what
is wrong. Anything else (a traceback from deep inside: a KeyError, an IndexError, a torch
RuntimeError) is a failure and Hypothesis shrinks it to the smallest case. The test suite runs
the same properties with a few dozen cases each (tests/test_fuzz.py).

    world specs          strings from the spec grammar, valid and not (`make_world`)
    genome files         YAML of known and unknown keys with odd values (`Genome.load`)
    --set values         key=value pairs for the config and the genome (`parse_overrides`)
    config files         config.yaml of a run directory (`Config.load`)
    checkpoints          a real checkpoint truncated, bit-flipped or from another version
    metrics files        metrics.jsonl with torn and garbled lines (`read_metrics`)
    command lines        `lifelong run | genome | bench | ...` with arguments mixed up
    the step-wise API    observations of wrong shapes and dtypes, NaNs, observe before act,
                         unsupported spaces (`make_agent`, `act`, `observe`)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.checkpoint import CheckpointError, load_latest_checkpoint, save_checkpoint
from lifelong.config import Config, parse_overrides
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.life import read_metrics
from lifelong.stepwise import make_agent
from lifelong.worlds import make_world

OURS = (UserError, ValueError, CheckpointError)  # the errors that speak to the person


def refused_well(error: BaseException) -> None:
    """An error must be ours, say something, and fit on one line."""
    assert isinstance(error, OURS), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message.strip() and "\n" not in message.strip(), repr(message)


def accepted_or_refused(action: Callable[[], Any]) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return action()
    except OURS as error:
        refused_well(error)
    return None


# --- World specs ----------------------------------------------------------------------------------
NAMES = ["nursery", "nursery-small", "bandit", "gym:CartPole-v1", "gym:Pendulum-v1",
         "minatar:breakout", "sequence", "nope", "gym:NoSuchEnv-v0", "minatar:pong",
         ""]  # fmt: skip
WRAPPERS = ["shift", "noisy_tv", "teacher", "failure", "nonsense"]
KEYS = ["every", "scale", "kind", "arms", "reliability", "visible", "policy", "tasks", "at",
        "season_length", "pareto", "penalty", "size", "x"]  # fmt: skip
SCALARS = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "true",
            "null",
            "gravity",
            "length",
            "random",
            "'a,b'",
            "[1;2]",
            "1e400",
            "nursery|bandit",
            "[]",
            "",
            "(",
            "'",
            "inf",
            "-0",
        ]
    ),  # fmt: skip
)


@st.composite
def specs(draw: st.DrawFn) -> str:
    """A spec string near the grammar: names, wrappers and parameters, sometimes mangled."""
    parts = []
    for names in [NAMES] + [WRAPPERS] * draw(st.integers(0, 2)):
        name = draw(st.sampled_from(names))
        pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), SCALARS), max_size=3))
        bare = draw(st.booleans())
        parts.append(name if bare else f"{name}({','.join(f'{k}={v}' for k, v in pairs)})")
    text = "+".join(parts)
    if draw(st.integers(0, 9)) == 0:  # now and then, a character dropped or added anywhere
        at = draw(st.integers(0, len(text)))
        extra = draw(st.sampled_from(["", "(", ")", "=", "+", ",", "|", "x"]))
        text = text[:at] + extra + text[at + 1 :]
    return text


def world_spec(text: str) -> None:
    world = accepted_or_refused(lambda: make_world(text))
    if world is not None:
        world.close()


# --- Genome files, --set values and config files --------------------------------------------------
VALUES = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
GENES = Genome.names()


def genome_file(values: dict[str, Any], junk: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "genome.yaml"
        path.write_text(yaml.safe_dump(values) + junk if values else junk)
        accepted_or_refused(lambda: Genome.load(path))


def set_values(pairs: list[str]) -> None:
    def apply() -> None:
        config, genome = parse_overrides(pairs)
        Config(**config)
        Genome().replace(**genome)

    accepted_or_refused(apply)


def config_file(values: dict[str, Any], version: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "config.yaml"
        path.write_text(yaml.safe_dump({"format": version, **values}))
        accepted_or_refused(lambda: Config.load(path))


# --- Command lines -------------------------------------------------------------------------------
COMMANDS = st.one_of(
    st.tuples(
        st.just("run"),
        st.lists(
            st.sampled_from(
                ["--steps", "--seed", "--world", "--set", "--genome", "--quiet", "--dir", "--nope"]
            ),  # fmt: skip
            max_size=4,
        ),
        st.lists(
            st.sampled_from(
                [
                    "0",
                    "1",
                    "-3",
                    "x",
                    "1e3",
                    "nursery-small",
                    "bandit(arms=0)",
                    "agent=random",
                    "agent=sb3_dqn",
                    "lr_a=-1",
                    "warmup",
                    "nope=1",
                    "/nonexistent/genome.yaml",
                    "",
                ]
            ),  # fmt: skip
            max_size=4,
        ),
    ),
    st.tuples(
        # bench and evolve start pools of lives: their refusals are tested in test_bench.py
        st.sampled_from(["genome", "worlds", "agents", "report", "check-world", "nope"]),
        st.lists(
            st.sampled_from(["--file", "--continuous", "--seeds", "--steps", "--dir"]), max_size=2
        ),
        st.lists(st.sampled_from(["0", "x", "nursery", "/nonexistent", "-1"]), max_size=2),
    ),
)


def command_line(command: tuple[str, list[str], list[str]]) -> None:
    """`lifelong ...` with mixed-up arguments: it exits 0, or 2 with one line on stderr (an
    argparse usage error included); a run is kept to a few steps in a fresh directory."""
    import contextlib
    import io

    from lifelong.cli import main

    verb, flags, values = command
    with tempfile.TemporaryDirectory() as directory:
        argv = [verb]
        for i, flag in enumerate(flags):
            argv += [flag, values[i]] if i < len(values) else [flag]
        if verb == "run":
            argv += ["--dir", str(Path(directory) / "life"), "--quiet", "--steps", "3"]
            argv += ["--set", "tensorboard=false"]
        if verb == "report":
            argv += [str(Path(directory) / "nothing-here")]
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exit:  # argparse's own usage errors
                code = exit.code
        said = [line for line in errors.getvalue().splitlines() if line.strip()]
        said = [line for line in said if not line.startswith("lifelong: note:")]
        assert code in (0, 2), (argv, code, said)
        if code == 2:
            assert len(said) == 1 and "Traceback" not in said[0], (argv, said)


# --- Checkpoints and metrics files ----------------------------------------------------------------
def _a_checkpoint(directory: Path) -> Path:
    state = {
        "agent": {"weights": np.arange(64, dtype=np.float32), "counters": {"env_steps": 5}},
        "note": "a small but real payload",
    }
    return save_checkpoint(directory, 5, state, keep=3)


def damaged_checkpoint(how: str, where: float, byte: int) -> None:
    """The newest checkpoint damaged: it is refused (CheckpointError) or skipped with a
    warning for the older one; never another exception, never damaged contents."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        older = save_checkpoint(folder, 1, {"agent": {"counters": {"env_steps": 1}}}, keep=3)
        path = _a_checkpoint(folder)
        data = bytearray(path.read_bytes())
        at = min(int(where * len(data)), len(data) - 1)
        if how == "truncate":
            data = data[:at]
        elif how == "flip":
            data[at] ^= 1 << (byte % 8)
        else:  # another version's header
            data[: data.index(b"\n")] = f"LIFELONG-CKPT {byte % 10} {'0' * 64}".encode()
        path.write_bytes(bytes(data))
        found = accepted_or_refused(lambda: load_latest_checkpoint(folder))
        if found is not None:
            step, state, used = found
            assert used in (path, older), used
            assert step in (1, 5)
            if step == 5:  # the damage missed what is checked: contents must still be whole
                assert np.array_equal(state["agent"]["weights"], np.arange(64, dtype=np.float32))


def torn_metrics(lines: list[str], cut: float) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "metrics.jsonl"
        text = "\n".join(lines)
        path.write_text(text[: int(cut * len(text))])
        records = accepted_or_refused(lambda: read_metrics(directory))
        assert records is None or all(isinstance(r, dict) for r in records)


RECORD_LINES = st.lists(
    st.one_of(
        st.integers(0, 10**6).map(lambda s: f'{{"step": {s}, "reward_rate": -0.01}}'),
        st.sampled_from(
            [
                '{"step": ',
                "{}",
                "[]",
                "null",
                '{"step": "x"}',
                "garbage",
                "",
                '{"step": NaN}',
                '{"reward_rate": 1}',
            ]
        ),  # fmt: skip
    ),
    max_size=6,
)


# --- The step-wise API ----------------------------------------------------------------------------
SPACES = {
    "box-vector": (gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3)),
    "box-image": (gym.spaces.Box(0, 1, (5, 5, 2)), gym.spaces.Discrete(2)),
    "continuous": (gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-2, 2, (1,))),
    "discrete-obs": (gym.spaces.Discrete(4), gym.spaces.Discrete(2)),
    "multidiscrete": (gym.spaces.Box(-1, 1, (4,)), gym.spaces.MultiDiscrete([2, 2])),
    "unbounded": (gym.spaces.Box(-1, 1, (4,)), gym.spaces.Box(-np.inf, np.inf, (1,))),
    "dict-obs": (gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, (2,))}), gym.spaces.Discrete(2)),
}
TINY = dict(latent_dim=8, hidden_dim=16, q_hidden=16, ensemble_size=2, batch_size=4, warmup=2,
            replay_ratio=0.5, memory_recent=200, memory_longterm=8)  # fmt: skip


def _agent(space: str) -> Any:
    """A new agent for each case, so every case starts from birth (and shrinks reliably)."""
    observations, actions = SPACES[space]
    genome = Genome.default(isinstance(actions, gym.spaces.Box)).replace(**TINY)
    return accepted_or_refused(lambda: make_agent(observations, actions, genome=genome))


OBSERVATIONS = st.one_of(
    st.sampled_from(
        [
            "right",
            "wrong shape",
            "wrong rank",
            "ints",
            "nan",
            "inf",
            "scalar",
            "list",
            "none",
            "string",
            "object",
            "empty",
            "bools",
        ]
    ),  # fmt: skip
)


def _observation(kind: str, space: gym.Space) -> Any:
    shape = getattr(space, "shape", None) or (4,)
    right = np.zeros(shape, dtype=np.float32)
    return {
        "right": right,
        "wrong shape": np.zeros((shape[0] + 1, *shape[1:]), dtype=np.float32),
        "wrong rank": np.zeros((*shape, 1), dtype=np.float32),
        "ints": np.zeros(shape, dtype=np.int64),
        "nan": np.full(shape, np.nan, dtype=np.float32),
        "inf": np.full(shape, np.inf, dtype=np.float32),
        "scalar": 0.5,
        "list": right.tolist(),
        "none": None,
        "string": "obs",
        "object": object(),
        "empty": np.zeros((0,), dtype=np.float32),
        "bools": np.zeros(shape, dtype=bool),
    }[kind]


def stepwise(space: str, calls: list[tuple[str, str, float]]) -> None:
    """A loop someone owns, doing things in any order with any observation and reward."""
    agent = _agent(space)
    if agent is None:  # the spaces were refused, in one line
        return
    observations = SPACES[space][0]
    for call, kind, reward in calls:
        obs = _observation(kind, observations)
        if call == "act":
            accepted_or_refused(lambda: agent.act(obs))  # noqa: B023
        else:
            accepted_or_refused(lambda: agent.observe(reward, obs, False, False, {}))  # noqa: B023


CALLS = st.lists(
    st.tuples(
        st.sampled_from(["act", "observe"]),
        OBSERVATIONS,
        st.floats(allow_nan=True, allow_infinity=True),
    ),
    max_size=6,
)

# name -> (property, strategies)
TARGETS: dict[str, tuple[Callable[..., None], tuple[Any, ...]]] = {
    "world specs": (world_spec, (specs(),)),
    "genome files": (
        genome_file,
        (
            st.dictionaries(st.sampled_from([*GENES, "nope", "format"]), VALUES, max_size=4),
            st.sampled_from(["", "\n: :", "\n- x", "\n{", "\tbad: [", "\nlr_a: 1e-3"]),
        ),
    ),
    "--set values": (
        set_values,
        (
            st.lists(
                st.builds(
                    lambda k, v: f"{k}={v}",
                    st.sampled_from([*Config.names(), *GENES, "nope", ""]),
                    st.one_of(SCALARS, st.text(max_size=6)),
                ),
                max_size=3,
            ),
        ),
    ),
    "config files": (
        config_file,
        (
            st.dictionaries(st.sampled_from([*Config.names(), "nope"]), VALUES, max_size=4),
            st.sampled_from([1, 0, 2, None, "1", 1.0]),
        ),
    ),
    "checkpoints": (
        damaged_checkpoint,
        (
            st.sampled_from(["truncate", "flip", "version"]),
            st.floats(0.0, 1.0),
            st.integers(0, 255),
        ),
    ),
    "metrics files": (torn_metrics, (RECORD_LINES, st.floats(0.0, 1.0))),
    "command lines": (command_line, (COMMANDS,)),
    "the step-wise API": (stepwise, (st.sampled_from(sorted(SPACES)), CALLS)),
}


def check(name: str, examples: int) -> None:
    """Run one target's property on `examples` generated cases (raises on the first failure,
    shrunk)."""
    prop, strategies = TARGETS[name]
    test = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )(given(*strategies)(prop))
    test()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1500, help="cases per kind of input")
    parser.add_argument("--only", default="", help="comma-separated target names")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(TARGETS)
    failures = 0
    for name in names:
        start = time.perf_counter()
        try:
            check(name, args.examples)
            verdict = "0 failures"
        except Exception as error:  # the shrunk failing case, for the table
            failures += 1
            verdict = f"FAILED: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
        seconds = time.perf_counter() - start
        print(f"{name:<20} {args.examples:>6} cases  {seconds:6.1f} s  {verdict}", flush=True)
    print(f"{'all':<20} {args.examples * len(names):>6} cases  {failures} kinds failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
