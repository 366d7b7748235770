"""``messages``: informants of chosen reliability who say which action to take.

Any world that knows the right action at each step, from an oracle it declares (an
``oracle_action()`` method, e.g. the bandit's best arm) or from a teacher in ``info`` (its
``follow`` move, or its shown ``action``), becomes one in which sources speak: each says
``("go", "<action>")`` in ``info["messages"]`` (the channel is described in
``lifelong/worlds/messages.py``), truthfully or not, as its kind says:

=============  =================================================================================
kind           what it says
=============  =================================================================================
``reliable``   always the right action
``noisy``      the right action with probability ``p`` (default 0.5), else a uniform action (which
               may be right by chance)
``liar``       a wrong action, uniform among the others
``turncoat``   reliable until world step ``at`` (default ``turn``, 5000), a liar from then on
=============  =================================================================================

``sources=reliable|noisy|liar`` names several (``noisy(p=0.8)``, ``turncoat(at=2000)`` and
``name=...`` set one source's own); a kind named twice is numbered (``liar``, ``liar_2``).
Each source speaks with probability ``speak`` at a step where the right action is known, and is
silent where it is not (a teacher out of view). The truth is recorded for metrics and for the
oracle agent only: ``info["message_truth"]`` holds, per source, the probability that what it
says at this step is right (1 for reliable, ``p + (1 - p) / n`` for noisy, 0 for a liar, and
the turncoat's as of now).

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
from lifelong.worlds.messages import MESSAGES, TRUTH, action_vocabulary, advice, vocabulary_of
from lifelong.worlds.params import discrete, positive_int, probability
from lifelong.worlds.spec import WorldSpec, parse_spec
from lifelong.worlds.state import inner_state, load_inner_state, restore_rng, rng_state, salted_rng

KINDS = ("reliable", "noisy", "liar", "turncoat")
ADVICE = ("auto", "oracle", "teacher")
_SOURCE_PARAMS = {"reliable": ("name",), "noisy": ("p", "name"), "liar": ("name",)}
_SOURCE_PARAMS["turncoat"] = ("at", "name")


class _Source:
    """One informant: its name, kind and own parameters."""

    __slots__ = ("at", "kind", "name", "p")

    def __init__(self, name: str, kind: str, p: float, at: int) -> None:
        self.name, self.kind, self.p, self.at = name, kind, p, at

    def lies(self, step: int) -> bool:
        return self.kind == "liar" or (self.kind == "turncoat" and step >= self.at)

    def reliability(self, step: int, n_actions: int) -> float:
        """The probability that what it says at `step` is the right action."""
        if self.kind == "noisy":
            return self.p + (1.0 - self.p) / n_actions
        return 0.0 if self.lies(step) else 1.0


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
    """Sources of chosen reliability advising an action in ``info["messages"]``; see the module
    docstring. Discrete action spaces only: advice names one action."""

    def __init__(
        self,
        env: gym.Env,
        sources: Any = "reliable",
        p: float = 0.5,
        turn: int = 5000,
        speak: float = 1.0,
        advice: str = "auto",
        teacher: str | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, sources=sources, p=p, turn=turn, speak=speak, advice=advice, teacher=teacher
        )
        gym.Wrapper.__init__(self, env)
        self.n_actions = int(discrete("messages", env.action_space, "advice").n)
        self.start = int(env.action_space.start)
        p = probability("messages", "p", p)
        turn = positive_int("messages", "turn", turn)
        self.speak = probability("messages", "speak", speak)
        if advice not in ADVICE:
            raise UserError(f"messages: advice={advice!r} is invalid; allowed: {', '.join(ADVICE)}")
        has_oracle = callable(_oracle_of(env))
        if advice == "oracle" and not has_oracle:
            raise UserError(
                f"messages: advice='oracle' needs a world with an oracle_action() (the bandit);"
                f" {type(env.unwrapped).__name__} has none: use advice=teacher"
            )
        self.advice = "oracle" if advice == "auto" and has_oracle else advice
        if self.advice == "auto":
            self.advice = "teacher"
        if teacher is not None and (not isinstance(teacher, str) or not teacher):
            raise UserError(f"messages: teacher={teacher!r} is invalid; allowed: a teacher's name")
        self.teacher = teacher
        self.sources = self._sources(_entries(sources), p, turn)
        inner = vocabulary_of(env) or ()
        self.message_vocabulary = tuple(dict.fromkeys((*inner, *action_vocabulary(self.n_actions))))
        self._rng = salted_rng(None, "messages")
        self._steps = 0  # world steps of this life, across episodes: the turncoat's clock

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
            return int(_oracle_of(self.env)())
        shown = info.get("teacher")
        if self.teacher is not None:
            shown = next((t for t in info.get("teachers", ()) if t["source"] == self.teacher), None)
        if shown is None:
            return None
        action = shown.get("follow", shown.get("action"))
        return None if action is None else int(action)

    def _speak(self, info: dict[str, Any]) -> dict[str, Any]:
        count = len(self.sources)
        draws = self._rng.random(3 * count)  # per source: speaks, is right (noisy), which action
        right = self._right(info)
        step, n = self._steps, self.n_actions
        info[TRUTH] = {s.name: s.reliability(step, n) for s in self.sources}
        if right is None:
            return info
        right -= self.start
        said = []
        for index, source in enumerate(self.sources):
            speaks, coin, pick = draws[3 * index : 3 * index + 3]
            if speaks >= self.speak:
                continue
            if source.lies(step):
                action = (right + 1 + int(pick * (n - 1))) % n  # any action but the right one
            elif source.kind == "noisy" and coin >= source.p:
                action = int(pick * n)
            else:
                action = right
            said.append(advice(source.name, action + self.start))
        heard = info.get(MESSAGES)
        info[MESSAGES] = said if heard is None else [*heard, *said]
        return info

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
        return {s.name: s.reliability(self._steps, self.n_actions) for s in self.sources}

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
        return env.get_wrapper_attr("oracle_action")
    except AttributeError:
        return None
