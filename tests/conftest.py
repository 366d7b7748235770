"""Shared fixtures: tiny genomes and quick worlds so that whole lives fit in a test budget."""

import pytest
import torch

from lifelong.genome import Genome
from lifelong.systems.observation import world_model_loss

torch.set_num_threads(1)

# Small networks, early learning and quick sleep so a few hundred steps exercise every path.
TINY = dict(
    latent_dim=16,
    hidden_dim=32,
    q_hidden=32,
    ensemble_size=4,
    batch_size=8,
    replay_ratio=0.25,
    warmup=64,
    memory_recent=2_000,
    memory_longterm=100,
    sleep_rules=1,  # off by default; on here so that lives in tests sleep
    sleep_rise=0.01,
    sleep_fall=0.1,
    min_dwell=8,
)


def train_a_alone(system, obs, action, alive, reward=None):
    """One step of System A alone (B left out): its loss, one backward pass, the target EMA.

    The agent's learning step adds B's TD loss to the same backward pass, and B's optimizer
    steps the encoder; tests of A alone use this to check what A's loss by itself teaches, the
    encoder stepped here at A's rate. Returns the loss's info.
    """
    encoder_optimizer = getattr(system, "encoder_optimizer", None)
    if encoder_optimizer is None:
        encoder_optimizer = torch.optim.Adam(system.encoder.parameters(), lr=system.genome.lr_a)
        system.encoder_optimizer = encoder_optimizer
    target = system.embed_sequences(obs)
    system.track_scale(target[:, 1:])
    z0 = system.encoder(obs[:, 0])
    total, info, _ = world_model_loss(system, z0, target, action, alive, reward, system.genome)
    for optimizer in (system.optimizer, encoder_optimizer):
        optimizer.zero_grad()
    total.backward()
    for optimizer in (system.optimizer, encoder_optimizer):
        optimizer.step()
    system.update_target()
    return info


@pytest.fixture
def tiny_genome() -> Genome:
    return Genome(**TINY)
