"""lifelong: agents that never stop learning (Systems A, B and M), the worlds to raise them in,
the evolutionary outer loop, and the measurements.

Two ways in:

    life = lifelong.open_life("runs/me", world="nursery")    # a spec, a gymnasium.Env, or a
    life.run(steps=100_000)                                   # callable returning one

    agent = lifelong.make_agent(env.observation_space, env.action_space)   # your own loop:
    action = agent.act(obs); agent.observe(reward, next_obs, terminated, truncated, info)
"""

from importlib import import_module
from typing import Any

# Where each public name lives. Imported on first use, so that `import lifelong.systems.control`
# (System M) and the other torch-free modules stay free of torch.
_PUBLIC = {
    "Config": "lifelong.config",
    "Genome": "lifelong.genome",
    "Life": "lifelong.life",
    "StepwiseAgent": "lifelong.stepwise",
    "load_policy": "lifelong.policies",
    "make_agent": "lifelong.stepwise",
    "make_world": "lifelong.worlds",
    "open_life": "lifelong.life",
    "read_metrics": "lifelong.life",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lifelong' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
