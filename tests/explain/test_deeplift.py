"""DeepLIFT: the rescale and max-pool rules against hand-worked numbers, summation-to-delta, and the
method against Captum's DeepLift on the PyTorch twin."""
import copy

import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain import deeplift as dl
from npnet.explain.methods import attribution
from npnet.explain.passes import recorded_forward
from npnet.io.errors import NpnetError
from tolerances import assert_same_sums, rounding_tolerance

from .test_gradients import with_random_biases
from .test_relevance import hand_worked_net

RULES = ["gradient", "cross_max"]


def small_net(dtype=np.float64):
    """conv 2x2x3 relu -> maxpool 2 -> conv 2x2x4 relu -> flatten -> dense 3, on 5x5x2, random biases."""
    layers = [Conv2D(3, 2, activation="relu"), MaxPool2D(2), Conv2D(4, 2, activation="relu"), Flatten(), Dense(3)]
    return with_random_biases(Sequential(layers, input_shape=(5, 5, 2), seed=7).astype(dtype), seed=8)


def magnitudes(model, x, x_ref, classes, contrast=None):
    """The scale of the attributions' sums (``tolerances``): the same walk back with every weight,
    multiplier and difference by its magnitude, the rescale ratios and pool winners of x and x'."""
    steps, logits = recorded_forward(model, x)
    steps_ref, _ = recorded_forward(model, x_ref)
    m = np.zeros_like(logits)
    m[np.arange(len(x)), classes] = 1
    if contrast is not None:
        m[np.arange(len(x)), contrast] = 1
    for step, ref in reversed(list(zip(steps, steps_ref))):
        if step.relu:
            m = np.abs(dl.rescale(m, step.z, ref.z))
        if isinstance(step.layer, MaxPool2D):              # either rule moves m_out within the window
            m = step.layer.backward(m) + ref.layer.backward(m)
        elif "kernel" in step.layer.params:
            positive = copy.copy(step.layer)
            positive.params = {"kernel": np.abs(step.layer.params["kernel"]), "bias": step.layer.params["bias"]}
            m = positive.backward(m, param_grads=False)
        elif step.z is None:
            m = step.layer.backward(m, param_grads=False)
    return np.abs(x - x_ref) * m


SMALL_TERMS = [3, 4, 12, 3, 8]


# -- the rules, by hand ---------------------------------------------------------------------------
def test_the_rescale_rule_divides_the_change_of_the_output_by_the_change_of_the_input():
    dout = np.array([2.0, 2.0, 2.0, 2.0])
    z, z_ref = np.array([3.0, 1.0, -1.0, 2.0]), np.array([-1.0, 1.0, -1.0, 1.0])
    # delta z = [4, 0, 0, 1], delta a = [3, 0, 0, 1]: the ratio where z moved, the derivative where not
    np.testing.assert_array_equal(dl.rescale(dout, z, z_ref), [1.5, 2.0, 0.0, 2.0])


def window(values):
    """One 2x2 window, one channel: (1, 2, 2, 1)."""
    return np.array(values, dtype=np.float64).reshape(1, 2, 2, 1)


def pooled(a):
    pool = MaxPool2D(2)
    Sequential([pool], input_shape=(2, 2, 1))
    pool.forward(a)
    return pool


@pytest.mark.parametrize("a, a_ref, expected", [
    # o = 5 (x's winner at (0, 1)) > o' = 4: x's winner gets t - o' = 1, over delta a = 5
    ([[1, 5], [2, 0]], [[4, 0], [0, 3]], [[0, 0.2], [0, 0]]),
    # o = 2 < o' = 4 (x''s winner at (0, 0)): it gets o - t = -2, over delta a = -3
    ([[1, 2], [0, 0]], [[4, 0], [0, 3]], [[2 / 3, 0], [0, 0]]),
    # the same winner, delta a = 0 elsewhere: the derivative there (0: not the winner)
    ([[1, 0], [0, 0]], [[3, 0], [0, 0]], [[1, 0], [0, 0]]),
])
def test_the_cross_max_rule_on_a_hand_worked_window(a, a_ref, expected):
    a, a_ref = window(a), window(a_ref)
    got = dl.cross_max(np.ones((1, 1, 1, 1)), pooled(a), pooled(a_ref), a, a_ref)
    np.testing.assert_allclose(got, window(expected), rtol=np.finfo(np.float64).eps)
    assert (got * (a - a_ref)).sum() == pytest.approx(pooled(a).output.item() - pooled(a_ref).output.item())


def test_the_cross_max_rule_is_captums_maxpool_handler():
    torch = pytest.importorskip("torch", reason="the relevance extra: pip install -e '.[relevance]'")
    deep_lift = pytest.importorskip("captum.attr._core.deep_lift", reason="the relevance extra")
    rng = np.random.default_rng(0)
    a, a_ref = rng.normal(0, 1, (2, 4, 4, 3)), rng.normal(0, 1, (2, 4, 4, 3))
    dout = rng.normal(0, 1, (2, 2, 2, 3))
    ours = dl.cross_max(dout, pooled_many(a), pooled_many(a_ref), a, a_ref)
    module = torch.nn.MaxPool2d(2)
    both = torch.from_numpy(np.concatenate([a, a_ref]).transpose(0, 3, 1, 2).copy())
    module.input = both
    outputs = module(both)
    plain = torch.nn.functional.max_unpool2d(*[torch.from_numpy(np.concatenate([dout, dout]).transpose(0, 3, 1, 2)),
                                                torch.nn.functional.max_pool2d(both, 2, return_indices=True)[1]], 2)
    theirs = deep_lift.maxpool2d(module, both, outputs, plain, torch.from_numpy(
        np.concatenate([dout, dout]).transpose(0, 3, 1, 2)))[:2].numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(ours, theirs)                 # the same float64 operations, in the same order


def pooled_many(a):
    pool = MaxPool2D(2)
    Sequential([pool], input_shape=a.shape[1:])
    pool.forward(a)
    return pool


# -- the method, by hand and by its promise ---------------------------------------------------------
@pytest.mark.parametrize("maxpool", RULES)
def test_deeplift_on_the_hand_worked_net(maxpool):
    """x = [1, 2], x' = [1, -1]: z1 = [4, 1, -2], z1' = [1, -2, 4]; a1 = [4, 1, 0], a1' = [1, 0, 4]; the
    ratios (a1 - a1') / (z1 - z1') = [3/3, 1/3, -4/-6]. Class 0: m_a1 = W2[:, 0] = [1, -2, 4], so
    m_z1 = [1, -2/3, 8/3], m_x = W1 m_z1 = [7, -5] and (x - x') m_x = [0, -15] = y0(x) - y0(x')
    = 2.5 - 17.5."""
    model = hand_worked_net()
    got = dl.deeplift(model, np.array([[[[1.0, 2.0]]]]), 0, baseline=np.array([1.0, -1.0]), maxpool=maxpool)
    W1, W2 = model.layers[1].params["kernel"], model.layers[2].params["kernel"]
    scale = np.abs([0.0, 3.0]) * (np.abs(W1) @ (np.array([1, 1 / 3, 2 / 3]) * np.abs(W2[:, 0])))
    assert_same_sums(got.ravel(), [0.0, -15.0], scale, [3, 2])


@pytest.mark.parametrize("maxpool", RULES)
def test_deeplift_sums_to_the_change_of_the_logit_from_a_constant_baseline(maxpool):
    model = with_random_biases(seed_net(seed=2).astype(np.float64), seed=3)
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (2, 32, 32, 3))
    got = dl.deeplift(model, x, [5, 9], baseline=0.1, maxpool=maxpool)
    error, _ = dl.summation_to_delta(model, x, got, [5, 9], baseline=0.1)
    scale = magnitudes(model, x, np.full_like(x, 0.1), [5, 9]).reshape(2, -1).sum(axis=1)
    assert np.all(error <= rounding_tolerance(scale, [43, 64, 128, 256, 1152, 512, 128, 27, 3072], np.float64))


def test_the_cross_max_rule_sums_to_the_change_of_the_logit_from_any_baseline():
    model = with_random_biases(seed_net(seed=2).astype(np.float64), seed=3)
    rng = np.random.default_rng(4)
    x, x_ref = rng.uniform(-0.5, 0.5, (2, 32, 32, 3)), rng.uniform(-0.5, 0.5, (2, 32, 32, 3))
    got = dl.deeplift(model, x, [5, 9], baseline=x_ref, maxpool="cross_max")
    error, _ = dl.summation_to_delta(model, x, got, [5, 9], baseline=x_ref)
    scale = magnitudes(model, x, x_ref, [5, 9]).reshape(2, -1).sum(axis=1)
    assert np.all(error <= rounding_tolerance(scale, [43, 64, 128, 256, 1152, 512, 128, 27, 3072], np.float64))


def test_the_gradient_rule_misses_the_change_where_the_reference_varies_within_a_window():
    """Its winner's a' is not o' then: what Captum returns on a ReLU -> MaxPool net, and why it differs."""
    model = with_random_biases(seed_net(seed=2).astype(np.float64), seed=3)
    rng = np.random.default_rng(4)
    x, x_ref = rng.uniform(-0.5, 0.5, (2, 32, 32, 3)), rng.uniform(-0.5, 0.5, (2, 32, 32, 3))
    got = dl.deeplift(model, x, [5, 9], baseline=x_ref)
    error, _ = dl.summation_to_delta(model, x, got, [5, 9], baseline=x_ref)
    scale = magnitudes(model, x, x_ref, [5, 9]).reshape(2, -1).sum(axis=1)
    assert np.all(error > rounding_tolerance(scale, [43, 64, 128, 256, 1152, 512, 128, 27, 3072], np.float64))


# -- against Captum, on the PyTorch twin ------------------------------------------------------------------
def captum_deeplift(model, x, classes, baseline=0.0):
    torch = pytest.importorskip("torch", reason="the relevance extra: pip install -e '.[relevance]'")
    captum_attr = pytest.importorskip("captum.attr", reason="the relevance extra: pip install -e '.[relevance]'")
    from npnet.bench.torch_twin import from_npnet
    twin = from_npnet(model).eval()
    if model.layers[0].dtype == np.float64:
        twin = twin.double()
    return captum_attr.DeepLift(twin).attribute(torch.from_numpy(x), target=torch.from_numpy(np.asarray(classes)),
                                                baselines=baseline).detach().numpy()


@pytest.mark.filterwarnings("ignore:Setting forward, backward hooks")
@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_deeplift_equals_captum_on_the_seed_nets_twin():
    model = with_random_biases(seed_net(seed=6), seed=7)
    x = (np.random.default_rng(8).integers(0, 256, (4, 32, 32, 3)) / 255 - 0.5).astype(np.float32)
    classes = model.forward(x).argmax(axis=1)
    theirs = captum_deeplift(model, x, classes)
    ours = attribution(model, x, "deeplift", classes)
    # float32 on both sides, the same sums in other orders through every layer (the largest entry of
    # each image bounds its terms' scale, as for the other references)
    scale = np.abs(theirs).max(axis=(1, 2, 3), keepdims=True)
    assert_same_sums(ours, theirs, scale, [43, 64, 128, 256, 1152, 512, 128, 27])


@pytest.mark.filterwarnings("ignore:Setting forward, backward hooks")
@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_the_cross_max_rule_equals_captum_where_no_relu_sits_under_the_pool():
    """A pool reading a convolution without a ReLU: Captum's handler then sets the multiplier."""
    layers = [Conv2D(4, 3), MaxPool2D(2), Conv2D(4, 2, activation="relu"), Flatten(), Dense(3)]
    # float32 weights held in float64: the twin (float32 modules made float64) holds the same numbers
    model = with_random_biases(Sequential(layers, input_shape=(8, 8, 2), seed=1), seed=2).astype(np.float64)
    rng = np.random.default_rng(3)
    x, x_ref = rng.normal(0, 1, (3, 8, 8, 2)), rng.normal(0, 1, (1, 8, 8, 2))
    classes = np.array([0, 1, 2])
    import torch
    theirs = captum_deeplift(model, x, classes, baseline=torch.from_numpy(x_ref))
    ours = dl.deeplift(model, x, classes, baseline=x_ref, maxpool="cross_max")
    assert_same_sums(ours, theirs, magnitudes(model, x, np.broadcast_to(x_ref, x.shape), classes), [3, 8, 16, 18])


# -- every call: batches, classes, contrast, dtypes, the dispatch -------------------------------------------
@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(4).uniform(-1, 1, (3, 5, 5, 2))


@pytest.mark.parametrize("maxpool", RULES)
def test_batched_equals_one_image_at_a_time(maxpool, x):
    model, classes = small_net(), np.array([1, 0, 2])
    batched = dl.deeplift(model, x, classes, maxpool=maxpool)
    single = np.concatenate([dl.deeplift(model, x[n:n + 1], c, maxpool=maxpool) for n, c in enumerate(classes)])
    assert_same_sums(batched, single, magnitudes(model, x, np.zeros_like(x), classes), SMALL_TERMS)


def test_no_classes_means_each_images_predicted_class(x):
    model = small_net()
    np.testing.assert_array_equal(dl.deeplift(model, x), dl.deeplift(model, x, model.forward(x).argmax(axis=1)))


@pytest.mark.parametrize("maxpool", RULES)
def test_a_contrast_gives_the_difference_of_the_two_classes_maps(maxpool, x):
    """The multipliers are linear in dT/dlogits = e_c - e_b."""
    model, a, b = small_net(), np.array([0, 1, 2]), np.array([2, 2, 0])
    both = dl.deeplift(model, x, a, contrast=b, maxpool=maxpool)
    difference = dl.deeplift(model, x, a, maxpool=maxpool) - dl.deeplift(model, x, b, maxpool=maxpool)
    assert_same_sums(both, difference, magnitudes(model, x, np.zeros_like(x), a, contrast=b), SMALL_TERMS + [2])
    assert np.abs(both).max() > 0


def test_float32_model_works_in_float32_and_float64_in_float64(x):
    a32 = dl.deeplift(small_net(np.float32), x.astype(np.float32), 1)
    a64 = dl.deeplift(small_net(np.float64), x, 1)
    assert a32.dtype == np.float32 and a64.dtype == np.float64
    np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-4 * np.abs(a64).max())


def test_attribution_dispatch_returns_float32_of_the_input_shape(x):
    got = attribution(small_net(np.float32), x.astype(np.float32), "deeplift", baseline=0.25)
    assert got.dtype == np.float32 and got.shape == x.shape and np.isfinite(got).all()


@pytest.mark.parametrize("options, message", [
    ({"maxpool": "average"}, "option maxpool must be one of gradient, cross_max"),
    ({"baseline": "black"}, "baseline must be a number"),
    ({"baseline": np.zeros((4, 4, 2))}, "broadcastable"),
])
def test_bad_options_are_npnet_errors(options, message, x):
    with pytest.raises(NpnetError, match=message):
        attribution(small_net(), x, "deeplift", **options)
