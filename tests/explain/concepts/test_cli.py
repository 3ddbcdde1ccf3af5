"""explain.py concepts on the tiny fixtures: the JSON it prints, the files it writes, and one-line errors."""
import json

import numpy as np
import pytest

from npnet.cli.commands.concepts import image_sets
from npnet.cli.commands.common import Model
from npnet.data import load_gtsrb
from npnet.explain.concepts import CONCEPTS, tcav

from ..test_cli import run, is_png, written

FAST = ("--set-size", "10")


@pytest.fixture(scope="module")
def explained(data_folder):
    """The class with the most images in the fixture's valid split."""
    valid = load_gtsrb(data_folder, progress=False)["valid"]
    return int(np.bincount(valid.labels).argmax())


def test_concepts_json_is_class_then_layers_of_concepts_with_score_std_p_value_significant(
        cli, capsys, model_file, data_folder, explained, tmp_path):
    status, out, err = run(cli, capsys, "concepts", "--model", model_file, "--data", data_folder,
                           "--class", explained, *FAST, "--json", "--out", tmp_path)
    assert status == 0, err
    record = json.loads(out)
    assert record["class"] == Model(model_file).names[explained]
    assert list(record["layers"]) == ["conv2d_3", "dense_1"]
    for concepts in record["layers"].values():
        assert concepts and set(concepts) | set(record["not_tested"]) == set(CONCEPTS)
        for row in concepts.values():
            assert set(row) == {"score", "std", "p_value", "significant"}
            assert 0 <= row["score"] <= 1 and row["std"] >= 0 and 0 <= row["p_value"] <= 1
            assert row["significant"] is (row["p_value"] < 0.05 / len(concepts))
    assert not set(record["not_tested"]) & set(record["layers"]["dense_1"])
    files = written(err)
    stem = f"concepts_{explained:02d}"
    assert [path.rsplit("/", 1)[1] for path in files] == [f"{stem}.png", f"{stem}.json"]
    assert is_png(files[0]) and json.loads(open(files[1]).read()) == record


def test_concepts_scores_are_tcavs_of_the_seeded_sets(cli, capsys, model_file, data_folder, explained, tmp_path):
    status, out, _ = run(cli, capsys, "concepts", "--model", model_file, "--data", data_folder, "--class",
                         explained, *FAST, "--layers", "dense_2", "--seed", "4", "--json", "--out", tmp_path)
    assert status == 0
    model, splits = Model(model_file), load_gtsrb(data_folder, progress=False)
    train, valid = splits["train"], splits["valid"]
    chosen, _, randoms = image_sets(train, explained, 10, 10, seed=4)
    expected = tcav(model.net, model.input(valid.images[valid.labels == explained]), explained,
                    {name: [model.input(train.images[i]) for i in sets] for name, sets in chosen.items()},
                    [model.input(train.images[i]) for i in randoms], ["dense_2"])["dense_2"]
    got = json.loads(out)["layers"]["dense_2"]
    assert list(got) == list(expected.concepts)
    for name, row in expected.concepts.items():
        assert got[name]["score"] == pytest.approx(row.scores.mean(), abs=1e-12)
        assert got[name]["std"] == pytest.approx(row.scores.std(ddof=1), abs=1e-12)
        assert got[name]["p_value"] == pytest.approx(row.p_value, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("argv, message", [
    (("--layers", "conv2d_9"), "--layers: no layer 'conv2d_9' to explain at"),
    (("--layers", "dense_4"), "--layers: no layer 'dense_4' to explain at"),
    (("--set-size", "30"), "training images are too few for random sets of 30"),
])
def test_concepts_refuses_bad_options_in_one_line(cli, capsys, model_file, data_folder, explained, tmp_path,
                                                 argv, message):
    status, out, err = run(cli, capsys, "concepts", "--model", model_file, "--data", data_folder,
                           "--class", explained, *argv, "--out", tmp_path)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err


def test_concepts_refuses_a_class_without_images_in_the_split(cli, capsys, model_file, data_folder, tmp_path):
    valid = load_gtsrb(data_folder, progress=False)["valid"]
    absent = int(np.flatnonzero(np.bincount(valid.labels, minlength=43) == 0)[0])
    status, _, err = run(cli, capsys, "concepts", "--model", model_file, "--data", data_folder, "--class", absent,
                         *FAST, "--out", tmp_path)
    assert status == 2 and f"holds no image of class {absent}" in err and len(err.splitlines()) == 1


def test_concepts_asks_for_at_least_ten_random_sets(cli, capsys, model_file, data_folder, tmp_path):
    with pytest.raises(SystemExit) as stopped:        # argparse's usage error (npnet.cli.boundary.ArgumentParser)
        cli.main(["concepts", "--model", str(model_file), "--data", str(data_folder), "--class", "3",
                  "--random-sets", "5", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.splitlines()) == 1
    assert "--random-sets: must be at least 10, got 5" in err
