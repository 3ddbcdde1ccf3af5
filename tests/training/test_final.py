"""train.py --final: every labelled image trains, nothing validates, final.h5 holds the averaged weights."""
import json

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.training import Recipe

from .test_training import RECIPE, assert_same_params, stop_and_resume, tiny_dataset, train

FINAL = RECIPE.with_options(final=True, ema=0.9)


@pytest.fixture
def data():
    return tiny_dataset(80, seed=0), tiny_dataset(40, seed=1)


def test_a_final_run_trains_on_the_training_and_validation_images_together(tmp_path, data):
    trainer, outcome = train(tmp_path, "run", data, FINAL)
    assert outcome == "finished" and len(trainer.train) == 120
    np.testing.assert_array_equal(trainer.train.images, np.concatenate([data[0].images, data[1].images]))
    np.testing.assert_array_equal(trainer.train.labels, np.concatenate([data[0].labels, data[1].labels]))


def test_a_final_run_writes_final_h5_and_no_best_h5(tmp_path, data):
    train(tmp_path, "run", data, FINAL)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"final.h5", "last.h5", "history.json", "curves.png"}


def test_a_final_run_validates_nothing(tmp_path, data):
    train(tmp_path, "run", data, FINAL)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert not [key for row in history for key in row if "val" in key or "holdout" in key]


def test_final_h5_holds_the_moving_average_after_the_last_epoch(tmp_path, data):
    trainer, _ = train(tmp_path, "run", data, FINAL)
    final, metadata = checkpoint.load(tmp_path / "run" / "final.h5")
    assert metadata["epoch"] == 3 and metadata["weights_averaged"] == "ema"
    averages = trainer.optimizer.averaged_params()
    for key, value in final.params().items():
        np.testing.assert_array_equal(value, averages[key])
        assert not np.array_equal(value, trainer.model.params()[key])     # not the raw weights


def test_final_h5_holds_the_swa_mean_when_the_recipe_averages_epochs(tmp_path, data):
    trainer, _ = train(tmp_path, "run", data, FINAL.with_options(swa_epochs=2))
    final, metadata = checkpoint.load(tmp_path / "run" / "final.h5")
    swa, _ = checkpoint.load(tmp_path / "run" / "swa.h5")
    assert metadata["weights_averaged"] == "swa"
    for key, value in final.params().items():
        np.testing.assert_array_equal(value, swa.params()[key])


def test_a_final_checkpoint_records_both_splits_it_trained_on(tmp_path, data):
    train(tmp_path, "run", data, FINAL)
    for name in ("final.h5", "last.h5"):
        _, metadata = checkpoint.load(tmp_path / "run" / name)
        assert [entry["split"] for entry in metadata["trained_on"]] == ["train", "valid"]
        assert metadata["train_size"] == 120 and metadata["recipe"]["final"] is True


def test_a_development_checkpoint_records_the_training_split_alone(tmp_path, data):
    train(tmp_path, "run", data)
    _, metadata = checkpoint.load(tmp_path / "run" / "best.h5")
    assert [entry["split"] for entry in metadata["trained_on"]] == ["train"]


def test_a_stopped_final_run_resumes_to_the_same_final_weights(tmp_path, data):
    stop_and_resume(tmp_path, data, FINAL, (1, 1))
    whole, _ = checkpoint.load(tmp_path / "whole" / "final.h5")
    again, _ = checkpoint.load(tmp_path / "stopped" / "final.h5")
    assert_same_params(whole, again)


def test_a_final_run_needs_no_validation_images(tmp_path, data):
    trainer, outcome = train(tmp_path, "run", (data[0], data[1].subset([])), FINAL)
    assert outcome == "finished" and len(trainer.train) == 80


def test_a_final_run_cannot_hold_tracks_out():
    with pytest.raises(ValueError, match="cannot hold tracks out"):
        Recipe(final=True, holdout_tracks=0.2)
