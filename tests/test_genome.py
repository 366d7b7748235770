import pytest

from lifelong.errors import UserError
from lifelong.genome import Genome


def test_defaults_are_valid_and_round_trip_through_yaml(tmp_path):
    genome = Genome()
    path = tmp_path / "genome.yaml"
    genome.save(path)
    assert Genome.load(path) == genome


def test_partial_yaml_takes_defaults_for_missing_fields():
    genome = Genome.from_yaml("min_dwell: 5\nlr_a: 0.01\n")
    assert genome.min_dwell == 5 and genome.lr_a == 0.01
    assert genome.horizon == Genome().horizon


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
