"""explain.py report: each mistake card's contrastive Grad-CAM, its margin and counterfactual, and the accuracy
under attack (--robustness): the page shows what the library computes on the same model and images."""
import numpy as np
import pytest

from npnet.data import read_pickle
from npnet.data.preprocessing import preprocess
from npnet.explain import classify, grad_cam, ranked_mistakes
from npnet.explain.attacks import counterfactual, robust_accuracy
from npnet.explain.faithfulness.sample import sample_positions
from npnet.io import checkpoint
from npnet.report import margins, pictures

from .test_report import Page, decoded, run

SHOWN, ATTACKED = 3, 6


@pytest.fixture(scope="module")
def report(cli, model_file, data_folder, tmp_path_factory):
    """(Page, net, spec, the test split, the shown mistakes' positions) of a report with --robustness."""
    out = tmp_path_factory.mktemp("margins")
    status = cli.main(["report", "--model", str(model_file), "--data", str(data_folder), "--methods", "gradcam",
                       "--limit", str(SHOWN), "--faithfulness-images", "0", "--robustness", "--robustness-limit",
                       str(ATTACKED), "--out", str(out)])
    assert status == 0
    net, metadata = checkpoint.load(model_file)
    split = read_pickle(data_folder / "test.p")
    evaluation = classify(net, preprocess(split.images, metadata["preprocessing"]), split.labels)
    chosen = ranked_mistakes(evaluation)[:SHOWN]
    return Page((out / "report.html").read_text()), net, metadata["preprocessing"], split, evaluation, chosen


def test_each_mistake_card_shows_its_margin_as_counterfactual_finds_it(report):
    page, net, spec, split, _, chosen = report
    shown = page.all("p", class_="margin")
    found = counterfactual(net, split.images[chosen], split.labels[chosen], preprocessing=spec,
                           **margins.COUNTERFACTUAL)
    assert len(shown) == len(chosen) == SHOWN
    assert [float(p["data-value"]) for p in shown] == found.radius.tolist()
    text = "".join(page.text)
    for radius in found.radius:
        assert (f"the true class is {radius:.3g} grey levels away (l2)" in text if np.isfinite(radius)
                else "the true class is not reached within" in text)


def test_each_mistake_card_shows_why_predicted_and_not_true_as_signed_grad_cam_on_its_own_scale(report):
    page, net, spec, split, evaluation, chosen = report
    maps = [a for a in page.all("img", class_="signed") if a["alt"].startswith("contrastive Grad-CAM: why")]
    ends = page.all("span", class_="end", data_map="contrast")
    expected = grad_cam(net, preprocess(split.images[chosen], spec), classes=evaluation.predicted[chosen],
                        contrast=split.labels[chosen], relu=False)
    assert len(maps) == SHOWN
    for m in range(SHOWN):
        scale = float(np.abs(expected[m]).max())
        end = float(ends[m]["data-value"])
        assert end == pytest.approx(scale, rel=1e-6)
        levels = np.asarray(decoded(maps[m]["src"]))
        want = pictures.signed_levels(expected[m], end)
        assert np.abs(levels.astype(int) - want.astype(int)).max() <= 1      # float32 rounding at a level's edge


def test_a_mistake_the_search_does_not_reach_says_so_with_an_infinite_margin(cli, capsys, monkeypatch, model_file,
                                                                            data_folder, tmp_path):
    monkeypatch.setattr(margins, "COUNTERFACTUAL", {"high": 0.01, "tolerance": 0.005, "steps": 2})
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, "--methods", "gradcam",
                       "--limit", "2", "--faithfulness-images", "0", "--out", tmp_path)
    assert status == 0
    page = Page((tmp_path / "report.html").read_text())
    assert [p["data-value"] for p in page.all("p", class_="margin")] == ["inf", "inf"]
    assert "".join(page.text).count("the true class is not reached within 0.01 grey levels (l2)") == 2
    assert not [a for a in page.all("img") if a["alt"].startswith("counterfactual:")]


def test_robustness_puts_robust_accuracy_of_the_sample_in_the_accuracy_section(report):
    page, net, spec, split, _, _ = report
    positions = sample_positions(len(split), ATTACKED)
    expected = robust_accuracy(net, split.images[positions], split.labels[positions], seed=0, preprocessing=spec)
    shown, attack = {}, None
    for tag, attributes in page.tags:
        if tag == "tr" and "data-attack" in attributes:
            attack = attributes["data-attack"]
            shown[attack] = {}
        elif tag == "td" and "data-eps" in attributes:
            shown[attack][attributes["data-eps"]] = float(attributes["data-value"])
    assert shown == expected["attacks"] and list(shown) == ["fgsm", "pgd10", "pgd20"]
    assert f"On {ATTACKED} of the split's {len(split)} images (evenly spaced)" in "".join(page.text)
    assert any(a["alt"].startswith("accuracy under attack") for a in page.all("img"))


def test_without_robustness_the_page_has_no_attack_table(cli, capsys, model_file, data_folder, tmp_path):
    status, _, _ = run(cli, capsys, "report", "--model", model_file, "--data", data_folder, "--methods", "gradcam",
                       "--limit", "1", "--faithfulness-images", "0", "--out", tmp_path)
    assert status == 0
    assert Page((tmp_path / "report.html").read_text()).all("table", class_="robustness") == []


def test_signed_levels_put_minus_the_scale_at_0_zero_in_the_middle_and_the_scale_at_255():
    values = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert pictures.signed_levels(values, 1.0).tolist() == [0, 0, 128, 255, 255]
    assert pictures.signed_levels(values, 0.0).tolist() == [128] * 5
