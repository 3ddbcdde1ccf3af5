"""explain.py report: one self-contained page. It parses, every picture is an inline PNG, nothing is fetched,
its numbers are evaluate's, its heatmaps are the methods' maps, and a user's mistake is one line."""
import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from npnet.io import checkpoint
from npnet.explain import METHODS, classify, ranked_mistakes
from npnet.explain.faithfulness.metrics import method_maps
from npnet.data.preprocessing import preprocess
from npnet.explain.faithfulness import sample as faithfulness
from npnet.report import pictures

from .conftest import write_pickle

FEW = ("--methods", "gradcam,saliency", "--limit", "2", "--faithfulness-images", "0")


class Page(HTMLParser):
    """Every start tag as (tag, attributes), and the text, of an HTML document."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag, **wanted):
        """The attributes of every ``tag`` whose attributes match ``wanted`` (class_='card': that class among
        its classes; data_method=True: the attribute is there; id='x': equal)."""
        def matches(attributes, key, value):
            name = key.rstrip("_").replace("_", "-")
            if value is True:
                return name in attributes
            if name == "class":
                return value in attributes.get(name, "").split()
            return attributes.get(name) == value
        return [a for t, a in self.tags if t == tag and all(matches(a, k, v) for k, v in wanted.items())]


def run(cli, capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def report(cli, model_file, data_folder, tmp_path_factory):
    """A report with every method: (html text, Page, the folder it was written to)."""
    out = tmp_path_factory.mktemp("report")
    status = cli.main(["report", "--model", str(model_file), "--data", str(data_folder), "--limit", "3",
                       "--faithfulness-images", "3", "--out", str(out)])
    assert status == 0
    text = (out / "report.html").read_text()
    return text, Page(text), out


def decoded(uri):
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True)))


# -- the file ---------------------------------------------------------------------------------------
def test_every_img_is_a_png_data_uri_that_decodes_as_an_image(report):
    _, page, _ = report
    images = page.all("img")
    assert len(images) > 50
    for attributes in images:
        picture = decoded(attributes["src"])
        picture.load()
        assert picture.width > 0 and picture.height > 0


def test_nothing_is_fetched_no_web_or_protocol_relative_reference(report):
    text, page, _ = report
    without_pictures = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert "http:" not in without_pictures and "https:" not in without_pictures
    assert "//" not in without_pictures                   # not even in a comment of the script
    for tag, attributes in page.tags:
        for name in ("src", "href", "action", "poster", "data"):
            value = attributes.get(name)
            if value is not None:
                assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:40])
    assert not re.search(r"\b(fetch|XMLHttpRequest|import)\s*\(", without_pictures)
    assert "url(" not in without_pictures
    assert [t for t, a in page.tags if t in ("link", "iframe", "object", "embed")] == []
    assert all("src" not in a for t, a in page.tags if t == "script")


def test_every_image_has_alt_text_and_headings_come_in_order(report):
    _, page, _ = report
    assert all(a.get("alt", "").strip() for a in page.all("img"))
    levels = [int(t[1]) for t, _ in page.tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:]))       # never a level skipped going down
    assert [a["id"] for a in page.all("section")] == ["model", "accuracy", "mistakes", "training-data", "faithfulness"]


def test_the_page_is_written_atomically_into_out_and_its_path_printed(cli, capsys, model_file, data_folder, tmp_path):
    status, out, err = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, *FEW,
                           "--out", tmp_path / "out")
    assert status == 0 and err == ""
    assert f"wrote {tmp_path / 'out' / 'report.html'}" in out
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_file()] == ["report.html"]


# -- its numbers ------------------------------------------------------------------------------------
def test_accuracy_and_per_class_numbers_equal_evaluate_json(cli, capsys, report, model_file, data_folder, tmp_path):
    _, page, _ = report
    status, out, _ = run(cli, capsys, "evaluate", "--json", "--model", model_file, "--data", data_folder,
                         "--out", tmp_path)
    assert status == 0
    expected = json.loads(out)
    overall = page.all("div", id="overall")[0]
    assert float(overall["data-accuracy"]) == expected["accuracy"]
    assert int(overall["data-images"]) == expected["n"]
    rows = per_class_rows(page)
    assert len(rows) == len(expected["per_class"])
    for row, want in zip(rows, expected["per_class"]):
        class_id, n, correct, accuracy = row
        assert class_id == want["class_id"] and n == want["n"]
        assert accuracy == want["accuracy"]
        assert (want["accuracy"] is None and correct == 0) or correct == round(want["accuracy"] * n)


def per_class_rows(page):
    """(class id, n, correct, accuracy or None) of each row of the per-class table, from its data-values."""
    cells, rows, inside = [], [], False
    for tag, attributes in page.tags:
        if tag == "table":
            inside = "per-class" in attributes.get("class", "").split()
        elif inside and tag == "tr" and "data-class" in attributes:
            cells = []
            rows.append(cells)
        elif inside and rows and tag == "td" and "data-value" in attributes:
            cells.append(attributes["data-value"])
    return [(int(c[0]), int(c[1]), int(c[2]), float(c[3]) if c[3] else None) for c in rows]


def test_the_mistakes_are_the_most_confident_first_and_the_page_says_how_many_are_left(report, model_file,
                                                                                      data_folder):
    _, page, _ = report
    net, metadata = checkpoint.load(model_file)
    from npnet.data import read_pickle
    split = read_pickle(data_folder / "test.p")
    evaluation = classify(net, preprocess(split.images, metadata["preprocessing"]), split.labels)
    wrong = ranked_mistakes(evaluation)
    titles = [a["data-title"] for a in page.all("article", class_="card")]
    assert titles == [f"#{n}" for n in wrong[:3]]
    count = page.all("p", id="mistake-count")[0]
    assert (int(count["data-total"]), int(count["data-shown"])) == (len(wrong), 3)
    assert f"{len(wrong) - 3:,} more mistakes are not shown" in "".join(page.text)


def test_every_card_offers_every_method_for_its_true_and_predicted_class(report):
    _, page, _ = report
    options = [a["value"] for a in page.all("option")]
    assert options == list(METHODS)
    maps = page.all("img", class_="map")
    assert len(maps) == 3 * 2 * len(METHODS)
    assert [a["data-method"] for a in maps[:len(METHODS)]] == list(METHODS)
    assert len(page.all("span", class_="end", data_method=True)) == 3 * len(METHODS)


def test_a_heatmap_is_the_method_map_on_the_cards_shared_scale(cli, capsys, model_file, data_folder, tmp_path):
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, "--limit", "2",
                       "--methods", "hirescam,input_x_gradient", "--faithfulness-images", "0", "--out", tmp_path)
    assert status == 0
    page = Page((tmp_path / "report.html").read_text())
    net, metadata = checkpoint.load(model_file)
    from npnet.data import read_pickle
    split = read_pickle(data_folder / "test.p")
    x = preprocess(split.images, metadata["preprocessing"])
    evaluation = classify(net, x, split.labels)
    first = ranked_mistakes(evaluation)[0]
    maps = page.all("img", class_="map")
    ends = page.all("span", class_="end", data_method=True)
    for k, method in enumerate(["hirescam", "input_x_gradient"]):
        classes = np.array([split.labels[first], evaluation.predicted[first]])
        expected = method_maps(net, x[[first, first]], method, classes)
        scale = expected.max()
        # another batch (4 rows there, 2 here) sums the float32 products in another order: a few eps apart
        assert float(ends[k]["data-value"]) == pytest.approx(scale, rel=1e-5)
        for side in range(2):
            shown = np.asarray(decoded(maps[side * 2 + k]["src"]))
            want = pictures.levels(expected[side], scale)
            assert np.abs(shown.astype(int) - want.astype(int)).max() <= 1   # float32 rounding at a level's edge


# -- the parts that depend on what is given ---------------------------------------------------------
def test_learning_curves_come_from_history_json_beside_the_checkpoint(cli, capsys, model_file, data_folder, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(model_file, folder / "best.h5")
    history = [{"epoch": e, "loss": 2.0 / e, "accuracy": 0.5 + e / 10, "val_loss": 2.2 / e,
                "val_accuracy": 0.4 + e / 10} for e in (1, 2, 3)]
    (folder / "history.json").write_text(json.dumps(history))
    status, _, _ = run(cli, capsys, "report", "--model", folder / "best.h5", "--data", data_folder, *FEW,
                       "--out", tmp_path / "with")
    assert status == 0
    with_curves = Page((tmp_path / "with" / "report.html").read_text())
    assert any("learning curves" in a["alt"] for a in with_curves.all("img"))
    (folder / "history.json").write_text("[1, 2")
    status, _, _ = run(cli, capsys, "report", "--model", folder / "best.h5", "--data", data_folder, *FEW,
                       "--out", tmp_path / "broken")
    text = (tmp_path / "broken" / "report.html").read_text()
    assert status == 0 and "history.json beside the checkpoint is not readable" in text


def test_your_images_are_explained_for_the_predicted_class_and_the_runner_up(cli, capsys, model_file, data_folder,
                                                                            odd_images, tmp_path):
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, *FEW, "--images",
                       *odd_images[:2], "--out", tmp_path)
    assert status == 0
    page = Page((tmp_path / "report.html").read_text())
    assert page.all("section", id="yours")
    titles = [a["data-title"] for a in page.all("article", class_="card")]
    assert titles[-2:] == [str(p) for p in odd_images[:2]]
    captions = [t for t in page.text if t in ("predicted", "runner-up")]
    assert captions[-4:] == ["predicted", "runner-up"] * 2


def test_an_unreadable_image_of_yours_is_one_line_before_any_work(cli, capsys, model_file, data_folder, odd_images,
                                                                  corrupt_image, tmp_path):
    status, out, err = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, *FEW, "--images",
                           odd_images[0], corrupt_image, "--out", tmp_path)
    assert status == 2 and len(err.strip().splitlines()) == 1 and str(corrupt_image) in err
    assert not (tmp_path / "report.html").exists()


def test_a_whole_faithfulness_run_can_be_shown_from_its_json(cli, capsys, model_file, data_folder, tmp_path):
    status, out, _ = run(cli, capsys, "faithfulness", "--json", "--model", model_file, "--data", data_folder,
                         "--limit", 4, "--methods", "gradcam", "--steps", 4, "--out", tmp_path / "f")
    assert status == 0
    (tmp_path / "f.json").write_text(out)
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, "--limit", "1",
                       "--methods", "gradcam", "--faithfulness", tmp_path / "f.json", "--out", tmp_path / "r")
    assert status == 0
    page = Page((tmp_path / "r" / "report.html").read_text())
    energy = json.loads(out)["methods"]["gradcam"]["energy_in_box"]
    cells = [a for t, a in page.tags if t == "td" and a.get("data-value") == repr(float(energy))]
    assert cells and "all 4 images, from" in "".join(page.text)


@pytest.mark.parametrize("content, problem", [("{", "not valid JSON"), ('{"images": 3}', "needs 'images'"),
                                              ('{"images": 1, "methods": {"g": {"energy_in_box": "x"}}, '
                                               '"baselines": {}}', "methods.g.energy_in_box is not a number")])
def test_a_bad_faithfulness_json_is_one_line_and_nothing_written(cli, capsys, model_file, data_folder, tmp_path,
                                                                 content, problem):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    status, out, err = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, *FEW,
                           "--faithfulness", bad, "--out", tmp_path / "out")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert str(bad) in err and problem in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_a_split_without_sign_boxes_says_so_in_the_faithfulness_section(cli, capsys, model_file, tmp_path):
    import pickle
    path = write_pickle(tmp_path / "test.p", 12)
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    data["coords"][:] = 0
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", path, "--methods", "gradcam",
                       "--limit", "1", "--out", tmp_path / "r")
    assert status == 0
    assert "have no sign box: faithfulness needs GTSRB" in (tmp_path / "r" / "report.html").read_text()


# -- the pictures -----------------------------------------------------------------------------------
def test_the_heatmap_colours_keep_their_order_in_grey():
    """Relative luminance (WCAG: sRGB linearized, Rec. 709 weights) rises with the value, so a grey print
    or a colour-blind reader still sees which pixel is larger."""
    srgb = np.array(pictures.palette(pictures.HEATMAP), dtype=float).reshape(256, 3) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) > 0)


def test_levels_map_zero_to_black_and_the_scale_to_the_top():
    values = np.array([[0.0, 0.5], [1.0, 2.0]])
    assert pictures.levels(values, 1.0).tolist() == [[0, 128], [255, 255]]
    assert pictures.levels(values, 0.0).tolist() == [[0, 0], [0, 0]]


def test_sample_positions_are_distinct_evenly_spaced_and_include_both_ends():
    positions = faithfulness.sample_positions(4410, 100)
    assert len(positions) == 100 and positions[0] == 0 and positions[-1] == 4409
    assert np.all(np.diff(positions) >= 44) and np.all(np.diff(positions) <= 45)
    assert faithfulness.sample_positions(7, 100).tolist() == list(range(7))


def test_bold_marks_where_a_method_beats_the_centred_blob_and_never_on_randomization():
    from npnet.report import page
    row = {"energy_in_box": 0.9, "pointing_game": 1.0, "deletion_auc": 0.2, "insertion_auc": 0.8,
           "randomization": 0.1, "seconds_per_image": 0.01}
    centre = {"energy_in_box": 0.8, "pointing_game": 1.0, "deletion_auc": 0.1, "insertion_auc": 0.7,
              "randomization": 1.0, "seconds_per_image": 0.0}
    html = Page(page.faithfulness_html({"sample": "2 images", "methods": {"m": row}, "baselines": {"centre": centre}}))
    bold = [a["data-value"] for a in html.all("td", class_="beats")]
    assert bold == [repr(0.9), repr(0.8)]          # energy and insertion; not the tie, deletion or randomization


def test_the_faithfulness_section_says_which_methods_to_read_first():
    from npnet.report import page
    def row(energy, rho):
        return {"energy_in_box": energy, "pointing_game": 1.0, "deletion_auc": 0.2, "insertion_auc": 0.8,
                "road_morf": 0.4, "road_lerf": 0.8, "randomization": rho, "seconds_per_image": 0.01}
    scores = {"sample": "2 images", "methods": {"sharp": row(0.95, 0.9), "faithful": row(0.85, 0.0)},
              "baselines": {"centre": row(0.8, 1.0)}}
    html = Page(page.faithfulness_html(scores))
    advice = "".join(html.text)
    assert "Read faithful first: the best mean rank over the 7 columns among the methods that beat" in advice
    ranks = [float(a["data-value"]) for t, a in html.tags if t == "td" and "data-value" in a][7::9]
    assert ranks == pytest.approx([13 / 7, 13 / 7, 16 / 7])     # the mean rank of sharp, faithful, centre


def test_the_faithfulness_sample_is_scored_as_the_faithfulness_command_scores_it(cli, capsys, model_file, tmp_path):
    split = write_pickle(tmp_path / "test.p", 10)
    status, out, _ = run(cli, capsys, "faithfulness", "--json", "--model", model_file, "--data", split,
                         "--methods", "gradcam,saliency", "--out", tmp_path / "f")
    assert status == 0
    expected = json.loads(out)
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", split, "--methods",
                       "gradcam,saliency", "--limit", "1", "--faithfulness-images", "1000", "--out", tmp_path / "r")
    assert status == 0
    page = Page((tmp_path / "r" / "report.html").read_text())
    shown = [[a.get("data-value") for t, a in row] for row in table_rows(page, "faith")]
    for row, name in zip(shown, ["gradcam", "saliency", "centre", "random"]):
        want = {**expected["methods"], **expected["baselines"]}[name]
        for value, key in zip(row, ["energy_in_box", "pointing_game", "deletion_auc", "insertion_auc",
                                    "road_morf", "road_lerf", "randomization"]):
            assert (value == "" and want[key] is None) or float(value) == want[key]


def table_rows(page, table_class):
    """The data cells (tag, attributes) of each body row of the table with that class."""
    rows, inside = [], False
    for tag, attributes in page.tags:
        if tag == "table":
            inside = table_class in attributes.get("class", "").split()
        elif inside and tag == "tr" and attributes.get("class") in ("method", "baseline"):
            rows.append([])
        elif inside and rows and tag == "td" and "data-value" in attributes:
            rows[-1].append((tag, attributes))
    return rows


def run_with_checkpoints(model_file, data_folder, folder):
    """``folder`` as train.py --checkpoint-every leaves it: best.h5 (``model_file``) and two checkpoints
    of train.p's 40 images. Returns the path of best.h5."""
    (folder / "checkpoints").mkdir(parents=True)
    shutil.copy(model_file, folder / "best.h5")
    model, metadata = checkpoint.load(model_file)
    for epoch in (1, 2):
        checkpoint.save(model, folder / "checkpoints" / f"epoch_{epoch:03d}.h5", metadata["class_names"],
                        metadata["preprocessing"], epoch=epoch, learning_rate=0.001 * epoch,
                        train_source=str(data_folder / "train.p"), train_size=40)
    return folder / "best.h5"


def test_each_mistake_shows_the_training_images_behind_it_when_the_run_kept_checkpoints(
        cli, capsys, model_file, data_folder, tmp_path):
    from npnet.explain.training_data.run import load_run
    from npnet.explain.training_data.tracin import influence
    from npnet.data import load_split
    folder = tmp_path / "run"
    _, metadata = checkpoint.load(model_file)
    status, _, _ = run(cli, capsys, "report", "--model", run_with_checkpoints(model_file, data_folder, folder),
                       "--data", data_folder, *FEW, "--out", tmp_path / "out")
    assert status == 0
    page = Page((tmp_path / "out" / "report.html").read_text())
    cards = page.all("article", class_="card")
    proponents = [a["alt"] for a in page.all("img") if a["alt"].startswith("training image #")]
    assert len(proponents) == 6 * len(cards) > 0           # 3 proponents and 3 opponents per mistake
    # the first card's first proponent is the top of the last layer's exact TracIn for its true label
    first = int(cards[0]["data-title"].lstrip("#"))
    test, train = load_split(data_folder / "test.p"), load_split(data_folder / "train.p")
    expected = influence(load_run(folder).checkpoints, train.images, train.labels, test.images[[first]],
                         test.labels[[first]], layers=["dense_4"], preprocessing=metadata["preprocessing"], top=3)
    assert proponents[0].startswith(f"training image #{expected.proponents[0][0]},")
    assert "last layer (dense_4), exact" in "".join(page.text)


def test_each_mistake_card_shows_its_3_nearest_training_images_in_dense_3(cli, capsys, model_file, data_folder,
                                                                            tmp_path):
    from npnet.data import load_split
    best = run_with_checkpoints(model_file, data_folder, tmp_path / "run")
    status, _, _ = run(cli, capsys, "report", "--model", best, "--data", data_folder, *FEW, "--out", tmp_path / "out")
    assert status == 0
    page = Page((tmp_path / "out" / "report.html").read_text())
    cards = page.all("article", class_="card")
    shown = [a["alt"] for a in page.all("img") if a["alt"].startswith("nearest training image #")]
    assert len(page.all("div", class_="neighbours")) == len(cards) > 0 and len(shown) == 3 * len(cards)
    # brute force: dense_3 after a full forward of the report's model, every cosine in float64
    net, metadata = checkpoint.load(model_file)
    test, train = load_split(data_folder / "test.p"), load_split(data_folder / "train.p")
    mistakes = [int(card["data-title"].lstrip("#")) for card in cards]

    def unit_features(images):
        net.forward(preprocess(images, metadata["preprocessing"]), training=False)
        out = net.layer("dense_3").output.astype(np.float64)
        return out / np.linalg.norm(out, axis=1, keepdims=True)
    cosines = unit_features(test.images[mistakes]) @ unit_features(train.images).T
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :3]
    found = [re.fullmatch(r"nearest training image #(\d+), (.+), cosine (\S+)", alt).groups() for alt in shown]
    assert [int(index) for index, _, _ in found] == order.ravel().tolist()
    assert [name for _, name, _ in found] == [metadata["class_names"][train.labels[i]] for i in order.ravel()]
    np.testing.assert_allclose([float(cosine) for _, _, cosine in found],
                               np.take_along_axis(cosines, order, axis=1).ravel(), atol=6e-5)  # printed to 4 places


def test_a_bad_audit_json_is_one_line_before_any_work(cli, capsys, model_file, data_folder, tmp_path):
    bad = tmp_path / "audit.json"
    bad.write_text('{"issues": [{"index": -1}]}')
    status, out, err = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, *FEW,
                           "--audit", bad, "--out", tmp_path / "out")
    assert status == 2 and "is not an audit written by explain.py audit" in err
    assert not (tmp_path / "out" / "report.html").exists()
