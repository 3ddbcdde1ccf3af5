"""Shared fixtures: an untrained seed net saved as a checkpoint, a small labelled split, explain.py loaded as a
module, one walkthrough page built from them (once per session), and the engine's own arrays for that image."""
import contextlib
import importlib.util
import io
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.tolerances import rounding_tolerance
import pytest

from npnet.data import class_names
from npnet.data.preprocessing import preprocess
from npnet.engine.losses import softmax, softmax_cross_entropy
from npnet.engine.seed_net import seed_net
from npnet.io import checkpoint
from npnet.io.load import load_model

ROOT = Path(__file__).resolve().parents[2]
INDEX = 3                         # the image of the split the page walks
SPEC = {"name": "center_standardize"}
BLOCK = re.compile(r'<script type="application/json" id="npnet-walkthrough">(.*?)</script>', re.S)


@pytest.fixture(scope="session")
def cli():
    """explain.py as a module (loaded by path)."""
    spec = importlib.util.spec_from_file_location("explain_cli_walkthrough", ROOT / "explain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """An untrained seed net (its biases made non-zero, so a wrong bias index would show), saved as
    train.py saves a checkpoint."""
    model = seed_net()
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][:] = rng.normal(0, 0.05, layer.params["bias"].shape)
    path = tmp_path_factory.mktemp("model") / "untrained.h5"
    checkpoint.save(model, path, class_names=class_names(), preprocessing=SPEC)
    return path


@pytest.fixture(scope="session")
def split_file(tmp_path_factory):
    """valid.p in the seed's pickle layout: 6 images, smooth blobs rather than noise (a sign-like input)."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:32, 0:32]
    images = []
    for _ in range(6):
        cy, cx, r = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(6, 11)
        disc = ((rows - cy) ** 2 + (cols - cx) ** 2 < r ** 2)[..., None]
        image = np.where(disc, rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)) + rng.normal(0, 12, (32, 32, 3))
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    data = {"features": np.array(images), "labels": np.array([1, 14, 25, 13, 38, 2], dtype=np.uint8),
            "sizes": np.full((6, 2), 32, dtype=np.int32), "coords": np.tile(np.array([2, 2, 30, 30], np.int32), (6, 1))}
    path = tmp_path_factory.mktemp("split") / "valid.p"
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    return path


@dataclass
class Built:
    status: int
    stdout: str
    out: Path
    path: Path
    html: str
    data: dict


def read_block(html):
    found = BLOCK.findall(html)
    assert len(found) == 1, "one JSON block"
    return json.loads(found[0])


@pytest.fixture(scope="session")
def built(cli, model_file, split_file, tmp_path_factory):
    """The page of image INDEX of the split, built once by explain.py walkthrough."""
    out = tmp_path_factory.mktemp("walkthrough")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(["walkthrough", "--model", str(model_file), "--data", str(split_file), "--index", str(INDEX),
                           "--out", str(out)])
    pages = sorted(out.glob("*.html"))
    html = pages[0].read_text(encoding="utf-8") if pages else ""
    return Built(status, stdout.getvalue(), out, pages[0] if pages else None, html, read_block(html) if html else {})


@pytest.fixture(scope="session")
def engine(model_file, split_file):
    """The engine's arrays for the page's image, by the page's names: {'input.output': x, 'conv2d_1.output':
    ..., 'conv2d_1.doutput': ..., 'conv2d_1.kernel': ..., 'conv2d_1.dkernel': ..., 'loss.probs': ...}, batch
    axis dropped; from model.forward and model.backward of the cross-entropy of the image's label."""
    with open(split_file, "rb") as handle:
        split = pickle.load(handle)
    image, label = split["features"][INDEX], int(split["labels"][INDEX])
    model, _ = load_model(model_file, input_shape=checkpoint.IMAGE_INPUT)
    x = preprocess(image[None], SPEC)
    outputs, h = {}, x
    for layer in model.layers:                       # Sequential.forward's loop, each output kept
        h = layer.forward(h, training=False)
        outputs[layer.name] = h[0].copy()
    assert np.array_equal(h, model.forward(x, training=False))
    logits = h
    _, dlogits = softmax_cross_entropy(logits, np.array([label]))
    dx = model.backward(dlogits)
    arrays = {"input.output": x[0], "input.doutput": dx[0], "input.pixels": image,
              "loss.probs": softmax(logits)[0], "loss.dlogits": dlogits[0]}
    for layer in model.layers:
        arrays[f"{layer.name}.output"] = outputs[layer.name]
        arrays[f"{layer.name}.doutput"] = layer.doutput[0]
        for key in layer.params:
            arrays[f"{layer.name}.{key}"] = layer.params[key]
            arrays[f"{layer.name}.d{key}"] = layer.grads[key]
        if getattr(layer, "argmax", None) is not None:
            arrays[f"{layer.name}.winners"] = layer.argmax[0]
    return {"arrays": arrays, "label": label, "model": model, "x": x}


def lookup(engine, ref):
    """'conv2d_2.kernel[1,0,5,7]' -> the engine's value there."""
    name, index = re.fullmatch(r"(.+?)\[([\d,]+)\]", ref).groups()
    return engine["arrays"][name][tuple(int(i) for i in index.split(","))]


#: the chain of sums behind any number on the page (the seed net's layers, forward then backward): the
#: page is built on one thread, the engine's arrays here on all, so BLAS may add them in other orders
CHAIN_TERMS = [27, 512, 128, 1152, 256, 128, 64, 43, 64, 128, 256, 1152, 512, 128, 27]


def page_tolerance(expected, scale, digits=6):
    """How far a page number may be from the engine's ``expected``: the page's rounding to ``digits``
    significant digits, plus the float32 rounding of two evaluations of the chain of sums, whose terms
    are bounded by ``scale`` (the largest magnitude of the array it comes from)."""
    return 10.0 ** (1 - digits) * np.abs(expected) + rounding_tolerance(scale, CHAIN_TERMS)
