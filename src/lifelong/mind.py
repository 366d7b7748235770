"""The A-B-M mind: Systems A and B around one episodic memory and one shared encoder.

The body (`agent.py`) owns the tick and tells the mind what M decided; the mind acts (B's policy
or PLAN in A's model), stores what the world returned, and learns when the schedule says so,
awake (`observe`), asleep (`sleep`: replay) or imagining (`imagine`: rollouts of A's model).
Everything M decides reaches it as the mode's `Route` and the numbers of the `MetaAction`.

One learning step (`_update`) trains the encoder A and B share with one backward pass through
B's TD loss plus A's world-model loss; see docs/architecture.md for its data flow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from lifelong.actions import ActionKind
from lifelong.agent import Birth
from lifelong.augment import random_shift
from lifelong.errors import UserError
from lifelong.memory import Memory
from lifelong.modes import ROUTES, Mode, Route
from lifelong.plasticity import (
    LearningRateBoost,
    UnitUtility,
    reinitialize_units,
    shrink_and_perturb,
)
from lifelong.systems.action import NStep, SystemB, draw
from lifelong.systems.continuous_action import ContinuousB
from lifelong.systems.control import MetaAction
from lifelong.systems.observation import (
    SystemA,
    make_encoder,
    scale_gradient,
    world_model_loss,
)
from lifelong.systems.planning import imagine, plan, plan_continuous

# A's error on fresh experience is measured in windows of this many transitions: one batched
# pass is far cheaper than one per step, and M's signals still see every transition.
MEASURE_WINDOW = 32
# A's error on replay is measured on `REPLAY_ROWS` sequences of every `REPLAY_EVERY`th batch: one
# pass a few times larger costs about what one per batch would, a pass's overhead dominating.
REPLAY_ROWS, REPLAY_EVERY = 16, 4
# Hidden units' utilities (plasticity) are measured on the batches of one learning step in this
# many: a training batch averages 64 sequences where an acting pass sees one frame, and hooks
# that run on every forward pass cost about a sixth of the agent's time.
UTILITY_EVERY = 4
# A unit is judged once measured this often (100 learning steps, continual backprop's maturity).
UNIT_MATURITY = 100 // UTILITY_EVERY
# The layout of the mind's networks and optimisers in a checkpoint. 2: B's optimiser steps the
# shared encoder and B keeps its own target of it (issue 26); lives saved at 1 cannot load.
LEARNER_VERSION = 2


def updates_due(step: int, replay_ratio: float) -> int:
    """Learning steps after world step `step` (1, 2, ...) at `replay_ratio` updates per world
    step: floor(step x ratio) - floor((step - 1) x ratio), so any ratio, 1/8 (one update every
    8 steps) or 2 (two per step), is met exactly on average and without state to save. Rounded
    first, so that 10 x 0.1 counts as 1 and not as 0.9999999999999999."""
    return math.floor(round(step * replay_ratio, 9)) - math.floor(
        round((step - 1) * replay_ratio, 9)
    )


class ABMMind:
    """Systems A and B and their memory. Baselines build it without A (`world_model=False`),
    without curiosity, or blind to the world's reward (`agents.py`)."""

    def __init__(
        self,
        birth: Birth,
        world_model: bool = True,
        curious: bool = True,
        extrinsic_weight: float = 1.0,
    ) -> None:
        """Without a `world_model` (System A) B learns on raw observations through its own
        encoder (the model-free baseline); without `curious` B keeps no curiosity value (A's
        disagreement) for EXPLORE to act on. `extrinsic_weight` weighs the world's reward in B's
        learning signal: 0 for an agent driven by curiosity only."""
        if not isinstance(birth.observation_space, gym.spaces.Box):
            raise ValueError(
                f"the agent needs a Box observation space, got {birth.observation_space}"
            )
        genome, seed = birth.genome, birth.seed
        self.genome = genome
        self.telemetry, self.counters = birth.telemetry, birth.counters
        self.actions: ActionKind = birth.actions
        self.curious, self.extrinsic_weight = curious, extrinsic_weight
        self.device = torch.device(birth.device)
        obs_shape = tuple(birth.observation_space.shape)
        continuous, width = self.actions.continuous, self.actions.width
        torch.manual_seed(seed)
        self.a = (
            SystemA(obs_shape, width, genome, continuous).to(self.device) if world_model else None
        )
        if self.a is not None:
            encoder = self.a.encoder  # shared: B's TD loss and A's losses both shape it
        else:
            encoder = make_encoder(obs_shape, genome.latent_dim, genome.hidden_dim)
        if continuous:
            self.b = ContinuousB(width, genome, encoder, self.device).to(self.device)
        else:
            self.b = SystemB(width, genome, encoder).to(self.device)
        # M's learning-rate boosts, one per optimiser, stepped with the update counted for it
        # (`_record_update`): B's optimiser, the encoder's too, steps at every learning step,
        # A's only on A's steps, so a boost set for N updates lasts N steps of its weights.
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
            action_shape=self.actions.shape,
        )
        self.utilities = self._unit_trackers(obs_shape) if birth.track_units else []
        self.rng = np.random.default_rng(seed)
        # Sampling inside A's model (planning, imagining) has its own stream, saved with the life.
        self.model_rng = torch.Generator(device=self.device).manual_seed(seed)
        self.losses: dict[str, float] = {}
        self.sources: list[str] = []  # teachers ever followed; memory stores their index
        self.plan_warm: Tensor | None = None  # the last continuous plan (H, d), while planning

    def _unit_trackers(self, obs_shape: tuple[int, ...]) -> list[tuple[UnitUtility, Any]]:
        """Plasticity (plasticity.py): forward hooks keep every hidden unit's utility, so M's
        intervention after a change can reset the least useful ones. Built only for a
        controller that can order one, and attached only while `_learn` measures them."""
        example = torch.zeros((1, *obs_shape), device=self.device)
        z = torch.zeros(1, self.genome.latent_dim, device=self.device)
        # An action as the networks read it: an index, or a vector in [-1, 1]^d.
        action = torch.as_tensor(self.actions.stored(None), device=self.device).unsqueeze(0)
        values_of = (z, action) if self.b.continuous else (z,)
        trackers = [
            (UnitUtility(self.b.q, values_of), self.b.optimizer),
            (UnitUtility(self.b.encoder, (example,)), self.b.optimizer),
        ]
        if self.a is not None:
            trackers.append((UnitUtility(self.a.predictor, (z, action)), self.a.optimizer))
        for utility, _ in trackers:
            utility.detach()
        return trackers

    # --- The verbs the body calls -------------------------------------------------------------
    def begin(self, obs: np.ndarray) -> None:
        """A new stream starts: remember its first frame."""
        self.memory.add(obs, self.actions.stored(None), 0.0, first=True)

    def act(
        self,
        obs: np.ndarray,
        meta: MetaAction,
        lead: Any = None,
        advice: Callable[[list[float]], list[float]] | None = None,
    ) -> Any:
        """The action for `obs` in the world's units: the body's `lead` where it has one (a
        teacher to follow), else PLAN's in A's model or a draw of B's policy.

        `advice` is the body's hook for what informants said (`advice.py`): B's action
        probabilities in, a policy shaped by a prior over actions out, drawn from with the same
        one uniform draw as B's own. Discrete B only; None (no messages) leaves B's draw as is."""
        warm, self.plan_warm = self.plan_warm, None  # a continuous plan continues only a plan
        if lead is not None:
            return lead
        z = self.b_input(torch.as_tensor(obs, device=self.device).unsqueeze(0))
        if ROUTES[meta.mode].acts_by == "planner" and self.a is not None:
            self.counters["plans"] += 1
            action, self.plan_warm = self.planned(z, warm)
            return action
        curiosity = meta.intrinsic_weight if self.curious else 0.0
        if advice is not None and not self.actions.continuous:
            probs = advice(self.b.policy(z, meta.temperature, curiosity))
            return self.actions.to_world(draw(probs, self.rng))
        u = self.b.choose(z, meta.temperature, curiosity, self.rng, self.model_rng)
        return self.actions.to_world(u)

    def planned(self, z: Tensor, warm: Tensor | None = None) -> tuple[Any, Tensor | None]:
        """PLAN's action in the world's units from latent z (1, D), and for continuous actions
        the plan to warm-start the next one from (MPPI; None for discrete actions)."""
        if self.actions.continuous:
            u, warm, _ = plan_continuous(self.a, self.b, z, self.genome, self.model_rng, warm)
            return self.actions.to_world(u.cpu().numpy()), warm
        return plan(self.a, self.b, z, self.genome, self.model_rng)[0], None

    @torch.inference_mode()
    def greedy(self, z: Tensor) -> Any:
        """The habit's own best action from latent z (1, D), in the world's units: the action
        B values most, or the actor's mean. What a saved agent teaches (`load_policy`)."""
        return self.actions.to_world(self.b.greedy(z))

    def observe(
        self, action: Any, obs: np.ndarray, reward: float, terminated: bool, followed: str | None
    ) -> bool:
        """Store a world step (`followed`: whose lead it took). Returns whether a change
        detector of the mind's own fired: never, M's detector reads the telemetry."""
        source = -1
        if followed is not None:
            if followed not in self.sources:
                self.sources.append(followed)
            source = self.sources.index(followed)
        self.memory.add(
            obs,
            self.actions.stored(action),
            reward,
            first=False,
            terminal=terminated,
            source=source,
        )
        return False

    def learn(self, meta: MetaAction) -> None:
        """After the body counted a world step: measure A's error on every `MEASURE_WINDOW`
        fresh transitions, and take the learning steps the replay ratio has come to."""
        steps = self.counters["env_steps"]
        if steps % MEASURE_WINDOW == 0:
            self._measure_prediction()
        if steps >= self.genome.warmup and meta.learns:
            for _ in range(updates_due(steps, self.genome.replay_ratio)):
                self._learn(meta, ROUTES[meta.mode])

    def sleep(self, meta: MetaAction) -> None:
        """A tick without the world: replay consolidates A and B."""
        if self.counters["env_steps"] < self.genome.warmup or not meta.learns:
            return
        for _ in range(meta.updates):
            self._learn(meta, ROUTES[Mode.SLEEP])

    def imagine(self, meta: MetaAction) -> None:
        """A tick without the world: B learns from rollouts of A's model started at remembered
        states where A is sure of itself (`planning.imagine`)."""
        g = self.genome
        if self.a is None or self.counters["env_steps"] < g.warmup or not meta.learns:
            return
        if not self.memory.can_sample(1):
            return
        for _ in range(meta.updates):
            frames = self.memory.sample(g.imagine_batch, 1, 0.5)["obs"][:, 0]  # start states only
            with torch.no_grad():
                start = self.a.encoder(torch.as_tensor(frames, device=self.device))
            dream = imagine(self.a, self.b, start, g, self.model_rng)
            kept = int(dream["keep"].sum())
            self.counters["imagined_kept"] += kept
            if kept:  # an empty batch would still move Adam's momentum
                keep = dream["keep"]
                info = self.b.learn_imagined(
                    dream["z"][keep], dream["action"][keep], dream["target"][keep], dream["scale"]
                )
                self._record_update("updates_b", info)

    def intervene(self, meta: MetaAction) -> None:
        """M's plasticity command: reset the least useful units, boost the learning rates."""
        g = self.genome
        if meta.plasticity:
            for utility, optimizer in self.utilities:
                reinitialize_units(
                    utility.module,
                    optimizer,
                    g.reinit_fraction,
                    utility,
                    maturity=UNIT_MATURITY,
                    generator=self.model_rng,
                )
        if meta.lr_boost > 1.0:
            for boost in self.boosts.values():
                boost.start(meta.lr_boost, g.boost_duration)

    def infer_action(self, obs: np.ndarray, next_obs: Any) -> Any:
        """A teacher showed what happened, not what it did: A's inverse dynamics infers the
        action (latent actions), copied only when A is confident enough (None otherwise)."""
        if self.a is None or next_obs is None:
            return None
        pair = [
            torch.as_tensor(np.asarray(o), device=self.device).unsqueeze(0) for o in (obs, next_obs)
        ]
        with torch.inference_mode():
            action, confidence = self.a.infer_action(*pair)
        if float(confidence[0]) < self.genome.infer_confidence:
            return None
        return self.actions.to_world(action[0].cpu().numpy())

    @torch.inference_mode()
    def b_input(self, obs: Tensor) -> Tensor:
        """What B sees of observations (N, ...): the online latents of the encoder it reads."""
        return self.b.encoder(obs)

    # --- Learning -----------------------------------------------------------------------------
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
        self.telemetry.on_predictions(*self.a.telemetry(obs, action))

    def _measure_replay(self, batch: dict[str, Tensor]) -> None:
        """A's error on the first `REPLAY_ROWS` replayed sequences, before the update learns
        from them, in the units of `_measure_prediction`, on one learning step in
        `REPLAY_EVERY`: M compares the two to tell whether replay or the world is what learning
        lacks (`Telemetry.replay_need`). The rows go through A as one sequence (one pass, not
        one per row); the transitions that join two rows or cross a reset are dropped. Never
        on a step that measures units' utilities: their hooks must see its own passes only.
        Only where sleep waits on it (`sleep_rules` and `sleep_replay` 1): a clock, or no
        sleep at all, reads nothing of it, so the pass would be spent for nothing."""
        g, steps = self.genome, self.counters["learn_steps"]
        if self.a is None or not (g.sleep_rules and g.sleep_replay):
            return
        if steps % REPLAY_EVERY != 1 or steps % UTILITY_EVERY == 0:
            return
        obs, action = batch["obs"][:REPLAY_ROWS], batch["action"][:REPLAY_ROWS]
        errors, _, copy_last = self.a.telemetry(obs.flatten(0, 1), action.flatten(0, 1))
        if not errors:
            return
        starts = batch["first"][:REPLAY_ROWS].clone()
        starts[:, 0] = True  # a row's first frame follows nothing in the row before it
        kept = (~starts.flatten()[1:]).tolist()
        self.telemetry.on_replay_predictions(
            [e for e, k in zip(errors, kept, strict=True) if k],
            [c for c, k in zip(copy_last, kept, strict=True) if k],
        )

    def _learn(self, meta: MetaAction, route: Route) -> None:
        if not self.memory.can_sample(self.sequence_length):
            return
        self.counters["learn_steps"] += 1
        steps = self.counters["learn_steps"]
        measured = self.utilities if steps % UTILITY_EVERY == 0 else []
        for utility, _ in measured:
            utility.attach()
        try:
            self._update(meta, route)
        finally:
            for utility, _ in measured:
                utility.detach()
        if self.genome.reset_every and steps % self.genome.reset_every == 0:
            self._reset_b()

    def _reset_b(self) -> None:
        """B's periodic reset (SR-SPR, BBF): its heads drawn afresh, the encoder it reads shrunk
        towards a fresh draw (`reset_shrink` of it kept), their optimiser moments forgotten.
        The EMA targets are left alone: returns keep bootstrapping from what B knew, so the
        fresh heads relearn it fast, without the primacy bias of the first data they fit."""
        b, shrink = self.b, self.genome.reset_shrink
        heads = [b.q, b.q_int, *([b.actor] if b.continuous else [])]
        optimizers = [b.optimizer, *([b.actor_optimizer] if b.continuous else [])]
        for head in heads:
            shrink_and_perturb(head, 0.0, 1.0, self.model_rng)
        shrink_and_perturb(b.encoder, shrink, 1.0 - shrink, self.model_rng)
        for module in [*heads, b.encoder]:
            for param in module.parameters():
                for optimizer in optimizers:
                    optimizer.state.pop(param, None)

    def _update(self, meta: MetaAction, route: Route) -> None:
        """One learning step: B's TD loss and A's world-model loss (`loss_on`), one backward
        pass, both optimisers, then the EMA targets."""
        g = self.genome
        a_learns = (
            self.a is not None and route.a_learns and self.counters["learn_steps"] % g.a_every == 0
        )
        batch = self.sample(meta)
        loss, info, z0 = self.loss_on(batch, a_learns)
        self._measure_replay(batch)
        if not torch.isfinite(loss).item():  # a poisoned batch must not reach the weights
            self._record_update("updates_b", None)
            return
        optimizers = [self.b.optimizer] if self.a is None else [self.a.optimizer, self.b.optimizer]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        self.b.update_targets()
        info.update(self.b.learn_policy(z0))  # a continuous B's actor; nothing for a discrete B
        if "b_intrinsic_spread" in info:
            self.b.track_intrinsic_scale(info["b_intrinsic_spread"])
        if self.a is not None:
            self.a.update_target(self.b.target_encoder if g.shared_target else None)
        if a_learns:
            self._record_update("updates_a", info)
        self._record_update("updates_b", info)
        self.telemetry.on_value(info["b_value_error"], info["b_value"])

    def sample(self, meta: MetaAction) -> dict[str, Tensor]:
        """A batch of `batch_size` sequences from memory, as M's replay mix asks, as tensors."""
        g = self.genome
        batch = self.memory.sample(
            g.batch_size, self.sequence_length, meta.recent_fraction, meta.half_life
        )
        keys = ("obs", "action", "first", "reward", "terminal")
        tensors = {key: torch.as_tensor(batch[key], device=self.device) for key in keys}
        if g.augment and tensors["obs"].dim() == 5:  # (B, L, H, W, C): sequences of images
            tensors["obs"] = random_shift(tensors["obs"], g.augment, self.model_rng)
        return tensors

    def loss_on(
        self, batch: dict[str, Tensor], a_learns: bool, keep: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, dict[str, float], Tensor]:
        """The learning step's loss on a batch: (loss, info, z0 the online latents of frame 0).

        Both losses reach the shared encoder through z0. Targets come from copies without
        gradient: B bootstraps from its EMA targets (of the encoder and the twins, the same in
        every agent), A predicts the latents of its own target encoder. With `a_learns` A's loss
        joins, and so do B's values on A's predicted latents and the curiosity head, which read
        A's target latents. Given a dict `keep`, each weighted term is put in it with its graph
        (`benchmarks/encoder_gradients.py`: what each term asks of the encoder).
        """
        g = self.genome
        obs, action, first = batch["obs"], batch["action"], batch["first"]
        rewards, terminal = batch["reward"], batch["terminal"]
        n = g.n_step + 1
        size = obs.shape[0]
        steps = NStep.of(first[:, :n], terminal[:, :n], g.gamma)  # shared by every return
        rows = torch.arange(size, device=self.device)
        values_on_predictions = a_learns and g.predicted_value_weight > 0
        with torch.no_grad():
            if a_learns and g.shared_target:  # one slow target for both (SPR): every frame
                target = self.b.target_encoder(obs.flatten(0, 1)).view(*obs.shape[:2], -1)
                b_target, z_last = target[:, 1:], target[rows, steps.last]
            else:
                if a_learns:  # every frame: A's targets
                    target = self.a.embed_sequences(obs)
                if values_on_predictions:  # B's target latents of every later frame, once
                    later = obs[:, 1:]
                    b_target = self.b.target_encoder(later.flatten(0, 1))
                    b_target = b_target.view(*later.shape[:2], -1)
                    z_last = b_target[rows, steps.last - 1]  # what B bootstraps from
                else:  # only the frame B bootstraps from
                    z_last = self.b.target_encoder(obs[rows, steps.last])
        z0 = self.b.encoder(obs[:, 0])
        loss, info = self.b.extrinsic_loss(
            z0,
            z_last,
            action[:, 1],
            self.extrinsic_weight * rewards[:, :n],
            steps,
        )
        if keep is not None:
            keep["td"] = loss
        if a_learns:
            alive = torch.cumprod(1.0 - first[:, 1:].float(), dim=1)
            self.a.track_scale(target[:, 1:])
            terms: dict[str, Tensor] | None = None if keep is None else {}
            model_loss, a_info, predicted = world_model_loss(
                self.a,
                scale_gradient(z0, g.encoder_share),
                target,
                action,
                alive,
                rewards,
                g,
                keep_terms=terms,
            )
            if keep is not None:
                keep.update({f"a_{name}": g.model_weight * term for name, term in terms.items()})
            info.update(a_info)
            loss = loss + g.model_weight * model_loss
            if values_on_predictions:  # 0 in a continuous newborn: not computed at all
                horizon = predicted.shape[2]
                value_loss, value_info = self.b.predicted_value_loss(
                    predicted.mean(dim=0), b_target[:, :horizon], alive[:, :horizon]
                )
                info.update(value_info)
                value_term = g.predicted_value_weight * value_loss
                if keep is not None:
                    keep["predicted_value"] = value_term
                loss = loss + value_term
            if self.curious:
                bonus = self.a.disagreement(
                    target[:, : n - 1].flatten(0, 1), action[:, 1:n].flatten(0, 1)
                ).view(size, n - 1)
                curiosity_loss, curiosity_info = self.b.intrinsic_loss(
                    z0, z_last, action[:, 1], bonus, steps
                )
                info.update(curiosity_info)
                if keep is not None:
                    keep["curiosity"] = curiosity_loss
                loss = loss + curiosity_loss
        return loss, info, z0

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
            "learner": LEARNER_VERSION,
            "a": None if self.a is None else self.a.state_dict(),
            "a_optimizer": None if self.a is None else self.a.optimizer.state_dict(),
            "b": self.b.state_dict(),
            "b_optimizer": self.b.optimizer.state_dict(),
            "memory": self.memory.state_dict(),
            "rng": self.rng.bit_generator.state,
            "model_rng": self.model_rng.get_state(),
            "utilities": [utility.state_dict() for utility, _ in self.utilities],
            "boosts": {name: boost.state_dict() for name, boost in self.boosts.items()},
            "sources": list(self.sources),
            "losses": dict(self.losses),
            "plan_warm": self.plan_warm,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state.get("learner", 1)
        if saved != LEARNER_VERSION:
            raise UserError(
                f"this life was saved by learner version {saved} and this lifelong has version"
                f" {LEARNER_VERSION} (its networks are laid out differently): start a new life,"
                " or continue this one with the lifelong release that began it"
            )
        if self.a is not None:
            self.a.load_state_dict(state["a"])
            self.a.optimizer.load_state_dict(state["a_optimizer"])
        self.b.load_state_dict(state["b"])
        self.b.optimizer.load_state_dict(state["b_optimizer"])
        self.memory.load_state_dict(state["memory"])
        self.rng.bit_generator.state = state["rng"]
        self.model_rng.set_state(state["model_rng"])
        for (utility, _), saved in zip(self.utilities, state["utilities"], strict=True):
            utility.load_state_dict(saved)
        for name, boost in self.boosts.items():
            boost.load_state_dict(state["boosts"][name])
        self.sources = [str(name) for name in state["sources"]]
        self.losses = {name: float(value) for name, value in state["losses"].items()}
        self.plan_warm = state.get("plan_warm")  # absent from lives saved before continuous plans
