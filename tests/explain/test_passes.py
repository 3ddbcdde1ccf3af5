"""The passes the methods share: a forward that keeps caches only from a layer up, and the class gradient.

Both are checked in float64 against the plain whole-batch pass (``model.forward`` then
``model.backward``), which computes the same sums in another order: the two agree to float64 rounding
of the terms, far below the 1e-9 of the largest entry allowed here, and far above what a missing term
or a wrong cache (another image's, another layer's) would leave.
"""
import numpy as np
import pytest

from npnet.explain import passes
from npnet.explain.gradcam import spatial_layer_names
from npnet.engine.seed_net import seed_net

LAYERS = spatial_layer_names(seed_net())


@pytest.fixture(scope="module")
def net():
    model = seed_net(seed=5).astype(np.float64)
    rng = np.random.default_rng(5)
    for layer in model.layers:                      # biases too, so the ReLUs cut somewhere
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.uniform(-0.1, 0.1, layer.params["bias"].shape)
    return model


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(6).uniform(-0.5, 0.5, (9, 32, 32, 3))


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("layer", LAYERS)
def test_a_forward_kept_from_a_layer_gives_the_logits_and_that_layers_output(net, x, layer):
    expected_logits = net.forward(x, training=False)
    expected_output = net.layer(layer).output.copy()
    net.forward(x[::-1].copy(), training=False)              # other caches, which must be replaced
    logits = passes.cached_forward(net, x, keep_from=layer)
    assert_close(logits, expected_logits)
    assert_close(net.layer(layer).output, expected_output)


@pytest.mark.parametrize("layer", LAYERS)
def test_the_class_gradient_at_a_layer_is_the_whole_passes_gradient(net, x, layer):
    logits = net.forward(x, training=False)
    dlogits = passes.onehot_dlogits(logits, logits.argmin(axis=1))
    expected = net.backward(dlogits, stop_at=layer, param_grads=False).copy()
    gradient, _, classes = passes.class_gradient(net, x, logits.argmin(axis=1), stop_at=layer)
    np.testing.assert_array_equal(classes, logits.argmin(axis=1))
    assert_close(gradient, expected)


def test_a_forward_kept_from_the_first_layer_is_the_whole_forward(net, x):
    logits = passes.cached_forward(net, x, keep_from="conv2d_1")
    np.testing.assert_array_equal(logits, net.forward(x, training=False))


def test_a_wrong_input_is_refused_before_any_layer_runs(net):
    with pytest.raises(ValueError, match="conv2d_1"):
        passes.cached_forward(net, np.zeros((2, 28, 28, 3)), keep_from="conv2d_3")


@pytest.mark.parametrize("rule", ["gradient", "guided", "deconvnet"])
def test_the_input_gradient_in_slices_on_two_threads_is_the_whole_batchs(net, x, rule, monkeypatch):
    monkeypatch.setattr(passes.slicing, "SLICE_IMAGES", 2)        # 9 images: 5 slices, one of 1
    monkeypatch.setattr(passes.inference, "default_threads", lambda: 2)
    classes = np.arange(9) * 4
    whole = passes.class_gradient(net, x, classes, relu_rule=rule)
    sliced = passes.input_gradient(net, x, classes, relu_rule=rule)
    for got, expected in zip(sliced, whole):
        assert got.shape == expected.shape
        assert_close(got, expected)


def test_the_slices_leave_the_models_own_caches_alone(net, x, monkeypatch):
    monkeypatch.setattr(passes.slicing, "SLICE_IMAGES", 4)
    monkeypatch.setattr(passes.inference, "default_threads", lambda: 2)
    net.forward(x[:3], training=False)
    outputs = {layer.name: getattr(layer, "output", None) for layer in net.layers}
    passes.input_gradient(net, x)
    assert all(getattr(layer, "output", None) is outputs[layer.name] for layer in net.layers)


def test_a_bad_class_id_is_refused_before_any_slice_runs(net, x, monkeypatch):
    monkeypatch.setattr(passes.inference, "default_threads", lambda: 2)
    monkeypatch.setattr(passes.slicing, "SLICE_IMAGES", 2)
    monkeypatch.setattr(passes.inference, "worker_pool", lambda threads: pytest.fail("a slice ran"))
    with pytest.raises(passes.NpnetError, match="out of range"):
        passes.input_gradient(net, x, 43)
