"""explain.py evaluate and predict: the hard view beside the accuracy, and --tta N reported apart from the
single pass."""
import json
import pickle

import numpy as np
import pytest

from .test_cli import run


@pytest.fixture(scope="module")
def sized_split(tmp_path_factory):
    """valid.p of 12 random images, the first 5 upsampled (crops 20x24 px), the rest 48x48."""
    rng = np.random.default_rng(3)
    sizes = np.array([[20, 24]] * 5 + [[48, 48]] * 7, dtype=np.int32)
    data = {"features": rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8),
            "labels": np.array([0, 1, 2, 3, 4] * 2 + [5, 6], dtype=np.uint8), "sizes": sizes,
            "coords": np.tile(np.array([2, 2, 18, 18], dtype=np.int32), (12, 1))}
    path = tmp_path_factory.mktemp("sized") / "valid.p"
    path.write_bytes(pickle.dumps(data))
    return path


def test_evaluate_json_has_the_hard_view_and_no_tta_unless_asked(cli, capsys, model_file, sized_split, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--json", "--model", model_file, "--data", sized_split,
                         "--out", tmp_path)
    report = json.loads(out)
    assert status == 0 and "tta" not in report
    hard = report["hard_view"]
    assert hard["images"] == 5 and hard["classes"] == 5
    assert sum(row["n"] for row in hard["per_class"]) == 5 and 0 <= hard["weighted_accuracy"] <= 1


def test_evaluate_with_one_view_repeats_the_single_pass(cli, capsys, model_file, sized_split, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--json", "--tta", "1", "--model", model_file,
                         "--data", sized_split, "--out", tmp_path)
    report = json.loads(out)
    assert status == 0 and report["tta"]["views"] == 1
    assert report["tta"]["accuracy"] == report["accuracy"]
    assert report["tta"]["per_class"] == report["per_class"]
    assert report["tta"]["hard_view"] == report["hard_view"]


def test_evaluate_prints_the_single_pass_then_tta(cli, capsys, model_file, sized_split, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--tta", "9", "--model", model_file, "--data", sized_split,
                         "--out", tmp_path)
    lines = out.splitlines()
    assert status == 0 and lines[0].startswith("accuracy ")
    assert any(line.startswith("hard view: weighted accuracy ") for line in lines)
    assert any(line.startswith("test-time augmentation, 9 views: accuracy ") for line in lines)
    assert any(line.startswith("hard view, 9 views: ") for line in lines)


def test_evaluate_says_when_the_split_has_no_hard_view(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--model", model_file, "--data", data_folder / "test.p",
                         "--out", tmp_path)
    assert status == 0 and "hard view: empty" in out      # every crop of the fixture is 32x32


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("count", ["0", "10", "two"])
def test_a_bad_tta_is_one_line_exit_2(cli, capsys, model_file, sized_split, odd_images, tmp_path, command, count):
    inputs = ["--data", sized_split] if command == "evaluate" else [odd_images[0]]
    with pytest.raises(SystemExit) as stopped:        # argparse's usage error (npnet.cli.boundary.ArgumentParser)
        cli.main([command, "--tta", count, "--model", str(model_file), *map(str, inputs), "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == "" and len(err.splitlines()) == 1 and "--tta" in err


def test_predict_lists_tta_apart_from_the_single_pass(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "predict", "--json", "--tta", "1", "--top", "3", "--model", model_file,
                         *odd_images, "--out", tmp_path)
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(records) == len(odd_images)
    for record in records:
        assert record["tta"]["views"] == 1 and record["tta"]["top"] == record["top"]


def test_predict_without_tta_has_no_tta_entry(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "predict", "--json", "--model", model_file, odd_images[0], "--out", tmp_path)
    assert status == 0 and "tta" not in json.loads(out)
