"""lifelong: agents that never stop learning (Systems A, B and M), the worlds to raise them in,
the evolutionary outer loop, and the measurements.

Two ways in:

    life = lifelong.open_life("runs/me", world="nursery")    # a spec, a gymnasium.Env, or a
    life.run(steps=100_000)                                   # callable returning one

    agent = lifelong.make_agent(env.observation_space, env.action_space)   # your own loop:
    action = agent.act(obs); agent.observe(reward, next_obs, terminated, truncated, info)
"""

from lifelong.config import Config
from lifelong.genome import Genome
from lifelong.life import Life, load_policy, open_life, read_metrics
from lifelong.stepwise import StepwiseAgent, make_agent
from lifelong.worlds import make_world

__all__ = [
    "Config",
    "Genome",
    "Life",
    "StepwiseAgent",
    "load_policy",
    "make_agent",
    "make_world",
    "open_life",
    "read_metrics",
]
