"""explain.py influence, influence-index and audit, end to end on tiny data."""
import json

import numpy as np
import pytest

from npnet.data import class_names, load_split
from npnet.data.preprocessing import preprocess
from npnet.engine.seed_net import seed_net
from npnet.explain.training_data.confident_learning import find_label_issues
from npnet.explain.training_data.run import load_run
from npnet.explain.training_data.tracin import influence
from npnet.io import checkpoint

from ..test_cli import run


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, data_folder):
    """A run folder as train.py --checkpoint-every leaves it: three checkpoints with their rates."""
    folder = tmp_path_factory.mktemp("run")
    (folder / "checkpoints").mkdir()
    for epoch, (seed, rate) in enumerate(((1, 0.002), (2, 0.001), (3, 0.0005)), 1):
        checkpoint.save(seed_net(seed=seed), folder / "checkpoints" / f"epoch_{epoch:03d}.h5", class_names(),
                        {"name": "seed"}, epoch=epoch, learning_rate=rate,
                        train_source=str(data_folder / "train.p"), train_size=40)
    return folder


def test_influence_json_is_tracin_of_the_run_over_its_training_split(cli, capsys, run_folder, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                         "--index", "3", "7", "--top", "4", "--json", "--out", tmp_path)
    assert status == 0
    report = json.loads(out)
    assert {"train_images": 40, "checkpoints": 3, "exact": True}.items() <= report.items()
    assert report["layers"] == ["conv2d_1", "conv2d_2", "conv2d_3", "dense_1", "dense_2", "dense_3", "dense_4"]
    train, valid = load_split(data_folder / "train.p"), load_split(data_folder / "valid.p")
    expected = influence(load_run(run_folder).checkpoints, train.images, train.labels, valid.images[[3, 7]],
                         valid.labels[[3, 7]], preprocessing={"name": "seed"}, top=4)
    for q, query in enumerate(report["queries"]):
        assert query["index"] == [3, 7][q] and query["label"] == valid.labels[[3, 7][q]]
        assert [p["index"] for p in query["proponents"]] == list(expected.proponents[q])
        assert [p["index"] for p in query["opponents"]] == list(expected.opponents[q])
        np.testing.assert_allclose([p["score"] for p in query["proponents"]], expected.proponent_scores()[q],
                                   rtol=1e-6)
        assert all(p["label"] == train.labels[p["index"]] for p in query["proponents"])
    assert sorted(p.name for p in tmp_path.glob("influence_*.png")) == ["influence_000.png", "influence_001.png"]


def brute_force_neighbours(model, train_images, query_images, layer, k):
    """(indices, cosines) of each query's k nearest training images: the layer's output after a full
    ``model.forward``, cosines of every pair in float64, ranked by a stable argsort."""
    def features(images):
        model.forward(preprocess(images, {"name": "seed"}), training=False)
        out = model.layer(layer).output.reshape(len(images), -1).astype(np.float64)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    cosines = features(query_images) @ features(train_images).T
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(cosines, order, axis=1)


@pytest.mark.parametrize("layer", [None, "dense_2", "conv2d_3"])
def test_influence_json_lists_each_querys_nearest_training_images_by_cosine_in_the_last_checkpoint(
        cli, capsys, run_folder, data_folder, tmp_path, layer):
    status, out, _ = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                         "--index", "3", "7", "--top", "5", "--json", "--out", tmp_path,
                         *([] if layer is None else ["--layer", layer]))
    assert status == 0
    report = json.loads(out)
    assert report["neighbour_layer"] == (layer or "dense_3")
    train, valid = load_split(data_folder / "train.p"), load_split(data_folder / "valid.p")
    expected, cosines = brute_force_neighbours(load_run(run_folder).final.model, train.images,
                                               valid.images[[3, 7]], layer or "dense_3", 5)
    for q, query in enumerate(report["queries"]):
        assert [n["index"] for n in query["neighbours"]] == list(expected[q])
        np.testing.assert_allclose([n["similarity"] for n in query["neighbours"]], cosines[q], atol=1e-5)
        assert all(n["label"] == train.labels[n["index"]] for n in query["neighbours"])


def test_influence_answers_from_the_index_once_built(cli, capsys, run_folder, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "influence-index", "--run", run_folder, "--width", "4")
    assert status == 0 and (run_folder / "influence_index.npz").exists()
    status, out, _ = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                         "--index", "0", "--json", "--out", tmp_path)
    assert status == 0 and json.loads(out)["exact"] is False
    status, out, _ = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                         "--index", "0", "--json", "--exact", "--out", tmp_path)
    assert json.loads(out)["exact"] is True
    (run_folder / "influence_index.npz").unlink()


@pytest.mark.parametrize("argv, message", [
    (["--index", "40"], "holds 40 images; --index 40 is past its end"),
    (["--index", "0", "--layers", "max_pooling2d_1"], "--layers: no layer with weights named max_pooling2d_1"),
    (["--index", "0", "--layer", "dense_9"], "--layer: no layer named dense_9"),
])
def test_influence_refuses_a_bad_request_in_one_line(cli, capsys, run_folder, data_folder, tmp_path, argv, message):
    status, out, err = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                           *argv, "--out", tmp_path / "out")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_influence_of_a_folder_without_checkpoints_names_the_option_that_keeps_them(cli, capsys, tmp_path, data_folder):
    status, _, err = run(cli, capsys, "influence", "--run", tmp_path, "--data", data_folder / "valid.p",
                         "--index", "0", "--out", tmp_path / "out")
    assert status == 2 and "--checkpoint-every" in err


def test_audit_json_ranks_the_issues_of_its_own_probabilities(cli, capsys, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "audit", "--data", data_folder, "--folds", "2", "--epochs", "1",
                         "--recipe", "seed", "--json", "--out", tmp_path)
    assert status == 0
    report = json.loads(out)
    probs = np.load(report["pred_probs_file"])
    assert report["pred_probs_file"] == str(tmp_path / "pred_probs.npy") and probs.shape == (40, 43)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    labels = load_split(data_folder / "train.p").labels
    assert [row["index"] for row in report["issues"]] == list(find_label_issues(labels, probs))
    for row in report["issues"]:
        assert row["given"] == labels[row["index"]] and row["self_confidence"] == pytest.approx(probs[row["index"], row["given"]])
    assert (tmp_path / "suspects.png").exists() and (tmp_path / "label_issues.csv").exists()


def test_audit_is_resumed_fold_by_fold(cli, capsys, data_folder, tmp_path):
    argv = ["audit", "--data", data_folder, "--folds", "2", "--epochs", "1", "--recipe", "seed", "--out", tmp_path]
    assert run(cli, capsys, *argv)[0] == 0
    first = np.load(tmp_path / "pred_probs.npy")
    status, out, _ = run(cli, capsys, *argv)
    assert status == 0 and out.count("done before") == 2
    np.testing.assert_array_equal(np.load(tmp_path / "pred_probs.npy"), first)


def test_a_damaged_index_is_one_line_naming_it(cli, capsys, run_folder, data_folder, tmp_path):
    index = run_folder / "influence_index.npz"
    index.write_bytes(b"PK\x03\x04 not really a zip")
    try:
        status, _, err = run(cli, capsys, "influence", "--run", run_folder, "--data", data_folder / "valid.p",
                             "--index", "0", "--out", tmp_path / "out")
    finally:
        index.unlink()
    assert status == 2 and f"{index}: is not a readable influence index" in err
    assert len(err.strip().splitlines()) == 1


def test_audit_with_injected_noise_reports_finding_the_flips(cli, capsys, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "audit", "--data", data_folder, "--folds", "2", "--epochs", "1",
                         "--recipe", "seed", "--inject-noise", "0.25", "--json", "--out", tmp_path)
    noise = json.loads(out)["injected_noise"]
    assert status == 0 and noise["flipped"] == 10 and 0 <= noise["precision"] <= 1 and 0 <= noise["recall"] <= 1
    found = {row["index"] for row in json.loads(out)["issues"]}
    assert noise["found"] == len(found)


def test_a_final_run_s_training_images_are_its_folder_s_train_and_valid_splits(tmp_path, data_folder):
    from npnet.explain.training_data.run import training_images
    from npnet.training.recipes import BEST
    train, valid = load_split(data_folder / "train.p"), load_split(data_folder / "valid.p")
    (tmp_path / "checkpoints").mkdir()
    checkpoint.save(seed_net(), tmp_path / "checkpoints" / "epoch_001.h5", class_names(), {"name": "seed"},
                    epoch=1, learning_rate=0.001, train_data=str(data_folder), train_size=len(train) + len(valid),
                    recipe=BEST.with_options(final=True).to_dict())
    split, rows = training_images(load_run(tmp_path))
    np.testing.assert_array_equal(split.images[rows], np.concatenate([train.images, valid.images]))
