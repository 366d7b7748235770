"""The `needs` table: for each family of M's rules, a world that needs it and a twin that does not.

Issue 27 asks that every mode of System M be on by default and pay for itself. A mode pays where
the world needs it, and should cost nothing where it does not, so each rule family
(`systems.control.RULE_FAMILIES`) is given a pair of worlds here:

- the **need** world, where switching the family off (`abm-no_<family>`) should lose reward;
- its stationary **twin**, the same world without what makes the family useful, where switching
  it off should change the score by less than 2%: a mode that fires there fires on noise.

Families that answer the same situation share a pair (sleep and imagine both learn from memory
when the world gives nothing new; pain and stress both answer a predator). Every world here has
an oracle (`baselines.oracle_for`), so a result is a share of the headroom between random and
the oracle. The suite `needs` (`bench.SUITES`) runs every world of the table; `lifelong needs`
prints it, with the command that runs each family's ablation on its pair.

Four of the Nursery's pairs share one twin: a small Nursery whose season never turns, with no
teacher, no predator and no storm (`STILL`); each need world is that twin with one thing added,
written first so that the bench's directory names (`bench.world_tag`, 60 characters) differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.systems.control import RULE_FAMILIES

# The Nursery with nothing that changes or teaches: seasons of 10^9 steps never turn in a life.
_FOREVER = "season_length=1000000000"
STILL = f"nursery-small(teachers=0, {_FOREVER})"
_NOISY_TV = "+noisy_tv"


@dataclass(frozen=True)
class Need:
    """One row: the families it tests, the world that needs them and the twin that does not.
    `name` selects the pair in a bench (`lifelong bench needs --worlds NAME`)."""

    name: str
    families: tuple[str, ...]
    world: str
    twin: str
    why: str  # why the world needs the families
    quiet: str  # why the twin does not
    extra: str | None = None  # the optional package extra its worlds need (pip install lifelong[x])

    @property
    def ablations(self) -> tuple[str, ...]:
        """The agents without each of these families: `abm-no_<family>` (issue 27 asks for
        each family's ablation to lose on its need world and not on its twin)."""
        return tuple(f"abm-no_{family}" for family in self.families)


NEEDS: tuple[Need, ...] = (
    Need(
        "explore-5x5",
        ("explore",),
        f"minigrid:MiniGrid-DoorKey-5x5-v0{_NOISY_TV}",
        f"minigrid:MiniGrid-Empty-5x5-v0{_NOISY_TV}",
        "the only reward is behind a key and a door that random moves rarely reach (a few goals"
        " in 5,000 steps), next to a TV whose noise rewards curiosity about nothing",
        "the goal is a few moves away across an empty room (random finds it every few hundred"
        " steps): directed exploration adds nothing, and the TV still tempts",
    ),
    Need(
        "explore-8x8",
        ("explore",),
        f"minigrid:MiniGrid-DoorKey-8x8-v0{_NOISY_TV}",
        f"minigrid:MiniGrid-Empty-5x5-v0{_NOISY_TV}",
        "the larger DoorKey: random moves never reach the goal in 5,000 steps",
        "as above: an empty room whose goal dithering finds",
    ),
    Need(
        "change-seasons",
        ("change",),
        "nursery-small(teachers=0, season_length=5000)",
        STILL,
        "which food nourishes reverses every 5,000 steps, unannounced: what was learned turns"
        " wrong at once, and only detecting it (and restoring plasticity) recovers fast",
        "the season never turns: an alarm is a false alarm, a reset only loses what was learned",
    ),
    Need(
        "change-gains",
        ("change",),
        "gym:Pendulum-v1+shift(kind=gains, every=5000)",
        "gym:Pendulum-v1",
        "every 5,000 steps each actuator's gain is redrawn (size in [1/2, 2], at least one sign"
        " flipped): the learned swing-up pushes the wrong way whichever draw comes",
        "the body never changes: nothing to detect",
    ),
    Need(
        "observe",
        ("observe",),
        f"nursery-small(teachers=2, teacher_reliability=[1.0;0.3], {_FOREVER})"
        "+messages(sources=reliable|turncoat(at=15000), advice=teacher, teacher=teacher_a)",
        STILL,
        "two teachers walk to food, one reliable and one mostly not, and two informants say"
        " which way to go, one of whom starts lying at step 15,000: watching and trusting as"
        " each source earns it is the quickest way to forage",
        "nobody to watch or listen to: observing can only cost acting time",
    ),
    Need(
        "plan",
        ("plan",),
        "lure",
        "lure(lure=0, distance=1)",
        "a lure worth 0.1 sits next to each start and a goal worth 1.0 five moves on, beyond"
        " B's 3-step return: a one-step habit earns 0.1 per step, the goal 0.2",
        "the goal is one move away and there is no lure: the greedy habit is already optimal",
    ),
    Need(
        "sleep-imagine",
        ("sleep", "imagine"),
        f"{STILL}+nights(day=500, night=1000)",
        STILL,
        "two thirds of the life is a still, dark night in which acting teaches nothing: learning"
        " then can only come from memory, replayed (sleep) or imagined",
        "always lit: every step brings fresh experience, and a sleeping agent only loses time",
    ),
    Need(
        "pain-stress",
        ("pain", "stress"),
        f"nursery-small(predator=true, teachers=0, {_FOREVER})",
        STILL,
        "a predator stalks the agent, looms as it nears and bites: pain and stress should abort"
        " plans, act reactively and exploit until it is safe",
        "no predator: the only pain is from still hazards, which a habit learns to avoid",
    ),
)

# Rows whose worlds need an optional extra; not in the `needs` suite, in `needs-<extra>`.
OPTIONAL: tuple[Need, ...] = (
    Need(
        "change-gains-cheetah",
        ("change",),
        "gym:HalfCheetah-v5+shift(kind=gains, every=10000)",
        "gym:HalfCheetah-v5",
        "every 10,000 steps each of the six actuators' gains is redrawn (sign and size): the"
        " learned gait drives the body wrong whichever way it goes",
        "the body never changes: nothing to detect",
        extra="mujoco",
    ),
)


def worlds(rows: tuple[Need, ...] = NEEDS) -> tuple[str, ...]:
    """Every world of the rows, need worlds and twins, each once, in the table's order."""
    return tuple(dict.fromkeys(spec for row in rows for spec in (row.world, row.twin)))


def pairs(rows: tuple[Need, ...] = NEEDS) -> dict[str, tuple[str, str]]:
    """Each row's name -> (its world, its twin): the suite's `groups`, so that a bench can run one
    pair by name."""
    return {row.name: (row.world, row.twin) for row in rows}


def rows_for(family: str) -> list[Need]:
    """The rows (of both tables) that test `family`."""
    return [row for row in (*NEEDS, *OPTIONAL) if family in row.families]


def table_lines(suite: str = "needs") -> list[str]:
    """The table as text: a block per row, and how to run each family's ablation on its pair."""
    lines = []
    for row in (*NEEDS, *OPTIONAL):
        bench = suite if row.extra is None else f"{suite}-{row.extra}"
        families = " + ".join(row.families)
        lines += [
            f"{row.name}: {families}{f'  (needs lifelong[{row.extra}])' if row.extra else ''}",
            f"  need   {row.world}",
            f"         {row.why}",
            f"  twin   {row.twin}",
            f"         {row.quiet}",
            f"  run    lifelong bench {bench} --worlds {row.name} --agents"
            f" abm,{','.join(row.ablations)}",
        ]
    missing = [f for f in RULE_FAMILIES if not rows_for(f)]
    if missing:
        lines.append(f"families without a pair: {', '.join(missing)}")
    return lines
