"""explain.py walkthrough: the page parses, its numbers are the engine's, its gradient checks are gradcheck's
and can fail, its colour scales read in grey; bad input is one line, status 2, nothing written."""
from html.parser import HTMLParser

import numpy as np
import pytest

from npnet.engine.gradcheck import numerical_gradient, rel_error
from npnet.engine.layers import Dense
from npnet.engine.losses import softmax_cross_entropy
from npnet.walkthrough import colours, passes

from .conftest import INDEX, lookup, page_tolerance, read_block

VOID = {"meta", "img", "br", "input", "link", "hr", "col", "source", "wbr"}


class Checker(HTMLParser):
    """Every element closed in order; the ids and the script types seen."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.ids, self.scripts = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "script":
            self.scripts.append(attrs.get("type"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def close(a, b, digits=6):
    """a equals b to the page's rounding (6 significant digits of float32) and the float32 rounding of
    the chain of sums behind them (``conftest.page_tolerance``, scaled by b's largest entry)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= page_tolerance(b, np.abs(b).max(), digits)))


def test_one_page_is_written_and_its_path_printed_last(built):
    assert built.status == 0
    assert [p.name for p in built.out.iterdir()] == [built.path.name] and built.path.suffix == ".html"
    assert built.stdout.strip().splitlines()[-1] == str(built.path)


def test_the_page_parses_with_one_json_block_and_nothing_fetched(built):
    checker = Checker()
    checker.feed(built.html)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.ids.count("npnet-walkthrough") == 1 and len(set(checker.ids)) == len(checker.ids)
    assert checker.scripts == ["application/json", None]
    for reference in ("http://", "https://", "src=\"//", "url("):
        assert reference not in built.html.split('id="npnet-walkthrough"')[0]
    assert len(built.html.encode()) < 5e6


def test_every_array_in_the_block_is_the_engines(built, engine):
    data, arrays = built.data, engine["arrays"]
    assert data["loss"]["class"] == engine["label"] and data["source"].endswith(f"#{INDEX}")
    assert close(data["input"]["output"], arrays["input.output"]) and close(data["input"]["doutput"], arrays["input.doutput"])
    assert np.array_equal(data["input"]["pixels"], arrays["input.pixels"])
    assert [block["name"] for block in data["layers"]] == [layer.name for layer in engine["model"].layers]
    for block in data["layers"]:
        name = block["name"]
        assert close(block["output"], arrays[f"{name}.output"]), name
        assert close(block["doutput"], arrays[f"{name}.doutput"]), name
        for key in ("kernel", "dkernel", "bias", "dbias"):
            if key in block:
                assert close(block[key], arrays[f"{name}.{key}"]), f"{name}.{key}"
        if "winners" in block:
            assert np.array_equal(block["winners"], arrays[f"{name}.winners"])
    assert close(data["loss"]["probs"], arrays["loss.probs"]) and close(data["loss"]["dlogits"], arrays["loss.dlogits"])
    p, y = np.array(data["loss"]["probs"]), np.eye(len(data["names"]))[engine["label"]]
    assert close(data["loss"]["dlogits"], p - y, digits=5)


def test_a_dense_units_listed_terms_are_its_largest_products(built, engine):
    arrays = engine["arrays"]
    for block in (b for b in built.data["layers"] if b["type"] == "Dense"):
        name, below = block["name"], block["below"]
        a, W = arrays[f"{below}.output"].astype(np.float64).ravel(), arrays[f"{name}.kernel"].astype(np.float64)
        products = a[:, None] * W
        for unit in (0, len(block["top_inputs"]) - 1):
            terms = block["top_inputs"][unit]
            for i, value, weight in terms:
                assert close(value, a[i]) and close(weight, W[i, unit])
            listed = np.abs(products[[t[0] for t in terms], unit])
            assert listed.min() >= np.sort(np.abs(products[:, unit]))[-len(terms)] - 1e-12
            assert np.isclose(block["top_inputs_rest"][unit] + products[[t[0] for t in terms], unit].sum(),
                              products[:, unit].sum(), rtol=1e-4, atol=1e-6)


def test_the_badges_are_gradchecks_rel_error_at_the_entries_listed(built, engine):
    """For each layer: a float64 copy of the model, the same image; gradcheck.numerical_gradient of
    f = sum(dL/dA * layer(a)) at the page's entries, against the backward's gradient; rel_error equals the badge."""
    model64 = passes.copy_model(engine["model"], np.float64)
    h = engine["x"].astype(np.float64)
    inputs = {}
    for layer in model64.layers:
        inputs[layer.name] = h.copy()
        h = layer.forward(h, training=False)
    _, dlogits = softmax_cross_entropy(h, np.array([engine["label"]]))
    dx = model64.backward(dlogits)
    for index, (layer, block) in enumerate(zip(model64.layers, built.data["layers"])):
        g, a = layer.doutput.copy(), inputs[layer.name]
        handed_down = model64.layers[index - 1].doutput if index else dx
        analytic = {"input": handed_down, **{key: grad.copy() for key, grad in layer.grads.items()}}
        tensors = {"input": a, **layer.params}

        def f(layer=layer, a=a, g=g):
            return float(np.sum(g * layer.forward(a, training=False)))

        worst = 0.0
        for key, check in block["gradient_check"].items():
            entries = np.array(check["entries"])
            assert len(entries) == min(passes.CHECKED_ENTRIES, tensors[key].size)
            numeric, usable = numerical_gradient(f, tensors[key], entries, 1e-6, [layer])
            assert usable.all(), f"{layer.name}/{key}: the page's entries are off the kinks"
            error = rel_error(analytic[key].ravel()[entries], numeric)
            # below 1e-8 a rel_error is the float64 rounding of the central differences, which another
            # BLAS kernel or thread count changes; above it, the page's value is the check's to 1%
            assert np.isclose(check["rel_error"], error, rtol=1e-2, atol=1e-8), (layer.name, key)
            assert error < 1e-6
            worst = max(worst, check["rel_error"])
        assert f'href="#check-{layer.name}" data-value="{worst!r}"' in built.html


def test_a_wrong_backward_shows_on_its_badge(engine, monkeypatch):
    """The check can fail: a Dense backward that forgets the ReLU's mask scores far above 1e-6."""
    def forgetful(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        self.grads["kernel"], self.grads["bias"] = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.params["kernel"].T if input_grad else None

    monkeypatch.setattr(Dense, "backward", forgetful)
    checks, _ = passes.layer_checks(engine["model"], engine["x"], engine["label"], count=8)
    assert max(r["rel_error"] for r in checks["dense_2"].values()) > 1e-2
    assert max(r["rel_error"] for r in checks["conv2d_1"].values()) < 1e-6


def test_the_colour_scales_read_without_colour_vision():
    backward = np.array(colours.backward_palette())
    light = colours.luminance(backward)
    assert backward.shape == (256, 3) and np.all(np.diff(light) >= 0) and light[-1] > 20 * light[0]
    middle = backward[128]
    assert np.ptp(middle) < 12                                      # 0 is a grey, no hue
    assert np.all(np.diff(colours.luminance(colours.forward_palette())) > 0)


def test_the_words_count_the_zeros_and_say_why(built, engine):
    conv = engine["arrays"]["conv2d_1.doutput"]
    losers = conv.size - engine["arrays"]["max_pooling2d_1.output"].size
    assert f"so {losers:,} (3 in 4) get 0" in built.html
    assert f"{conv.size:,} entries, {int((conv == 0).sum()):,} zero" in built.html
    assert "896 parameters: 32 kernels of 3×3×3 and 32 biases" in built.html


def test_the_untrained_net_and_a_chosen_class_from_an_image_file(cli, capsys, tmp_path):
    from PIL import Image
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "sign.png")
    status = cli.main(["walkthrough", str(tmp_path / "sign.png"), "--untrained", "--class", "stop", "--out",
                       str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    page = tmp_path / "out" / "walkthrough_sign_untrained.html"
    assert out.strip().splitlines()[-1] == str(page)
    data = read_block(page.read_text(encoding="utf-8"))
    assert data["untrained"] and data["loss"]["class"] == 14 and data["why"] == "chosen with --class"
    assert data["preprocessing"] == "seed" and data["label"] is None


@pytest.mark.parametrize("argv, message", [
    ([], "walkthrough: give an image file, or --data with --index (not both)"),
    (["--index", "2"], "walkthrough: give an image file, or --data with --index (not both)"),
    (["--data", "{split}"], "walkthrough: give an image file, or --data with --index (not both)"),
    (["--data", "{split}", "--index", "99"], "valid.p: --index 99 is outside the split's 6 images"),
    (["--data", "{split}", "--index", "1", "--class", "no such sign"], "no such sign"),
    (["{corrupt}"], "cannot read image"),
    (["--data", "{missing}", "--index", "0"], "missing.p"),
    (["--index", "-1", "--data", "{split}"], "must be at least 0"),
])
def test_bad_input_is_one_line_status_2_and_nothing_written(cli, capsys, tmp_path, model_file, split_file, argv, message):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not the rest of a PNG")
    argv = [a.format(split=split_file, corrupt=corrupt, missing=tmp_path / "missing.p") for a in argv]
    out = tmp_path / "out"
    try:
        status = cli.main(["walkthrough", "--model", str(model_file), *argv, "--out", str(out)])
    except SystemExit as exit:                  # argparse's usage errors
        status = exit.code
    _, stderr = capsys.readouterr()
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and message in lines[0] and "Traceback" not in stderr
    assert not out.exists()

