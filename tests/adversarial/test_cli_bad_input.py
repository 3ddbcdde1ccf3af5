"""train.py and explain.py on hostile input: exit status 2 and one line on stderr, no traceback
(--debug shows it). Each runs as a user would run it, in a subprocess."""
import os
import subprocess
import sys

import h5py
import numpy as np

from .conftest import ROOT, assert_one_line_error, pickle_dict, run_script, write_dataset, write_pickle
from .test_images_hostile import png_bomb

TRAIN = ("--no-download", "--quiet", "--epochs", "1", "--batch-size", "8")


class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def train(data, out, *extra):
    return run_script("train.py", "--data", data, *TRAIN, "--out", out, *extra)


# -- train.py -------------------------------------------------------------------------------------
def test_train_refuses_a_pickle_payload_in_one_line_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    data = write_dataset(tmp_path / "data")
    write_pickle(data / "train.p", pickle_dict() | {"labels": RunsACommand(f"touch {marker}")})
    result = train(data, tmp_path / "out")
    assert_one_line_error(result, "train.py", "train.p: refuses to load pickle global")
    assert not marker.exists()


def test_train_on_an_empty_pickle_is_one_line(tmp_path):
    data = write_dataset(tmp_path / "data")
    (data / "valid.p").write_bytes(b"")
    assert_one_line_error(train(data, tmp_path / "out"), "train.py", "valid.p: is empty (0 bytes)")


def test_train_on_a_truncated_pickle_is_one_line(tmp_path):
    data = write_dataset(tmp_path / "data")
    (data / "train.p").write_bytes((data / "train.p").read_bytes()[:500])
    assert_one_line_error(train(data, tmp_path / "out"), "train.py", "train.p: is truncated or not a pickle")


def test_train_with_a_binary_signnames_csv_is_one_line(tmp_path):
    data = write_dataset(tmp_path / "data")
    (data / "signnames.csv").write_bytes(b"\xff\xfe\x00\x81garbage")
    assert_one_line_error(train(data, tmp_path / "out"), "train.py", "signnames.csv: cannot read the sign names")


def test_train_resume_from_random_bytes_is_one_line(tmp_path):
    data = write_dataset(tmp_path / "data")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.h5").write_bytes(np.random.default_rng(0).bytes(4000))
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "run")
    assert_one_line_error(result, "train.py", "last.h5: not a readable HDF5 checkpoint")


def test_train_debug_shows_the_traceback(tmp_path):
    data = write_dataset(tmp_path / "data")
    (data / "train.p").write_bytes(b"")
    result = train(data, tmp_path / "out", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr and "DataError" in result.stderr


def test_train_refuses_a_batch_too_large_for_memory_with_the_estimate(tmp_path):
    # The trainer checks min(batch size, training images) against the memory available; fix what
    # "available" means (64 MiB) so the check is the same on every machine.
    data = write_dataset(tmp_path / "data", n_train=64)
    argv = ["train.py", "--data", str(data), "--no-download", "--quiet", "--batch-size", "100000000",
            "--out", str(tmp_path / "out")]
    code = ("import runpy, sys, npnet.runtime.memory\n"
            "npnet.runtime.memory.available_bytes = lambda: 64 * 2**20\n"
            f"sys.argv = {argv!r}\n"
            f"runpy.run_path({str(ROOT / 'train.py')!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, "train.py", "batch size 64 needs about", "GiB for a training step",
                          "only 0.1 GiB is available", "use a smaller --batch-size")
    assert not (tmp_path / "out" / "last.h5").exists()


# -- explain.py -----------------------------------------------------------------------------------
def predict(model, *images, out):
    return run_script("explain.py", "predict", "--model", model, *images, "--out", out)


def test_explain_with_random_bytes_as_the_model_is_one_line(tmp_path):
    model = tmp_path / "model.h5"
    model.write_bytes(np.random.default_rng(1).bytes(3000))
    image = tmp_path / "sign.png"
    image.write_bytes(png_bomb(40, 40))
    assert_one_line_error(predict(model, image, out=tmp_path / "out"), "explain.py", "model.h5: not a readable HDF5")


def test_explain_refuses_a_model_linking_to_another_file(checkpoint_file, tmp_path):
    with h5py.File(checkpoint_file, "a") as f:
        del f["dense_4/kernel"]
        f["dense_4/kernel"] = h5py.ExternalLink("/etc/passwd", "kernel")
    image = tmp_path / "sign.png"
    image.write_bytes(png_bomb(40, 40))
    result = predict(checkpoint_file, image, out=tmp_path / "out")
    assert_one_line_error(result, "explain.py", "'dense_4/kernel' is a link; links are not followed")


def test_explain_refuses_a_model_with_infinite_weights(checkpoint_file, tmp_path):
    with h5py.File(checkpoint_file, "a") as f:
        f["conv2d_1/kernel"][0, 0, 0, 0] = np.inf
    result = predict(checkpoint_file, tmp_path / "any.png", out=tmp_path / "out")
    assert_one_line_error(result, "explain.py", "'conv2d_1/kernel' holds NaN or infinite values")


def test_explain_on_a_decompression_bomb_is_one_line(checkpoint_file, tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(12_000, 6_000))
    result = predict(checkpoint_file, bomb, out=tmp_path / "out")
    assert_one_line_error(result, "explain.py", "bomb.png: cannot read image (12000x6000 is more than")


def test_explain_on_random_bytes_named_jpg_and_an_empty_file_reports_each_in_one_line(checkpoint_file, tmp_path):
    noise, empty = tmp_path / "noise.jpg", tmp_path / "empty.png"
    noise.write_bytes(np.random.default_rng(2).bytes(2000))
    empty.write_bytes(b"")
    result = predict(checkpoint_file, noise, empty, out=tmp_path / "out")
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line.split(": cannot read image")[0] for line in lines[:2]] == [f"explain.py: {noise}",
                                                                            f"explain.py: {empty}"]


def test_explain_debug_shows_the_traceback(tmp_path):
    model = tmp_path / "model.h5"
    model.write_bytes(b"not HDF5")
    result = run_script("explain.py", "predict", "--debug", "--model", model, "x.png", "--out", tmp_path / "o")
    assert result.returncode != 0 and "Traceback" in result.stderr and "CheckpointError" in result.stderr
