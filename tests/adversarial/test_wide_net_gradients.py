"""A checkpoint of a very wide net: its input gradients run in slices sized by memory, not by a fixed
count of images, so what they take grows with the image, not the batch; the result is the unsliced one.

The net: a 1x1 convolution to 1,024 channels, a pool and a dense layer. One image needs about 12 MiB
in a forward that keeps its caches and the backward after it (4 MiB of convolution output alone),
so 32 images at once (the slice for the seed net) would hold 400 MB.
"""
import tracemalloc

import numpy as np
import pytest

from npnet.engine import inference
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.explain import passes
from npnet.io import checkpoint
from npnet.runtime import slicing
from npnet.runtime.memory import training_bytes_per_image


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """The wide net, saved as a checkpoint and read back (the checks accept it: 12 MiB per image)."""
    net = Sequential([Conv2D(1024, 1, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
                     input_shape=(32, 32, 3), seed=0)
    path = tmp_path_factory.mktemp("wide") / "wide.h5"
    checkpoint.save(net, path, preprocessing={"name": "seed"})
    return checkpoint.load(path)[0]


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).uniform(-0.5, 0.5, (40, 32, 32, 3)).astype(np.float32)


def slice_sizes(monkeypatch):
    """The number of images each class_gradient call of input_gradient gets, as it runs."""
    sizes, inner = [], passes.class_gradient

    def recorded(model, images, *args, **kwargs):
        sizes.append(len(images))
        return inner(model, images, *args, **kwargs)
    monkeypatch.setattr(passes, "class_gradient", recorded)
    return sizes


@pytest.mark.parametrize("threads", [1, 2])
def test_a_wide_nets_input_gradient_runs_in_slices_of_a_bounded_memory(wide, x, monkeypatch, threads):
    monkeypatch.setattr(inference, "default_threads", lambda: threads)
    per_slice = slicing.images_per_slice(training_bytes_per_image(wide))
    assert per_slice == slicing.SLICE_MEMORY // training_bytes_per_image(wide) < slicing.SLICE_IMAGES
    sizes = slice_sizes(monkeypatch)
    passes.input_gradient(wide, x)
    assert max(sizes) == per_slice and sum(sizes) == len(x)


def test_a_wide_nets_input_gradient_peaks_below_the_slice_bound(wide, x, monkeypatch):
    monkeypatch.setattr(inference, "default_threads", lambda: 1)
    tracemalloc.start()
    try:
        passes.input_gradient(wide, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * slicing.SLICE_MEMORY, peak / 2**20        # the 40 images at once: 250 MiB


def test_a_wide_nets_sliced_input_gradient_is_the_unsliced_one(wide, x, monkeypatch):
    monkeypatch.setattr(inference, "default_threads", lambda: 2)
    classes = np.arange(len(x)) % 3
    sliced = passes.input_gradient(wide, x, classes, relu_rule="guided")
    whole = passes.class_gradient(wide, x, classes, relu_rule="guided")
    for got, expected in zip(sliced, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_the_seed_nets_slices_are_still_the_fixed_count(monkeypatch):
    from npnet.engine.seed_net import seed_net
    monkeypatch.setattr(inference, "default_threads", lambda: 2)
    sizes = slice_sizes(monkeypatch)
    passes.input_gradient(seed_net(seed=0), np.zeros((70, 32, 32, 3), np.float32))
    assert sizes == [32, 32, 6]
