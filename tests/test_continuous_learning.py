"""Learning with continuous actions, end to end and in A's model.

- A and B together (`a_plus_b`: one shared encoder, B's SAC-style actor and critics on A's
  latents) learn a continuous-action task in a short life: the last part of the life earns more
  than uniform random actions and than the same agent that never learns, on the same seeds.
- A's predictor conditions on a continuous action: its latent prediction loss falls on a fixed
  dataset whose next frame depends on the action, and a different action gives a different
  prediction, the one the other action's next frame has.
"""

import gymnasium as gym
import numpy as np
import torch
from conftest import TINY, train_a_alone
from gymnasium import spaces

import lifelong
from lifelong.genome import Genome
from lifelong.systems.observation import SystemA, world_model_loss

# --- A and B learn a continuous task ------------------------------------------------------------


class Reach(gym.Env):
    """Each step shows a target in [-1, 1]; the reward is minus the distance of the action (in
    [-2, 2]) from it: a contextual bandit whose best policy copies the observation. Uniform
    random actions miss by 13/12 on average."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = self.np_random.uniform(-1.0, 1.0, (1,)).astype(np.float32)
        return self.target, {}

    def step(self, action):
        reward = -abs(float(np.asarray(action)[0]) - float(self.target[0]))
        self.target = self.np_random.uniform(-1.0, 1.0, (1,)).astype(np.float32)
        return self.target, reward, False, False, {}


STEPS, LAST = 1000, 250
# One update per world step from step 100, one-step returns (rewards do not depend on the past),
# A predicting one step ahead: the settings under which a short life learns.
REACH_GENES = {**TINY, "replay_ratio": 1.0, "warmup": 100, "batch_size": 32, "gamma": 0.5}
REACH_GENES |= {"n_step": 1, "horizon": 1, "lr_a": 3e-3, "lr_b": 3e-3}


def reach_life(agent_name: str, seed: int = 0, **genes) -> tuple[np.ndarray, dict[str, int]]:
    """The rewards of a life of STEPS steps in Reach, and the agent's counters at its end."""
    env = Reach()
    agent = lifelong.make_agent(
        env.observation_space,
        env.action_space,
        agent=agent_name,
        genome=Genome(**{**REACH_GENES, **genes}),
        seed=seed,
    )
    obs, info = env.reset(seed=seed + 100)  # not the agent's seed: its draws would copy it
    rewards = []
    for _ in range(STEPS):
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(reward, obs, terminated, truncated, info)
        rewards.append(reward)
    return np.asarray(rewards), dict(agent.counters)


def test_a_plus_b_learns_a_continuous_task_better_than_chance_and_than_not_learning():
    learned, counters = reach_life("a_plus_b")
    chance, _ = reach_life("random")
    still, still_counters = reach_life("a_plus_b", warmup=1_000_000)  # never reaches its warmup
    assert counters["updates_a"] > 0 and counters["updates_b"] > 0
    assert still_counters["updates_a"] == still_counters["updates_b"] == 0
    last = {name: rewards[-LAST:].mean() for name, rewards in
            {"learned": learned, "chance": chance, "still": still}.items()}  # fmt: skip
    # Measured (seed 0): learned -0.32, chance -1.06, still -1.27 (its untrained actor draws
    # wide of the target whatever it sees); copying the target would earn 0.
    assert last["learned"] > last["chance"] + 0.5, last
    assert last["learned"] > last["still"] + 0.5, last
    # And it got there by learning: its own first steps were no better than chance.
    assert learned[:LAST].mean() < last["learned"] - 0.5, (learned[:LAST].mean(), last)


# --- A's predictor with continuous actions ---------------------------------------------------


def pushed_sequences(count: int, generator: torch.Generator, length: int = 3):
    """Sequences of a point in the plane pushed by 2-D actions in [-1, 1]^2:
    p' = 0.7 p + 0.5 a. Returns obs (count, length, 2), actions (count, length, 2), where
    actions[:, k] led to obs[:, k] (actions[:, 0] led to nothing seen here)."""
    position = torch.rand((count, 2), generator=generator) * 2 - 1
    actions = torch.rand((count, length, 2), generator=generator) * 2 - 1
    obs = [position]
    for k in range(1, length):
        obs.append(0.7 * obs[-1] + 0.5 * actions[:, k])
    return torch.stack(obs, dim=1), actions


def prediction_loss(system: SystemA, obs, actions) -> float:
    alive = torch.ones(obs.shape[0], obs.shape[1] - 1)
    z0 = system.encoder(obs[:, 0])
    target = system.embed_sequences(obs)
    _, info, _ = world_model_loss(system, z0, target, actions, alive, None, system.genome)
    return info["a_prediction_loss"]


def test_a_s_predictor_learns_continuous_action_effects_and_reads_the_action():
    torch.manual_seed(0)
    genome = Genome(latent_dim=8, hidden_dim=32, ensemble_size=4, horizon=2, lr_a=3e-3)
    system = SystemA((2,), 2, genome, continuous=True)
    generator = torch.Generator().manual_seed(0)
    obs, actions = pushed_sequences(512, generator)  # the fixed dataset
    alive = torch.ones(32, 2)
    with torch.no_grad():
        before = prediction_loss(system, obs, actions)
    for _ in range(300):
        pick = torch.randint(512, (32,), generator=generator)
        train_a_alone(system, obs[pick], actions[pick], alive)
    with torch.no_grad():
        after = prediction_loss(system, obs, actions)
        # The same states with the actions of other sequences: a predictor that ignored the
        # action would score the same.
        shuffled = actions[torch.randperm(512, generator=generator)]
        mismatched = prediction_loss(system, obs, shuffled)
    # Measured: 0.45 -> 0.0024, and 0.19 with mismatched actions. A predictor blind to the
    # action gets to about a quarter of `before` (0.7 p is predictable without it).
    assert after < 0.05 * before, (before, after)
    assert mismatched > 10 * after, (after, mismatched)

    # One step from the same states under two different actions: each prediction is nearer the
    # latent of the frame its own action leads to than the other action's.
    with torch.no_grad():
        start = obs[:, 0]
        push = torch.rand((512, 2), generator=generator) * 2 - 1
        other = -push
        z = system.encoder(start)
        predicted = system.predictor(z, push).mean(dim=0)
        predicted_other = system.predictor(z, other).mean(dim=0)
        reached = system.embed(0.7 * start + 0.5 * push)
        reached_other = system.embed(0.7 * start + 0.5 * other)
    own = (predicted - reached).pow(2).sum(dim=-1)
    swapped = (predicted - reached_other).pow(2).sum(dim=-1)
    assert (own < swapped).float().mean() > 0.95  # measured: all 512
    # And it moves as far as the frames do (measured: 1.46 against 1.50).
    moved = (predicted - predicted_other).norm(dim=-1)
    truth = (reached - reached_other).norm(dim=-1)
    assert moved.mean() > 0.7 * truth.mean(), (moved.mean(), truth.mean())
