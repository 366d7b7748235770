"""A saved agent's greedy policy, for teachers: any life that learned a policy can teach.

Loading is apart from the life loop so that a world whose teacher is a saved agent
(`teacher(policy=runs/x)`) needs the agent's code, not `life.py`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lifelong.agents import TEACHERS, build_agent
from lifelong.checkpoint import CheckpointError, load_latest_checkpoint
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.worlds import make_world, noop_action
from lifelong.worlds.messages import subjects_of


def load_policy(directory: str | Path) -> Callable[[Any], Any]:
    """The greedy policy of the agent saved in a run directory, as a function obs -> action.

    For demonstrators: a teacher can be any agent that has lived before and learned a policy
    (`agents.TEACHERS`). The agent acts on its own observations without learning.
    """
    agent = load_agent(directory)

    def policy(obs: Any) -> Any:
        """The action the habit values most (discrete), or the actor's mean (continuous)."""
        mind = agent.mind  # a body that believed sees the frame with neutral beliefs
        frame = agent.widen(np.asarray(obs, dtype=np.float32))
        return mind.greedy(mind.b_input(torch.as_tensor(frame)[None]))

    return policy


def load_agent(directory: str | Path) -> Any:
    """The agent saved in a run directory, as its latest checkpoint left it.

    Built as its life built it (`build_agent`, so a baseline or an ablation is itself again), on
    the CPU; the world is built only to learn its spaces. Only learners have one
    (`agents.TEACHERS`).
    """
    directory = Path(directory)
    if not (directory / "config.yaml").exists():
        raise UserError(f"no life in {directory} (config.yaml missing) to take a policy from")
    config = Config.load(directory / "config.yaml")
    if config.agent not in TEACHERS:
        raise UserError(
            f"{directory} holds a life of agent {config.agent!r}, which learns no policy to take;"
            f" a policy comes from a life of {', '.join(TEACHERS)}"
        )
    genome = Genome.load(directory / "genome.yaml")
    world = make_world(config.world, load_policy=load_policy)  # its teachers may be saved agents
    agent = build_agent(
        dataclasses.replace(config, device="cpu"),
        world.observation_space,
        world.action_space,
        genome,
        noop_action=noop_action(world),
        subjects=subjects_of(world),
    )
    world.close()
    try:
        found = load_latest_checkpoint(directory / "checkpoints")
    except CheckpointError as error:
        raise UserError(f"refusing the policy in {directory}: {error}") from None
    if found is None:
        raise UserError(f"no checkpoint in {directory} to take a policy from")
    agent.load_state_dict(found[1]["agent"])
    return agent
