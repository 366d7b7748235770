"""The genome: every innate parameter of an agent, fixed for its whole life.

In the paper a "genetic code" sets the initial Systems A and B and the whole of System M; only
evolution changes it, never the life itself. Here that code is a frozen dataclass. Every field
carries its allowed range, whether it is searched on a log scale, and a one-line meaning, so the
same table drives validation, YAML files, `--set` overrides and the vector that evolution moves.
Every field is also tagged with the system it belongs to (A, B, M or memory) and whether it sets
what a life costs; `Genome.fields_of` and `Genome.group` read those tags (`--freeze` uses them).

Pure Python on purpose: System M reads its thresholds from here and must not import torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lifelong.errors import UserError

# The systems a field belongs to (the first argument of `_gene`), exactly one each:
#   A       System A, the world model (systems/observation.py)
#   B       System B, value learning, and planning and imagining with its values in A's model
#           (systems/action.py, systems/planning.py)
#   M       System M, the meta-controller, with the telemetry and change detection it reads
#           (systems/control.py, signals.py, detectors.py)
#   memory  memory and the learning schedule: what is kept, how much is replayed, and when
SYSTEMS = ("A", "B", "M", "memory")
# The groups `Genome.fields_of` knows (and `lifelong evolve --freeze` takes): every system, and
# `cost`, the fields that set what a life costs in compute and memory rather than how the agent
# behaves (network sizes, ensemble, horizon, batch, learning cadence, sleep updates, memory
# sizes), whichever system reads them. `--freeze cost` keeps them, so a short evolution on a
# small machine cannot wander into genomes whose lives take ten times longer.
GROUPS = (*SYSTEMS, "cost")


def _gene(
    system: str,
    default: float | int,
    low: float,
    high: float,
    doc: str,
    log: bool = False,
    cost: bool = False,
    unit: float | None = None,
) -> Any:
    """One field: its system, default, range [low, high], meaning, and how evolution searches it.

    `log`: searched on a log scale, so that a step of CMA-ES multiplies the value rather than
    adding to it; for a range that starts at 0 the scale is log(1 + value / `unit`), which is
    linear below `unit` and logarithmic above it (0 stays reachable).
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")
    if log and low <= 0 and (unit is None or unit <= 0):
        raise ValueError(f"a log-scaled gene whose range starts at {low} needs a unit > 0")
    metadata = {
        "system": system,
        "cost": cost,
        "range": (low, high),
        "log": log,
        "unit": unit,
        "doc": doc,
    }
    return field(default=default, metadata=metadata)


def _searched(metadata: Any, value: float) -> float:
    """A value on the scale evolution searches (see `_gene`)."""
    if not metadata["log"]:
        return value
    if metadata["range"][0] > 0:
        return math.log(value)
    return math.log1p(value / metadata["unit"])


def _unsearched(metadata: Any, x: float) -> float:
    """The inverse of `_searched`."""
    if not metadata["log"]:
        return x
    if metadata["range"][0] > 0:
        return math.exp(x)
    return metadata["unit"] * math.expm1(x)


# A body with continuous actions is born with these changes to the defaults below. Its SAC-like
# critics bootstrap from a slow copy of the encoder they read, and A learns its model on their
# latents without moving them (`encoder_share` 0, no value loss on A's predictions): with A
# shaping the shared latents, the full agent scored below chance in Pendulum. The encoder, which
# A's optimizer steps, then moves at B's rate (`lr_a` = `lr_b`): at twice it, the full agent
# trailed SAC in HalfCheetah by 0.12 reward per step (docs/benchmarks.md, "Continuous bodies").
# Its replay ratio stays at 1/8: the discrete newborn's 1/4 was measured only with discrete
# actions (docs/benchmarks.md, "Replay 1/4 on fresh seeds").
CONTINUOUS_CHANGES: dict[str, float] = {
    "target_rate": 0.01,
    "encoder_share": 0.0,
    "predicted_value_weight": 0.0,
    "lr_a": 1e-3,
    "replay_ratio": 0.125,
}


# A small agent for tests and quick experiments, as genome changes (an overlay on the newborn):
# small networks, early learning and quick sleep pressure, so a few hundred steps exercise every
# path. tests/conftest.py's TINY is this with sleep on; benchmarks/messages.py lives with it.
SMALL: dict[str, Any] = dict(
    latent_dim=16,
    hidden_dim=32,
    q_hidden=32,
    ensemble_size=4,
    batch_size=8,
    replay_ratio=0.25,
    warmup=64,
    memory_recent=2_000,
    memory_longterm=100,
    sleep_rise=0.01,
    sleep_fall=0.1,
    sleep_replay=0,  # a clock: a few hundred steps close no window of the replay test
    min_dwell=8,
)


@dataclass(frozen=True)
class Genome:
    # --- System M: when to switch modes -------------------------------------------------------
    min_dwell: int = _gene(
        "M", 16, 1, 1000, "ticks a mode is kept before M may switch again", log=True
    )
    sleep_threshold: float = _gene("M", 0.8, 0.05, 1.0, "sleep pressure at which M falls asleep")
    wake_threshold: float = _gene("M", 0.1, 0.0, 0.95, "sleep pressure below which a sleeper wakes")
    sleep_rise: float = _gene(
        "M", 5e-4, 1e-6, 0.1, "sleep pressure gained per awake step", log=True
    )
    sleep_fall: float = _gene("M", 0.02, 1e-4, 0.5, "sleep pressure lost per sleep tick", log=True)
    # Sleep when replay, not the world, is what learning lacks (issue 27; signals.py): pressure
    # rises only while A's error on replayed transitions falls significantly and fresh ones are
    # no worse than `sleep_novelty` above it. 0: it rises on every awake step (a clock).
    sleep_replay: int = _gene(
        "M", 1, 0, 1, "1: sleep pressure rises only while replay is what learning lacks"
    )
    sleep_novelty: float = _gene(
        "M", 0.1, 0.0, 2.0, "fresh error's excess over replayed error below which replay lacks"
    )
    # Off by default: in 100k-step Nursery lives (explore and plan rules off) the sleep ablation
    # scored an IQM of -0.0005 per step, -0.0010 with sleep; this genome itself later scored
    # -0.0010 too, so sleep is level, not a loss (docs/benchmarks.md, "Ablations at full size").
    # Evolution may switch it back on.
    sleep_rules: int = _gene(
        "M", 0, 0, 1, "1: M sleeps when sleep pressure is high (replay offline)"
    )
    stress_threshold: float = _gene("M", 0.6, 0.0, 1.0, "stress above which M exploits its habits")
    pain_threshold: float = _gene(
        "M", 0.3, 0.0, 1.0, "pain above which M acts reactively (exploit)"
    )
    trust_threshold: float = _gene("M", 0.5, 0.0, 1.0, "trust needed to observe a teacher")
    teacher_trust: float = _gene("M", 0.7, 0.0, 1.0, "innate trust in a teacher")
    observe_span: int = _gene(
        "M", 48, 1, 100_000, "ticks of watching before trying on one's own", log=True
    )
    progress_threshold: float = _gene(
        "M", 0.01, -1.0, 1.0, "learning progress above which M explores"
    )
    surprise_threshold: float = _gene(
        "M", 3.0, 0.0, 10.0, "surprise (z-score of a block's worst error) above which M explores"
    )
    # Off by default: in 100k-step Nursery lives the agent averaged -0.0018 reward per step
    # without them, -0.0042 with them, on 5 of 5 seeds (docs/benchmarks.md, "Ablations at full
    # size"). Evolution may switch them back on.
    explore_rules: int = _gene("M", 0, 0, 1, "1: M explores on learning progress or surprise")
    intrinsic_gain: float = _gene(
        "M", 0.3, 0.0, 10.0, "weight of A's disagreement in B's reward", log=True, unit=0.1
    )
    explore_temperature: float = _gene(
        "M", 1.0, 1e-3, 10.0, "softmax temperature when exploring", True
    )
    exploit_temperature: float = _gene(
        "M", 0.1, 1e-3, 10.0, "softmax temperature when exploiting", True
    )
    doubt_temperature: float = _gene(
        "M",
        0.0,
        0.0,
        10.0,
        "temperature added per unit of discrete B's doubt in a state (twin gap / Q spread)",
        log=True,
        unit=0.1,
    )
    replay_recent_awake: float = _gene(
        "M", 0.8, 0.0, 1.0, "share of replay from the recent past, awake"
    )
    replay_recent_sleep: float = _gene(
        "M", 0.3, 0.0, 1.0, "share of replay from the recent past, asleep"
    )
    sleep_updates: int = _gene(
        "M", 1, 0, 16, "replay updates per sleep (or imagination) tick", cost=True
    )
    trust_gain: float = _gene("M", 0.5, 0.0, 10.0, "trust gained per unit of a teacher's advantage")
    # Informants (issue 28; read only where messages are heard, so lives without them are
    # unchanged): trust per source, its advice checked against the returns that followed and
    # against the agent's own grounded expectation (vigilance.py, grounding.py), and how far
    # trust moves B's policy (advice.py). Chosen on bandit seeds 0-4 (docs/benchmarks.md,
    # "Messages and trust"): change points rather than fast forgetting, content checked.
    informant_trust: float = _gene(
        "M", 0.6, 0.0, 1.0, "innate trust in an informant (the accuracy assumed of its advice)"
    )
    trust_half_life: float = _gene(
        "M", 1000.0, 1.0, 10_000.0, "a source's checked claims over which its evidence halves", True
    )
    vigilance_horizon: int = _gene(
        "M", 1, 1, 100, "steps of realised return that check one claim", log=True
    )
    vigilance_outcome: float = _gene(
        "M", 2.0, 0.0, 10.0, "nats of evidence about an action per deviation of its return"
    )
    advice_gain: float = _gene(
        "M", 4.0, 0.0, 20.0, "Advise labels one message counts as (prior on B's policy)"
    )
    source_hazard: float = _gene(
        "M", 0.01, 0.0, 0.5, "chance per claim that a source changes its ways (trust restarts)"
    )
    vigilance_content: float = _gene(
        "M", 3.0, 0.0, 10.0, "nats against a claim per deviation it falls below own expectation"
    )
    advice_content: float = _gene(
        "M", 3.0, 0.0, 10.0, "nats a claim is discounted per deviation below own expectation"
    )
    claim_half_life: float = _gene(
        "M", 100.0, 1.0, 10_000.0, "world steps over which a claim's weight in belief halves", True
    )
    infer_confidence: float = _gene("M", 0.5, 0.0, 1.0, "confidence to copy an inferred action")
    plan_reliability: float = _gene(
        "M", 0.5, 0.0, 1.0, "model reliability needed to plan or imagine"
    )
    plan_margin: float = _gene(
        "M", 0.0, -10.0, 10.0, "PLAN's significant advantage over EXPLOIT (reward scales), to plan"
    )
    # PLAN is admitted while its realised advantage is significant (progress.AdvantageTest);
    # with 20 blocks each, a t of 3 is about one false admission per few hundred verdicts.
    plan_z: float = _gene(
        "M", 3.0, 0.0, 20.0, "Welch t PLAN's advantage over EXPLOIT must exceed to plan"
    )
    plan_retry: int = _gene(
        "M", 2000, 1, 1_000_000, "ticks between trials of PLAN (doubling while it loses)", True
    )
    # Off by default: in 100k-step Nursery lives (explore rules off) the agent scored an IQM of
    # -0.0010 per step without PLAN, -0.0014 with it (intervals overlap; docs/benchmarks.md,
    # "Ablations at full size"), and a plan costs ~1.6 ms. Evolution may switch it back on.
    plan_rules: int = _gene("M", 0, 0, 1, "1: M plans when A's model is reliable (see plan_margin)")
    imagine_every: int = _gene(
        "M", 2000, 1, 1_000_000, "ticks between spells of imagining", log=True
    )
    imagine_span: int = _gene("M", 16, 1, 10_000, "ticks in one spell of imagining", log=True)
    complexity_low: float = _gene(
        "M", 0.05, 0.0, 1.0, "model reliability below which it is hopeless"
    )
    complexity_high: float = _gene(
        "M", 0.9, 0.0, 1.0, "model reliability above which it is trivial"
    )
    reinit_fraction: float = _gene(
        "M", 0.02, 0.0, 0.5, "share of least useful units reset on change", log=True, unit=0.01
    )
    lr_boost: float = _gene("M", 2.0, 1.0, 10.0, "learning-rate factor after a detected change")
    boost_duration: int = _gene(
        "M", 500, 1, 1_000_000, "updates over which that boost decays", log=True
    )
    recency_span: int = _gene(
        "M", 0, 0, 1_000_000, "ticks of recent-only replay after a change", log=True, unit=100
    )
    replay_half_life: float = _gene(
        "M", 1e7, 100.0, 1e7, "frames over which the odds of replaying a ring frame halve", log=True
    )
    replay_half_life_change: float = _gene(
        "M", 1000.0, 10.0, 1e7, "that half-life for `recency_span` ticks after a change", log=True
    )
    # --- Change detection (detectors.py), in standard deviations of block means ---------------
    detector_threshold: float = _gene("M", 10.0, 2.0, 50.0, "CUSUM threshold h of M's detector")
    detector_error_drift: float = _gene("M", 0.5, 0.0, 2.5, "CUSUM slack k on A's log error")
    detector_reward_drift: float = _gene("M", 0.25, 0.0, 2.5, "CUSUM slack k on the reward rate")
    detector_refractory: int = _gene(
        "M", 250, 0, 100_000, "world steps without alarms after one", log=True, unit=10
    )
    detector_error_block: int = _gene(
        "M", 16, 1, 1000, "A's errors averaged into one detector sample", log=True
    )
    detector_agree_window: int = _gene(
        "M",
        1000,
        0,
        100_000,
        "world steps within which the two streams' alarms agree",
        log=True,
        unit=10,
    )
    # --- Signals: how fast internal averages move ---------------------------------------------
    fast_rate: float = _gene("M", 0.05, 1e-4, 1.0, "EMA rate of the fast signal averages", log=True)
    slow_rate: float = _gene(
        "M", 0.005, 1e-5, 1.0, "EMA rate of the slow signal averages", log=True
    )
    progress_window: int = _gene(
        "M", 2000, 20, 1_000_000, "A's errors per window of the learning-progress test", log=True
    )
    progress_z: float = _gene(
        "M", 3.5, 0.0, 20.0, "t statistic a fall of A's error must exceed to be progress"
    )
    # --- System A: the world model ------------------------------------------------------------
    latent_dim: int = _gene("A", 64, 4, 1024, "width of A's latent state", cost=True)
    hidden_dim: int = _gene("A", 64, 8, 2048, "hidden width of A's networks", cost=True)
    ensemble_size: int = _gene("A", 4, 2, 32, "members of A's latent predictor ensemble", cost=True)
    horizon: int = _gene("A", 3, 1, 16, "steps of latent prediction A trains on", cost=True)
    lr_a: float = _gene("A", 2e-3, 1e-6, 1e-1, "learning rate of System A", log=True)
    target_rate: float = _gene(
        "A",
        1.0,
        1e-4,
        1.0,
        "EMA rate of A's target encoder (1: the online one, no gradient)",
        log=True,
    )
    variance_weight: float = _gene(
        "A", 1.0, 0.0, 100.0, "weight of the anti-collapse variance term", log=True, unit=0.01
    )
    covariance_weight: float = _gene(
        "A", 0.04, 0.0, 100.0, "weight of the decorrelation term", log=True, unit=0.01
    )
    reward_weight: float = _gene(
        "A", 1.0, 0.0, 100.0, "weight of A's reward prediction loss", log=True, unit=0.01
    )
    inverse_weight: float = _gene(
        "A", 0.1, 0.0, 100.0, "weight of A's inverse dynamics loss", log=True, unit=0.01
    )
    model_weight: float = _gene(
        "A", 0.01, 0.0, 100.0, "weight of A's loss beside B's TD loss", log=True, unit=0.001
    )
    # 1 since issue 26's decision (Breakout at replay ratio 1/2, seeds 100-109): a_plus_b
    # +0.0011 AUC on 10 of 10 seeds, abm level on seeds 0-2 (docs/benchmarks.md).
    shared_target: int = _gene(
        "A", 1, 0, 1, "1: A predicts latents of B's slow target encoder (SPR), not its own copy"
    )
    encoder_share: float = _gene(
        "A", 1.0, 0.0, 1.0, "share of A's gradient that reaches the shared encoder"
    )
    # --- System B: value learning -------------------------------------------------------------
    q_hidden: int = _gene("B", 128, 8, 2048, "hidden width of B's value network", cost=True)
    lr_b: float = _gene("B", 1e-3, 1e-6, 1e-1, "learning rate of System B", log=True)
    gamma: float = _gene("B", 0.95, 0.0, 0.9999, "discount of future reward")
    n_step: int = _gene("B", 3, 1, 16, "steps in B's n-step return")
    epsilon: float = _gene(
        "B",
        0.01,
        0.0,
        1.0,
        "share of B's actions drawn uniformly: its exploration floor",
        log=True,
        unit=0.01,
    )
    q_target_rate: float = _gene("B", 0.01, 1e-4, 1.0, "EMA rate of B's target network", log=True)
    weight_decay: float = _gene(
        "B", 0.0, 0.0, 1.0, "decoupled weight decay of B's optimiser (AdamW)", log=True, unit=0.01
    )
    reset_every: int = _gene(
        "B",
        0,
        0,
        10_000_000,
        "learning steps between B's periodic resets (0: never)",
        log=True,
        unit=1000,
    )
    reset_shrink: float = _gene(
        "B", 0.5, 0.0, 1.0, "share of the encoder's weights a periodic reset keeps"
    )
    predicted_value_weight: float = _gene(
        "B",
        1.0,
        0.0,
        100.0,
        "weight of B's value loss on A's predicted latents",
        log=True,
        unit=0.01,
    )
    proposals: int = _gene(
        "B", 16, 1, 1024, "actor draws offered when exploring continuous actions", log=True
    )
    # --- Planning and imagination in A's latent model (PLAN and IMAGINE modes) -------------
    plan_horizon: int = _gene("B", 3, 1, 16, "steps of lookahead when planning")
    plan_sequences: int = _gene(
        "B", 512, 1, 100_000, "action sequences scored exactly, at most", log=True
    )
    plan_samples: int = _gene(
        "B", 8, 1, 256, "sampled continuations per first action, beyond that", log=True
    )
    plan_uncertainty: float = _gene(
        "B", 1.0, 0.0, 100.0, "plan score lost per unit of disagreement", log=True, unit=0.01
    )
    plan_temperature: float = _gene(
        "B", 1.0, 1e-3, 10.0, "temperature of B's policy inside A's model", log=True
    )
    # Continuous actions are planned by MPPI: each round draws `plan_sequences` sequences around
    # the current plan (and `plan_samples` of the actor's own) and refits it to the best.
    plan_iterations: int = _gene("B", 4, 1, 64, "MPPI rounds per continuous plan", log=True)
    plan_elites: int = _gene("B", 32, 1, 10_000, "best sequences an MPPI round refits to", log=True)
    imagine_horizon: int = _gene("B", 3, 1, 16, "steps of each imagined trajectory")
    imagine_batch: int = _gene("B", 64, 1, 1024, "imagined trajectories per imagination update")
    imagine_keep: float = _gene(
        "B", 0.5, 0.0, 1.0, "share of starts imagined from, least uncertain"
    )
    imagine_lambda: float = _gene("B", 0.95, 0.0, 1.0, "lambda of imagined lambda-returns")
    imagine_success_only: int = _gene("B", 0, 0, 1, "1: learn only imagined returns above max Q")
    # --- Learning schedule and memory ---------------------------------------------------------
    batch_size: int = _gene("memory", 64, 1, 1024, "sequences per gradient update", cost=True)
    replay_ratio: float = _gene(
        "memory", 0.25, 1 / 256, 16.0, "learning steps per world step", log=True, cost=True
    )
    augment: int = _gene(
        "memory", 0, 0, 4, "cells of random shift of each replayed image (DrQ); 0: none"
    )
    a_every: int = _gene(
        "memory", 4, 1, 64, "learning steps per update of A (B updates at every one)", cost=True
    )
    warmup: int = _gene(
        "memory", 500, 0, 1_000_000, "world steps before the first update", log=True, unit=10
    )
    memory_recent: int = _gene(
        "memory", 50_000, 100, 10_000_000, "frames in the recent ring buffer", cost=True
    )
    memory_longterm: int = _gene(
        "memory", 2_000, 1, 1_000_000, "segments in the long-term reservoir", cost=True
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            low, high = f.metadata["range"]
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise UserError(f"genome field '{f.name}' must be an integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"genome field '{f.name}' must be a number, got {value!r}")
            if not (low <= value <= high) or (isinstance(value, float) and math.isnan(value)):
                raise UserError(
                    f"genome field '{f.name}' = {value!r} is out of range [{low}, {high}]"
                    f" ({f.metadata['doc']})"
                )
        if self.wake_threshold >= self.sleep_threshold:
            raise UserError(
                f"genome field 'wake_threshold' = {self.wake_threshold} must be below "
                f"sleep_threshold = {self.sleep_threshold}"
            )

    # --- Conversions ------------------------------------------------------------------------------
    @classmethod
    def default(cls, continuous: bool = False) -> Genome:
        """The genome of a newborn with discrete actions, or with `continuous` ones."""
        return cls(**CONTINUOUS_CHANGES) if continuous else cls()

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(
        cls, values: dict[str, Any], source: str = "genome", base: Genome | None = None
    ) -> Genome:
        """Build a genome from a (possibly partial) mapping; missing fields take `base`'s values
        (default: the defaults)."""
        if not isinstance(values, dict):
            raise UserError(
                f"{source} must be a mapping of field: value, got {type(values).__name__}"
            )
        values = _renamed(values)
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise UserError(
                f"unknown genome field '{unknown[0]}' in {source};"
                f" allowed: {', '.join(cls.names())}"
            )
        return cls(**values) if base is None else cls(**{**base.to_dict(), **values})

    def replace(self, **changes: Any) -> Genome:
        return self.from_dict({**self.to_dict(), **changes})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str, source: str = "genome", base: Genome | None = None) -> Genome:
        return cls.from_dict(_parse_yaml(text, source), source, base)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())

    @classmethod
    def load(cls, path: str | Path, base: Genome | None = None) -> Genome:
        """A genome file; fields it leaves out take `base`'s values (default: the defaults)."""
        values, source = _read_genome_file(path)
        return cls.from_dict(values, source, base)

    @classmethod
    def listed(cls, path: str | Path) -> dict[str, Any]:
        """The fields a genome file lists, checked, as changes to apply to a newborn's genome.

        Unlike `load`, fields the file leaves out are not filled in, so that each life still
        takes them from its own body's newborn (`config.newborn`).
        """
        values, source = _read_genome_file(path)
        checked = cls.from_dict(values, source).to_dict()
        return {name: checked[name] for name in values}

    def to_vector(self) -> list[float]:
        """Every field mapped to [0, 1] (log-scaled where marked): the space evolution searches."""
        vector = []
        for f in dataclasses.fields(self):
            low, high = (_searched(f.metadata, bound) for bound in f.metadata["range"])
            value = _searched(f.metadata, float(getattr(self, f.name)))
            vector.append((value - low) / (high - low))
        return vector

    @classmethod
    def from_vector(cls, vector: list[float]) -> Genome:
        """Inverse of `to_vector`; values are clipped into range and integers rounded."""
        fields = dataclasses.fields(cls)
        if len(vector) != len(fields):
            raise UserError(f"genome vector has {len(vector)} entries, expected {len(fields)}")
        values: dict[str, float | int] = {}
        for f, u in zip(fields, vector, strict=True):
            low, high = f.metadata["range"]
            u = min(max(float(u), 0.0), 1.0)
            start, end = _searched(f.metadata, low), _searched(f.metadata, high)
            value = _unsearched(f.metadata, start + u * (end - start))
            value = min(max(value, low), high)
            values[f.name] = round(value) if f.type in ("int", int) else value
        wake, sleep = values["wake_threshold"], values["sleep_threshold"]
        if wake >= sleep:
            values["wake_threshold"] = sleep * 0.5
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, Any, tuple[float, float], str]]:
        """(name, default, range, meaning) for every field: for help text and docs."""
        return [
            (f.name, f.default, f.metadata["range"], f.metadata["doc"])
            for f in dataclasses.fields(cls)
        ]

    # --- Groups: the system each field belongs to, and the fields that set a life's cost ---------
    @classmethod
    def fields_of(cls, group: str) -> list[str]:
        """The names of a group's fields (a system of SYSTEMS, or 'cost'), in field order."""
        if group not in GROUPS:
            raise UserError(f"unknown genome group '{group}'; allowed: {', '.join(GROUPS)}")
        if group == "cost":
            return [f.name for f in dataclasses.fields(cls) if f.metadata["cost"]]
        return [f.name for f in dataclasses.fields(cls) if f.metadata["system"] == group]

    def group(self, name: str) -> dict[str, float | int]:
        """This genome's values of one group's fields: a system's view of its own genes."""
        return {field_name: getattr(self, field_name) for field_name in self.fields_of(name)}


# Genes that were renamed, with the conversion of an old value: files written before still load.
RENAMED: dict[str, tuple[str, Any]] = {
    "train_every": ("replay_ratio", lambda every: 1.0 / every),  # world steps per update
}


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with each renamed gene under its new name (an old name never wins a new one)."""
    out = dict(values)
    for old, (new, convert) in RENAMED.items():
        if old in out:
            value = out.pop(old)
            if new not in out:
                try:
                    out[new] = convert(value)
                except (TypeError, ZeroDivisionError):
                    raise UserError(
                        f"genome field '{old}' (now '{new}') = {value!r} must be a positive number"
                    ) from None
    return out


def _parse_yaml(text: str, source: str) -> Any:
    """YAML text as data (None as an empty mapping); invalid YAML is a one-line UserError."""
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise UserError(f"{source} is not valid YAML: {str(error).splitlines()[0]}") from None


def _read_genome_file(path: str | Path) -> tuple[Any, str]:
    """A genome file's parsed contents and the name errors give it."""
    path, source = Path(path), f"genome file {path}"
    try:
        text = path.read_text()
    except OSError as error:
        raise UserError(f"cannot read {source}: {error.strerror}") from None
    return _parse_yaml(text, source), source
