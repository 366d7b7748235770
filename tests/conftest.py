"""Shared fixtures: tiny genomes and quick worlds so that whole lives fit in a test budget."""

import pytest
import torch

from lifelong.genome import Genome

torch.set_num_threads(1)

# Small networks, early learning and quick sleep so a few hundred steps exercise every path.
TINY = dict(
    latent_dim=16,
    hidden_dim=32,
    q_hidden=32,
    ensemble_size=4,
    batch_size=8,
    train_every=4,
    warmup=64,
    memory_recent=2_000,
    memory_longterm=100,
    sleep_rise=0.01,
    sleep_fall=0.1,
    min_dwell=8,
)


@pytest.fixture
def tiny_genome() -> Genome:
    return Genome(**TINY)
