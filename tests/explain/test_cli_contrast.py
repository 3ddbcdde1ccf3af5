"""explain.py gradcam --true and compare: the 'true vs predicted' contrastive map, why the predicted class
and not the true one, is drawn exactly as the library computes it, and only for a wrong prediction."""
import pickle

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.cli.commands import compare as compare_command, gradcam as gradcam_command
from npnet.explain import attribution, cam, grad_cam
from npnet.data.images import load_image
from npnet.data.preprocessing import preprocess

from .test_cli import is_png, run, written
from .test_cli_methods import capture


@pytest.fixture(scope="module")
def net_and_spec(model_file):
    net, metadata = checkpoint.load(model_file)
    return net, metadata["preprocessing"]


def model_input(spec, *paths):
    return preprocess(np.stack([load_image(p) for p in paths]), spec)


def predicted_class(net, x):
    return int(net.predict_proba(x).argmax(axis=1)[0])


def crossing_class(net, x, p):
    """The first class t != p whose signed Grad-CAM of y^p - y^t on the one image x has both signs (where a
    ReLU would show): the untrained net's maps are often one-sided."""
    signed = grad_cam(net, x[[0] * 43], classes=p, contrast=np.arange(43), relu=False)
    return next(t for t in range(43) if t != p and signed[t].min() < 0 < signed[t].max())


# -- gradcam --true -------------------------------------------------------------------------------
def test_gradcam_with_a_true_class_unlike_the_prediction_adds_the_signed_contrastive_panel(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    net, spec = net_and_spec
    x = model_input(spec, odd_images[0])
    p = predicted_class(net, x)
    t = crossing_class(net, x, p)
    calls = capture(monkeypatch, gradcam_command.plots, "gradcam_comparison")
    status, out, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], "--true", t, "--out", tmp_path)
    assert status == 0 and is_png(written(out)[0])
    drawn, title, label = calls[0][-1]["contrast"]
    np.testing.assert_array_equal(drawn, grad_cam(net, x, classes=p, contrast=t, relu=False)[0])
    # a second computation: without the ReLU, Grad-CAM is linear in the target, so y^p - y^t gives the difference
    difference = grad_cam(net, x, classes=p, relu=False)[0] - grad_cam(net, x, classes=t, relu=False)[0]
    np.testing.assert_allclose(drawn, difference, rtol=1e-4, atol=1e-5 * np.abs(difference).max())
    assert drawn.min() < 0 < drawn.max()                    # signed: no ReLU took its negative part
    assert title.startswith("why ") and "red: for predicted, blue: for true" in label


def test_gradcam_with_the_true_class_predicted_adds_no_contrastive_panel(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    net, spec = net_and_spec
    p = predicted_class(net, model_input(spec, odd_images[0]))
    calls = capture(monkeypatch, gradcam_command.plots, "gradcam_comparison")
    status, _, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[0], "--true", p, "--out", tmp_path)
    assert status == 0 and calls[0][-1]["contrast"] is None


def test_gradcam_method_contrastive_panel_is_the_cam_of_the_logit_difference_after_its_relu(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    net, spec = net_and_spec
    x = model_input(spec, odd_images[1])
    p = predicted_class(net, x)
    t = (p + 5) % 43
    calls = capture(monkeypatch, gradcam_command.plots, "gradcam_comparison")
    status, _, _ = run(cli, capsys, "gradcam", "--model", model_file, odd_images[1], "--method", "layercam",
                       "--true", t, "--out", tmp_path)
    drawn, _, label = calls[0][-1]["contrast"]
    assert status == 0
    np.testing.assert_array_equal(drawn, cam(net, x, "layercam", classes=p, contrast=t)[0])
    assert drawn.min() >= 0 and "after the ReLU" in label


# -- compare --------------------------------------------------------------------------------------
def test_compare_adds_one_pred_vs_true_row_after_each_wrongly_predicted_image_only(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    net, spec = net_and_spec
    x = model_input(spec, *odd_images[:2])
    p0, p1 = (int(c) for c in net.predict_proba(x).argmax(axis=1))
    t1 = crossing_class(net, x[1:], p1)
    calls = capture(monkeypatch, compare_command, "compare_grid")
    status, out, _ = run(cli, capsys, "compare", "--model", model_file, *odd_images[:2], "--methods",
                         "gradcam,hirescam,saliency", "--true", p0, t1, "--out", tmp_path)
    assert status == 0 and written(out) == [str(tmp_path / "compare.png")]
    _, titles, columns = calls[0][:3]
    contrast, groups = calls[0][-1]["contrast"], calls[0][-1]["groups"]
    # image 0 (right): one row; image 1 (wrong): predicted, true, then pred vs true
    assert contrast.tolist() == [False, False, False, True] and groups.tolist() == [0, 1, 1, 1]
    assert "pred vs true" in titles[3] and f"why id {p1}, not {t1}" in titles[3]
    one = x[[1]]
    expected = {"gradcam": grad_cam(net, one, classes=p1, contrast=t1, relu=False)[0],
                "hirescam": cam(net, one, "hirescam", classes=p1, contrast=t1)[0],
                "saliency": attribution(net, one, "saliency", classes=p1, contrast=t1)[0].sum(axis=-1)}
    for method, maps, _ in columns:
        np.testing.assert_allclose(maps[3], expected[method], rtol=1e-5, atol=1e-7)
    assert columns[0][1][3].min() < 0 < columns[0][1][3].max()      # Grad-CAM's contrast keeps its sign


def test_compare_from_a_split_adds_a_pred_vs_true_row_for_each_image_its_label_contradicts(
        cli, capsys, monkeypatch, model_file, net_and_spec, data_folder, tmp_path):
    net, spec = net_and_spec
    with open(data_folder / "valid.p", "rb") as handle:
        data = pickle.load(handle)
    indices = [3, 7, 11]
    wrong = net.predict_proba(preprocess(data["features"][indices], spec)).argmax(axis=1) != data["labels"][indices]
    calls = capture(monkeypatch, compare_command, "compare_grid")
    status, _, _ = run(cli, capsys, "compare", "--model", model_file, "--data", data_folder / "valid.p", "--index",
                       *indices, "--methods", "gradcam", "--out", tmp_path)
    assert status == 0
    contrast, groups = calls[0][-1]["contrast"], calls[0][-1]["groups"]
    assert sorted(groups[contrast].tolist()) == [n for n in range(3) if wrong[n]]


def test_compare_leaves_the_pred_vs_true_row_of_eigencam_empty_as_it_reads_no_class(
        cli, capsys, monkeypatch, model_file, net_and_spec, odd_images, tmp_path):
    net, spec = net_and_spec
    p = predicted_class(net, model_input(spec, odd_images[0]))
    calls = capture(monkeypatch, compare_command, "compare_grid")
    status, _, _ = run(cli, capsys, "compare", "--model", model_file, odd_images[0], "--methods", "eigencam",
                       "--true", (p + 1) % 43, "--out", tmp_path)
    assert status == 0
    maps, contrast = calls[0][2][0][1], calls[0][-1]["contrast"]
    assert contrast.tolist() == [False, False, True]
    assert np.isnan(maps[2]).all() and np.isfinite(maps[:2]).all()
