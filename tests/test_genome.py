import dataclasses

import pytest

from lifelong import genome as genome_module
from lifelong.errors import UserError
from lifelong.evolve import make_settings
from lifelong.genome import CONTINUOUS_CHANGES, GROUPS, SYSTEMS, Genome

# The fields `--freeze cost` froze when evolve.py kept them in a hand-written list (COST_FIELDS),
# written down here so the genome's `cost` tags cannot drift from it unnoticed.
OLD_COST_FIELDS = (
    "latent_dim",
    "hidden_dim",
    "ensemble_size",
    "horizon",
    "q_hidden",
    "batch_size",
    "replay_ratio",
    "a_every",
    "sleep_updates",
    "memory_recent",
    "memory_longterm",
)


def test_defaults_are_valid_and_round_trip_through_yaml(tmp_path):
    genome = Genome()
    path = tmp_path / "genome.yaml"
    genome.save(path)
    assert Genome.load(path) == genome


def test_partial_yaml_takes_defaults_for_missing_fields():
    genome = Genome.from_yaml("min_dwell: 5\nlr_a: 0.01\n")
    assert genome.min_dwell == 5 and genome.lr_a == 0.01
    assert genome.horizon == Genome().horizon


def test_the_continuous_newborn_differs_only_where_it_says_and_fills_partial_files(tmp_path):
    discrete, continuous = Genome.default(), Genome.default(continuous=True)
    assert discrete == Genome()
    differ = {k for k, v in continuous.to_dict().items() if v != discrete.to_dict()[k]}
    assert differ == set(CONTINUOUS_CHANGES)
    path = tmp_path / "partial.yaml"
    path.write_text("lr_a: 0.01\n")
    genome = Genome.load(path, base=continuous)
    assert genome == continuous.replace(lr_a=0.01)


def test_listed_gives_only_the_fields_a_file_names_checked(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("min_dwell: 5\nlr_a: 0.01\n")
    assert Genome.listed(path) == {"min_dwell": 5, "lr_a": 0.01}
    path.write_text("gamma: 7\n")
    with pytest.raises(UserError, match="gamma"):
        Genome.listed(path)
    with pytest.raises(UserError, match="cannot read genome file"):
        Genome.listed(tmp_path / "absent.yaml")


def test_a_life_is_born_with_the_genome_of_its_kind_of_actions(tmp_path):
    from lifelong.life import open_life

    pendulum = open_life(tmp_path / "p", world="gym:Pendulum-v1", genome_changes={"lr_a": 0.01})
    assert pendulum.genome == Genome.default(continuous=True).replace(lr_a=0.01)
    cartpole = open_life(tmp_path / "c", world="gym:CartPole-v1")
    assert cartpole.genome == Genome()
    assert Genome.load(tmp_path / "p" / "genome.yaml") == pendulum.genome  # written in full


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("lr_a: 5.0", "'lr_a' = 5.0 is out of range"),
        ("min_dwell: 2.5", "'min_dwell' must be an integer"),
        ("gamma: fast", "'gamma' must be a number"),
        ("learning_rate: 0.1", "unknown genome field 'learning_rate'"),
        ("wake_threshold: 0.9\nsleep_threshold: 0.5", "must be below sleep_threshold"),
        ("- 1\n- 2", "must be a mapping"),
        ("a: [", "not valid YAML"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(text, fragment):
    with pytest.raises(UserError, match=fragment.replace("[", r"\[")) as error:
        Genome.from_yaml(text)
    assert "\n" not in str(error.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read genome file"):
        Genome.load(tmp_path / "nope.yaml")


def test_vector_round_trip_and_clipping():
    genome = Genome(lr_a=3e-3, min_dwell=7, gamma=0.9)
    vector = genome.to_vector()
    assert all(0.0 <= u <= 1.0 for u in vector)
    back = Genome.from_vector(vector)
    assert back.min_dwell == 7 and back.lr_a == pytest.approx(3e-3) and back.gamma == 0.9
    clipped = Genome.from_vector([2.0] * len(vector))
    assert clipped.lr_a == pytest.approx(1e-1) and clipped.wake_threshold < clipped.sleep_threshold


def test_genome_is_frozen():
    with pytest.raises(AttributeError):
        Genome().min_dwell = 3  # type: ignore[misc]


def test_every_field_belongs_to_exactly_one_system():
    for f in dataclasses.fields(Genome):
        assert f.metadata["system"] in SYSTEMS, f.name
        assert isinstance(f.metadata["cost"], bool), f.name
    by_system = [name for system in SYSTEMS for name in Genome.fields_of(system)]
    assert sorted(by_system) == sorted(Genome.names())  # each field in one system, none twice
    assert GROUPS == ("A", "B", "M", "memory", "cost")
    assert {"lr_a", "latent_dim"} <= set(Genome.fields_of("A"))
    assert {"lr_b", "q_hidden", "gamma"} <= set(Genome.fields_of("B"))
    assert {"min_dwell", "sleep_updates", "detector_threshold"} <= set(Genome.fields_of("M"))


def test_the_cost_group_is_the_list_evolution_used_to_freeze(tmp_path):
    assert sorted(Genome.fields_of("cost")) == sorted(OLD_COST_FIELDS)
    settings = make_settings({"frozen": ["cost"]}, tmp_path)
    assert set(settings.frozen) == set(OLD_COST_FIELDS)
    assert list(settings.frozen) == [n for n in Genome.names() if n in OLD_COST_FIELDS]
    both = make_settings({"frozen": ["cost,gamma", "memory"]}, tmp_path).frozen
    assert set(both) == {*OLD_COST_FIELDS, "gamma", *Genome.fields_of("memory")}


def test_a_group_is_a_view_of_its_fields_and_an_unknown_group_is_a_user_error():
    genome = Genome(lr_a=3e-3)
    view = genome.group("A")
    assert list(view) == Genome.fields_of("A") and view["lr_a"] == 3e-3
    with pytest.raises(UserError, match="unknown genome group 'C'; allowed: A, B, M, memory, cost"):
        Genome.fields_of("C")


def test_evolution_starts_from_the_newborn_of_its_worlds_actions():
    from lifelong.cli import _newborn

    assert _newborn(["gym:Pendulum-v1"]) == Genome.default(continuous=True)
    assert _newborn(["gym:Pendulum-v1", "nursery-small"]) == Genome()  # mixed: discrete's
    assert _newborn(None) == Genome()


def test_evolution_searches_every_default_away_from_the_edges_of_its_range():
    """A default in the outer 2% of a linear range (a warm-up of 500 in [0, 10^6]) makes every
    step of CMA-ES a leap: a searched gene sits at a bound (a switch) or well inside."""
    genome = Genome()
    for f, u in zip(dataclasses.fields(genome), genome.to_vector(), strict=True):
        if not f.metadata["cost"]:
            assert u in (0.0, 1.0) or 0.02 <= u <= 0.98, (f.name, u)


def test_a_log_scale_from_zero_keeps_zero_and_multiplies_above_its_unit():
    zero, default = Genome(model_weight=0.0), Genome()
    assert Genome.from_vector(zero.to_vector()).model_weight == 0.0
    i = Genome.names().index("model_weight")
    vector = default.to_vector()
    up, down = list(vector), list(vector)
    up[i] += 0.05
    down[i] -= 0.05
    ratio_up = Genome.from_vector(up).model_weight / default.model_weight
    ratio_down = default.model_weight / Genome.from_vector(down).model_weight
    assert ratio_up > 1.5 and ratio_down > 1.3  # a step multiplies, in both directions
    with pytest.raises(ValueError, match="needs a unit"):
        genome_module._gene("A", 0.0, 0.0, 1.0, "x", log=True)
