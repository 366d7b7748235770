"""Stable-Baselines3's SAC and TD3 as baselines in worlds with continuous actions: the same
records as every life, hyperparameters from the genome, and a one-line refusal of an SB3 agent
that cannot act in a world's actions, before anything is written."""

import pytest
from conftest import TINY

from lifelong.bench import run_bench
from lifelong.config import Config
from lifelong.errors import UserError
from lifelong.genome import Genome
from lifelong.life import read_metrics
from lifelong.sb3_life import AgentEncoder, make_model, run_sb3_life
from lifelong.worlds import make_world

pytest.importorskip("stable_baselines3")

PENDULUM = "gym:Pendulum-v1"
QUICK = dict(tensorboard=False, log_every=100, bin_width=50)


def test_sac_and_td3_lives_write_the_records_a_dqn_life_writes(tmp_path):
    run_sb3_life(
        tmp_path / "dqn",
        Config(world="gym:CartPole-v1", agent="sb3_dqn", **QUICK),
        Genome(**TINY),
        300,
    )
    expected = [set(record) for record in read_metrics(tmp_path / "dqn")]
    assert {"learn_steps", "updates_a", "updates_b"} <= expected[0]
    for agent in ("sb3_sac", "sb3_td3"):
        config = Config(world=PENDULUM, agent=agent, **QUICK)
        run_sb3_life(tmp_path / agent, config, Genome(**TINY), 300)
        records = read_metrics(tmp_path / agent)
        assert [r["step"] for r in records] == [100, 200, 300], agent
        assert [set(r) for r in records] == expected, agent
        # Updates every 1 / `replay_ratio` steps after the warm-up: about (300 - 64) / 4 of them.
        updates = [r["updates_b"] for r in records]
        assert 0 < updates[0] < updates[1] < updates[2] and 55 <= updates[2] <= 60, agent
        assert records[-1]["learn_steps"] == records[-1]["updates_b"], agent
        assert Config.load(tmp_path / agent / "config.yaml").agent == agent


@pytest.mark.parametrize("agent", ["sb3_sac", "sb3_td3"])
def test_hyperparameters_come_from_the_genome(agent):
    changes = dict(lr_b=3e-4, batch_size=16, q_target_rate=0.02, gamma=0.9, n_step=2, q_hidden=24)
    genome = Genome(**{**TINY, **changes})
    env = make_world(PENDULUM)
    try:
        model = make_model(Config(world=PENDULUM, agent=agent, seed=3), genome, env, 10_000)
        assert model.learning_rate == 3e-4
        assert model.batch_size == 16
        assert model.tau == 0.02
        assert model.gamma == 0.9
        assert model.buffer_size == model.replay_buffer.buffer_size == TINY["memory_recent"]
        assert model.learning_starts == TINY["warmup"]
        assert (
            model.train_freq.frequency == round(1 / TINY["replay_ratio"])
            and model.gradient_steps == 1
        )
        assert model.seed == 3 and model.device.type == "cpu"
        if hasattr(model, "n_steps"):  # SB3 >= 2.6 has n-step returns
            assert model.n_steps == 2
        widths = [
            layer.out_features for layer in model.critic.qf0 if hasattr(layer, "out_features")
        ]
        assert widths == [24, 24, 1]
        actor = [
            layer.out_features for layer in model.actor.modules() if hasattr(layer, "in_features")
        ]
        assert actor[:2] == [24, 24]
        if agent == "sb3_sac":
            assert model.ent_coef == "auto"
        else:
            assert model.action_noise is not None
        # A short life caps the replay buffer at its length, as DQN's.
        short = make_model(Config(world=PENDULUM, agent=agent), genome, env, 300)
        assert short.buffer_size == 300
    finally:
        env.close()


@pytest.mark.parametrize("agent", ["sb3_sac", "sb3_td3"])
def test_our_encoder_reads_in_front_of_actor_and_critic(agent):
    env = make_world(PENDULUM)
    try:
        genome = Genome(**TINY)
        config = Config(world=PENDULUM, agent=agent)
        model = make_model(config, genome, env, 1000, our_encoder=True)
        assert isinstance(model.actor.features_extractor, AgentEncoder)
        assert isinstance(model.critic.features_extractor, AgentEncoder)
        model.learn(total_timesteps=TINY["warmup"] + 16)
        assert model._n_updates > 0
    finally:
        env.close()


@pytest.mark.parametrize(
    ("agent", "world", "fits", "instead"),
    [
        ("sb3_dqn", PENDULUM, "Discrete", "sb3_sac"),
        ("sb3_sac", "nursery-small", "Box", "sb3_dqn"),
        ("sb3_td3", "nursery-small", "Box", "sb3_dqn"),
    ],
)
def test_an_sb3_agent_that_does_not_fit_the_actions_is_refused_in_one_line(
    tmp_path, agent, world, fits, instead
):
    directory = tmp_path / "life"
    with pytest.raises(UserError) as error:
        run_sb3_life(directory, Config(world=world, agent=agent, **QUICK), Genome(**TINY), 300)
    message = str(error.value)
    assert "\n" not in message
    assert f"{agent!r} acts in a {fits} action space" in message
    assert world in message and instead in message
    assert not directory.exists()


def test_a_bench_refuses_an_sb3_agent_that_does_not_fit_before_writing(tmp_path):
    with pytest.raises(UserError, match="'sb3_sac' acts in a Box action space.*sb3_dqn"):
        run_bench("nursery", ["abm", "sb3_sac"], 1, 200, 1, tmp_path / "bench", lambda line: None)
    assert not (tmp_path / "bench").exists()
