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


@dataclass(frozen=True)
class Route:
    steps_world: bool  # the agent interacts with the world this tick
    acts_by: str  # "teacher" (copy a visible demonstrator), "value" (B's policy) or "none"
    a_learns: bool  # System A takes gradient steps
    b_learns: bool  # System B takes gradient steps
    intrinsic: bool  # B's reward includes A's disagreement (curiosity)


ROUTES: dict[Mode, Route] = {
    # B still learns off-policy from what following the teacher brought: imitation through replay.
    Mode.OBSERVE: Route(
        steps_world=True, acts_by="teacher", a_learns=True, b_learns=True, intrinsic=False
    ),
    Mode.EXPLORE: Route(
        steps_world=True, acts_by="value", a_learns=True, b_learns=True, intrinsic=True
    ),
    # A habit holds the representation still: only the value function adapts while exploiting.
    Mode.EXPLOIT: Route(
        steps_world=True, acts_by="value", a_learns=False, b_learns=True, intrinsic=False
    ),
    Mode.SLEEP: Route(
        steps_world=False, acts_by="none", a_learns=True, b_learns=True, intrinsic=False
    ),
}
