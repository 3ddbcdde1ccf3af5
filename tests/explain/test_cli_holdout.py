"""explain.py --split holdout: the training tracks a run held out (train.py --holdout-tracks), rebuilt from
the fraction its checkpoint records."""
import json
import pickle

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.data import class_names, load_gtsrb
from npnet.engine.seed_net import seed_net
from npnet.training.holdout import split_holdout
from npnet.training.recipes import BEST

from .test_cli import run


@pytest.fixture(scope="module")
def tracked_folder(tmp_path_factory):
    """train.p of 4 classes, each two 30-image blocks (the tracks of a pickle), and a small valid.p."""
    folder = tmp_path_factory.mktemp("tracked")
    rng = np.random.default_rng(5)
    for name, n, labels in (("train", 240, np.repeat(np.arange(4), 60)), ("valid", 12, np.arange(12) % 4)):
        split = {"features": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "labels": labels.astype(np.uint8),
                 "sizes": np.full((n, 2), 40, np.int32), "coords": np.tile(np.int32([4, 4, 36, 36]), (n, 1))}
        (folder / f"{name}.p").write_bytes(pickle.dumps(split))
    return folder


def saved_run(path, holdout_tracks):
    checkpoint.save(seed_net(), path, class_names=class_names(), preprocessing={"name": "seed"},
                    recipe=BEST.with_options(holdout_tracks=holdout_tracks).to_dict())
    return path


def test_evaluate_on_the_held_out_tracks_counts_exactly_them(cli, capsys, tracked_folder, tmp_path):
    model = saved_run(tmp_path / "held.h5", 0.5)
    status, out, _ = run(cli, capsys, "evaluate", "--json", "--model", model, "--data", tracked_folder,
                         "--split", "holdout", "--out", tmp_path / "out")
    _, held = split_holdout(load_gtsrb(tracked_folder, progress=False)["train"], 0.5)
    report = json.loads(out)
    assert status == 0 and report["n"] == len(held) == 120
    assert [row["n"] for row in report["per_class"][:4]] == [30, 30, 30, 30]


def test_a_checkpoint_without_held_out_tracks_is_one_line_and_exit_2(cli, capsys, tracked_folder, tmp_path):
    model = saved_run(tmp_path / "plain.h5", 0.0)
    status, out, err = run(cli, capsys, "evaluate", "--model", model, "--data", tracked_folder, "--split", "holdout",
                           "--out", tmp_path / "out")
    assert status == 2 and err.count("\n") == 1
    assert "plain.h5" in err and "--holdout-tracks" in err


def test_the_held_out_split_prints_no_hard_view_of_rows_it_does_not_have(cli, capsys, tracked_folder, tmp_path):
    model = saved_run(tmp_path / "held.h5", 0.5)
    status, out, _ = run(cli, capsys, "evaluate", "--model", model, "--data", tracked_folder, "--split", "holdout",
                         "--out", tmp_path / "out")
    assert status == 0 and "accuracy " in out and "hard view: not available" in out
