"""explain.py: each command writes its files, prints their paths, and reports user errors in one line
with exit status 2."""
import json
import subprocess
import sys

import pytest
from PIL import Image

from .conftest import ROOT


def run(cli, capsys, *argv):
    """main(argv) in this process: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def is_png(path):
    with Image.open(path) as image:
        return image.format == "PNG"


def written(out):
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("wrote ")]


# -- predict --------------------------------------------------------------------------------------
def test_predict_reads_images_of_any_size_and_mode(cli, capsys, model_file, odd_images, tmp_path):
    status, out, err = run(cli, capsys, "predict", "--model", model_file, *odd_images, "--out", tmp_path)
    assert status == 0 and err == ""
    for path in odd_images:
        assert f"{path}:" in out
    assert written(out) == [str(tmp_path / "predictions.jsonl")]


def test_predict_json_prints_one_object_per_image(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "predict", "--json", "--model", model_file, *odd_images, "--out", tmp_path)
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [r["file"] for r in records] == [str(p) for p in odd_images]
    top = records[0]["top"]
    assert len(top) == 5 and set(top[0]) == {"class_id", "name", "prob"}
    assert [t["prob"] for t in top] == sorted((t["prob"] for t in top), reverse=True)


def test_a_corrupt_image_is_reported_and_the_others_still_predicted(cli, capsys, model_file, odd_images,
                                                                   corrupt_image, tmp_path):
    status, out, err = run(cli, capsys, "predict", "--json", "--model", model_file,
                           odd_images[0], corrupt_image, odd_images[1], "--out", tmp_path)
    assert status == 2
    errors = [line for line in err.splitlines() if not line.startswith("wrote ")]
    assert errors == [f"explain.py: {corrupt_image}: cannot read image (not an image in one of the formats read: PNG, JPEG, PPM, BMP, GIF, TIFF, WEBP)"]
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(odd_images[0]), str(odd_images[1])]


def test_a_file_that_is_not_a_checkpoint_is_one_line_without_traceback(tmp_path, odd_images):
    fake = tmp_path / "model.h5"
    fake.write_text("not HDF5")
    result = subprocess.run([sys.executable, str(ROOT / "explain.py"), "predict", "--model", str(fake),
                             str(odd_images[0]), "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"explain.py: {fake}: not a readable HDF5 checkpoint")


def test_debug_shows_the_error_itself(cli, model_file, tmp_path):
    from npnet.io.errors import CheckpointError
    with pytest.raises(CheckpointError):
        cli.main(["predict", "--debug", "--model", str(tmp_path / "missing.h5"), "x.png"])


# -- features and gradcam -------------------------------------------------------------------------
def test_features_writes_one_png_per_conv_layer(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "features", "--model", model_file, odd_images[0], "--out", tmp_path)
    paths = written(out)
    assert status == 0
    assert paths == [str(tmp_path / f"rgba_features_conv2d_{k}.png") for k in (1, 2, 3)]
    assert all(is_png(p) for p in paths)


def test_gradcam_writes_the_comparison_figure(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[1],
                         "--class", "14", "stop", "--class", "YIELD",
                         "--true", "1", "--out", tmp_path)
    assert status == 0
    assert written(out) == [str(tmp_path / "gray_gradcam.png")] and is_png(tmp_path / "gray_gradcam.png")


@pytest.mark.parametrize("options", [["--normalize", "each"], ["--layer", "conv2d_1"]])
def test_gradcam_options(cli, capsys, model_file, odd_images, tmp_path, options):
    status, out, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[2], *options, "--out", tmp_path)
    assert status == 0 and is_png(written(out)[0])


def test_an_unknown_class_is_an_error_listing_the_valid_ones(cli, capsys, model_file, odd_images, tmp_path):
    status, out, err = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0],
                           "--class", "Unicorn crossing", "--out", tmp_path)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("explain.py: unknown class 'Unicorn crossing'") and "14 Stop" in err


def test_an_unknown_layer_is_an_error(cli, capsys, model_file, odd_images, tmp_path):
    status, _, err = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], "--layer", "conv9")
    assert status == 2 and "conv2d_3" in err and len(err.splitlines()) == 1


def test_a_corrupt_image_for_gradcam_is_one_line(cli, capsys, model_file, corrupt_image, tmp_path):
    status, _, err = run(cli, capsys, "gradcam", "--model", model_file, corrupt_image, "--out", tmp_path)
    assert status == 2 and len(err.splitlines()) == 1 and str(corrupt_image) in err


# -- evaluate, errors, demo -----------------------------------------------------------------------
def test_evaluate_json(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--json", "--model", model_file,
                         "--data", data_folder / "test.p", "--out", tmp_path)
    report = json.loads(out)
    assert status == 0
    assert report["n"] == 40 and 0 <= report["accuracy"] <= 1
    assert len(report["per_class"]) == 43
    assert set(report["per_class"][0]) == {"class_id", "name", "n", "accuracy"}
    assert sum(row["n"] for row in report["per_class"]) == 40
    assert is_png(tmp_path / "confusion_matrix.png")


def test_evaluate_prints_accuracy_and_most_confused_pairs(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "evaluate", "--model", model_file, "--data", data_folder,
                         "--split", "valid", "--out", tmp_path)
    assert status == 0
    assert out.startswith("accuracy ") and "most confused (true -> predicted):" in out
    assert written(out) == [str(tmp_path / "confusion_matrix.png")]


@pytest.mark.parametrize("command", ["mistakes", "errors"])     # errors: the command's earlier name
def test_mistakes_writes_the_gallery(cli, capsys, model_file, data_folder, tmp_path, command):
    status, out, _ = run(cli, capsys, command, "--model", model_file, "--data", data_folder / "test.p",
                         "--limit", "3", "--out", tmp_path)
    assert status == 0 and written(out) == [str(tmp_path / "errors.png")] and is_png(tmp_path / "errors.png")


def test_demo_without_a_trained_model_says_to_train_first(cli, capsys, data_folder, tmp_path):
    status, _, err = run(cli, capsys, "demo", "--data", data_folder, "--runs", tmp_path / "runs")
    assert status == 2
    assert err == "explain.py: no trained model under runs/: run `make train` first\n"


def test_demo_picks_the_newest_run_and_writes_its_figures(cli, capsys, model_file, data_folder, tmp_path):
    import os
    import shutil
    for age, run_name in ((100, "old"), (0, "new")):
        (tmp_path / "runs" / run_name).mkdir(parents=True)
        shutil.copy(model_file, tmp_path / "runs" / run_name / "best.h5")
        os.utime(tmp_path / "runs" / run_name / "best.h5", (1e9 - age, 1e9 - age))
    status, out, _ = run(cli, capsys, "demo", "--data", data_folder, "--runs", tmp_path / "runs",
                         "--limit", "2", "--out", tmp_path / "out")
    assert status == 0
    assert out.splitlines()[0] == f"model {tmp_path / 'runs' / 'new' / 'best.h5'}"
    names = sorted(p.rsplit("/", 1)[-1] for p in written(out))
    assert names == ["confusion_matrix.png", "errors.png", "gradcam_top_mistake.png"]
