"""Worlds that change: shifts, schedules, task sequences, the noisy TV and teachers.

Most tests use `Probe`, a tiny deterministic world whose observation spells out the last action
it received, so what a wrapper did to an action or an observation can be read off directly.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from lifelong.checkpoint import load_latest_checkpoint, save_checkpoint
from lifelong.errors import UserError
from lifelong.worlds import make_world
from lifelong.worlds.noisy_tv import NoisyTV
from lifelong.worlds.schedule import Schedule
from lifelong.worlds.sequence import TaskSequence
from lifelong.worlds.shifts import shift
from lifelong.worlds.teachers import Teacher
from lifelong.worlds.wrappers import WRAPPERS


class Probe(gym.Env):
    """Observation channel/feature c holds 10 c + the last action; reward = last action + 1."""

    noop_action = 1

    def __init__(self, n_actions: int = 3, shape: tuple[int, ...] = (4,)) -> None:
        self.action_space = spaces.Discrete(n_actions)
        self.observation_space = spaces.Box(0.0, 100.0, shape, np.float32)
        self.shape = shape
        self.last = 0
        self.t = 0

    def _obs(self) -> np.ndarray:
        channels = 10.0 * np.arange(self.shape[-1]) + self.last
        return np.broadcast_to(channels, self.shape).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.last = 0
        return self._obs(), {}

    def step(self, action: Any):
        self.last = int(action)
        self.t += 1
        return self._obs(), float(action) + 1.0, False, False, {}

    def state_dict(self) -> dict[str, Any]:
        return {"last": self.last, "t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last, self.t = state["last"], state["t"]


def run(env: gym.Env, actions: list[int]) -> list[tuple]:
    """Step through ``actions`` (resetting after episode ends) and record everything returned."""
    out = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((np.asarray(obs).copy(), reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            out.append((np.asarray(obs).copy(), info))
    return out


def same(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(
        all(
            np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
            for x, y in zip(p, q, strict=True)
        )
        for p, q in zip(a, b, strict=True)
    )


# --- Schedule -------------------------------------------------------------------------------


def test_at_schedule_fires_exactly_at_the_given_steps():
    schedule = Schedule(at=[0, 3, 7])
    schedule.reset(np.random.default_rng(0))
    assert [t for t in range(20) if schedule.step()] == [0, 3, 7]


def test_every_schedule_fires_on_multiples():
    schedule = Schedule(every=5)
    assert [t for t in range(21) if schedule.step()] == [5, 10, 15, 20]


def test_pareto_schedule_has_heavy_tailed_gaps_with_the_requested_mean():
    schedule = Schedule(pareto=100, alpha=1.5)
    schedule.reset(np.random.default_rng(0))
    changes = [t for t in range(300_000) if schedule.step()]
    gaps = np.diff(changes)
    assert 50 < gaps.mean() < 200
    assert gaps.max() > 20 * np.median(gaps)  # an exponential would give about 7x at this count


# --- shift ----------------------------------------------------------------------------------


def test_action_shift_makes_the_same_action_do_something_else():
    env = shift(Probe(n_actions=3), kind="actions", at=[3])
    env.reset(seed=0)
    before = [int(env.step(a)[0][0]) for a in range(3)]  # steps 0..2: regime 0
    after = [int(env.step(a)[0][0]) for a in range(3)]  # steps 3..5: regime 1
    assert before == [0, 1, 2]
    assert sorted(after) == [0, 1, 2] and after != before
    assert env.step(0)[4]["shift"] == "actions:1"


def test_observation_shift_permutes_image_channels():
    env = shift(Probe(shape=(5, 5, 4)), kind="observations", every=2)
    obs, info = env.reset(seed=1)
    assert info["shift"] == "observations:0"
    assert np.array_equal(obs[0, 0], [0, 10, 20, 30])
    env.step(0)
    env.step(0)
    obs, _, _, _, info = env.step(0)  # step 2: regime 1
    assert info["shift"] == "observations:1"
    assert sorted(obs[0, 0]) == [0, 10, 20, 30] and not np.array_equal(obs[0, 0], [0, 10, 20, 30])
    assert np.array_equal(obs, Probe(shape=(5, 5, 4))._obs()[..., env.perm])
    assert env.observation_space.contains(obs)


def test_reward_flip_and_scale_in_odd_regimes():
    flip = shift(Probe(), kind="reward_flip", every=2)
    flip.reset(seed=0)
    assert [flip.step(1)[1] for _ in range(6)] == [2, 2, -2, -2, 2, 2]
    scaled = shift(Probe(), kind="reward_scale", every=2, scale=3.0)
    scaled.reset(seed=0)
    assert [scaled.step(0)[1] for _ in range(4)] == [1, 1, 3, 3]


def _cartpole_next(env: gym.Env, state: np.ndarray) -> np.ndarray:
    env.unwrapped.state = state.copy()
    return env.step(1)[0]


def test_gravity_shift_changes_cartpole_dynamics_and_restores_them():
    env = shift(gym.make("CartPole-v1"), kind="gravity", at=[5, 10], scale=3.0)
    env.reset(seed=0)
    state = np.array([0.0, 0.1, 0.02, -0.1])
    nexts = [_cartpole_next(env, state) for _ in range(11)]
    assert env.unwrapped.gravity == pytest.approx(9.8)
    assert all(np.array_equal(nexts[0], n) for n in nexts[1:5])
    assert not np.allclose(nexts[5], nexts[0])  # regime 1: three times the gravity
    assert np.array_equal(nexts[10], nexts[0])  # regime 2: the original physics are back


def test_mass_shift_keeps_cartpole_derived_quantities_consistent():
    env = shift(gym.make("CartPole-v1"), kind="masspole", every=1, scale=10.0)
    env.reset(seed=0)
    env.step(0)
    env.step(0)  # step 1: regime 1
    world = env.unwrapped
    assert world.masspole == pytest.approx(1.0)
    assert world.total_mass == pytest.approx(world.masspole + world.masscart)
    assert world.polemass_length == pytest.approx(world.masspole * world.length)


def test_acrobot_length_shift_moves_the_centre_of_mass_too():
    env = shift(gym.make("Acrobot-v1"), kind="length", every=1, scale=2.0)
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    assert env.unwrapped.LINK_LENGTH_1 == 2.0
    assert env.unwrapped.LINK_COM_POS_1 == 1.0


def test_stacked_shifts_combine_their_regimes_and_survive_episode_resets():
    env = shift(shift(Probe(), kind="reward_flip", every=3), kind="actions", every=4)
    env.reset(seed=0)
    infos = [env.step(0)[4]["shift"] for _ in range(4)]
    env.reset()  # a new episode, the same life: the counters go on
    infos.append(env.step(0)[4]["shift"])
    assert infos == [
        "reward_flip:0|actions:0",
        "reward_flip:0|actions:0",
        "reward_flip:0|actions:0",
        "reward_flip:1|actions:0",
        "reward_flip:1|actions:1",
    ]


# --- TaskSequence ---------------------------------------------------------------------------


def test_task_sequence_pads_channels_truncates_at_switches_and_cycles_back():
    small, large = Probe(n_actions=3, shape=(5, 5, 2)), Probe(n_actions=5, shape=(5, 5, 4))
    env = TaskSequence([small, large], every=3)
    assert env.observation_space.shape == (5, 5, 4) and env.action_space.n == 5
    obs, info = env.reset(seed=0)
    assert info["shift"] == 0 and np.array_equal(obs[0, 0], [0, 10, 0, 0])
    tasks, truncations = [], []
    for _ in range(9):
        obs, _, _, truncated, info = env.step(4)  # out of range for task 0: becomes its action 0
        tasks.append(info["shift"])
        truncations.append(truncated)
        if info["shift"] == 0:
            assert np.array_equal(obs[0, 0], [0, 10, 0, 0])
        else:
            assert np.array_equal(obs[0, 0], [4, 14, 24, 34])
        if truncated:
            assert env.reset()[1]["shift"] == (tasks[-1] + 1) % 2
    assert tasks == [0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert truncations == [False, False, True] * 3


class MinAtar(gym.Env):
    """The smallest Gymnasium face on a MinAtar game, enough to sequence real games."""

    def __init__(self, game: str) -> None:
        from minatar import Environment

        self.game = Environment(game, sticky_action_prob=0.0)
        self.observation_space = spaces.Box(0, 1, tuple(self.game.state_shape()), np.bool_)
        self.action_space = spaces.Discrete(self.game.num_actions())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self.game.seed(seed)
        self.game.reset()
        return self.game.state(), {}

    def step(self, action: Any):
        reward, done = self.game.act(int(action))
        return self.game.state(), float(reward), bool(done), False, {}


def test_task_sequence_zero_pads_minatar_games():
    env = TaskSequence([MinAtar("breakout"), MinAtar("space_invaders")], every=40)
    assert env.observation_space.shape == (10, 10, 6)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        obs, _, terminated, truncated, info = env.step(int(rng.integers(6)))
        assert obs.shape == (10, 10, 6) and obs.dtype == np.bool_
        if info["shift"] == 0:
            assert not obs[..., 4:].any()  # breakout has 4 channels; the rest is padding
        seen.add(info["shift"])
        if terminated or truncated:
            env.reset()
    assert seen == {0, 1}


# --- noisy_tv -------------------------------------------------------------------------------


def test_noisy_tv_patch_is_fresh_noise_every_step_and_adds_a_channel_action():
    env = WRAPPERS["noisy_tv"](Probe(shape=(5, 5, 3)), size=2)
    assert env.action_space.n == 4 and env.noop_action == 1
    obs, info = env.reset(seed=0)
    assert info["tv"] is True
    frames = [obs] + [env.step(2)[0] for _ in range(5)]
    for a, b in zip(frames[1:], frames[2:], strict=False):
        assert np.all(a[:2, :2] != b[:2, :2])  # every pixel of every channel changes
        assert np.array_equal(a[2:], b[2:]) and np.array_equal(a[:, 2:], b[:, 2:])
    means = env.means.copy()
    obs, _, _, _, info = env.step(3)  # change the channel
    assert info["tv_action"] is True and not np.array_equal(env.means, means)
    assert obs[4, 4, 0] == 1  # the inner world took its no-op
    assert env.step(0)[4]["tv_action"] is False


def test_noisy_tv_appends_noise_features_to_vectors():
    env = NoisyTV(gym.make("CartPole-v1"), size=3)
    assert env.observation_space.shape == (7,) and env.action_space.n == 3
    obs, _ = env.reset(seed=0)
    nxt = env.step(0)[0]
    assert env.observation_space.contains(obs) and env.observation_space.contains(nxt)
    assert np.all(obs[4:] != nxt[4:])


def test_noisy_tv_is_always_in_view_even_over_a_world_whose_own_tv_is_not():
    class OwnTV(Probe):
        """A world that reports its own TV out of view on every step."""

        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed)
            return obs, {**info, "tv_in_view": False}

        def step(self, action):
            obs, reward, terminated, truncated, info = super().step(action)
            return obs, reward, terminated, truncated, {**info, "tv_in_view": False}

    assert OwnTV().step(0)[4]["tv_in_view"] is False
    env = NoisyTV(OwnTV(shape=(5, 5, 3)), size=2)
    _, info = env.reset(seed=0)
    assert info["tv_in_view"] is True
    assert all(env.step(a)[4]["tv_in_view"] is True for a in (0, 1, 2, 3, 0))


# --- teacher --------------------------------------------------------------------------------


def test_teacher_reliability_and_visibility_set_the_rates():
    env = Teacher(Probe(n_actions=4), policy=lambda obs: 2, reliability=0.6, visible=0.3)
    env.reset(seed=0)
    demos, steps = [], 4000
    for _ in range(steps):
        info = env.step(0)[4]
        if "teacher" in info:
            assert info["teachers"] == [info["teacher"]]
            demos.append(info["teacher"]["action"])
    assert len(demos) / steps == pytest.approx(0.3, abs=0.03)
    agreement = np.mean(np.array(demos) == 2)
    assert agreement == pytest.approx(0.6 + 0.4 / 4, abs=0.05)


def test_stacked_teachers_are_both_listed_and_the_first_is_the_teacher():
    good = Teacher(Probe(), policy="noop", name="good")
    env = WRAPPERS["teacher"](good, policy="random", reliability=0.0, name="bad")
    _, info = env.reset(seed=0)
    assert [d["source"] for d in info["teachers"]] == ["good", "bad"]
    assert info["teacher"] == {"source": "good", "action": 1}


def test_cartpole_teacher_balances_the_pole_even_beside_a_noisy_tv():
    env = Teacher(NoisyTV(gym.make("CartPole-v1")), policy="cartpole")
    _, info = env.reset(seed=0)
    for t in range(300):
        _, _, terminated, truncated, info = env.step(info["teacher"]["action"])
        assert not (terminated or truncated), f"fell at step {t}"


def test_an_outcome_teacher_never_steps_a_world_past_its_episodes_end():
    world = make_world("gym:CartPole-v1+teacher(shows=outcome)")
    _, info = world.reset(seed=0)
    ends = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(200):
            _, _, terminated, truncated, info = world.step(0)  # always left: falls in ~10 steps
            assert ("teacher" in info) != terminated  # shown on every step but the last
            if terminated or truncated:
                ends += 1
                _, info = world.reset()
    assert ends > 5 and not caught


# --- determinism and state ------------------------------------------------------------------


def _stack(seed: int | None = None) -> gym.Env:
    world = TaskSequence([Probe(shape=(4,)), Probe(n_actions=4, shape=(4,))], pareto=25)
    world = shift(world, kind="observations", pareto=15)
    world = shift(world, kind="actions", every=20)
    world = NoisyTV(world, size=2)
    world = Teacher(world, policy="random", reliability=0.5, visible=0.5)
    if seed is not None:
        world.reset(seed=seed)
    return world


ACTIONS = [int(a) for a in np.random.default_rng(7).integers(5, size=300)]


def test_a_seeded_world_is_deterministic():
    assert same(run(_stack(3), ACTIONS), run(_stack(3), ACTIONS))
    assert not same(run(_stack(3), ACTIONS), run(_stack(4), ACTIONS))


def test_state_dict_round_trip_continues_identically(tmp_path):
    world = _stack(5)
    run(world, ACTIONS[:137])
    save_checkpoint(tmp_path, 137, {"world": world.state_dict()})  # plain data only
    expected = run(world, ACTIONS[137:])
    _, state, _ = load_latest_checkpoint(tmp_path)
    resumed = _stack()  # a fresh, unseeded stack: everything must come from the state
    resumed.load_state_dict(copy.deepcopy(state["world"]))
    assert same(run(resumed, ACTIONS[137:]), expected)


# --- recorded constructor arguments ---------------------------------------------------------

# Parameters away from their defaults, so a wrapper rebuilt without them would behave otherwise.
RECREATED = [
    "shift(kind=actions,every=30)",
    "shift(kind=observations,pareto=40)",
    "shift(kind=reward_flip,at=[10;60])",
    "shift(kind=reward_scale,scale=3,every=25)",
    "shift(kind=gravity,every=50,scale=4.0)",
    "noisy_tv(size=2)",
    "failure(penalty=2)",
    "teacher(policy=cartpole,reliability=0.5,visible=0.7,name=coach)",
    "shift(kind=masspole,every=40,scale=3.0)+noisy_tv(size=1)+teacher(reliability=0.2)",
]


@pytest.mark.parametrize("wrappers", RECREATED)
def test_a_wrappers_spec_recreates_it(wrappers):
    """Gymnasium rebuilds a world from ``env.spec`` (its env checker does): every wrapper records
    its constructor arguments, so the rebuilt world lives the same life under the same seed."""
    world = make_world(f"gym:CartPole-v1+{wrappers}")
    rebuilt = world.spec.make()
    layers, rebuilt_layers = [], []
    for env, found in ((world, layers), (rebuilt, rebuilt_layers)):
        while isinstance(env, gym.Wrapper):
            found.append(env)
            env = env.env
    assert [type(layer) for layer in rebuilt_layers] == [type(layer) for layer in layers]
    schedules = [getattr(layer, "schedule", None) for layer in (world, rebuilt)]
    assert schedules[0] is not schedules[1] or schedules[0] is None  # a copy, not shared
    actions = [int(a) for a in np.random.default_rng(3).integers(world.action_space.n, size=200)]
    world.reset(seed=11)
    rebuilt.reset(seed=11)
    assert same(run(world, actions), run(rebuilt, actions))


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    (lambda: WRAPPERS["shift"](Probe(), every=5), "kind=None"),
    (lambda: WRAPPERS["shift"](Probe(), kind="wind", every=5), "actions, observations"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions"), "exactly one of"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", every=5, at=[3]), "exactly one of"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", every=0), "positive integer"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", every=2.5), "positive integer"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", at=[5, 3]), "sorted list"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", at=[-1]), "non-negative"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", pareto=50, alpha=1.0), "> 1"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", pareto=0.5), ">= 1 step"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", every=5, scale=2.0), "reward_scale"),
    (lambda: WRAPPERS["shift"](Probe(), kind="actions", every=5, speed=2), "allowed: kind"),
    (lambda: WRAPPERS["shift"](Probe(), kind="gravity", every=5), "Probe; it supports kinds"),
    (
        lambda: WRAPPERS["shift"](gym.make("Acrobot-v1"), kind="masscart", every=5),
        "length, masspole",
    ),
    (
        lambda: WRAPPERS["shift"](gym.make("CartPole-v1"), kind="gravity", every=5, scale=-1),
        "> 0",
    ),
    (lambda: WRAPPERS["shift"](Probe(shape=(1,)), kind="observations", every=5), "at least 2"),
    (lambda: WRAPPERS["noisy_tv"](Probe(), size=0), "positive integer"),
    (lambda: WRAPPERS["noisy_tv"](Probe(shape=(5, 5, 2)), size=6), "allowed: 1..5"),
    (lambda: WRAPPERS["noisy_tv"](Probe(), channels=2), "allowed: size"),
    (lambda: WRAPPERS["teacher"](Probe(), reliability=1.5), "[0, 1]"),
    (lambda: WRAPPERS["teacher"](Probe(), visible=-0.1), "[0, 1]"),
    (lambda: WRAPPERS["teacher"](Probe(), policy="smart"), "random, cartpole, noop"),
    (lambda: WRAPPERS["teacher"](Probe(), policy="cartpole"), "allowed: a CartPole world"),
    (lambda: WRAPPERS["teacher"](Probe(), name=""), "non-empty string"),
    (lambda: TaskSequence([Probe()], every=5), "at least 2"),
    (lambda: TaskSequence([Probe(), Probe()], every=5, tasks=3), "allowed: tasks"),
    (lambda: TaskSequence([Probe(shape=(4,)), Probe(shape=(5,))], every=5), "one size"),
    (
        lambda: TaskSequence([Probe(shape=(5, 5, 2)), Probe(shape=(6, 5, 2))], every=5),
        "one H and W",
    ),
]


@pytest.mark.parametrize("make, expected", ERRORS)
def test_every_mistake_is_one_line_naming_what_is_allowed(make, expected):
    with pytest.raises(UserError) as caught:
        make()
    message = str(caught.value)
    assert "\n" not in message and expected in message
    assert message.split(":")[0] in ("shift", "noisy_tv", "teacher", "sequence")
    assert "allowed" in message or "supports" in message


def test_failure_pays_only_for_falling():
    env = make_world("gym:CartPole-v1+failure(penalty=2)")
    env.reset(seed=0)
    rewards, ends = [], 0
    for _ in range(300):
        _, reward, terminated, truncated, _ = env.step(0)  # always push left: it falls fast
        rewards.append(reward)
        if terminated or truncated:
            ends += terminated
            env.reset()
    assert ends > 5 and sorted(set(rewards)) == [-2.0, 0.0] and sum(rewards) == -2.0 * ends
    with pytest.raises(UserError, match="failure: penalty"):
        make_world("gym:CartPole-v1+failure(penalty=0)")


def test_a_saved_agent_teaches_only_through_a_loader_handed_in(tmp_path):
    """The worlds import nothing above them: a teacher that is a saved agent (a run directory)
    is loaded by the caller's `load_policy`, which make_world hands down, into sequences too."""
    run = tmp_path / "teacher"
    run.mkdir()
    (run / "config.yaml").write_text("world: gym:CartPole-v1\n")
    spec = f"gym:CartPole-v1+teacher(policy='{run}')"
    with pytest.raises(UserError) as caught:
        make_world(spec)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("teacher: ")
    assert "saved agent" in message and "load_policy" in message and "allowed" in message

    loaded = []

    def load_policy(directory: str):
        loaded.append(directory)
        return lambda obs: 1

    for world in (
        make_world(spec, load_policy=load_policy),
        make_world(f"sequence(tasks={spec}|gym:CartPole-v1,every=5)", load_policy=load_policy),
    ):
        _, info = world.reset(seed=0)
        assert info["teacher"]["action"] == 1
    assert loaded == [str(run), str(run)]
    with pytest.raises(UserError, match="unknown parameter 'load_policy'"):  # not a spec's
        make_world("gym:CartPole-v1+teacher(load_policy=x)", load_policy=load_policy)
