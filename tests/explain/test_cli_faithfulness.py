"""explain.py faithfulness: a row per method and per baseline, as a table or one JSON object; --limit takes
the first images in file order; a split without sign boxes is one line and exit status 2."""
import json
import pickle

import numpy as np

from npnet.io import checkpoint
from npnet.data import read_pickle
from npnet.explain.faithfulness import metrics
from npnet.data.preprocessing import preprocess

from .conftest import write_pickle

FAST = ("--methods", "gradcam,saliency", "--steps", "4")
COLUMNS = {"energy_in_box", "pointing_game", "deletion_auc", "insertion_auc", "road_morf", "road_lerf",
           "randomization", "seconds_per_image", "empty_maps", "randomization_constant_maps"}


def run(cli, capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def strict_json(text):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_the_table_has_a_row_per_method_then_the_baselines(cli, capsys, model_file, data_folder, tmp_path):
    status, out, err = run(cli, capsys, "faithfulness", "--model", model_file, "--data", data_folder,
                           "--limit", 5, *FAST, "--out", tmp_path)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("faithfulness on 5 images of ") and lines[0].endswith("the true class")
    header = lines.index(next(line for line in lines if line.startswith("method ")))
    assert lines[header].split() == ["method", "energy", "pointing", "deletion", "insertion", "MoRF", "LeRF",
                                     "random.", "rank", "s/image", "empty", "constant"]
    body = [line for line in lines[header + 1:] if not line.startswith(("wrote ", "read first: "))]
    assert [line.split()[0] for line in body] == ["gradcam", "saliency", "baselines:", "centre", "random"]
    assert all(len(line.split()) == 12 for line in body if line != "baselines:")
    order = next(line for line in lines if line.startswith("read first: "))
    assert sorted(name.rstrip("*,") for name in order.split(" (")[0].split()[2:]) == ["gradcam", "saliency"]


def test_json_is_one_object_with_every_column_for_every_method_and_baseline(cli, capsys, model_file,
                                                                           data_folder, tmp_path):
    status, out, err = run(cli, capsys, "faithfulness", "--json", "--model", model_file, "--data", data_folder,
                           "--limit", 5, *FAST, "--out", tmp_path)
    assert status == 0
    document = strict_json(out)
    assert document["images"] == 5
    assert list(document["methods"]) == ["gradcam", "saliency"]
    assert list(document["baselines"]) == ["centre", "random"]
    for row in [*document["methods"].values(), *document["baselines"].values()]:
        assert set(row) == COLUMNS
        assert 0 <= row["road_morf"] <= 1 and 0 <= row["road_lerf"] <= 1
    assert list(document["ranks"]) == ["gradcam", "saliency", "centre", "random"]
    assert sorted(document["ranking"]) == ["gradcam", "saliency"]
    for name, ranks in document["ranks"].items():
        assert set(ranks) <= {*COLUMNS, "mean", "marks"} and {"road_morf", "road_lerf", "mean", "marks"} <= set(ranks)
        assert set(ranks["marks"]) <= {"localization", "randomization"}
    assert "wrote" in err and "wrote" not in out       # the figures' paths go to stderr beside JSON


def test_limit_scores_the_first_images_in_file_order(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "faithfulness", "--json", "--model", model_file, "--data",
                         data_folder / "test.p", "--limit", 3, "--methods", "saliency", "--steps", 4,
                         "--out", tmp_path)
    net, meta = checkpoint.load(model_file)
    data = read_pickle(data_folder / "test.p")
    x = preprocess(data.images[:3], meta["preprocessing"])
    maps = metrics.method_maps(net, x, "saliency", data.labels[:3])
    expected = metrics.energy_in_box(maps, data.boxes[:3].astype(np.float64)).mean()
    row = strict_json(out)["methods"]["saliency"]
    assert status == 0 and strict_json(out)["images"] == 3
    assert row["energy_in_box"] == expected


def test_the_predicted_class_can_be_explained_instead(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "faithfulness", "--model", model_file, "--data", data_folder,
                         "--limit", 2, *FAST, "--target", "predicted", "--out", tmp_path)
    assert status == 0 and out.splitlines()[0].endswith("the predicted class")


def test_the_figures_are_written(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "faithfulness", "--model", model_file, "--data", data_folder,
                         "--limit", 3, *FAST, "--out", tmp_path)
    wrote = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("wrote ")]
    assert status == 0
    assert wrote == [str(tmp_path / name) for name in
                     ("faithfulness_curves.png", "randomization_cascade.png", "box_disagreement.png")]


def test_a_split_without_sign_boxes_is_one_line_and_status_2(cli, capsys, model_file, tmp_path):
    path = write_pickle(tmp_path / "boxless.p", 4)
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    data["coords"][:] = 0                                  # every box empty
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    status, out, err = run(cli, capsys, "faithfulness", "--model", model_file, "--data", path, *FAST,
                           "--out", tmp_path)
    assert status == 2 and out == ""
    assert err.splitlines() == [f"explain.py: {path}: has no sign boxes (every box is empty); "
                                "faithfulness needs GTSRB's boxes"]


def test_a_pickle_without_coords_is_one_line_and_status_2(cli, capsys, model_file, tmp_path):
    path = write_pickle(tmp_path / "nocoords.p", 4)
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    del data["coords"]
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    status, _, err = run(cli, capsys, "faithfulness", "--model", model_file, "--data", path, *FAST)
    assert status == 2 and len(err.splitlines()) == 1 and "coords" in err


def test_an_unknown_method_is_one_line_and_status_2(cli, capsys, model_file, data_folder):
    status, _, err = run(cli, capsys, "faithfulness", "--model", model_file, "--data", data_folder,
                         "--methods", "gradcam,telepathy")
    assert status == 2 and len(err.splitlines()) == 1 and "telepathy" in err


# -- the CSV layouts ------------------------------------------------------------------------------
SIZES = [(40, 40), (25, 31), (61, 45)]          # original width, height of each test image


def csv_rows(folder, extension):
    """Images of different sizes, each with a sign box a few pixels in from its edges."""
    from PIL import Image
    rows = []
    rng = np.random.default_rng(0)
    for n, (w, h) in enumerate(SIZES):
        name = f"{n:05d}.{extension}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / name)
        rows.append((name, w, h, w // 5, h // 6, w - 2, h - 3, n))
    return rows


def official_test(root):
    images = root / "GTSRB" / "Final_Test" / "Images"
    images.mkdir(parents=True)
    rows = csv_rows(images, "ppm")
    lines = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"] + [";".join(map(str, r)) for r in rows]
    (root / "GT-final_test.csv").write_text("\r\n".join(lines) + "\r\n")
    return root


def kaggle_test(root):
    (root / "Test").mkdir(parents=True)
    rows = csv_rows(root / "Test", "png")
    lines = ["Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path"] + \
        [",".join(map(str, (*r[1:], f"Test/{r[0]}"))) for r in rows]
    (root / "Test.csv").write_text("\n".join(lines) + "\n")
    return root


def test_the_official_and_kaggle_test_sets_are_scored_on_their_csv_boxes(cli, capsys, model_file, tmp_path,
                                                                       monkeypatch):
    from npnet.data import load_split
    monkeypatch.chdir(tmp_path)                       # the decoded-image cache goes under ./data/cache
    for build in (official_test, kaggle_test):
        folder = build(tmp_path / build.__name__)
        status, out, _ = run(cli, capsys, "faithfulness", "--json", "--model", model_file, "--data", folder,
                             "--methods", "saliency", "--steps", 4, "--out", tmp_path / "out")
        data = load_split(folder, progress=False)
        net, meta = checkpoint.load(model_file)
        maps = metrics.method_maps(net, preprocess(data.images, meta["preprocessing"]), "saliency", data.labels)
        expected = metrics.energy_in_box(maps, data.boxes.astype(np.float64)).mean()
        assert status == 0, build.__name__
        assert strict_json(out)["images"] == len(SIZES)
        assert strict_json(out)["methods"]["saliency"]["energy_in_box"] == expected
