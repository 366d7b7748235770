"""The message channel of the world contract: what informants say, and how it is read.

A world may let informants speak. What they say this step travels in ``info["messages"]``, a
list (possibly empty) of messages, each a plain dict::

    {"source": "reliable", "tokens": ("go", "3")}

``source`` is a non-empty string naming who speaks (the same speaker keeps its name for the whole
life, so trust can be earned); ``tokens`` is a tuple of strings, every one of them in the small
vocabulary the world declares in its ``message_vocabulary`` attribute (a tuple of strings, found
through Gymnasium wrappers like any other attribute). A world that sends messages must declare
its vocabulary: a word outside it is a broken contract that ``lifelong check-world`` reports.

Why a fixed vocabulary and tuples of tokens, not free text: the agent is meant to learn what a
word means from what follows it (grounding), which needs a closed set of symbols it can embed;
tuples are hashable and cannot be changed by whoever reads them.

What the messages claim may be true or false: the world says nothing about that to the agent.
For metrics and the oracle baseline only, a world may add ``info["message_truth"]``: per source,
the probability that what it says now is right (the agent must never read it; the oracle agent
of `agents.py` is told it on purpose).

Two kinds of message are understood by the body:

- ``("go", "<action>")``, advice to take a discrete action, named by its index in decimal
  (`go_claims`): a prior over actions (`advice.py`);
- ``("<subject>", "<value>")``, a claim about an object of the world: ``("food_a", "good")``,
  ``("predator", "left")`` (`object_claims`). A world whose informants make such claims declares
  their forms in ``message_subjects``, a mapping from each subject to the values it may be said
  to have (``{"food_a": ("good", "bad"), "predator": ("up", "right", "down", "left")}``), so a
  body knows at birth what it may be told and lays out its belief about each subject (`advice.
  ClaimBeliefs`, handed to the mind as input). ``good`` and ``bad`` carry one meaning the body
  checks them by: meeting a good thing pays more than usual, a bad one less, and a world reports
  what the agent met in ``info["ate"]`` (`MET`: the Nursery names the food eaten), the taste by
  which source vigilance checks claims about it (`vigilance.py`).

Anything else is carried, checked against the vocabulary and recorded, never acted on.

Standard library only: worlds, ``check-world`` and the agent's body all import this.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypedDict

MESSAGES = "messages"  # info key: the list of messages heard this step
TRUTH = "message_truth"  # info key: {source: probability it says the right thing} (metrics only)
VOCABULARY = "message_vocabulary"  # the world's attribute: the tokens its messages may use
GO = "go"  # the verb of advice: ("go", "<action index>")
SUBJECTS = "message_subjects"  # the world's attribute: {subject: the values it may be said to be}
MET = "ate"  # info key: the subject the agent met (ate) this step, which checks claims about it
GOOD, BAD = "good", "bad"  # an object's values: meeting it pays more, or less, than usual
WORTH = (GOOD, BAD)
DIRECTIONS = ("up", "right", "down", "left")  # where a thing is: the larger offset's direction


class Message(TypedDict):
    """One thing one source said this step."""

    source: str
    tokens: tuple[str, ...]


def action_vocabulary(n_actions: int) -> tuple[str, ...]:
    """The words of advice for a world of ``n_actions`` discrete actions: ``go`` and each
    action's index in decimal, ``"0"`` to ``str(n_actions - 1)``."""
    return (GO, *(str(action) for action in range(n_actions)))


def advice(source: str, action: int) -> Message:
    """The message in which ``source`` advises taking ``action``."""
    return {"source": source, "tokens": (GO, str(int(action)))}


def vocabulary_of(world: Any) -> tuple[str, ...] | None:
    """The vocabulary a world declares (searched through its wrappers), or None."""
    getter = getattr(world, "get_wrapper_attr", None)
    try:
        value = getter(VOCABULARY) if getter is not None else getattr(world, VOCABULARY)
    except AttributeError:
        return None
    return None if value is None else tuple(value)


def subjects_of(world: Any) -> dict[str, tuple[str, ...]] | None:
    """The claim forms a world declares (`SUBJECTS`, searched through its wrappers), or None."""
    getter = getattr(world, "get_wrapper_attr", None)
    try:
        value = getter(SUBJECTS) if getter is not None else getattr(world, SUBJECTS)
    except AttributeError:
        return None
    return None if value is None else {str(k): tuple(v) for k, v in dict(value).items()}


def claim(source: str, subject: str, value: str) -> Message:
    """The message in which ``source`` says that ``subject`` is ``value``."""
    return {"source": source, "tokens": (subject, value)}


def check_messages(messages: Any, vocabulary: Sequence[str] | None) -> int:
    """Check one step's ``info["messages"]`` against the contract; return how many there were.

    Raises ValueError with one line naming the first thing that is wrong: not a list, a message
    that is not a dict with exactly ``source`` and ``tokens``, an empty or non-string source,
    tokens that are not a non-empty tuple of strings, a token outside the vocabulary, or
    messages from a world that declares no vocabulary.
    """
    if not isinstance(messages, list):
        raise ValueError(f"info['messages'] must be a list, got {type(messages).__name__}")
    if messages and vocabulary is None:
        raise ValueError(
            "info['messages'] is sent but the world declares no message_vocabulary "
            "(a tuple of the tokens its messages may use)"
        )
    words = set(vocabulary or ())
    for index, message in enumerate(messages):
        where = f"info['messages'][{index}]"
        if not isinstance(message, dict) or set(message) != {"source", "tokens"}:
            keys = sorted(message) if isinstance(message, dict) else type(message).__name__
            raise ValueError(f"{where} must be a dict with keys source and tokens, got {keys}")
        source, tokens = message["source"], message["tokens"]
        if not isinstance(source, str) or not source:
            raise ValueError(f"{where}['source'] must be a non-empty string, got {source!r}")
        if not isinstance(tokens, tuple) or not tokens:
            raise ValueError(f"{where}['tokens'] must be a non-empty tuple, got {tokens!r}")
        for token in tokens:
            if not isinstance(token, str):
                raise ValueError(f"{where}['tokens'] holds {token!r}, not a string")
            if token not in words:
                raise ValueError(
                    f"{where}['tokens'] holds {token!r}, outside the world's message_vocabulary"
                )
    return len(messages)


def go_claims(messages: Any, n_actions: int) -> list[tuple[str, int]]:
    """The advice in one step's messages: (source, action) for each ``("go", "<k>")`` with
    0 <= k < n_actions, in the order heard. Anything else (another kind of message, an action
    out of range, a malformed message) is not advice and is skipped: the body never fails on
    what a world says."""
    claims: list[tuple[str, int]] = []
    for source, (verb, action) in _pairs(messages):
        if verb == GO and str(action).isdigit() and int(action) < n_actions:
            claims.append((source, int(action)))
    return claims


def object_claims(
    messages: Any, subjects: Mapping[str, Sequence[str]]
) -> list[tuple[str, str, str]]:
    """The claims about objects in one step's messages: (source, subject, value) for each
    ``("<subject>", "<value>")`` whose value is one `subjects` allows the subject, in the order
    heard. Anything else is skipped, as `go_claims` skips what is not advice."""
    return [
        (source, str(subject), str(value))
        for source, (subject, value) in _pairs(messages)
        if value in subjects.get(subject, ())
    ]


def _pairs(messages: Any) -> Iterator[tuple[str, tuple[Any, Any]]]:
    """(source, tokens) of each well-formed message of two tokens in one step's messages, in
    the order heard: every kind the body reads is two words, and whatever is malformed is
    skipped, not fatal."""
    if not isinstance(messages, list):
        return
    for message in messages:
        if not isinstance(message, dict):
            continue
        tokens, source = message.get("tokens"), message.get("source")
        if isinstance(source, str) and isinstance(tokens, tuple | list) and len(tokens) == 2:
            yield source, (tokens[0], tokens[1])
