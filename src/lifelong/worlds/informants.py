"""``messages``: informants of chosen reliability who say which action to take, which food is
good this season, or where the predator is.

What the sources say is chosen by ``says`` (one kind per wrapper; stack two wrappers, with
sources of distinct names, for two kinds):

- ``says=go`` (the default): any world that knows the right action at each step, from an oracle
  it declares (an ``oracle_action()`` method, e.g. the bandit's best arm; with ``advice=oracle``
  also a ``scripted_oracle()``, the Nursery's forager) or from a teacher in ``info`` (its
  ``follow`` move, or its shown ``action``), becomes one in which each source says
  ``("go", "<action>")``;
- ``says=food`` (the Nursery): each source names one of the two foods, drawn at random, and
  says whether it is nutritious this season, ``("food_a", "good")`` or ``("food_b", "bad")``;
  the season (``info["shift"]`` bit 0) is not in the agent's observation, so this is exactly
  what an agent without a teacher lacks;
- ``says=predator`` (a Nursery with a predator): ``("predator", "<direction>")``, the direction
  (up, right, down, left) of the larger of the predator's offsets from the agent
  (``info["predator_offset"]``).

Every message travels in ``info["messages"]`` (the channel is described in
``lifelong/worlds/messages.py``), truthfully or not, as the source's kind says:

=============  =================================================================================
kind           what it says
=============  =================================================================================
``reliable``   always the truth (the right action, the food's worth, the predator's direction)
``noisy``      the truth with probability ``p`` (default 0.5), else a uniform value (which may be
               right by chance)
``liar``       a wrong value, uniform among the others (for food: the opposite of the truth)
``turncoat``   reliable until world step ``at`` (default ``turn``, 5000), a liar from then on
=============  =================================================================================

``sources=reliable|noisy|liar`` names several (``noisy(p=0.8)``, ``turncoat(at=2000)`` and
``name=...`` set one source's own); a kind named twice is numbered (``liar``, ``liar_2``).
Each source speaks with probability ``speak`` at a step where the truth is known, and is
silent where it is not (a teacher out of view, the predator on the agent's cell). The truth is
recorded for metrics and for the oracle agent only: ``info["message_truth"]`` holds, per source,
the probability that what it says at this step is right (1 for reliable, ``p + (1 - p) / n`` for
noisy among n values, 0 for a liar, and the turncoat's as of now; stacked wrappers merge theirs).
The wrapper declares its words in ``message_vocabulary`` and, for claims about objects, their
forms in ``message_subjects`` (``{"food_a": ("good", "bad"), ...}``), added to the inner world's.

Why on top of an oracle or a teacher rather than built into each world: the informants' truth
must be known exactly, to measure how well an agent's trust tracks it; a world that already
knows the right action gives that for free, and so every such world gets informants.

The coins are drawn from the wrapper's own generator (salted with its name, so it draws
independently of other wrappers given one seed); ``state_dict`` holds its state and the step
count, so a restored world says the very same things.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from lifelong.errors import UserError
from lifelong.worlds.messages import (
    DIRECTIONS,
    MESSAGES,
    TRUTH,
    WORTH,
    action_vocabulary,
    advice,
    claim,
    subjects_of,
    vocabulary_of,
)
from lifelong.worlds.nursery import Nursery
from lifelong.worlds.params import discrete, positive_int, probability
from lifelong.worlds.spec import WorldSpec, parse_spec
from lifelong.worlds.state import inner_state, load_inner_state, restore_rng, rng_state, salted_rng

KINDS = ("reliable", "noisy", "liar", "turncoat")
ADVICE = ("auto", "oracle", "teacher")
SAYS = ("go", "food", "predator")
FOODS = Nursery.CHANNELS[1:3]  # ("food_a", "food_b"): info["shift"] bit 0 names the good one
PREDATOR = "predator"
_SOURCE_PARAMS = {"reliable": ("name",), "noisy": ("p", "name"), "liar": ("name",)}
_SOURCE_PARAMS["turncoat"] = ("at", "name")


class _Source:
    """One informant: its name, kind and own parameters."""

    __slots__ = ("at", "kind", "name", "p")

    def __init__(self, name: str, kind: str, p: float, at: int) -> None:
        self.name, self.kind, self.p, self.at = name, kind, p, at

    def lies(self, step: int) -> bool:
        return self.kind == "liar" or (self.kind == "turncoat" and step >= self.at)

    def reliability(self, step: int, n_values: int) -> float:
        """The probability that what it says at `step` is right, among `n_values` values."""
        if self.kind == "noisy":
            return self.p + (1.0 - self.p) / n_values
        return 0.0 if self.lies(step) else 1.0

    def says(self, step: int, right: int, n: int, coin: float, pick: float) -> int:
        """The value (an index below `n`) it says where `right` is the truth, by two draws."""
        if self.lies(step):
            return (right + 1 + int(pick * (n - 1))) % n  # any value but the right one
        if self.kind == "noisy" and coin >= self.p:
            return int(pick * n)
        return right


def _entries(sources: Any) -> list[tuple[str, dict[str, Any]]]:
    """(kind, params) per source from a spec's value: ``liar``, ``[reliable;liar]``,
    ``reliable|noisy(p=0.8)`` (parsed as world specs) or, from YAML, names and
    ``{kind: {param: value}}`` mappings."""
    items = sources if isinstance(sources, list | tuple) else [sources]
    entries: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, WorldSpec) and not item.wrappers:
            entries.append((item.base.name, dict(item.base.params)))
        elif isinstance(item, str) and item:
            try:
                parsed = parse_spec(item)  # one source alone is not split by '|': "turncoat(at=9)"
            except UserError:
                parsed = None
            if parsed is None or parsed.wrappers:
                raise UserError(
                    f"messages: source {item!r} is invalid; allowed: {', '.join(KINDS)}"
                )
            entries.append((parsed.base.name, dict(parsed.base.params)))
        elif isinstance(item, dict) and len(item) == 1:
            ((kind, params),) = item.items()
            entries.append((str(kind), dict(params or {})))
        else:
            raise UserError(
                f"messages: source {str(item)!r} is invalid; allowed: {', '.join(KINDS)}"
                " (e.g. sources=reliable|noisy(p=0.8)|liar|turncoat(at=2000))"
            )
    if not entries:
        raise UserError(f"messages: sources is empty; allowed: one or more of {', '.join(KINDS)}")
    return entries


class Informants(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Sources of chosen reliability in ``info["messages"]``, saying what ``says`` names; see
    the module docstring. Advice (``says=go``) needs discrete actions: it names one action."""

    def __init__(
        self,
        env: gym.Env,
        sources: Any = "reliable",
        p: float = 0.5,
        turn: int = 5000,
        speak: float = 1.0,
        advice: str = "auto",
        teacher: str | None = None,
        says: str = "go",
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            sources=sources,
            p=p,
            turn=turn,
            speak=speak,
            advice=advice,
            teacher=teacher,
            says=says,
        )
        gym.Wrapper.__init__(self, env)
        self.says = _says(env, says)
        self.message_subjects = subjects_of(env) or {}
        if self.says == "go":
            self._init_advice(env, advice, teacher)
            words = action_vocabulary(self.n_actions)
        elif self.says == "food":
            self.message_subjects = {**self.message_subjects, **dict.fromkeys(FOODS, WORTH)}
            words = (*FOODS, *WORTH)
        else:
            self.message_subjects = {**self.message_subjects, PREDATOR: DIRECTIONS}
            words = (PREDATOR, *DIRECTIONS)
        p = probability("messages", "p", p)
        turn = positive_int("messages", "turn", turn)
        self.speak = probability("messages", "speak", speak)
        self.sources = self._sources(_entries(sources), p, turn)
        inner = vocabulary_of(env) or ()
        self.message_vocabulary = tuple(dict.fromkeys((*inner, *words)))
        self._rng = salted_rng(None, "messages")
        self._steps = 0  # world steps of this life, across episodes: the turncoat's clock

    def _init_advice(self, env: gym.Env, advice: str, teacher: str | None) -> None:
        """Where advice comes from (``says=go``): the world's oracle or a teacher in view."""
        self.n_actions = int(discrete("messages", env.action_space, "advice").n)
        self.start = int(env.action_space.start)
        if advice not in ADVICE:
            raise UserError(f"messages: advice={advice!r} is invalid; allowed: {', '.join(ADVICE)}")
        self.oracle = _oracle_of(env)
        if advice == "oracle" and self.oracle is None:
            self.oracle = _scripted_oracle_of(env)
            if self.oracle is None:
                raise UserError(
                    "messages: advice='oracle' needs a world with an oracle_action() (the bandit)"
                    f" or a scripted_oracle() (the Nursery); {type(env.unwrapped).__name__} has"
                    " none: use advice=teacher"
                )
        self.advice = "oracle" if advice == "auto" and self.oracle is not None else advice
        if self.advice == "auto":
            self.advice = "teacher"
        if teacher is not None and (not isinstance(teacher, str) or not teacher):
            raise UserError(f"messages: teacher={teacher!r} is invalid; allowed: a teacher's name")
        self.teacher = teacher

    def _sources(self, entries: list[tuple[str, dict[str, Any]]], p: float, turn: int) -> list:
        sources: list[_Source] = []
        for kind, params in entries:
            if kind not in KINDS:
                raise UserError(f"messages: unknown source {kind!r}; allowed: {', '.join(KINDS)}")
            for key in params:
                if key not in _SOURCE_PARAMS[kind]:
                    allowed = ", ".join(_SOURCE_PARAMS[kind])
                    raise UserError(
                        f"messages: unknown parameter {key!r} of source {kind!r};"
                        f" allowed: {allowed}"
                    )
            name = params.get("name")
            if name is None:
                count = sum(1 for s in sources if s.kind == kind)
                name = kind if count == 0 else f"{kind}_{count + 1}"
            if not isinstance(name, str) or not name or any(s.name == name for s in sources):
                raise UserError(f"messages: source name={name!r} is invalid or used twice")
            own_p = probability("messages", f"{kind}'s p", params.get("p", p))
            at = positive_int("messages", f"{kind}'s at", params.get("at", turn))
            sources.append(_Source(name, kind, own_p, at))
        return sources

    # --- What is right, and what each source says about it -----------------------------------
    def _right(self, info: dict[str, Any]) -> int | None:
        """The right action for the step to come, or None where nobody knows it."""
        if self.advice == "oracle":
            return int(self.oracle())
        shown = info.get("teacher")
        if self.teacher is not None:
            shown = next((t for t in info.get("teachers", ()) if t["source"] == self.teacher), None)
        if shown is None:
            return None
        action = shown.get("follow", shown.get("action"))
        return None if action is None else int(action)

    def _speak(self, info: dict[str, Any]) -> dict[str, Any]:
        count, width = len(self.sources), 4 if self.says == "food" else 3
        # Per source: speaks, is right (noisy), which value, and for food which food.
        draws = self._rng.random(width * count)
        step, n = self._steps, self._values()
        truth = {s.name: s.reliability(step, n) for s in self.sources}
        info[TRUTH] = {**info[TRUTH], **truth} if isinstance(info.get(TRUTH), dict) else truth
        known = self._known(info)
        if known is None:  # nobody knows the truth this step: every source is silent
            return info
        said = []
        for index, source in enumerate(self.sources):
            speaks, coin, pick, *which = draws[width * index : width * (index + 1)]
            if speaks >= self.speak:
                continue
            if self.says == "go":
                action = source.says(step, known, n, coin, pick)
                said.append(advice(source.name, action + self.start))
            elif self.says == "food":
                food = int(which[0] * len(FOODS))  # the food it names, drawn
                right = 0 if food == known else 1  # WORTH = (good, bad)
                worth = WORTH[source.says(step, right, n, coin, pick)]
                said.append(claim(source.name, FOODS[food], worth))
            else:
                where = DIRECTIONS[source.says(step, known, n, coin, pick)]
                said.append(claim(source.name, PREDATOR, where))
        heard = info.get(MESSAGES)
        info[MESSAGES] = said if heard is None else [*heard, *said]
        return info

    def _known(self, info: dict[str, Any]) -> int | None:
        """The truth this step, as an index: the right action (from 0), the good food in FOODS,
        the predator's direction in DIRECTIONS; None where it is not known."""
        if self.says == "go":
            right = self._right(info)
            return None if right is None else right - self.start
        if self.says == "food":
            return int(info["shift"]) & 1 if "shift" in info else None
        return _direction(info.get("predator_offset"))

    def _values(self) -> int:
        """How many values a claim of this wrapper chooses among (actions, worths, directions)."""
        return {"go": getattr(self, "n_actions", 0), "food": len(WORTH)}.get(
            self.says, len(DIRECTIONS)
        )

    # --- The Gymnasium interface --------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # a new life: the sources' coins and the turncoat's clock restart
            self._rng = salted_rng(seed, "messages")
            self._steps = 0
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._speak(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        return obs, reward, terminated, truncated, self._speak(info)

    def reliabilities(self) -> dict[str, float]:
        """Each source's true reliability now (for metrics and the oracle agent)."""
        return {s.name: s.reliability(self._steps, self._values()) for s in self.sources}

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": rng_state(self._rng),
            "steps": self._steps,
            "inner": inner_state(self.env),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        restore_rng(self._rng, state["rng"])
        self._steps = int(state["steps"])
        load_inner_state(self.env, state["inner"])


def _oracle_of(env: gym.Env) -> Any:
    """The world's ``oracle_action`` (searched through its wrappers), or None."""
    try:
        found = env.get_wrapper_attr("oracle_action")
    except AttributeError:
        return None
    return found if callable(found) else None


def _scripted_oracle_of(env: gym.Env) -> Any:
    """The policy of the world's ``scripted_oracle()`` (the Nursery's forager, which reads the
    world afresh at each call and draws nothing), or None."""
    try:
        make = env.get_wrapper_attr("scripted_oracle")
    except AttributeError:
        return None
    return make() if callable(make) else None


def _says(env: gym.Env, says: Any) -> str:
    """The kind of claim asked for, checked against what the world can tell."""
    if isinstance(says, WorldSpec) and not says.wrappers and not says.base.params:
        says = says.base.name
    if says not in SAYS:
        raise UserError(
            f"messages: says={says!r} is invalid; allowed: one of {', '.join(SAYS)}"
            " (stack two messages(...) wrappers for two kinds)"
        )
    world = env.unwrapped
    if says != "go" and not isinstance(world, Nursery):
        raise UserError(
            f"messages: says={says} needs the Nursery (whose info tells the season's food and"
            f" where the predator is); {type(world).__name__} tells neither: use says=go"
        )
    if says == PREDATOR and not world.predator:
        raise UserError("messages: says=predator needs a Nursery with a predator (predator=True)")
    return says


def _direction(offset: Any) -> int | None:
    """The index in DIRECTIONS of the larger of an offset's axes (None for none, or here)."""
    if offset is None or offset == (0, 0):
        return None
    dy, dx = offset
    if abs(dy) >= abs(dx):
        return 2 if dy > 0 else 0  # down, up
    return 1 if dx > 0 else 3  # right, left
