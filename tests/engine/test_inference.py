"""The inference path (npnet.engine.inference): the logits of model.forward(x, training=False), no caches kept."""
import copy

import numpy as np
import pytest

from npnet.engine import inference, ops
from npnet.engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net

from tolerances import assert_same_sums

SEED_NET_TERMS = [27 + 1, 128 + 1, 512 + 1, 1152 + 1, 256 + 1, 128 + 1, 64 + 1]   # each layer's sums


def magnitudes(model, x, after=None, before=None):
    """The scale of every logit: the same forward with every weight and input by its magnitude (all
    values >= 0, so each ReLU passes everything and each pool keeps the largest magnitude)."""
    absolute = copy.deepcopy(model)
    for value in absolute.params().values():
        np.abs(value, out=value)
    return inference.predict_logits(absolute, np.abs(x), after=after, before=before).astype(np.float64)


def images(n, rng, shape=(32, 32, 3)):
    return rng.standard_normal((n,) + shape).astype(np.float32)


def trained_like(model, rng):
    """Random biases too, so that the bias additions and the ReLUs' cuts are exercised."""
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.uniform(-0.1, 0.1, layer.params["bias"].shape).astype(layer.dtype)
    return model


@pytest.mark.parametrize("count", [1, 31, 70])
def test_seed_net_logits_equal_the_layer_by_layer_forward(rng, count):
    model = trained_like(seed_net(), rng)
    x = images(count, rng)
    assert_same_sums(inference.predict_logits(model, x), model.forward(x, training=False),
                     magnitudes(model, x), SEED_NET_TERMS)


@pytest.mark.parametrize("slice_images", [1, 5, 1000])
def test_the_slice_size_changes_nothing_but_rounding(rng, slice_images):
    model = trained_like(seed_net(), rng)
    x = images(12, rng)
    assert_same_sums(inference.predict_logits(model, x, slice_images=slice_images),
                     inference.predict_logits(model, x), magnitudes(model, x), SEED_NET_TERMS)


def test_the_reference_kernels_give_the_same_logits(rng):
    model = trained_like(seed_net(), rng)
    x = images(9, rng)
    fast_logits = inference.predict_logits(model, x)
    try:
        ops.use("reference")
        reference_logits = inference.predict_logits(model, x)
    finally:
        ops.use("fast")
    assert_same_sums(fast_logits, reference_logits, magnitudes(model, x), SEED_NET_TERMS)


def test_layers_above_a_given_layer_run_on_its_output(rng):
    model = trained_like(seed_net(), rng)
    x = images(6, rng)
    model.forward(x, training=False)
    A = model.layer("conv2d_3").output.copy()
    assert_same_sums(inference.predict_logits(model, A, after="conv2d_3"), model.forward(x),
                     magnitudes(model, A, after="conv2d_3"), SEED_NET_TERMS[3:])


def test_layers_below_a_given_layer_give_its_input(rng):
    model = trained_like(seed_net(), rng)
    x = images(7, rng)
    model.forward(x, training=False)
    assert_same_sums(inference.predict_logits(model, x, before="conv2d_3"),
                     model.layer("max_pooling2d_2").output, magnitudes(model, x, before="conv2d_3"),
                     SEED_NET_TERMS[:2])


def test_the_layers_between_after_and_before_run_alone(rng):
    model = trained_like(seed_net(), rng)
    model.forward(images(3, rng), training=False)
    pooled = model.layer("max_pooling2d_1").output
    assert_same_sums(inference.predict_logits(model, pooled, after="max_pooling2d_1", before="conv2d_3"),
                     model.layer("max_pooling2d_2").output,
                     magnitudes(model, pooled, after="max_pooling2d_1", before="conv2d_3"), SEED_NET_TERMS[1:2])


def test_no_layer_cache_changes(rng):
    model = trained_like(seed_net(), rng)
    x = images(4, rng)
    model.forward(x, training=False)
    before = {layer.name: layer.output for layer in model.layers if hasattr(layer, "output")}
    argmax = model.layer("max_pooling2d_1").argmax
    inference.predict_logits(model, images(8, rng))
    assert all(layer.output is before[layer.name] for layer in model.layers if hasattr(layer, "output"))
    assert model.layer("max_pooling2d_1").argmax is argmax
    model.backward(np.ones((4, 43), dtype=np.float32))      # a backward still follows the forward


def test_other_layer_orders_and_padding_run_layer_by_layer(rng):
    # a conv not followed by a pool, 'same' padding, a pool after a ReLU layer, dropout: each its own step
    model = Sequential([Conv2D(3, 3, activation="relu", padding="same"), Conv2D(4, 2), ReLU(), MaxPool2D(2),
                        Flatten(), Dropout(0.5), Dense(7, activation="relu"), Dense(3)],
                       input_shape=(9, 9, 2), seed=3)
    trained_like(model, rng)
    x = images(5, rng, (9, 9, 2))
    assert_same_sums(inference.predict_logits(model, x), model.forward(x, training=False),
                     magnitudes(model, x), [18 + 1, 12 + 1, 64 + 1, 7 + 1])


def test_a_float64_model_infers_in_float64(rng):
    model = trained_like(seed_net(), rng).astype(np.float64)
    x = images(3, rng).astype(np.float64)
    logits = inference.predict_logits(model, x)
    assert logits.dtype == np.float64
    assert_same_sums(logits, model.forward(x), magnitudes(model, x), SEED_NET_TERMS)


def test_a_wrong_input_is_refused_naming_the_first_layer(rng):
    with pytest.raises(ValueError, match="conv2d_1"):
        inference.predict_logits(seed_net(), images(2, rng, (28, 28, 3)))


def test_predict_proba_is_the_softmax_of_the_inference_logits(rng):
    model = trained_like(seed_net(), rng)
    x = images(5, rng)
    p = model.predict_proba(x, batch_size=2)
    z = model.predict_logits(x).astype(np.float64)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    assert model.predict_proba(x[:0]).shape == (0, 43)


@pytest.mark.parametrize("threads", [2, 3])
def test_slices_on_several_threads_give_what_one_thread_gives(rng, threads):
    model = trained_like(seed_net(), rng)
    x = images(10, rng)
    assert_same_sums(inference.predict_logits(model, x, slice_images=3, threads=threads),
                     inference.predict_logits(model, x, slice_images=3, threads=1), magnitudes(model, x),
                     SEED_NET_TERMS)


def test_openblas_keeps_its_thread_count_after_a_threaded_call(rng):
    from npnet.runtime import blas
    if not blas.available():
        pytest.skip("numpy's BLAS is not an OpenBLAS whose thread count can be set")
    get, _ = blas.openblas_functions()
    before = get()
    inference.predict_logits(seed_net(), images(8, rng), slice_images=2, threads=2)
    assert get() == before


def test_an_error_in_a_worker_thread_reaches_the_caller(rng, monkeypatch):
    model = seed_net()

    def broken(*args, **kwargs):
        raise RuntimeError("kernel failed")
    monkeypatch.setattr(Conv2D, "infer_fused", broken)
    with pytest.raises(RuntimeError, match="kernel failed"):
        inference.predict_logits(model, images(8, rng), slice_images=2, threads=2)


def test_slices_run_on_numbas_thread_count_only_under_a_thread_safe_layer(monkeypatch):
    import numba
    monkeypatch.setattr(numba.config, "DISABLE_JIT", False)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    assert inference.default_threads() == 1
    monkeypatch.setattr(numba, "threading_layer", lambda: "omp")
    assert inference.default_threads() == 2


def test_a_wide_net_runs_in_slices_whose_memory_is_bounded(rng):
    import tracemalloc
    from npnet.runtime import slicing
    from npnet.runtime.memory import inference_bytes_per_image
    wide = Sequential([Conv2D(1024, 1, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
                      input_shape=(32, 32, 3))
    per_image = inference_bytes_per_image(wide.layers)          # 4 MiB of conv output per image
    assert slicing.images_per_slice(per_image) == slicing.SLICE_MEMORY // per_image < slicing.SLICE_IMAGES
    x = images(40, rng)
    expected = wide.forward(x, training=False)
    tracemalloc.start()
    try:
        logits = inference.predict_logits(wide, x, threads=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * slicing.SLICE_MEMORY               # 32 images at once would be 128 MiB
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
