"""Stable-Baselines3 agents living a life in our worlds, with the same records as a `Life`.

SB3 owns its training loop, so its agents cannot take the agent's place inside `Life.run`; here
SB3's `learn` runs once over the whole life (learning never stops; DQN's exploration decays once,
over the first tenth) and a callback writes `metrics.jsonl` and `events.jsonl` in the same format,
so metrics, benchmarks and reports read an SB3 life like any other. Hyperparameters follow the
genome where they mean the same thing (learning rate, replay size and ratio, batch, discount,
target rate, network width), so a comparison with our agent is at equal replay ratio and width.

    agent     SB3 class  actions                 for
    sb3_dqn   DQN        Discrete                grids, MinAtar, classic control
    sb3_ppo   PPO        Discrete or Box         any world
    sb3_sac   SAC        Box (bounded)           continuous control (Pendulum, MuJoCo, ...)
    sb3_td3   TD3        Box (bounded)           continuous control, Gaussian noise 0.1

A life interrupted midway starts again from birth: SB3 checkpoints would need its replay buffer
(hundreds of MB), and a bench never reruns a finished life anyway.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from lifelong.agents import check_fits, entry
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.policies import load_policy
from lifelong.records import Recorder
from lifelong.systems.observation import make_encoder
from lifelong.worlds import make_world


class AgentEncoder(nn.Module):
    """SB3 features extractor that is our agents' encoder (`make_encoder`): a CNN for grids.

    With it, SB3's Q-network has the architecture of our model-free B (`b_only`): the same
    encoder and latent width, then SB3's MLP head of the genome's width. SB3 only needs
    `features_dim` and a forward pass, so no SB3 base class (and no SB3 import) is needed.
    """

    def __init__(self, observation_space: Any, latent_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.features_dim = latent_dim
        self.encoder = make_encoder(tuple(observation_space.shape), latent_dim, hidden_dim)

    def forward(self, obs: Tensor) -> Tensor:
        return self.encoder(obs)


def make_model(
    config: Config,
    genome: Genome,
    env: Any,
    steps: int,
    epsilon: float | None = None,
    our_encoder: bool = False,
) -> Any:
    """The SB3 model `config.agent` names, its hyperparameters read from the genome.

    DQN's exploration decays over the first tenth of `steps` to 0.05; a fixed `epsilon` instead
    (for timing, so nearly every step runs the network as our agent's acting does). SAC tunes its
    entropy coefficient ("auto"); TD3 explores with Gaussian noise of 0.1 on actions scaled to
    [-1, 1] (the TD3 paper's), which no gene sets. `our_encoder` puts `AgentEncoder` in front of
    SB3's heads (SAC's and TD3's actor and critics each have their own) instead of MlpPolicy's
    flatten.
    """
    if entry(config.agent).loop != "sb3":
        raise ValueError(f"agent {config.agent!r} is not a Stable-Baselines3 agent")
    check_fits(config.agent, env.action_space)
    try:
        from stable_baselines3 import DQN, PPO, SAC, TD3
    except ImportError:
        raise UserError(
            f"agent {config.agent!r} needs Stable-Baselines3: pip install 'lifelong[baseline]'"
        ) from None
    width: dict[str, Any] = dict(net_arch=[genome.q_hidden, genome.q_hidden])
    if our_encoder:
        width["features_extractor_class"] = AgentEncoder
        width["features_extractor_kwargs"] = dict(
            latent_dim=genome.latent_dim, hidden_dim=genome.hidden_dim
        )
    if config.agent == "sb3_ppo":
        return PPO(
            "MlpPolicy",
            env,
            learning_rate=genome.lr_b,
            gamma=genome.gamma,
            policy_kwargs=width,
            seed=config.seed,
            device="cpu",
            verbose=0,
        )
    algorithm = {"sb3_dqn": DQN, "sb3_sac": SAC, "sb3_td3": TD3}[config.agent]
    # What DQN, SAC and TD3 share: replay ratio, batch, discount and target rate from the genome.
    # SB3 updates every `train_freq` steps, `gradient_steps` at a time: our ratio either way.
    train_freq = max(1, round(1.0 / genome.replay_ratio))
    gradient_steps = max(1, round(genome.replay_ratio))
    options: dict[str, Any] = dict(
        learning_rate=genome.lr_b,
        buffer_size=min(genome.memory_recent, max(steps, 1)),
        learning_starts=genome.warmup,
        batch_size=genome.batch_size,
        tau=genome.q_target_rate,  # Polyak step after every update, like B's target network
        gamma=genome.gamma,
        train_freq=train_freq,
        gradient_steps=gradient_steps,
        policy_kwargs=width,
        seed=config.seed,
        device="cpu",
        verbose=0,
    )
    if "n_steps" in inspect.signature(algorithm).parameters:  # n-step returns, SB3 >= 2.6
        options["n_steps"] = genome.n_step
    if config.agent == "sb3_sac":
        return SAC("MlpPolicy", env, ent_coef="auto", **options)
    if config.agent == "sb3_td3":
        from stable_baselines3.common.noise import NormalActionNoise

        size = env.action_space.shape
        noise = NormalActionNoise(mean=np.zeros(size), sigma=np.full(size, 0.1))
        return TD3("MlpPolicy", env, action_noise=noise, **options)
    return DQN(
        "MlpPolicy",
        env,
        target_update_interval=train_freq,
        exploration_fraction=0.1,
        exploration_initial_eps=1.0 if epsilon is None else epsilon,
        exploration_final_eps=0.05 if epsilon is None else epsilon,
        **options,
    )


def run_sb3_life(directory: str | Path, config: Config, genome: Genome, steps: int) -> None:
    """Live `steps` world steps with the SB3 agent `config.agent`, recording as a Life does.

    An agent that cannot act in the world's actions is refused before anything is written.
    """
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    directory = Path(directory)
    env = make_world(config.world, load_policy=load_policy)
    try:
        check_fits(config.agent, env.action_space, config.world)
        directory.mkdir(parents=True, exist_ok=True)
        config.save(directory / "config.yaml")
        genome.save(directory / "genome.yaml")
        for name in ("metrics.jsonl", "events.jsonl"):
            (directory / name).unlink(missing_ok=True)  # an interrupted life starts again
        torch.set_num_threads(config.threads)
        model = make_model(config, genome, env, steps)

        class Recording(BaseCallback):
            """Hands every world step to the life's recorder, and a record every `log_every`."""

            def _on_training_start(self) -> None:
                self.recorder = Recorder(directory, config.bin_width)

            def _on_step(self) -> bool:
                step = self.num_timesteps
                self.recorder.world_step(
                    step, float(self.locals["rewards"][0]), self.locals["infos"][0]
                )
                if step % config.log_every == 0 and step <= steps:  # PPO overshoots by a rollout
                    updates = int(getattr(self.model, "_n_updates", 0))
                    fields = {"learn_steps": updates, "updates_a": 0, "updates_b": updates}
                    self.recorder.write(step, fields)
                return True

            def _on_training_end(self) -> None:
                self.recorder.flush_events()

        model.learn(total_timesteps=steps, callback=Recording())
    finally:
        env.close()
