"""The agent in a loop you own: `make_agent(obs_space, act_space)`, then `act` and `observe`.

`Life.run` drives the agent's verbs in a fixed order: M decides, then the agent sleeps,
imagines or acts; the world's answer is observed; a reset starts a new stream. A Gymnasium user
who owns the loop should not have to know that order, so `StepwiseAgent` keeps it:

    agent = lifelong.make_agent(env.observation_space, env.action_space, seed=0)
    obs, info = env.reset(seed=0)
    while True:
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(reward, obs, terminated, truncated, info)
        if terminated or truncated:
            obs, info = env.reset()

M's sleep and imagine ticks happen inside `act` (they take no world step) and are counted in
`agent.counters`. On the same world and seed this loop lives exactly the life `Life.run` lives
(a test checks the rewards); what it does not do is write records or checkpoints: save
`state_dict()` yourself where you want to resume.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.agent import Agent
from lifelong.agents import build_agent
from lifelong.config import Config, newborn
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.modes import Mode


class StepwiseAgent:
    """One agent of `lifelong` behind the two calls of an ordinary RL loop: `act`, `observe`."""

    def __init__(self, agent: Agent, observation_space: gym.Space | None = None) -> None:
        """`observation_space`: what `act` and `observe` check each observation against
        (None: not checked)."""
        self.agent = agent
        self.observation_space = observation_space
        self._action: int | None = None  # acted on, not yet observed
        self._in_stream = False  # False at birth and after an episode ends: `act` begins one

    @property
    def counters(self) -> dict[str, int]:
        """World steps, ticks (a tick is one decision of M: an action, a sleep or an imagining),
        updates of A and B, plans, faints, ..."""
        return self.agent.counters

    @property
    def mode(self) -> Mode:
        """The mode M chose for the last action."""
        return self.agent.meta.mode

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> int:
        """The action for `obs`. `obs` and `info` are read only at the start of an episode (the
        agent already holds the observation it was given by `observe`)."""
        if self._action is not None:
            raise UserError("act() called twice without observe(): report each step's outcome")
        if not self._in_stream:
            self.agent.begin(self._checked("act", obs), info or {})
            self._in_stream = True
        action = self.agent.tick()
        while action is None:  # M's sleep and imagine ticks: no world step
            action = self.agent.tick()
        self._action = action
        return action

    def observe(
        self,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any] | None = None,
    ) -> None:
        """What the world answered to the last action; the agent learns when its schedule says."""
        if self._action is None:
            raise UserError("observe() called before act(): there is no action to observe")
        next_obs = self._checked("observe", next_obs)
        try:
            reward = float(reward)
        except (TypeError, ValueError):
            raise UserError(f"observe: reward must be a number, got {reward!r}") from None
        self.agent.observe(self._action, next_obs, reward, bool(terminated), info or {})
        self._action = None
        if terminated or truncated:
            self._in_stream = False  # the next act() begins the next episode with its obs

    def _checked(self, verb: str, obs: Any) -> np.ndarray:
        """`obs` as the agent reads it (a float32 array), or a one-line UserError naming what
        is wrong with it. A NaN or infinity is let through: the body cleans and counts it."""
        array = (
            np.asarray(obs) if isinstance(obs, np.ndarray | list | tuple | float | int) else None
        )
        if array is None or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise UserError(f"{verb}: the observation must be a numeric array, got {obs!r:.60}")
        space = self.observation_space
        if space is not None and array.shape != space.shape:
            raise UserError(
                f"{verb}: an observation of shape {array.shape}, but the agent was made for"
                f" {space.shape}"
            )
        return array.astype(np.float32, copy=False)

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(), "in_stream": self._in_stream}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(state["agent"])
        self._in_stream, self._action = bool(state["in_stream"]), None


def make_agent(
    observation_space: gym.Space,
    action_space: gym.Space,
    agent: str = "abm",
    genome: Genome | None = None,
    seed: int = 0,
    device: str = "cpu",
    noop_action: int | None = None,
    subjects: Mapping[str, Sequence[str]] | None = None,
    **config: Any,
) -> StepwiseAgent:
    """An agent for a loop you own. `agent` names who lives (`lifelong.agents.AGENTS`: the A-B-M
    agent, a baseline, or an ablation via `ablate="plan,imagine"`); `genome` is who it is
    (default: the newborn's for its kind of actions, `config.newborn`); `noop_action` is the
    action that keeps still, for OBSERVE with no teacher in view; `subjects` is what the
    world's informants may claim about objects (`lifelong.worlds.messages.subjects_of(env)`),
    which a listening agent believes and sees; other `config` keys are `Config`'s (e.g.
    `mode_mix`).

    The agent reads float vectors or channels-last float images (a Box space) and takes Discrete
    actions or bounded Box ones. `lifelong.worlds.adopt_world(env)` makes any other Gymnasium env
    look so (one-hot states, scaled and transposed pixels, MiniGrid's symbolic image), as every
    world of a life is.
    """
    unknown = sorted(set(config) - set(Config.names()))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known: {Config.names()}")
    config_ = Config(agent=agent, seed=seed, device=device, **config)
    genome = genome or newborn(action_space)
    built = build_agent(config_, observation_space, action_space, genome, noop_action, subjects)
    return StepwiseAgent(built, observation_space)
