"""Command-line values that argparse takes but the library would not are refused at the boundary."""
import pytest

from .conftest import assert_one_line_error, run_script


@pytest.mark.parametrize("command", ["faithfulness", "report"])
def test_a_negative_seed_is_refused_in_one_line(tmp_path, dataset, checkpoint_file, command):
    result = run_script("explain.py", command, "--model", checkpoint_file, "--data", dataset / "valid.p",
                        "--seed", "-1", "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py " + command, "--seed", "must be at least 0")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--steps", "20000", "must be at most 1,024"),
    ("--batch-size", "100000000", "must be at most 4,096"),
])
def test_faithfulness_options_have_upper_bounds(tmp_path, dataset, checkpoint_file, option, value, message):
    result = run_script("explain.py", "faithfulness", "--model", checkpoint_file, "--data", dataset / "valid.p",
                        option, value, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py faithfulness", option, message)
