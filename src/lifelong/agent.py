"""The agent: Systems A, B and M wired around one episodic memory.

Each tick the life asks the agent to `decide` (M reads the meta-state and picks a mode). Awake, the
agent `act`s and then `observe`s what the world returned; asleep, it `sleep`s: no world step, only
replay. Everything M decides reaches the data plane through the mode's `Route` and the numbers
of the `MetaAction`; nothing else switches behaviour.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from lifelong.detectors import ChangeDetector
from lifelong.genome import Genome
from lifelong.memory import Memory
from lifelong.modes import ROUTES, Mode, Route
from lifelong.plasticity import LearningRateBoost, UnitUtility, reinitialize_units
from lifelong.signals import Telemetry
from lifelong.systems.action import SystemB
from lifelong.systems.control import MetaAction, MetaController
from lifelong.systems.observation import SystemA
from lifelong.systems.planning import imagine, plan

# A's error on fresh experience is measured in windows of this many transitions: one batched
# pass is far cheaper than one per step, and M's signals still see every transition.
MEASURE_WINDOW = 32
# Hidden units' utilities (plasticity) are measured on the batches of one learning step in this
# many: a training batch averages 64 sequences where an acting pass sees one frame, and hooks
# that run on every forward pass cost about a sixth of the agent's time.
UTILITY_EVERY = 4
# A unit is judged once measured this often (100 learning steps, continual backprop's maturity).
UNIT_MATURITY = 100 // UTILITY_EVERY

COUNTERS = (
    "env_steps",
    "ticks",
    "learn_steps",
    "updates_a",
    "updates_b",
    "sleep_ticks",
    "imagine_ticks",
    "imagined_kept",
    "plans",
    "interventions",
    "faints",
    "sanitized",
    "skipped_updates",
    "world_errors",
)


class Agent:
    """The A-B-M agent. Baselines (`baselines.py`) subclass it and override the marked hooks."""

    # Weight of the world's reward in B's learning signal: 0 for an agent driven by curiosity only.
    extrinsic_weight = 1.0
    # Whether the agent has System A; without it B learns on raw observations through its own
    # encoder (the model-free baseline).
    world_model = True

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        genome: Genome,
        seed: int = 0,
        device: str = "cpu",
        noop_action: int | None = None,
        ablate: frozenset[str] = frozenset(),
    ) -> None:
        """`ablate` names rule families of M to switch off (systems/control.py RULE_FAMILIES)."""
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"the agent needs a Discrete action space, got {action_space}")
        if not isinstance(observation_space, gym.spaces.Box):
            raise ValueError(f"the agent needs a Box observation space, got {observation_space}")
        self.genome = genome
        self.ablate = frozenset(ablate)
        self.device = torch.device(device)
        self.n_actions = int(action_space.n)
        self.noop_action = noop_action
        obs_shape = tuple(observation_space.shape)
        torch.manual_seed(seed)
        self.a = (
            SystemA(obs_shape, self.n_actions, genome).to(self.device) if self.world_model else None
        )
        own_encoder = None if self.world_model else obs_shape
        self.b = SystemB(self.n_actions, genome, own_encoder).to(self.device)
        self.boosts = {"updates_b": LearningRateBoost(self.b.optimizer)}
        if self.a is not None:
            self.boosts["updates_a"] = LearningRateBoost(self.a.optimizer)
        self.sequence_length = max(genome.horizon, genome.n_step) + 1
        self.memory = Memory(
            obs_shape,
            recent_capacity=genome.memory_recent,
            longterm_capacity=genome.memory_longterm,
            segment_length=self.sequence_length,
            seed=seed,
        )
        self.telemetry = Telemetry(
            genome.fast_rate,
            genome.slow_rate,
            genome.sleep_rise,
            genome.sleep_fall,
            genome.teacher_trust,
            trust_gain=genome.trust_gain,
            detector=ChangeDetector(
                threshold=genome.detector_threshold,
                error_drift=genome.detector_error_drift,
                reward_drift=genome.detector_reward_drift,
                refractory=genome.detector_refractory,
            ),
        )
        self.controller = self.make_controller(genome, seed)
        self.utilities = self._unit_trackers(obs_shape) if self.controller.intervenes else []
        self.rng = np.random.default_rng(seed)
        # Sampling inside A's model (planning, imagining) has its own stream, saved with the life.
        self.model_rng = torch.Generator(device=self.device).manual_seed(seed)
        self.meta: MetaAction = self.controller.action_for(self.controller.mode, "birth")
        self.alarm = False  # a change detector fired this tick (see `events.jsonl`)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.losses: dict[str, float] = {}
        self.obs: np.ndarray | None = None
        self.teacher_action: int | None = None
        self.teacher_source: str | None = None  # who is in view
        self.followed: str | None = None  # whose lead the last action took
        self.sources: list[str] = []  # teachers ever followed; memory stores their index

    def make_controller(self, genome: Genome, seed: int) -> MetaController:
        """Hook: who decides the mode. The A-B-M agent's is System M."""
        return MetaController(genome, disabled=self.ablate)

    def _unit_trackers(self, obs_shape: tuple[int, ...]) -> list[tuple[UnitUtility, Any]]:
        """Plasticity (plasticity.py): forward hooks keep every hidden unit's utility, so M's
        intervention after a change can reset the least useful ones. Built only for a
        controller that can order one, and attached only while `_learn` measures them."""
        example = torch.zeros((1, *obs_shape), device=self.device)
        z = torch.zeros(1, self.genome.latent_dim, device=self.device)
        trackers = [(UnitUtility(self.b.q, (example if self.a is None else z,)), self.b.optimizer)]
        if self.a is not None:
            action = torch.zeros(1, dtype=torch.long, device=self.device)
            trackers += [
                (UnitUtility(self.a.encoder, (example,)), self.a.optimizer),
                (UnitUtility(self.a.predictor, (z, action)), self.a.optimizer),
            ]
        for utility, _ in trackers:
            utility.detach()
        return trackers

    # --- The verbs the life calls -------------------------------------------------------------
    def begin(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        """A new stream starts (birth, or the world was reset): remember its first frame."""
        obs = self._sanitized(obs)
        self.memory.add(obs, 0, 0.0, first=True)
        self._perceive(obs, info)

    def decide(self) -> MetaAction:
        state = self.telemetry.meta_state()
        self.alarm = state.change_detected > 0 and self.controller.uses_detector
        self.telemetry.change_pending = False  # M has heard of it
        self.meta = self.controller.decide(state)
        self.counters["ticks"] += 1
        if self.meta.plasticity or self.meta.lr_boost > 1.0:
            self._intervene()
        return self.meta

    def act(self) -> int:
        route = ROUTES[self.meta.mode]
        self.followed = None
        if route.acts_by == "teacher":
            if self.teacher_action is not None:
                self.followed = self.teacher_source
                return self.teacher_action
            if self.noop_action is not None:
                return self.noop_action  # nobody to watch: keep still and watch the world
        obs = torch.as_tensor(self.obs, device=self.device).unsqueeze(0)
        if route.acts_by == "planner" and self.a is not None:
            self.counters["plans"] += 1
            return plan(self.a, self.b, obs, self.genome, self.model_rng)[0]
        probs = self.b.policy(self.b_input(obs), self.meta.temperature)
        u = self.rng.random()
        for action, p in enumerate(probs):
            u -= p
            if u < 0.0:
                return action
        return len(probs) - 1  # u landed in the rounding error of the last probability

    def observe(
        self, action: int, obs: np.ndarray, reward: float, terminated: bool, info: dict[str, Any]
    ) -> None:
        """Store what the world returned, update the signals, learn when the schedule says so."""
        obs = self._sanitized(obs)
        if not math.isfinite(reward):
            reward = 0.0
            self.counters["sanitized"] += 1
        source = -1
        if self.followed is not None:
            if self.followed not in self.sources:
                self.sources.append(self.followed)
            source = self.sources.index(self.followed)
        self.memory.add(obs, action, reward, first=False, terminal=terminated, source=source)
        self._perceive(obs, info)
        self.telemetry.on_world_step(reward, info.get("body"), self.teacher_source, self.followed)
        self.counters["env_steps"] += 1
        self.counters["faints"] += int(bool(info.get("fainted", False)))
        steps = self.counters["env_steps"]
        if steps % MEASURE_WINDOW == 0:
            self._measure_prediction()
        if (
            steps % self.genome.train_every == 0
            and steps >= self.genome.warmup
            and self.meta.learns
        ):
            self._learn(ROUTES[self.meta.mode])

    def sleep(self) -> None:
        """A tick without the world: replay consolidates A and B, sleep pressure falls."""
        self.telemetry.on_sleep_tick()
        self.counters["sleep_ticks"] += 1
        if self.counters["env_steps"] < self.genome.warmup or not self.meta.learns:
            return
        for _ in range(self.meta.updates):
            self._learn(ROUTES[Mode.SLEEP])

    def imagine(self) -> None:
        """A tick without the world: B learns from rollouts of A's model started at remembered
        states, keeping only the imagined trajectories that beat B's current value estimate."""
        self.counters["imagine_ticks"] += 1
        g = self.genome
        if self.a is None or self.counters["env_steps"] < g.warmup or not self.meta.learns:
            return
        if not self.memory.can_sample(1):
            return
        for _ in range(self.meta.updates):
            frames = self.memory.sample(g.imagine_batch, 1, 0.5)["obs"][:, 0]  # start states only
            start = self.a.embed(torch.as_tensor(frames, device=self.device))
            dream = imagine(self.a, self.b, start, g, self.model_rng)
            keep = dream["keep"]
            self.counters["imagined_kept"] += int(keep.sum())
            if keep.any():  # an empty batch would still move Adam's momentum
                fields = (dream[f][keep] for f in ("z", "action", "reward", "first", "terminal"))
                self._record_update("updates_b", self.b.update(*fields))

    @torch.inference_mode()
    def b_input(self, obs: Tensor) -> Tensor:
        """What B sees of observations (N, ...): A's stable embedding, or the raw frames."""
        return obs if self.a is None else self.a.embed(obs)

    # --- Inside -------------------------------------------------------------------------------
    def _sanitized(self, obs: np.ndarray) -> np.ndarray:
        """NaN or infinite observations become 0 (and are counted) before anything sees them."""
        if math.isfinite(float(obs.sum())):  # one reduction: cheaper than isfinite(obs).all()
            return obs
        self.counters["sanitized"] += 1
        return np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)

    def _perceive(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.obs = obs
        teacher = info.get("teacher")
        self.teacher_source = None if teacher is None else str(teacher.get("source", "teacher"))
        if teacher is None:
            self.teacher_action = None
        elif "follow" in teacher or "action" in teacher:
            # A teacher in the same world is followed; one demonstrating in a copy is imitated.
            self.teacher_action = int(teacher.get("follow", teacher.get("action")))
        else:
            self.teacher_action = self._infer_action(obs, teacher.get("next_obs"))

    def _infer_action(self, obs: np.ndarray, next_obs: Any) -> int | None:
        """A teacher showed what happened, not what it did: A's inverse dynamics infers the
        action (latent actions), copied only when A is confident enough."""
        if self.a is None or next_obs is None:
            return None
        pair = [
            torch.as_tensor(np.asarray(o), device=self.device).unsqueeze(0) for o in (obs, next_obs)
        ]
        with torch.inference_mode():
            action, confidence = self.a.infer_action(*pair)
        return int(action[0]) if float(confidence[0]) >= self.genome.infer_confidence else None

    def _measure_prediction(self) -> None:
        """A's error and disagreement on the newest transitions: fresh data, not replay."""
        k = MEASURE_WINDOW + 1
        if self.a is None or len(self.memory) < k:
            return
        recent = self.memory.latest(k)
        first = recent["first"][0]
        start = int(np.flatnonzero(first)[-1]) if first.any() else 0  # stay within one stream
        if k - start < 2:
            return
        obs = torch.as_tensor(recent["obs"][0, start:], device=self.device)
        action = torch.as_tensor(recent["action"][0, start:], device=self.device)
        for error, disagreement, copy_last in zip(*self.a.telemetry(obs, action), strict=True):
            self.telemetry.on_prediction(error, disagreement, copy_last)

    def _learn(self, route: Route) -> None:
        if not self.memory.can_sample(self.sequence_length):
            return
        self.counters["learn_steps"] += 1
        measured = self.utilities if self.counters["learn_steps"] % UTILITY_EVERY == 0 else []
        for utility, _ in measured:
            utility.attach()
        try:
            self._update(route)
        finally:
            for utility, _ in measured:
                utility.detach()

    def _update(self, route: Route) -> None:
        """One learning step: a batch of remembered sequences, A's update, B's update."""
        g = self.genome
        batch = self.memory.sample(g.batch_size, self.sequence_length, self.meta.recent_fraction)
        obs = torch.as_tensor(batch["obs"], device=self.device)
        action = torch.as_tensor(batch["action"], device=self.device)
        first = torch.as_tensor(batch["first"], device=self.device)
        rewards = torch.as_tensor(batch["reward"], device=self.device)
        a_learns = (
            self.a is not None and route.a_learns and self.counters["learn_steps"] % g.a_every == 0
        )
        bonus = self.a is not None and route.b_learns and self.meta.intrinsic_weight > 0
        # A's targets and the curiosity bonus need every frame embedded: one pass, shared with B.
        # B alone reads two frames a sequence and embeds only those (`values_and_targets`).
        z = self.a.embed_sequences(obs) if a_learns or bonus else None
        if a_learns:
            alive = torch.cumprod(1.0 - first[:, 1:].float(), dim=1)
            self._record_update("updates_a", self.a.update(obs, action, alive, z, rewards))
        if route.b_learns:
            n = g.n_step + 1
            size = obs.shape[0]
            if z is not None:
                frames, encode = z[:, :n], None
            else:  # B's own encoder (no A), or A's embedding of the frames B reads
                frames, encode = obs[:, :n], None if self.a is None else self.a.embed
            reward = self.extrinsic_weight * rewards[:, :n]  # a new tensor: the bonus adds to it
            if bonus:
                novelty = self.a.disagreement(z[:, : n - 1].flatten(0, 1), action[:, 1:n].flatten())
                novelty = novelty / (novelty.mean() + 1e-8)
                reward[:, 1:] += self.meta.intrinsic_weight * novelty.view(size, n - 1)
            terminal = torch.as_tensor(batch["terminal"][:, :n], device=self.device)
            weight = self._trust_weights(batch["source"][:, 1])
            info = self.b.update(
                frames, action[:, :n], reward, first[:, :n], terminal, weight, encode
            )
            self._record_update("updates_b", info)
            if info is not None:
                self.telemetry.on_value(info["b_value_error"], info["b_value"])

    def _trust_weights(self, source: np.ndarray) -> Tensor | None:
        """Per sequence: 1 for the agent's own action, its current trust for a teacher's lead.

        Looked up when replayed, not when stored, so a teacher who turns out unreliable loses
        the weight of everything already learned from it."""
        if not self.sources or (source < 0).all():
            return None
        trust = np.array([self.telemetry.trust_in(name) for name in self.sources] + [1.0])
        return torch.as_tensor(trust[source], dtype=torch.float32, device=self.device)

    def _intervene(self) -> None:
        """M's plasticity command: reset the least useful units, boost the learning rates."""
        self.counters["interventions"] += 1
        g = self.genome
        if self.meta.plasticity:
            for utility, optimizer in self.utilities:
                reinitialize_units(
                    utility.module,
                    optimizer,
                    g.reinit_fraction,
                    utility,
                    maturity=UNIT_MATURITY,
                    generator=self.model_rng,
                )
        if self.meta.lr_boost > 1.0:
            for boost in self.boosts.values():
                boost.start(self.meta.lr_boost, g.boost_duration)

    def _record_update(self, counter: str, info: dict[str, float] | None) -> None:
        """Count an update, or a skipped one (non-finite loss), which M hears of as a fault."""
        self.telemetry.on_update(skipped=info is None)
        if info is None:
            self.counters["skipped_updates"] += 1
        else:
            self.losses.update(info)
            self.counters[counter] += 1
            self.boosts[counter].step()

    # --- Checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "a": None if self.a is None else self.a.state_dict(),
            "a_optimizer": None if self.a is None else self.a.optimizer.state_dict(),
            "b": self.b.state_dict(),
            "b_optimizer": self.b.optimizer.state_dict(),
            "memory": self.memory.state_dict(),
            "telemetry": self.telemetry.state_dict(),
            "controller": self.controller.state_dict(),
            "rng": self.rng.bit_generator.state,
            "model_rng": self.model_rng.get_state(),
            "utilities": [utility.state_dict() for utility, _ in self.utilities],
            "boosts": {name: boost.state_dict() for name, boost in self.boosts.items()},
            "sources": list(self.sources),
            "counters": dict(self.counters),
            "losses": dict(self.losses),
            "obs": self.obs,
            "teacher_action": self.teacher_action,
            "teacher_source": self.teacher_source,
            "followed": self.followed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.a is not None:
            self.a.load_state_dict(state["a"])
            self.a.optimizer.load_state_dict(state["a_optimizer"])
        self.b.load_state_dict(state["b"])
        self.b.optimizer.load_state_dict(state["b_optimizer"])
        self.memory.load_state_dict(state["memory"])
        self.telemetry.load_state_dict(state["telemetry"])
        self.controller.load_state_dict(state["controller"])
        self.meta = self.controller.action_for(self.controller.mode, self.controller.rule)
        self.rng.bit_generator.state = state["rng"]
        self.model_rng.set_state(state["model_rng"])
        for (utility, _), saved in zip(self.utilities, state["utilities"], strict=True):
            utility.load_state_dict(saved)
        for name, boost in self.boosts.items():
            boost.load_state_dict(state["boosts"][name])
        self.sources = [str(name) for name in state["sources"]]
        self.counters = {name: int(state["counters"][name]) for name in COUNTERS}
        self.losses = {name: float(value) for name, value in state["losses"].items()}
        self.obs = state["obs"]
        self.teacher_action = state["teacher_action"]
        self.teacher_source = state["teacher_source"]
        self.followed = state["followed"]
