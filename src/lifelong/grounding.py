"""Grounding: what a message means is what follows it, learned from experience alone.

A word in `info["messages"]` ("go", "3") is only a symbol until the agent has seen what happens
when it is acted on. `MessageGrounding` is A's message encoder: each symbol (every token, and
every speaker's name as one more symbol, "@reliable") has an embedding; a message is the sum of
the embeddings of who said it and what was said, and a small network reads from that vector
the one thing the agent can measure about it, its *meaning*:

    meaning(source, "go a")  =  the expected standing of the return that follows taking a on
                                 that advice: (G - usual) / deviation, as source vigilance
                                 measures it (`vigilance.SourceVigilance.standing`)

Two kinds of experience train it, both from the agent's own life (the truth is never read):

- the agent's own acts, in the same words: after taking action a the pseudo-message
  ("#self", "go", "a") is paired with the standing of its return. So an action word comes to
  mean what that action earns ("the reward of the named object"), from every step on which
  messages were heard (only those are checked);
- each claim whose advised action was the one taken ("@s", "go", "a"), paired with the same
  standing: a speaker's name comes to mean how acting on it turns out beyond its words.
  A claim not acted on has no outcome and teaches nothing.

So the meaning of a reliable source's "go a" is high because it names what pays; a liar's is
low because it names what does not; and if the words were shuffled against what followed, so
that a word predicted nothing, every meaning would sit at the usual (tests/test_grounding.py
checks both).

Claims about objects ("food_a good", `messages.object_claims`) are grounded the same way, by
what followed when the agent next met the object (`learn_claims`, from the meals source
vigilance tasted, `advice.ClaimBeliefs.step`): ("@s", "food_a", "good") is paired with the
standing of that meal's reward, and so is the meal in the agent's own voice, ("#self", "ate",
"food_a"). So a reliable source's "good" comes to mean a meal above the usual, a liar's "good"
one below, and the agent's own word for a food means what eating it has lately paid.

What reads it: `own(n)`, the meaning of each action word in the agent's own voice (its grounded
expectation of each action, in deviations, shrunk towards the usual where the action was tried
little), is the confident prediction that content vigilance checks a claim against
(`vigilance.py`, `advice.py`); `meanings()` (the meaning of each source's latest claim) goes to
the records as `meaning_<source>` beside `trust_<source>`. It is not wired in anywhere else:
with a reliable source present the agent acts on little but its advice, so the meanings say
nothing trust does not (docs/benchmarks.md, "Messages and trust").

Why so small (a 64 x 8 embedding and an 8-16-1 network, one Adam step at rate 0.01 per checked
step): the vocabularies of our worlds are a few words, and the body trains it on the one sample
or few of each step, so a step costs a few hundred microseconds, not a learning step of A.
Stepped only every 8 checks it was cheaper but too slow to tell arms apart after a turncoat's
turn. Its parameters are drawn from a generator of its own, so building it leaves every other
draw of the agent as it was.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lifelong.worlds.messages import GO, MET

SELF = "#self"  # the speaker of the agent's own acts (a source's name is "@" + its name)
CAPACITY = 64  # symbols with an embedding of their own; later ones share the last row
PSEUDO = 8.0  # the usual's weight, in tries, in the agent's expectation of an action (`own`)
Verdict = tuple[list[tuple[str, int]], int, float]  # (claims, action taken, standing of return)
# A meal tasted: (claims (source, subject, value) checked by it, the subject met, its standing).
Tasted = tuple[list[tuple[str, str, str]], str, float]


class MessageGrounding(nn.Module):
    """Embeddings of symbols and a head reading a message's meaning; see the module docstring.

    `learn` takes the steps source vigilance has checked; `meaning`, `own` and `meanings` read
    what was learned. `dim` is the embedding's width, `lr` the rate of its Adam steps."""

    def __init__(self, seed: int = 0, dim: int = 8, hidden: int = 16, lr: float = 0.01) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # the global generator is left as it was
            torch.manual_seed(seed)
            self.embedding = nn.Embedding(CAPACITY, dim)
            nn.init.normal_(self.embedding.weight, std=0.1)
            self.head = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.symbols: dict[str, int] = {}  # symbol -> its row of the embedding, in order met
        self.latest: dict[str, int] = {}  # source -> the action its latest claim advised
        self.claims: dict[str, tuple[str, str]] = {}  # source -> (subject, value) latest said
        self.tried: dict[int, int] = {}  # action -> how often the agent's own act was checked
        self.loss = 0.0  # the newest squared error, for the records
        self._own: list[float] | None = None  # `own`, kept until the next Adam step

    # --- Reading ------------------------------------------------------------------------------
    def _row(self, symbol: str) -> int:
        row = self.symbols.get(symbol)
        if row is None:
            row = min(len(self.symbols), CAPACITY - 1)
            self.symbols[symbol] = row
        return row

    def _rows(self, messages: list[tuple[str, int]]) -> Tensor:
        """(N, 3) symbol rows of (speaker's symbol, "go", action) messages."""
        return self._symbols([(s, GO, str(a)) for s, a in messages])

    def _symbols(self, messages: list[tuple[str, str, str]]) -> Tensor:
        """(N, 3) symbol rows of messages of three symbols (speaker's, then two words)."""
        return torch.tensor([[self._row(w) for w in m] for m in messages], dtype=torch.long)

    def _predict(self, messages: list[tuple[str, int]]) -> Tensor:
        """The meaning (N,) of each (speaker's symbol, advised action): the head on the summed
        embeddings of the speaker's name and the message's words."""
        return self._read(self._rows(messages))

    def _read(self, rows: Tensor) -> Tensor:
        return self.head(self.embedding(rows).sum(dim=1)).squeeze(-1)

    @torch.no_grad()
    def meaning_of(self, source: str, subject: str, value: str) -> float:
        """The standing of the reward expected on meeting `subject` after `source` said it was
        `value`."""
        return float(self._read(self._symbols([(f"@{source}", subject, value)]))[0])

    @torch.no_grad()
    def meaning(self, source: str, action: int) -> float:
        """The standing of the return expected from acting on `source`'s "go `action`"."""
        return float(self._predict([(f"@{source}", action)])[0])

    @torch.no_grad()
    def own(self, n_actions: int) -> list[float]:
        """The agent's grounded expectation of each of `n_actions` actions, in deviations of
        the return from the usual: the meaning of "go a" in its own voice, shrunk towards the
        usual (0) as a mean of n tries is against a prior worth `PSEUDO` tries, n / (n + PSEUDO).
        So an action tried twice is expected to be about usual whatever its two returns were:
        only experience makes an expectation confident enough to contradict a claim."""
        if self._own is None or len(self._own) != n_actions:
            meant = self._predict([(SELF, a) for a in range(n_actions)]).tolist()
            tries = [self.tried.get(a, 0) for a in range(n_actions)]
            self._own = [m * n / (n + PSEUDO) for m, n in zip(meant, tries, strict=True)]
        return self._own

    @torch.no_grad()
    def meanings(self) -> dict[str, float]:
        """The meaning of each source's latest advice, in the order first heard, then of the
        latest claim about an object of each source that gave no advice."""
        found: dict[str, float] = {}
        if self.latest:
            values = self._predict([(f"@{s}", a) for s, a in self.latest.items()]).tolist()
            found = dict(zip(self.latest, values, strict=True))
        said = {s: c for s, c in self.claims.items() if s not in found}
        if said:
            rows = self._symbols(
                [(f"@{s}", subject, value) for s, (subject, value) in said.items()]
            )
            found |= dict(zip(said, self._read(rows).tolist(), strict=True))
        return found

    # --- Learning -----------------------------------------------------------------------------
    def hear(self, claims: list[tuple[str, int]]) -> None:
        """The claims in view (for `meanings`); their symbols get rows as they are first met."""
        for source, action in claims:
            self.latest[source] = int(action)

    def hear_claims(self, claims: list[tuple[str, str, str]]) -> None:
        """The claims about objects in view (source, subject, value), for `meanings`."""
        for source, subject, value in claims:
            self.claims[source] = (subject, value)

    def learn_claims(self, tasted: Tasted) -> None:
        """One Adam step on a meal: the agent's own ("#self", "ate", subject) and every claim
        it checked, ("@s", subject, value), paired with the standing of its reward."""
        claims, met, standing = tasted
        messages = [(SELF, MET, met), *((f"@{s}", subject, v) for s, subject, v in claims)]
        predicted = self._read(self._symbols(messages))
        loss = (predicted - standing).square().mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss = float(loss.detach())
        self._own = None

    def learn(self, verdicts: list[Verdict]) -> None:
        """One Adam step on the steps just checked, pairing the agent's own act, and every
        claim that advised it, with the standing of the return that followed."""
        if not verdicts:
            return
        messages: list[tuple[str, int]] = []
        targets: list[float] = []
        for claims, taken, standing in verdicts:
            self.tried[taken] = self.tried.get(taken, 0) + 1
            messages.append((SELF, taken))
            messages.extend((f"@{s}", taken) for s, claimed in claims if claimed == taken)
            targets.extend([standing] * (len(messages) - len(targets)))
        loss = (self._predict(messages) - torch.tensor(targets)).square().mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss = float(loss.detach())
        self._own = None

    # --- Checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything a resumed life needs (tensors and plain data)."""
        return {
            "weights": {k: v.clone() for k, v in self.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "symbols": dict(self.symbols),
            "latest": dict(self.latest),
            "claims": {s: list(c) for s, c in self.claims.items()},
            "tried": dict(self.tried),
            "loss": self.loss,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.symbols = {str(k): int(v) for k, v in state["symbols"].items()}
        self.latest = {str(k): int(v) for k, v in state["latest"].items()}
        self.claims = {str(k): (str(v[0]), str(v[1])) for k, v in state.get("claims", {}).items()}
        self.tried = {int(k): int(v) for k, v in state["tried"].items()}
        self.loss = float(state["loss"])
        self._own = None
