"""A model measured on images it trained on says so: the checkpoint's ``trained_on`` (npnet.io.provenance)
and the one line evaluate, mistakes, faithfulness and report print."""
import json
import os

import pytest

from npnet.data import class_names
from npnet.engine.seed_net import seed_net
from npnet.io import checkpoint
from npnet.io.provenance import trained_on, trained_splits
from npnet.training.recipes import BEST

from .test_cli import run
from .test_cli_holdout import tracked_folder  # noqa: F401  (a fixture: train.p and valid.p in a folder)

NOTE = "was trained on these images"


def final_model(path, folder):
    """A checkpoint as train.py --final writes it: trained on the folder's train.p and valid.p."""
    checkpoint.save(seed_net(), path, class_names=class_names(), preprocessing={"name": "seed"},
                    recipe=BEST.with_options(final=True).to_dict(),
                    trained_on=[{"split": "train", "source": str(folder / "train.p")},
                                {"split": "valid", "source": str(folder / "valid.p")}])
    return path


# -- which splits ---------------------------------------------------------------------------------
def test_a_checkpoint_before_trained_on_trained_on_its_train_source():
    assert trained_splits({"train_source": "/d/train.p"}) == [{"split": "train", "source": "/d/train.p"}]


def test_a_checkpoint_that_records_no_data_trained_on_nothing_known():
    assert trained_splits({}) == [] and trained_on({}, "train", "/d/train.p") is None


def test_the_same_file_matches_whatever_split_it_is_loaded_as():
    metadata = {"trained_on": [{"split": "valid", "source": "/d/valid.p"}]}
    assert trained_on(metadata, "test", "/d/valid.p")["split"] == "valid"


def test_the_same_split_name_matches_when_the_file_name_agrees():
    metadata = {"trained_on": [{"split": "valid", "source": "/elsewhere/valid.p"}]}
    assert trained_on(metadata, "valid", "/d/valid.p") is not None
    assert trained_on(metadata, "valid", "/d/other.p") is None


def test_another_split_and_the_held_out_tracks_never_match():
    metadata = {"trained_on": [{"split": "train", "source": "/d/train.p"}]}
    assert trained_on(metadata, "valid", "/d/valid.p") is None
    assert trained_on(metadata, "holdout", "/d/train.p") is None


# -- the commands ---------------------------------------------------------------------------------
def test_evaluate_on_a_split_the_model_trained_on_says_so_in_one_line(cli, capsys, tracked_folder, tmp_path):
    model = final_model(tmp_path / "final.h5", tracked_folder)
    status, out, _ = run(cli, capsys, "evaluate", "--model", model, "--data", tracked_folder, "--split", "valid",
                         "--out", tmp_path / "out")
    assert status == 0 and [line for line in out.splitlines() if NOTE in line] == [
        f"note: {model} was trained on these images (its valid split): the figures below are not validation figures"]


def test_evaluate_json_marks_a_trained_split_and_keeps_stdout_json(cli, capsys, tracked_folder, tmp_path):
    model = final_model(tmp_path / "final.h5", tracked_folder)
    status, out, err = run(cli, capsys, "evaluate", "--json", "--model", model, "--data", tracked_folder,
                           "--split", "valid", "--out", tmp_path / "out")
    assert status == 0 and json.loads(out)["trained_on_split"] is True and NOTE in err


def test_a_development_model_on_the_validation_split_says_nothing(cli, capsys, tracked_folder, tmp_path):
    model = tmp_path / "best.h5"
    checkpoint.save(seed_net(), model, class_names=class_names(), preprocessing={"name": "seed"},
                    recipe=BEST.to_dict(), trained_on=[{"split": "train", "source": str(tracked_folder / "train.p")}])
    status, out, err = run(cli, capsys, "evaluate", "--json", "--model", model, "--data", tracked_folder,
                           "--split", "valid", "--out", tmp_path / "out")
    assert status == 0 and json.loads(out)["trained_on_split"] is False and NOTE not in out + err


@pytest.mark.parametrize("command", ["mistakes", "faithfulness"])
def test_mistakes_and_faithfulness_say_so_too(cli, capsys, tracked_folder, tmp_path, command):
    model = final_model(tmp_path / "final.h5", tracked_folder)
    extra = ("--methods", "gradcam", "--limit", "8") if command == "faithfulness" else ()
    status, out, _ = run(cli, capsys, command, "--model", model, "--data", tracked_folder, "--split", "valid",
                         *extra, "--out", tmp_path / "out")
    assert status == 0 and sum(NOTE in line for line in out.splitlines()) == 1


def test_the_report_says_so_in_its_header(cli, capsys, tracked_folder, tmp_path):
    model = final_model(tmp_path / "final.h5", tracked_folder)
    status, out, _ = run(cli, capsys, "report", "--model", model, "--data", tracked_folder, "--split", "train",
                         "--methods", "gradcam", "--faithfulness-images", "0", "--limit", "2",
                         "--out", tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    header = html[html.index('<header class="top">'):html.index("</header>")]
    assert status == 0 and NOTE in out and 'class="trained-on"' in header and "its train split" in header


def test_the_newest_run_s_final_h5_is_the_default_model(tmp_path, tracked_folder):
    from npnet.cli.commands.demo import newest_model
    for run_name, name in (("a", "best.h5"), ("b", "best.h5"), ("b", "final.h5")):
        (tmp_path / run_name).mkdir(exist_ok=True)
        final_model(tmp_path / run_name / name, tracked_folder)
    os.utime(tmp_path / "a" / "best.h5", (1, 1))
    os.utime(tmp_path / "b" / "final.h5", (2, 2))       # older than its folder's best.h5: still the one
    assert newest_model(tmp_path) == tmp_path / "b" / "final.h5"


def test_a_run_that_held_tracks_out_says_its_train_split_was_trained_on_less_them():
    from npnet.io.provenance import training_split_note
    metadata = {"trained_on": [{"split": "train", "source": "/d/train.p"}], "recipe": {"holdout_tracks": 0.2}}
    assert "(its train split, less the tracks it held out)" in training_split_note("m.h5", metadata, "train",
                                                                                   "/d/train.p")
