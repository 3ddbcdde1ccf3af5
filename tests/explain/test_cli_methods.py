"""explain.py gradcam --method, attribute and compare: each draws exactly the maps the library computes
(captured where the figure is drawn), names its files after the method, and turns a bad method, option
or class into one line with exit status 2."""
import numpy as np
import pytest
from PIL import Image

from npnet.io import checkpoint
from npnet.cli.commands import (attribute as attribute_command, compare as compare_command,
    gradcam as gradcam_command)
from npnet.cli.commands.common import explained_classes
from npnet.explain import METHODS, attribution, cam
from npnet.explain.method_plots import clipped_limit, colour_scale, group_limit, reduce_channels
from npnet.data.images import load_image
from npnet.data.preprocessing import preprocess

from .test_cli import run, written


@pytest.fixture(scope="module")
def net_and_spec(model_file):
    net, metadata = checkpoint.load(model_file)
    return net, metadata["preprocessing"]


def model_input(spec, *paths):
    return preprocess(np.stack([load_image(p) for p in paths]), spec)


def predicted(net, x):
    return net.predict_proba(x).argmax(axis=1)


def capture(monkeypatch, module, name):
    """Replace the figure function ``name`` of a command module by one that records its arguments
    and still draws the figure."""
    calls = []
    original = getattr(module, name)

    def recording(*args, **kwargs):
        calls.append(args + (kwargs,))       # the keyword arguments last
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


# -- which classes a figure explains ----------------------------------------------------------------
def test_explained_classes_put_the_prediction_first_and_merge_repeats():
    assert explained_classes(3, [5, 3], 5) == [(3, "predicted"), (5, "true")]
    assert explained_classes(3, [], 3) == [(3, "predicted = true")]
    assert explained_classes(3, [7], 5) == [(3, "predicted"), (7, "class"), (5, "true")]


# -- gradcam --method -----------------------------------------------------------------------------
def test_gradcam_method_draws_that_methods_maps_for_each_class(cli, capsys, monkeypatch, model_file,
                                                              net_and_spec, odd_images, tmp_path):
    calls = capture(monkeypatch, gradcam_command.plots, "gradcam_comparison")
    status, out, err = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], "--method", "layercam",
                           "--class", "14", "--out", tmp_path)
    assert status == 0 and err == ""
    assert written(out) == [str(tmp_path / "rgba_layercam.png")]
    net, spec = net_and_spec
    x = model_input(spec, odd_images[0])
    first = int(predicted(net, x)[0])
    classes = [first] if first == 14 else [first, 14]
    expected = cam(net, x[[0] * len(classes)], "layercam", classes=classes)
    drawn = np.stack(calls[0][1])
    np.testing.assert_array_equal(drawn, expected)
    assert calls[0][4].startswith("LayerCAM at conv2d_3 for rgba.png")


def test_gradcam_method_options_reach_the_method(cli, capsys, model_file, odd_images, tmp_path):
    status, out, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], "--method", "scorecam",
                         "--option", "batch_size=7", "--out", tmp_path)
    assert status == 0
    assert written(out) == [str(tmp_path / "rgba_scorecam.png")]


@pytest.mark.parametrize("argv, message", [
    (["--method", "saliency"], "unknown cam method 'saliency' ('saliency' is an attribution method); "
                               "choose one of: gradcam, gradcam++,"),
    (["--method", "gradcam", "--option", "steps=3"], "method 'gradcam' has no option 'steps'; its options: none"),
    (["--method", "scorecam", "--option", "batch_size"], "--option 'batch_size': write NAME=VALUE"),
    (["--method", "scorecam", "--option", "batch_size=many"], "--option 'batch_size=many': the value must be a number"),
])
def test_gradcam_method_errors_are_one_line(cli, capsys, model_file, odd_images, tmp_path, argv, message):
    status, out, err = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], *argv,
                           "--out", tmp_path / "out")
    assert status == 2 and written(out) == []
    assert len(err.splitlines()) == 1 and err.startswith(f"explain.py: {message}")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- attribute ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sign", ["abs", "positive", "all"])
def test_attribute_draws_the_attribution_reduced_over_channels(cli, capsys, monkeypatch, model_file,
                                                               net_and_spec, odd_images, tmp_path, sign):
    calls = capture(monkeypatch, attribute_command, "attribution_figure")
    status, out, _ = run(cli, capsys, "attribute", "--model", model_file, *odd_images[:2], "--method",
                         "input_x_gradient", "--sign", sign, "--out", tmp_path)
    assert status == 0
    assert written(out) == [str(tmp_path / "rgba_input_x_gradient.png"), str(tmp_path / "gray_input_x_gradient.png")]
    net, spec = net_and_spec
    x = model_input(spec, *odd_images[:2])
    expected = attribution(net, x, "input_x_gradient").astype(np.float64)
    reduce = {"abs": lambda a: np.abs(a).sum(-1), "positive": lambda a: np.clip(a, 0, None).sum(-1),
              "all": lambda a: a.sum(-1)}[sign]
    for n, call in enumerate(calls):
        image, maps, titles, drawn_sign = call[:4]
        np.testing.assert_array_equal(image, load_image(odd_images[n]))
        assert drawn_sign == sign and len(maps) == len(titles) == 1
        np.testing.assert_allclose(maps[0], reduce(expected[n]), rtol=1e-5, atol=1e-6 * np.abs(expected).max())


def test_attribute_explains_asked_and_true_classes_too(cli, capsys, monkeypatch, model_file, odd_images, tmp_path):
    calls = capture(monkeypatch, attribute_command, "attribution_figure")
    status, _, _ = run(cli, capsys, "attribute", "--model", model_file, odd_images[0], "--method", "saliency",
                       "--class", "stop", "--true", "1", "--out", tmp_path)
    titles = calls[0][2]
    assert status == 0
    assert titles[0].startswith("predicted")                       # the prediction first, then 14, then 1
    assert any("(id 14)" in t for t in titles)
    assert any("(id 1)" in t and "true" in t.split(":")[0] for t in titles)


def test_attribute_png_is_an_image_a_person_can_read(cli, capsys, model_file, odd_images, tmp_path):
    run(cli, capsys, "attribute", "--model", model_file, odd_images[0], "--method", "saliency", "--out", tmp_path)
    with Image.open(tmp_path / "rgba_saliency.png") as image:
        assert image.format == "PNG" and image.width >= 600 and image.height >= 250


@pytest.mark.parametrize("argv, message", [
    (["--method", "gradcam"], "unknown attribution method 'gradcam' ('gradcam' is a cam method)"),
    (["--method", "occlusion", "--option", "window=0"], "occlusion: option window must be"),
    (["--method", "saliency", "--true", "1", "2", "3"], "--true: give one class for all images or one per image"),
    (["--method", "saliency", "--class", "no such sign"], "unknown class 'no such sign'"),
])
def test_attribute_errors_are_one_line(cli, capsys, model_file, odd_images, tmp_path, argv, message):
    status, out, err = run(cli, capsys, "attribute", "--model", model_file, *odd_images[:2], *argv,
                           "--out", tmp_path)
    assert status == 2 and written(out) == []
    assert len(err.splitlines()) == 1 and err.startswith("explain.py: ") and message in err


# -- compare --------------------------------------------------------------------------------------
def test_compare_draws_one_row_per_image_and_class_and_one_column_per_method(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    calls = capture(monkeypatch, compare_command, "compare_grid")
    status, out, _ = run(cli, capsys, "compare", "--model", model_file, *odd_images[:2],
                         "--methods", "hirescam,saliency", "--class", "14", "--out", tmp_path)
    assert status == 0 and written(out) == [str(tmp_path / "compare.png")]
    images, titles, columns = calls[0][:3]
    net, spec = net_and_spec
    x = model_input(spec, *odd_images[:2])
    rows = [(n, c) for n, p in enumerate(predicted(net, x)) for c in dict.fromkeys([int(p), 14])]
    index = [n for n, _ in rows]
    classes = [c for _, c in rows]
    assert len(images) == len(titles) == len(rows)
    assert [name for name, _, _ in columns] == ["hirescam", "saliency"]
    np.testing.assert_array_equal(columns[0][1], cam(net, x[index], "hirescam", classes=classes))
    np.testing.assert_array_equal(columns[1][1], np.abs(attribution(net, x[index], "saliency", classes=classes)).sum(-1))
    assert [kind for _, _, kind in columns] == ["cam", "attribution"]
    np.testing.assert_array_equal(calls[0][-1]["groups"], index)      # the rows of an image share a scale


def test_a_groups_scale_ends_at_its_cam_max_or_its_attributions_99th_percentile():
    maps = np.random.default_rng(0).random((2, 32, 32))
    assert group_limit(maps, "cam") == maps.max()
    assert group_limit(maps, "attribution") == pytest.approx(np.percentile(maps, 99))
    assert group_limit(np.zeros((1, 4, 4)), "cam") == 1.0


def test_compare_all_has_every_method_in_the_table_order(cli, capsys, monkeypatch, model_file, odd_images, tmp_path):
    calls = capture(monkeypatch, compare_command, "compare_grid")
    status, out, _ = run(cli, capsys, "compare", "--model", model_file, odd_images[2], "--methods", "all",
                         "--true", "14", "--out", tmp_path)
    assert status == 0 and written(out) == [str(tmp_path / "pixel_compare.png")]
    columns = calls[0][2]
    plain = ~calls[0][-1]["contrast"]   # a pred-vs-true row (when 14 is not predicted) is signed, NaN for eigencam
    assert [name for name, _, _ in columns] == list(METHODS)
    for name, maps, _ in columns:
        assert maps.shape[1:] == (32, 32) and np.isfinite(maps[plain]).all() and maps[plain].min() >= 0, name


@pytest.mark.parametrize("methods, message", [
    ("gradcam,nope", "--methods: unknown method 'nope'; choose from: gradcam,"),
    (",", "--methods: no method given"),
])
def test_compare_rejects_unknown_methods_in_one_line(cli, capsys, model_file, odd_images, tmp_path, methods, message):
    status, out, err = run(cli, capsys, "compare", "--model", model_file, odd_images[0], "--methods", methods,
                           "--out", tmp_path)
    assert status == 2 and written(out) == []
    assert len(err.splitlines()) == 1 and err.startswith(f"explain.py: {message}")


# -- colour scales --------------------------------------------------------------------------------
def test_reduce_channels_follows_the_sign():
    a = np.array([[[1.0, -2.0, 0.5]]])
    assert reduce_channels(a, "abs")[0, 0] == 3.5
    assert reduce_channels(a, "positive")[0, 0] == 1.5
    assert reduce_channels(a, "all")[0, 0] == -0.5


def test_the_scale_ends_at_the_99th_percentile_and_is_symmetric_when_signed():
    values = np.concatenate([np.linspace(0, 1, 1000), [50.0]])           # one spike
    assert clipped_limit(values) == pytest.approx(np.percentile(values, 99))
    cmap, low, high = colour_scale(-values, "all")
    assert low == -high and high == pytest.approx(np.percentile(values, 99))
    assert colour_scale(values, "abs")[1] == 0.0


def test_a_sparse_or_empty_map_still_gets_a_positive_scale():
    sparse = np.zeros(1000)
    sparse[3] = 2.0
    assert clipped_limit(sparse) == 2.0
    assert clipped_limit(np.zeros(10)) == 1.0


def test_compare_takes_images_from_a_split_by_index_with_their_labels_as_true(
        cli, capsys, monkeypatch, model_file, data_folder, tmp_path):
    import pickle
    calls = capture(monkeypatch, compare_command, "compare_grid")
    split = data_folder / "valid.p"
    status, out, err = run(cli, capsys, "compare", "--model", model_file, "--data", split, "--index", "3", "7",
                           "--methods", "gradcam", "--out", tmp_path)
    assert status == 0, err
    assert written(out) == [str(tmp_path / "compare.png")]
    with open(split, "rb") as handle:
        data = pickle.load(handle)
    images, titles = calls[0][:2]
    for n, label in ((3, data["labels"][3]), (7, data["labels"][7])):
        shown = [t for t in titles if t.startswith(f"valid.p#{n}\n")]
        assert any(f"true: id {label}," in t or f"predicted = true: id {label}," in t for t in shown)
    np.testing.assert_array_equal(images[0], data["features"][3])


@pytest.mark.parametrize("argv, message", [
    (["--index", "3"], "compare: give image files, or --data with --index (not both)"),
    (["--data", "SPLIT"], "compare: give image files, or --data with --index (not both)"),
    (["--data", "SPLIT", "--index", "40"], "valid.p: --index 40 is outside the split's 40 images"),
])
def test_compare_from_a_split_errors_are_one_line(cli, capsys, model_file, data_folder, tmp_path, argv, message):
    argv = [str(data_folder / "valid.p") if a == "SPLIT" else a for a in argv]
    status, out, err = run(cli, capsys, "compare", "--model", model_file, *argv, "--out", tmp_path)
    assert status == 2 and written(out) == []
    assert len(err.splitlines()) == 1 and message in err
