"""World specs: one string that names a world and the wrappers around it.

The same string is used on the command line (`lifelong run --world SPEC`), in config.yaml, in
benchmarks and in tests, so a world is always described the same way and a run directory says
exactly what its agent lived in. The grammar:

    spec    := part ('+' part)*                    the first part is the base, the rest wrappers
    part    := NAME ['(' [param (',' param)*] ')']
    param   := KEY '=' value
    value   := scalar | '[' scalar (';' scalar)* ']' | spec ('|' spec)+
    scalar  := YAML 1.2 core scalar: int, float (1e-3 too), true/false, null, or a string;
               quote it ('...' or "...") to keep delimiters or to force a string

Examples: `nursery`, `nursery(season_length=500)`, `gym:CartPole-v1+shift(every=20000,scale=2.0)`,
`sequence(tasks=minatar:breakout|minatar:asterix,every=50000)`, `x(at=[1000;5000;9000])`.

The parser is hand-written (no eval, no YAML loader for the string form) so every mistake can be
reported as one line that says where it is. A spec may also live in a YAML file (see
`load_spec_file`), which is handier when there are many parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lifelong.errors import UserError

SPEC_FILE_SUFFIXES = (".yaml", ".yml")
SPEC_FILE_KEYS = ("world", "params", "wrappers")

_NAME = re.compile(r"[A-Za-z0-9_\-:./]+")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[-+]?[0-9](_?[0-9])*")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL = {
    "true": True,
    "false": False,
    "null": None,
    "~": None,
    ".inf": float("inf"),
    "+.inf": float("inf"),
    "-.inf": float("-inf"),
    ".nan": float("nan"),
}
# Characters that mean something in the grammar: a string holding one must be quoted.
_DELIMITERS = set(",()[];|+='\" ")


@dataclass(frozen=True)
class Part:
    """One named piece of a spec (the base world or a wrapper) and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{key}={format_value(value)}" for key, value in self.params.items())
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class WorldSpec:
    """A parsed spec: the base world, then the wrappers applied to it in order."""

    base: Part
    wrappers: tuple[Part, ...] = ()

    def __str__(self) -> str:
        """The canonical string form: parsing it gives back an equal spec."""
        return "+".join(str(part) for part in (self.base, *self.wrappers))


def parse_spec(text: str) -> WorldSpec:
    """Parse the string form of a spec; a mistake raises `UserError` naming its position."""
    if not isinstance(text, str):
        raise UserError(f"a world spec must be a string, got {type(text).__name__}")
    return _Parser(text, 0, len(text)).spec()


def scalar(text: str) -> Any:
    """Read one YAML 1.2 core scalar.

    Written out rather than handed to PyYAML because PyYAML follows YAML 1.1, which reads `1e-3`
    as a string and `yes`/`on` as booleans; neither is what someone typing a spec means.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in _SPECIAL:
        return _SPECIAL[lowered]
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def format_value(value: Any) -> str:
    """Write a parameter value so that `scalar` (or the list syntax) reads it back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, WorldSpec):
        return str(value)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, WorldSpec) for item in value):
            return "|".join(str(item) for item in value)
        return "[" + ";".join(format_value(item) for item in value) + "]"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, str) and (scalar(text) != text or _DELIMITERS & set(text) or not text):
        quote = '"' if '"' not in text else "'"
        return f"{quote}{text}{quote}"
    return text


def load_spec_file(path: str | Path) -> WorldSpec:
    """Read a spec from YAML: `{world: BASE, params: {...}, wrappers: [{name: {k: v}}, name]}`.

    `world` may itself be a string spec (with parameters and wrappers); `params` are merged into
    its base's parameters and `wrappers` are applied after its own.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"world file {str(path)!r} does not exist") from None
    except (OSError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot read world file {str(path)!r}: {first}") from None
    where = f"world file {str(path)!r}"
    if not isinstance(data, dict):
        raise UserError(f"{where} must be a mapping with keys {', '.join(SPEC_FILE_KEYS)}")
    unknown = sorted(set(data) - set(SPEC_FILE_KEYS))
    if unknown:
        raise UserError(
            f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(SPEC_FILE_KEYS)}"
        )
    if not isinstance(data.get("world"), str):
        raise UserError(f"{where} needs 'world: NAME' (a string, e.g. 'nursery' or 'gym:ID')")
    spec = parse_spec(data["world"])
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise UserError(f"{where}: 'params' must be a mapping of name: value")
    wrappers = data.get("wrappers") or []
    if not isinstance(wrappers, list):
        raise UserError(f"{where}: 'wrappers' must be a list of names or {{name: {{k: v}}}}")
    extra = tuple(_wrapper_entry(entry, where) for entry in wrappers)
    base = Part(spec.base.name, {**spec.base.params, **{str(k): v for k, v in params.items()}})
    return WorldSpec(base, spec.wrappers + extra)


def _wrapper_entry(entry: Any, where: str) -> Part:
    if isinstance(entry, str):
        return Part(entry)
    if isinstance(entry, dict) and len(entry) == 1:
        ((name, params),) = entry.items()
        params = params or {}
        if isinstance(name, str) and isinstance(params, dict):
            return Part(name, {str(k): v for k, v in params.items()})
    raise UserError(f"{where}: a wrapper is a name or {{name: {{k: v}}}}, got {entry!r}")


class _Parser:
    """Recursive descent over text[start:end]; positions in errors are 0-based into the text.

    Nested task specs (the `a|b` values of `sequence`) are parsed by a parser over a slice of the
    same text, so their errors point into the string the user typed.
    """

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.pos, self.end = text, start, end

    def fail(self, problem: str, at: int | None = None) -> UserError:
        at = self.pos if at is None else at
        return UserError(f"bad world spec {self.text!r}: {problem} at position {at}")

    def skip_space(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def spec(self) -> WorldSpec:
        parts = [self.part()]
        self.skip_space()
        while self.pos < self.end:
            if self.peek() != "+":
                raise self.fail(f"expected '+' before a wrapper or the end, found {self.peek()!r}")
            self.pos += 1
            parts.append(self.part())
            self.skip_space()
        return WorldSpec(parts[0], tuple(parts[1:]))

    def part(self) -> Part:
        self.skip_space()
        match = _NAME.match(self.text, self.pos, self.end)
        if match is None:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected a world or wrapper name, found {found}")
        self.pos = match.end()
        self.skip_space()
        params = self.params() if self.peek() == "(" else {}
        return Part(match.group(), params)

    def params(self) -> dict[str, Any]:
        opened = self.pos
        self.pos += 1  # the '('
        params: dict[str, Any] = {}
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
            return params
        while True:
            self.skip_space()
            match = _KEY.match(self.text, self.pos, self.end)
            if match is None:
                raise self.fail("expected a parameter name (letters, digits, '_')")
            key = match.group()
            if key in params:
                raise self.fail(f"parameter {key!r} given twice")
            self.pos = match.end()
            self.skip_space()
            if self.peek() != "=":
                raise self.fail(f"expected '=' after parameter {key!r}")
            self.pos += 1
            params[key] = self.value(key, opened)
            if self.peek() == ",":
                self.pos += 1
                continue
            self.pos += 1  # the ')' that value() stopped at
            return params

    def value(self, key: str, opened: int) -> Any:
        """Read up to the ',' or ')' that ends this value, honouring quotes and brackets."""
        start = self.pos
        stop = self._scan(start, stops=",)")
        if stop >= self.end:
            raise self.fail("'(' is never closed", opened)
        self.pos = stop
        raw = self.text[start:stop]
        if not raw.strip():
            raise self.fail(f"missing value for parameter {key!r}", start)
        lead = start + len(raw) - len(raw.lstrip())
        raw = raw.strip()
        if raw.startswith("["):
            if not raw.endswith("]"):
                raise self.fail(f"list for {key!r} must end with ']'", lead)
            inner = raw[1:-1]
            return [scalar(item) for item in inner.split(";")] if inner.strip() else []
        pieces = self._split(lead, lead + len(raw), "|")
        if len(pieces) > 1:
            return [self._nested(a, b) for a, b in pieces]
        return scalar(raw)

    def _nested(self, start: int, end: int) -> WorldSpec:
        if not self.text[start:end].strip():
            raise self.fail("empty world between '|' separators", start)
        return _Parser(self.text, start, end).spec()

    def _scan(self, pos: int, stops: str) -> int:
        """Index of the first depth-0 character of `stops` at or after `pos` (self.end if none)."""
        depth = 0
        while pos < self.end:
            char = self.text[pos]
            if char in "'\"":
                close = self.text.find(char, pos + 1, self.end)
                if close < 0:
                    raise self.fail("unclosed quote", pos)
                pos = close
            elif char in "([":
                depth += 1
            elif depth == 0 and char in stops:
                return pos
            elif char in ")]":
                if depth == 0:
                    raise self.fail(f"unexpected {char!r}", pos)
                depth -= 1
            pos += 1
        return pos

    def _split(self, start: int, end: int, separator: str) -> list[tuple[int, int]]:
        saved, self.end = self.end, end
        try:
            pieces, pos = [], start
            while True:
                stop = self._scan(pos, separator)
                pieces.append((pos, stop))
                if stop >= end:
                    return pieces
                pos = stop + 1
        finally:
            self.end = saved
