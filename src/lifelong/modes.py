"""Modes and the routing table: which data streams are open in each mode.

System M picks one mode per tick; the data plane reads the mode's `Route` and obeys it. Keeping the
table here, as data, makes the effect of every mode visible in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    OBSERVE = "observe"  # watch (a teacher if one is in view) and let A learn from the stream
    EXPLORE = "explore"  # act on value plus A's uncertainty as intrinsic reward
    EXPLOIT = "exploit"  # act on extrinsic value only, habitually
    SLEEP = "sleep"  # no world steps: replay from memory consolidates A and B
    PLAN = "plan"  # act by lookahead in A's latent model, scored by predicted reward + B's value
    IMAGINE = "imagine"  # no world steps: B learns from rollouts of A's model from memories


@dataclass(frozen=True)
class Route:
    steps_world: bool  # the agent interacts with the world this tick
    acts_by: str  # "teacher" (copy a demonstrator), "value" (B's policy), "planner" or "none"
    a_learns: bool  # System A takes gradient steps (B learns in every mode, unless M freezes it)
    intrinsic: bool  # B's reward includes A's disagreement (curiosity)


ROUTES: dict[Mode, Route] = {
    # B still learns off-policy from what following the teacher brought: imitation through replay.
    Mode.OBSERVE: Route(steps_world=True, acts_by="teacher", a_learns=True, intrinsic=False),
    Mode.EXPLORE: Route(steps_world=True, acts_by="value", a_learns=True, intrinsic=True),
    # Habitual acting; A keeps learning from the stream it sees (a model that only learns while
    # exploring went stale in worlds where M mostly exploits: docs/architecture.md).
    Mode.EXPLOIT: Route(steps_world=True, acts_by="value", a_learns=True, intrinsic=False),
    Mode.SLEEP: Route(steps_world=False, acts_by="none", a_learns=True, intrinsic=False),
    # Deliberate: the model is trusted to act, and keeps learning from what acting shows it.
    Mode.PLAN: Route(steps_world=True, acts_by="planner", a_learns=True, intrinsic=False),
    # Daydreaming: B learns from A's imagined rollouts (`Agent.imagine`); A is only read.
    Mode.IMAGINE: Route(steps_world=False, acts_by="none", a_learns=False, intrinsic=False),
}
