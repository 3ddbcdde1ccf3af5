"""explain.py robustness and attack: the JSON the project is checked through, the figures, bad input."""
import json

import numpy as np

import npnet
from npnet.data import load_split
from npnet.explain.attacks import pgd, robust_accuracy

from .test_cli import is_png, run


def test_robustness_json_is_robust_accuracy_of_the_split(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "robustness", "--json", "--model", model_file, "--data",
                         data_folder / "test.p", "--eps", "1,2", "--attack", "fgsm,pgd3", "--out", tmp_path)
    assert status == 0
    printed = json.loads(out)
    model, _ = npnet.load(model_file)
    split = load_split(data_folder / "test.p")
    expected = robust_accuracy(model, split.images, split.labels, eps=(1, 2), attacks=("fgsm", "pgd3"))
    assert {key: printed[key] for key in ("images", "clean", "attacks")} == expected
    assert set(printed["attacks"]["pgd3"]) == {"1", "2"}
    assert len(printed["margins"]["per_class"]) == len(np.unique(split.labels))
    assert is_png(tmp_path / "robustness.png") and is_png(tmp_path / "margins.png")
    assert json.loads((tmp_path / "robustness.json").read_text()) == printed


def test_robustness_refuses_a_bad_radius_or_attack_in_one_line(cli, capsys, model_file, data_folder, tmp_path):
    for flag, value, words in (("--eps", "1,x", "--eps"), ("--eps", "0", "(0, 255]"), ("--attack", "pgd", "unknown attack")):
        status, _, err = run(cli, capsys, "robustness", "--model", model_file, "--data", data_folder / "test.p",
                             flag, value, "--out", tmp_path / "out")
        assert status == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_attack_json_reports_the_pgd_image_it_draws(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "attack", "--json", "--model", model_file, "--data", data_folder / "test.p",
                         "--index", "3", "5", "--eps", "6", "--steps", "4", "--out", tmp_path)
    assert status == 0
    printed = json.loads(out)
    model, _ = npnet.load(model_file)
    images = load_split(data_folder / "test.p").images[[3, 5]]
    predicted = model.predict_proba(images / np.float32(255) - np.float32(0.5)).argmax(axis=1)
    attacked = pgd(model, images, predicted, 6, 2.5 * 6 / 4, 4)
    change = attacked - images.astype(np.float32)
    assert [entry["linf"] for entry in printed["images"]] == [float(np.abs(c).max()) for c in change]
    assert all(entry["linf"] <= 6 for entry in printed["images"])
    assert is_png(tmp_path / "test_3_attack.png") and is_png(tmp_path / "test_5_attack.png")


def test_attack_minimal_finds_a_radius_that_flips(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "attack", "--json", "--minimal", "--model", model_file, "--data",
                         data_folder / "test.p", "--index", "0", "--eps", "32", "--steps", "5", "--out", tmp_path)
    entry = json.loads(out)["images"][0]
    assert status == 0 and entry["flipped"] and entry["linf"] <= entry["radius"] <= 32
