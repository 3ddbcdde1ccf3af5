"""The command-line boundary (npnet/cli/boundary.py and the write paths): every failure a user can cause is one
escaped line and exit status 2, checked before work starts; no write follows a symlink out of --out;
a failed run leaves earlier results as they were; JSON is always JSON."""
import json
import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from npnet.cli.boundary import one_line

from .conftest import assert_one_line_error, pickle_dict, run_script, write_dataset, write_pickle

TRAIN = ("--no-download", "--quiet", "--epochs", "1", "--batch-size", "8")


def train(data, out, *extra, cwd=None):
    return run_script("train.py", "--data", data, *TRAIN, "--out", out, *extra,
                      **({"cwd": cwd} if cwd else {}))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "sign.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
    return path


# -- the line itself ------------------------------------------------------------------------------
def test_one_line_escapes_newlines_and_terminal_escapes():
    assert one_line("a\nb\x1b[31mred\tc") == "a\\nb\\x1b[31mred\\tc"
    assert one_line("Vorfahrt für Ümlaute") == "Vorfahrt für Ümlaute"


def test_a_path_with_a_newline_stays_on_one_line(tmp_path, checkpoint_file):
    odd = tmp_path / "two\nlines\x1b[2J.png"
    result = run_script("explain.py", "predict", "--model", checkpoint_file, odd, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "two\\nlines\\x1b[2J.png")


def test_a_usage_error_is_one_line_too(checkpoint_file, tmp_path, image):
    result = run_script("explain.py", "predict", "--model", checkpoint_file, image, "--top", "0")
    assert_one_line_error(result, "explain.py predict", "--top", "must be at least 1")


# -- output folders, checked before anything runs -------------------------------------------------
def test_train_refuses_an_out_that_is_a_file_before_reading_data(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    result = train(tmp_path / "no-data-here", taken)
    assert_one_line_error(result, "train.py", f"{taken}: --out exists and is not a folder")
    assert taken.read_text() == "keep me"


def test_explain_refuses_an_out_that_is_a_file(tmp_path, checkpoint_file, image):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    result = run_script("explain.py", "gradcam", "--model", checkpoint_file, image, "--out", taken)
    assert_one_line_error(result, "explain.py", f"{taken}: --out exists and is not a folder")


@pytest.mark.parametrize("place", ["/proc/npnet-out", "/proc/version/out"])
def test_an_out_that_cannot_be_created_is_one_line(tmp_path, checkpoint_file, image, place):
    result = run_script("explain.py", "gradcam", "--model", checkpoint_file, image, "--out", place)
    assert_one_line_error(result, "explain.py", f"{place}: cannot write to the output folder")


def test_a_file_name_too_long_for_the_system_is_one_line(tmp_path, checkpoint_file):
    long_name = tmp_path / ("s" * 245 + ".png")
    Image.new("RGB", (32, 32), (200, 20, 20)).save(long_name)
    result = run_script("explain.py", "gradcam", "--model", checkpoint_file, long_name, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "File name too long")


# -- values ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, message", [
    ("--seed", "-1", "--seed: must be at least 0, got -1"),
    ("--epochs", "²", "--epochs: not a whole number: '²'"),
    ("--lr", "nan", "learning rate must be a positive number"),
])
def test_train_refuses_bad_values_before_reading_data(tmp_path, option, value, message):
    result = train(tmp_path / "no-data-here", tmp_path / "out", option, value)
    assert_one_line_error(result, "train.py", message)


def test_a_superscript_class_is_an_unknown_class(tmp_path, checkpoint_file, image):
    result = run_script("explain.py", "gradcam", "--model", checkpoint_file, image, "--class", "²",
                        "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "unknown class '²'")


def test_a_learning_rate_that_blows_up_is_one_line_naming_no_missing_file(tmp_path):
    data = write_dataset(tmp_path / "data", n_train=64)
    result = train(data, tmp_path / "out", "--lr", "1e30")
    line = assert_one_line_error(result, "train.py", "training stopped", "no checkpoint was saved yet",
                                 "try a lower --lr")
    assert "RuntimeWarning" not in result.stderr and "last.h5" not in line


def test_options_given_with_resume_are_refused_not_ignored(tmp_path, one_epoch_run):
    data, _ = finished_run(tmp_path, one_epoch_run)
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "run",
                        "--lr", "0.5", "--batch-size", "4")
    assert_one_line_error(result, "train.py", "--batch-size, --lr: cannot change a run on --resume")


# -- empty splits ---------------------------------------------------------------------------------
def test_train_refuses_an_empty_validation_split(tmp_path):
    data = write_dataset(tmp_path / "data")
    write_pickle(data / "valid.p", pickle_dict(0))
    result = train(data, tmp_path / "out")
    assert_one_line_error(result, "train.py", "the valid split holds no images")
    assert not (tmp_path / "out" / "history.json").exists()


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_evaluate_refuses_an_empty_test_split(tmp_path, checkpoint_file, json_flag):
    empty = write_pickle(tmp_path / "test.p", pickle_dict(0))
    result = run_script("explain.py", "evaluate", "--model", checkpoint_file, "--data", empty, *json_flag,
                        "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "test.p: holds no images to evaluate")
    assert result.stdout == ""


def test_evaluate_json_is_valid_json_with_empty_classes(tmp_path, checkpoint_file):
    few = write_pickle(tmp_path / "test.p", pickle_dict(5))           # most classes have no image
    result = run_script("explain.py", "evaluate", "--model", checkpoint_file, "--data", few, "--json",
                        "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert sum(row["accuracy"] is None for row in record["per_class"]) >= 38


# -- writes ---------------------------------------------------------------------------------------
def test_explain_figures_replace_a_planted_symlink_instead_of_following_it(tmp_path, checkpoint_file, image):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sign_gradcam.png").symlink_to(outside)
    result = run_script("explain.py", "gradcam", "--model", checkpoint_file, image, "--out", out)
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "precious"
    assert not (out / "sign_gradcam.png").is_symlink()
    with Image.open(out / "sign_gradcam.png") as figure:
        assert figure.format == "PNG"


def test_train_files_replace_planted_symlinks_instead_of_following_them(tmp_path):
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "run"
    out.mkdir()
    targets = {}
    for name in ("curves.png", "history.json", "history.json.tmp", "best.h5", "last.h5"):
        targets[name] = tmp_path / f"outside-{name}"
        targets[name].write_text("precious")
        (out / name).symlink_to(targets[name])
    result = train(data, out)
    assert result.returncode == 0, result.stderr
    assert all(target.read_text() == "precious" for target in targets.values())
    assert json.loads((out / "history.json").read_text())[0]["epoch"] == 1


def test_written_files_get_the_usual_permissions(tmp_path, checkpoint_file, image):
    out = tmp_path / "out"
    run_script("explain.py", "gradcam", "--model", checkpoint_file, image, "--out", out)
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "sign_gradcam.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_predict_where_every_image_fails_keeps_the_earlier_predictions(tmp_path, checkpoint_file, image):
    out = tmp_path / "out"
    assert run_script("explain.py", "predict", "--model", checkpoint_file, image, "--out", out).returncode == 0
    earlier = (out / "predictions.jsonl").read_text()
    result = run_script("explain.py", "predict", "--model", checkpoint_file, tmp_path / "missing.png", "--out", out)
    assert result.returncode == 2
    assert (out / "predictions.jsonl").read_text() == earlier


def test_evaluate_caches_inside_out_not_in_the_working_directory(tmp_path, checkpoint_file):
    from tests.data.conftest import build_official
    data = build_official(tmp_path / "official")               # an image folder: decoded once, then cached
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = run_script("explain.py", "evaluate", "--model", checkpoint_file, "--data", data, "--split", "train",
                        "--out", tmp_path / "out", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert list(workdir.iterdir()) == []
    assert list((tmp_path / "out" / "cache").glob("*.h5"))


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """(data folder, run folder) of one finished one-epoch run, trained once for this module."""
    base = tmp_path_factory.mktemp("one_epoch_run")
    data = write_dataset(base / "data")
    assert train(data, base / "run").returncode == 0
    return data, base / "run"


def finished_run(tmp_path, one_epoch_run):
    """A copy of ``one_epoch_run`` in tmp_path: (data folder, its last.h5), free to spoil."""
    data, run = one_epoch_run
    shutil.copytree(run, tmp_path / "run")
    return data, tmp_path / "run" / "last.h5"


def test_resuming_a_state_no_run_could_have_saved_is_one_line(tmp_path, one_epoch_run):
    from npnet.io import checkpoint
    data, last = finished_run(tmp_path, one_epoch_run)
    model, metadata = checkpoint.load(last)
    optimizer = checkpoint.load_optimizer(last, model)
    names, spec = metadata.pop("class_names"), metadata.pop("preprocessing")
    checkpoint.save(model, last, names, spec, optimizer=optimizer, **{**metadata, "position": [99, 0]})
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "run")
    assert_one_line_error(result, "train.py", "last.h5: holds no valid training state to resume from",
                          "position (epoch 99, batch 0) is outside 1 epochs")


@pytest.mark.parametrize("damage, message", [
    ("no optimizer", "no optimizer state"),
    ("negative steps", "optimizer state is not valid (a negative step count, -5)"),
    ("too many steps", "the optimizer took 1,000,000 steps, more than the run's"),
])
def test_a_damaged_optimizer_state_is_refused_and_last_h5_left_as_it_was(tmp_path, one_epoch_run, damage, message):
    import h5py
    import json
    data, last = finished_run(tmp_path, one_epoch_run)
    with h5py.File(last, "a") as f:
        if damage == "no optimizer":
            del f["optimizer"]
        else:
            state = json.loads(f["optimizer"].attrs["state"])
            state["iterations"] = -5 if damage == "negative steps" else 1_000_000
            f["optimizer"].attrs["state"] = json.dumps(state)
    before = last.read_bytes()
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "run",
                        "--epochs", "2")
    assert_one_line_error(result, "train.py", "last.h5", message)
    assert last.read_bytes() == before


def test_resuming_another_architecture_is_refused(tmp_path, one_epoch_run):
    from npnet.io import checkpoint
    from npnet.engine.layers import Conv2D, Dense, Flatten
    from npnet.engine.model import Sequential
    data, last = finished_run(tmp_path, one_epoch_run)
    _, metadata = checkpoint.load(last)
    names, spec = metadata.pop("class_names"), metadata.pop("preprocessing")
    other = Sequential([Conv2D(4, 3, activation="relu"), Flatten(), Dense(43)], input_shape=(32, 32, 3))
    checkpoint.save(other, last, names, spec, **metadata)
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "run")
    assert_one_line_error(result, "train.py", "last.h5: is not the seed net for 43 classes")


# -- logs -----------------------------------------------------------------------------------------
def test_training_into_a_log_file_prints_epoch_lines_not_progress_bars(tmp_path):
    data = write_dataset(tmp_path / "data")
    result = run_script("train.py", "--data", data, "--no-download", "--epochs", "2", "--batch-size", "4",
                        "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "batch/s" not in result.stderr
    assert result.stdout.count("val_acc") == 2


def test_explain_refuses_a_model_that_does_not_take_32x32_rgb_images(tmp_path, image):
    from npnet.io import checkpoint
    from npnet.engine.layers import Dense, Flatten
    from npnet.engine.model import Sequential
    small = Sequential([Flatten(), Dense(43)], input_shape=(8, 8, 3))
    path = tmp_path / "small.h5"
    checkpoint.save(small, path, class_names=[f"c{k}" for k in range(43)], preprocessing={"name": "seed"})
    result = run_script("explain.py", "predict", "--model", path, image, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "small.h5:")
