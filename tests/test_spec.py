"""World specs: string and YAML forms parse into one structure; every mistake is one line."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from lifelong.errors import UserError
from lifelong.worlds import make_world, noop_action, resolve_spec, world_names
from lifelong.worlds.spec import Part, WorldSpec, load_spec_file, parse_spec, scalar


def test_a_bare_name_is_a_base_without_wrappers() -> None:
    assert parse_spec("nursery") == WorldSpec(Part("nursery"))
    assert (
        parse_spec("minigrid:MiniGrid-DoorKey-8x8-v0").base.name
        == "minigrid:MiniGrid-DoorKey-8x8-v0"
    )


def test_parameters_and_wrappers_in_order() -> None:
    spec = parse_spec("gym:CartPole-v1+shift(every=20000,kind=gravity,scale=2.0)+noisy_tv")
    assert spec.base == Part("gym:CartPole-v1")
    assert spec.wrappers == (
        Part("shift", {"every": 20000, "kind": "gravity", "scale": 2.0}),
        Part("noisy_tv"),
    )


def test_whitespace_around_tokens_is_allowed() -> None:
    assert parse_spec(" nursery ( season_length = 500 , view=5 ) + noisy_tv ( ) ") == WorldSpec(
        Part("nursery", {"season_length": 500, "view": 5}), (Part("noisy_tv"),)
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-7", -7),
        ("50_000", 50000),
        ("1e-3", 1e-3),
        ("2.5", 2.5),
        ("-.5", -0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("gravity", "gravity"),
        ("'12'", "12"),
        ('"a,b"', "a,b"),
        ("yes", "yes"),  # YAML 1.2: only true/false are booleans
    ],
)
def test_values_are_yaml_core_scalars(text: str, value: object) -> None:
    assert scalar(text) == value and type(scalar(text)) is type(value)
    assert parse_spec(f"x(v={text})").base.params["v"] == value


def test_infinity_and_quoted_delimiters() -> None:
    assert math.isinf(parse_spec("x(v=.inf)").base.params["v"])
    assert parse_spec("x(v='a+b(c)|d')").base.params["v"] == "a+b(c)|d"


def test_list_values_use_semicolons() -> None:
    params = parse_spec("nursery+shift(at=[1000;5000; 9000],empty=[])").wrappers[0].params
    assert params == {"at": [1000, 5000, 9000], "empty": []}


def test_sequence_tasks_are_nested_specs() -> None:
    spec = parse_spec(
        "sequence(tasks=minatar:breakout|nursery(view=5)+noisy_tv|minatar:freeway,every=50000)"
    )
    tasks = spec.base.params["tasks"]
    assert tasks == [
        WorldSpec(Part("minatar:breakout")),
        WorldSpec(Part("nursery", {"view": 5}), (Part("noisy_tv"),)),
        WorldSpec(Part("minatar:freeway")),
    ]
    assert spec.base.params["every"] == 50000


@pytest.mark.parametrize(
    "text",
    [
        "nursery",
        "gym:CartPole-v1+shift(every=20000,kind=gravity,scale=2.0)+noisy_tv",
        "sequence(tasks=minatar:breakout|minatar:asterix,every=50000)",
        "x(a=[1;2.5;true],s='1e3',t='a b',n=null)",
    ],
)
def test_the_canonical_string_parses_back_to_the_same_spec(text: str) -> None:
    spec = parse_spec(text)
    assert parse_spec(str(spec)) == spec


def test_yaml_file_form(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        "world: gym:CartPole-v1\n"
        "params: {max_episode_steps: 50}\n"
        "wrappers:\n"
        "  - shift: {every: 20000, at: [1, 2]}\n"
        "  - noisy_tv\n"
    )
    assert load_spec_file(path) == WorldSpec(
        Part("gym:CartPole-v1", {"max_episode_steps": 50}),
        (Part("shift", {"every": 20000, "at": [1, 2]}), Part("noisy_tv")),
    )
    assert resolve_spec(str(path)) == load_spec_file(path)


def test_yaml_file_builds_a_world(tmp_path: Path) -> None:
    path = tmp_path / "small.yml"
    path.write_text("world: nursery-small\nparams: {season_length: 77}\n")
    world = make_world(str(path))
    assert world.unwrapped.season_length == 77
    assert noop_action(world) == 0


def test_world_names_lists_bases_and_prefixes() -> None:
    names = world_names()
    assert {"nursery", "nursery-small", "sequence", "gym:ID", "minatar:GAME", "minigrid:ID"} <= set(
        names
    )


def test_parameters_reach_the_world() -> None:
    world = make_world("nursery-small(season_length=123)")
    assert world.unwrapped.season_length == 123 and world.unwrapped.size == 8  # preset kept
    assert make_world("gym:CartPole-v1(max_episode_steps=7)").spec.max_episode_steps == 7


# ----------------------------------------------------------------------------------------------
# Every mistake: one line, naming the problem and what is allowed.


def _message(spec: str) -> str:
    with pytest.raises(UserError) as caught:
        make_world(spec)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nursery(size=", ["never closed", "position 7"]),
        ("nursery)", ["position 7", "')'"]),
        ("nursery(=3)", ["parameter name", "position 8"]),
        ("nursery(size 3)", ["expected '='", "size"]),
        ("nursery(size=)", ["missing value", "size"]),
        ("nursery(a=1,a=2)", ["given twice"]),
        ("+noisy_tv", ["expected a world or wrapper name", "position 0"]),
        ("x(v='open)", ["unclosed quote"]),
        ("sequence(tasks=minatar:breakout||nursery)", ["empty world", "position 32"]),
        ("x(v=[1;2)", ["never closed"]),
    ],
)
def test_syntax_errors_say_where(spec: str, expected: list[str]) -> None:
    message = _message(spec)
    assert message.startswith("bad world spec")
    for fragment in expected:
        assert fragment in message


def test_unknown_base_lists_bases_and_prefixes() -> None:
    message = _message("jungle")
    assert "unknown world 'jungle'" in message
    for name in ("nursery", "gym:ID", "minatar:GAME", "minigrid:ID", "sequence"):
        assert name in message


def test_unknown_wrapper_lists_wrappers() -> None:
    message = _message("nursery+fog")
    assert "unknown wrapper 'fog'" in message and "noisy_tv" in message and "shift" in message


def test_unknown_parameter_lists_the_allowed_ones() -> None:
    message = _message("nursery(sise=9)")
    assert "unknown parameter 'sise'" in message and "size" in message and "view" in message
    message = _message("gym:CartPole-v1(gravity=3)")
    assert "'gravity'" in message and "max_episode_steps" in message
    message = _message("minatar:breakout(sticky=0.2)")
    assert "sticky_action_prob" in message


def test_bad_value_is_reported_by_the_world() -> None:
    assert "view=4" in _message("nursery(view=4)")
    assert "sticky_action_prob" in _message("minatar:breakout(sticky_action_prob=2)")


def test_unknown_gym_id_and_game() -> None:
    assert "unknown gym id 'CartPol-v1'" in _message("gym:CartPol-v1")
    message = _message("minatar:pong")
    assert "pong" in message and "space_invaders" in message
    assert "after 'gym:'" in _message("gym:")


def test_sequence_needs_tasks() -> None:
    assert "tasks" in _message("sequence(every=10)")


def test_missing_optional_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "minatar", None)  # makes `import minatar` fail
    message = _message("minatar:breakout")
    assert "minatar" in message and "pip install 'lifelong[worlds]'" in message


def test_yaml_file_mistakes(tmp_path: Path) -> None:
    assert "does not exist" in _message(str(tmp_path / "nowhere.yaml"))
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text("world: nursery\nwrapper: [noisy_tv]\n")
    assert "unknown key 'wrapper'" in _message(str(bad_key)) and "wrappers" in _message(
        str(bad_key)
    )
    no_world = tmp_path / "empty.yaml"
    no_world.write_text("params: {}\n")
    assert "needs 'world: NAME'" in _message(str(no_world))
    bad_wrapper = tmp_path / "wrappers.yaml"
    bad_wrapper.write_text("world: nursery\nwrappers: [{a: 1, b: 2}]\n")
    assert "a wrapper is a name" in _message(str(bad_wrapper))


def test_the_worlds_import_nothing_above_them() -> None:
    """lifelong.worlds is a floor of its own: it imports (statically, lazily or by name) only
    itself and lifelong.errors, so nothing above it (a life, a saved agent) can loop back in."""
    import ast

    import lifelong.worlds

    allowed = ("lifelong.worlds", "lifelong.errors")
    found = []
    for path in sorted(Path(lifelong.worlds.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["lifelong.worlds" if node.level else node.module or ""]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None))
                in ("import_module", "find_spec", "__import__")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [str(node.args[0].value)]
            else:
                continue
            found += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] == "lifelong"
                and not any(name == a or name.startswith(a + ".") for a in allowed)
            ]
    assert found == []
