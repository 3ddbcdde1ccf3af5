"""train.py end to end on tiny pickles in the seed's layout, test.p included."""
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from npnet.training import BEST

ROOT = Path(__file__).resolve().parents[2]


def write_split(path, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 43, n).astype(np.uint8)
    features = rng.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)
    split = {"features": features, "labels": labels,
             "sizes": np.full((n, 2), 40, np.int32), "coords": np.tile(np.int32([4, 4, 36, 36]), (n, 1))}
    path.write_bytes(pickle.dumps(split))


@pytest.fixture
def pickles(tmp_path):
    folder = tmp_path / "gtsrb"
    folder.mkdir()
    write_split(folder / "train.p", 48, 0)
    write_split(folder / "valid.p", 16, 1)
    write_split(folder / "test.p", 20, 2)
    return folder


def run_train(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_train_writes_its_files_and_reports_test_accuracy(pickles, tmp_path):
    result = run_train("--data", pickles, "--epochs", 2, "--batch-size", 16, "--quiet", "--no-download",
                       "--out", tmp_path / "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test accuracy (best.h5):" in result.stdout and "on 20 images" in result.stdout
    assert "Total params: 422,187" in result.stdout
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 2
    assert all((tmp_path / "run" / name).is_file() for name in ("best.h5", "last.h5", "curves.png"))


def test_recipe_options_override_the_recipe(pickles, tmp_path):
    result = run_train("--data", pickles, "--recipe", "best", "--epochs", 1, "--batch-size", 16,
                       "--quiet", "--no-download", "--out", tmp_path / "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'epochs': 1" in result.stdout and f"'preprocessing': '{BEST.preprocessing}'" in result.stdout


def test_a_folder_without_data_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_train("--data", tmp_path / "empty", "--no-download", "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "empty" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_option_value_is_one_line_and_exit_2(pickles, tmp_path):
    result = run_train("--data", pickles, "--lr", "-1", "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and "learning rate must be a positive number" in result.stderr


def test_a_teacher_without_a_distillation_weight_is_one_line_and_exit_2(pickles, tmp_path):
    result = run_train("--data", pickles, "--teacher", tmp_path / "t.h5", "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "distillation needs both teachers and a weight" in result.stderr


def test_the_augmentation_and_swa_options_reach_the_recipe(pickles, tmp_path):
    result = run_train("--data", pickles, "--epochs", 1, "--batch-size", 16, "--perspective", 2, "--noise", 4,
                       "--jpeg", 0.5, "--mixup", 0.2, "--swa-epochs", 1, "--preprocessing", "lcn",
                       "--quiet", "--no-download", "--out", tmp_path / "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for shown in ("'perspective': 2.0", "'noise': 4.0", "'jpeg': 0.5", "'mixup': 0.2", "'swa_epochs': 1",
                  "'preprocessing': 'lcn'"):
        assert shown in result.stdout
    assert (tmp_path / "run" / "swa.h5").is_file() and "swa.h5 (the mean of the last 1 epochs)" in result.stdout


def test_held_out_tracks_are_reported_every_epoch_and_at_the_end(tmp_path):
    folder = tmp_path / "gtsrb"
    folder.mkdir()
    train = {"features": np.random.default_rng(0).integers(0, 256, (120, 32, 32, 3)).astype(np.uint8),
             "labels": np.repeat(np.uint8([0, 1]), 60),       # two classes of two 30-image blocks each
             "sizes": np.full((120, 2), 40, np.int32), "coords": np.tile(np.int32([4, 4, 36, 36]), (120, 1))}
    (folder / "train.p").write_bytes(pickle.dumps(train))
    write_split(folder / "valid.p", 16, 1)
    result = run_train("--data", folder, "--epochs", 2, "--batch-size", 16, "--holdout-tracks", 0.5,
                       "--quiet", "--no-download", "--out", tmp_path / "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "held-out tracks: 60 images of the training split held out (0.5 of each class's tracks), 60 to " \
           "train on" in result.stdout and "'holdout_tracks': 0.5" in result.stdout
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert result.stdout.count("held-out tracks ") == 2 + 1                 # each epoch's line, and the end
    assert f"{100 * history[-1]['holdout_accuracy']:.2f}% at the last" in result.stdout


def test_final_trains_on_train_and_valid_and_writes_final_h5(pickles, tmp_path):
    result = run_train("--data", pickles, "--recipe", "best", "--final", "--epochs", 2, "--batch-size", 16,
                       "--quiet", "--no-download", "--out", tmp_path / "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "final run: training on all 64 labelled images" in result.stdout
    assert "wrote " in result.stdout and "/final.h5 (the weights' moving average" in result.stdout
    assert "test accuracy (final.h5):" in result.stdout
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["curves.png", "final.h5", "history.json",
                                                                     "last.h5"]


def test_final_resumes_and_refuses_held_out_tracks(pickles, tmp_path):
    result = run_train("--data", pickles, "--final", "--holdout-tracks", 0.2, "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and "cannot hold tracks out" in result.stderr
    first = run_train("--data", pickles, "--final", "--epochs", 1, "--batch-size", 16, "--quiet", "--no-download",
                      "--out", tmp_path / "run", cwd=tmp_path)
    again = run_train("--data", pickles, "--resume", tmp_path / "run", "--epochs", 2, "--quiet", "--no-download",
                      cwd=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 2


def test_a_held_out_fold_reaches_the_recipe_and_a_bad_one_is_refused(pickles, tmp_path):
    result = run_train("--data", pickles, "--holdout-fold", 1, "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and "needs held-out tracks" in result.stderr
    result = run_train("--data", pickles, "--holdout-tracks", 0.5, "--holdout-fold", 2, "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and "must be in [0, 1]" in result.stderr
