"""The gradient family of input attributions, each against its definition computed a second way."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain import gradients
from npnet.explain.gradcam import grad_cam
from npnet.explain.gradients import integrated_gradients_completeness
from npnet.explain.methods import attribution
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net

METHODS = ["saliency", "input_x_gradient", "guided_backprop", "deconvnet", "guided_gradcam",
           "integrated_gradients", "smoothgrad", "smoothgrad_squared"]


def with_random_biases(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.normal(0, 0.1, layer.params["bias"].shape).astype(layer.dtype)
    return model


def small_net(dtype=np.float64):
    """conv 3x3x4 relu -> maxpool 2 -> dense 6 relu -> dense 3, on 6x6x2 inputs."""
    layers = [Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(6, activation="relu"), Dense(3)]
    return with_random_biases(Sequential(layers, input_shape=(6, 6, 2), seed=3).astype(dtype))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(4).normal(0, 1, (3, 6, 6, 2))


def logit(model, x, c):
    return model.forward(x, training=False)[np.arange(len(x)), c]


def central_difference(model, x, classes, indices, eps=1e-6):
    """d y^c / d x at each (n, i, j, k) in ``indices``, from (y(x + eps e) - y(x - eps e)) / 2 eps,
    every shifted copy in one forward."""
    images = np.array([index[0] for index in indices])
    shifted = np.repeat(x[images], 2, axis=0)
    for m, index in enumerate(indices):
        shifted[(2 * m,) + tuple(index[1:])] += eps
        shifted[(2 * m + 1,) + tuple(index[1:])] -= eps
    y = logit(model, shifted, np.repeat(np.asarray(classes)[images], 2))
    return (y[0::2] - y[1::2]) / (2 * eps)


# -- saliency, input x gradient -------------------------------------------------------------------
def test_saliency_is_the_central_difference_of_the_logit(x):
    model, classes = small_net(), np.array([1, 0, 2])
    indices = list(np.ndindex(x.shape))
    got = gradients.saliency(model, x, classes)
    np.testing.assert_allclose(got[tuple(np.array(indices).T)], central_difference(model, x, classes, indices),
                               rtol=1e-5, atol=1e-8)


def test_saliency_of_the_seed_net_is_the_central_difference_of_the_logit():
    model = with_random_biases(seed_net(seed=1).astype(np.float64))
    images = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 32, 32, 3))
    classes = np.array([4, 30])
    rng = np.random.default_rng(3)
    indices = [(n, *rng.integers(0, 32, 2), rng.integers(0, 3)) for n in (0, 1) for _ in range(30)]
    got = gradients.saliency(model, images, classes)
    np.testing.assert_allclose(got[tuple(np.array(indices).T)], central_difference(model, images, classes, indices),
                               rtol=1e-5, atol=1e-9)


def test_input_x_gradient_is_input_times_saliency(x):
    model = small_net()
    np.testing.assert_array_equal(gradients.input_x_gradient(model, x, 1), x * gradients.saliency(model, x, 1))


# -- guided backprop, deconvnet -------------------------------------------------------------------
def two_layer_net():
    """x (1, 1, 2) -> flatten -> z = x W1 (3 units) relu -> y = h W2 (2 logits), no biases."""
    model = Sequential([Flatten(), Dense(3, activation="relu"), Dense(2)], input_shape=(1, 1, 2)).astype(np.float64)
    W1 = np.array([[1.0, -1.0, 2.0], [1.0, 1.0, -2.0]])
    W2 = np.array([[1.0, -1.0], [-2.0, 3.0], [4.0, 1.0]])
    model.layers[1].params.update(kernel=W1, bias=np.zeros(3))
    model.layers[2].params.update(kernel=W2, bias=np.zeros(2))
    return model, W1, W2


def test_guided_backprop_and_deconvnet_on_a_hand_worked_two_layer_net():
    model, W1, W2 = two_layer_net()
    x = np.array([1.0, 2.0])                 # z = x W1 = [3, 1, -2]: units 0 and 1 on, unit 2 off
    on = (x @ W1 > 0).astype(float)
    images = x.reshape(1, 1, 1, 2)
    for c in (0, 1):
        dout = W2[:, c]                      # dy^c/dh
        expected = {"saliency": W1 @ (dout * on),
                    "guided_backprop": W1 @ (np.maximum(dout, 0) * on),
                    "deconvnet": W1 @ np.maximum(dout, 0)}
        for method, value in expected.items():
            np.testing.assert_allclose(getattr(gradients, method)(model, images, c).ravel(), value, atol=1e-12)
    # the same by hand: class 0, dy/dh = [1, -2, 4]; class 1, dy/dh = [-1, 3, 1]
    np.testing.assert_allclose(gradients.saliency(model, images, 0).ravel(), [3, -1])
    np.testing.assert_allclose(gradients.guided_backprop(model, images, 0).ravel(), [1, 1])
    np.testing.assert_allclose(gradients.deconvnet(model, images, 0).ravel(), [9, -7])
    np.testing.assert_allclose(gradients.guided_backprop(model, images, 1).ravel(), [-3, 3])
    np.testing.assert_allclose(gradients.deconvnet(model, images, 1).ravel(), [-1, 1])


def conv_dense_net():
    """conv 2x2x3 relu (fused) -> flatten -> dense 4 relu (fused) -> dense 2, on 3x3x2 inputs."""
    layers = [Conv2D(3, 2, activation="relu"), Flatten(), Dense(4, activation="relu"), Dense(2)]
    return with_random_biases(Sequential(layers, input_shape=(3, 3, 2), seed=5).astype(np.float64), seed=6)


def rule_by_hand(model, x, c, rule):
    """The backward of conv_dense_net written out with loops, ReLUs following ``rule``."""
    K, bk = model.layers[0].params["kernel"], model.layers[0].params["bias"]
    W1, b1 = model.layers[2].params["kernel"], model.layers[2].params["bias"]
    W2 = model.layers[3].params["kernel"]
    z1 = np.zeros((2, 2, 3))
    for i, j in np.ndindex(2, 2):
        z1[i, j] = np.einsum("abc,abcf->f", x[i:i + 2, j:j + 2], K) + bk
    h1 = np.maximum(z1, 0).ravel()
    z2 = h1 @ W1 + b1

    def relu_back(dout, z):
        if rule == "gradient":
            return dout * (z > 0)
        if rule == "guided":
            return np.maximum(dout, 0) * (z > 0)
        return np.maximum(dout, 0)

    dz1 = relu_back(W1 @ relu_back(W2[:, c], z2), z1.ravel()).reshape(2, 2, 3)
    dx = np.zeros_like(x)
    for i, j in np.ndindex(2, 2):
        dx[i:i + 2, j:j + 2] += np.einsum("abcf,f->abc", K, dz1[i, j])
    return dx


@pytest.mark.parametrize("method, rule", [("saliency", "gradient"), ("guided_backprop", "guided"),
                                          ("deconvnet", "deconvnet")])
def test_fused_relus_in_conv_and_dense_follow_the_rule(method, rule):
    model = conv_dense_net()
    images = np.random.default_rng(8).normal(0, 1, (4, 3, 3, 2))
    got = getattr(gradients, method)(model, images, [0, 1, 0, 1])
    expected = np.stack([rule_by_hand(model, images[n], c, rule) for n, c in enumerate([0, 1, 0, 1])])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_the_rules_change_the_conv_nets_attribution():
    model = conv_dense_net()
    images = np.random.default_rng(8).normal(0, 1, (4, 3, 3, 2))
    saliency, guided, deconv = (getattr(gradients, m)(model, images, 0)
                                for m in ("saliency", "guided_backprop", "deconvnet"))
    assert not np.allclose(saliency, guided) and not np.allclose(guided, deconv)


# -- guided Grad-CAM ------------------------------------------------------------------------------
def test_guided_gradcam_is_guided_backprop_times_the_upsampled_gradcam(x):
    model = small_net()
    expected = gradients.guided_backprop(model, x, [2, 0, 1]) * grad_cam(model, x, [2, 0, 1])[..., None]
    np.testing.assert_allclose(gradients.guided_gradcam(model, x, [2, 0, 1]), expected, rtol=1e-6, atol=1e-12)


def test_guided_gradcam_explains_the_predicted_class_in_both_factors(x):
    model = small_net()
    predicted = model.forward(x).argmax(axis=1)
    np.testing.assert_array_equal(gradients.guided_gradcam(model, x), gradients.guided_gradcam(model, x, predicted))


def test_guided_gradcam_takes_a_layer_and_refuses_an_unknown_one(x):
    model = small_net()
    assert gradients.guided_gradcam(model, x, layer="max_pooling2d_1").shape == x.shape
    with pytest.raises(NpnetError, match="conv2d_1"):
        gradients.guided_gradcam(model, x, layer="nope")


# -- integrated gradients -------------------------------------------------------------------------
def test_integrated_gradients_equals_a_loop_over_gauss_legendre_points(x):
    model, classes, steps = small_net(), np.array([0, 2, 1]), 7
    baseline = np.random.default_rng(1).normal(0, 0.3, x.shape[1:])        # one (H, W, C) for all images
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    expected = np.zeros_like(x)
    for t, w in zip(nodes, weights):
        expected += w / 2 * gradients.saliency(model, baseline + (t + 1) / 2 * (x - baseline), classes)
    expected *= x - baseline
    got = gradients.integrated_gradients(model, x, classes, baseline=baseline, steps=steps, batch_size=5)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def test_integrated_gradients_does_not_depend_on_batch_size(x):
    model = small_net()
    one = gradients.integrated_gradients(model, x, steps=9, batch_size=1)
    np.testing.assert_allclose(gradients.integrated_gradients(model, x, steps=9, batch_size=4), one, rtol=1e-12)
    np.testing.assert_allclose(gradients.integrated_gradients(model, x, steps=9), one, rtol=1e-12)


def test_integrated_gradients_completeness_error_shrinks_as_steps_grow():
    model = with_random_biases(seed_net(seed=2).astype(np.float64), seed=2)
    images = np.random.default_rng(5).uniform(-1, 1, (2, 32, 32, 3))
    relative = [integrated_gradients_completeness(
        model, images, gradients.integrated_gradients(model, images, steps=s))[1].max() for s in (8, 32, 128, 256)]
    assert relative[0] > relative[2] > relative[3] and relative[1] > relative[3]
    assert relative[3] < 0.02


def test_integrated_gradients_is_complete_for_a_linear_model(x):
    model = Sequential([Flatten(), Dense(3)], input_shape=(6, 6, 2)).astype(np.float64)
    attributions = gradients.integrated_gradients(model, x, 2, baseline=0.3, steps=1)
    error, relative = integrated_gradients_completeness(model, x, attributions, 2, baseline=0.3)
    assert error.max() < 1e-12 and relative.max() < 1e-10


def test_integrated_gradients_from_the_image_itself_is_zero(x):
    assert not gradients.integrated_gradients(small_net(), x, baseline=x, steps=4).any()


def test_integrated_gradients_scalar_baseline_equals_its_array(x):
    model = small_net()
    np.testing.assert_array_equal(gradients.integrated_gradients(model, x, baseline=0.5, steps=5),
                                  gradients.integrated_gradients(model, x, baseline=np.full(x.shape, 0.5), steps=5))


def test_integrated_gradients_explains_the_class_predicted_at_x_on_the_whole_path(x):
    model = small_net()
    predicted = model.forward(x).argmax(axis=1)
    np.testing.assert_array_equal(gradients.integrated_gradients(model, x, baseline=2.0, steps=6),
                                  gradients.integrated_gradients(model, x, predicted, baseline=2.0, steps=6))


# -- SmoothGrad -----------------------------------------------------------------------------------
def loop_over_noisy_copies(model, x, samples, noise, seed, square=False):
    """1/S sum_s saliency(x + e_s); e for image n, sample s is row n * S + s of one draw."""
    predicted = model.forward(x).argmax(axis=1)
    sigma = noise * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))
    e = np.random.default_rng(seed).standard_normal((len(x), samples) + x.shape[1:]) * sigma[:, None, None, None, None]
    maps = [gradients.saliency(model, x + e[:, s], predicted) for s in range(samples)]
    return np.mean([m ** 2 if square else m for m in maps], axis=0)


def test_smoothgrad_equals_a_loop_over_seeded_noisy_copies(x):
    model = small_net()
    np.testing.assert_allclose(gradients.smoothgrad(model, x, samples=6, noise=0.2, seed=9, batch_size=4),
                               loop_over_noisy_copies(model, x, 6, 0.2, 9), rtol=1e-10, atol=1e-14)


def test_smoothgrad_squared_is_the_mean_squared_saliency_of_the_same_copies(x):
    model = small_net()
    np.testing.assert_allclose(gradients.smoothgrad_squared(model, x, samples=6, noise=0.2, seed=9),
                               loop_over_noisy_copies(model, x, 6, 0.2, 9, square=True), rtol=1e-10, atol=1e-16)


def test_smoothgrad_is_reproducible_from_its_seed(x):
    model = small_net()
    first = gradients.smoothgrad(model, x, samples=4, seed=3)
    np.testing.assert_array_equal(gradients.smoothgrad(model, x, samples=4, seed=3), first)
    assert not np.allclose(gradients.smoothgrad(model, x, samples=4, seed=4), first)


def test_smoothgrad_does_not_depend_on_batch_size(x):
    model = small_net()
    np.testing.assert_allclose(gradients.smoothgrad(model, x, samples=5, batch_size=2),
                               gradients.smoothgrad(model, x, samples=5, batch_size=1000), rtol=1e-12)


def test_smoothgrad_without_noise_is_saliency(x):
    model = small_net()
    np.testing.assert_allclose(gradients.smoothgrad(model, x, samples=3, noise=0.0),
                               gradients.saliency(model, x), rtol=1e-12)


# -- every method: batches, classes, dtypes, the dispatch ------------------------------------------
FAST = {"integrated_gradients": {"steps": 5}, "smoothgrad": {"samples": 3, "noise": 0.0},
        "smoothgrad_squared": {"samples": 3, "noise": 0.0}}   # noise 0: the noise stream depends on N


@pytest.mark.parametrize("method", METHODS)
def test_batched_equals_one_image_at_a_time(method, x):
    model, classes = small_net(), [1, 0, 2]
    function, options = getattr(gradients, method), FAST.get(method, {})
    batched = function(model, x, classes, **options)
    single = np.concatenate([function(model, x[n:n + 1], c, **options) for n, c in enumerate(classes)])
    np.testing.assert_allclose(batched, single, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_no_classes_means_each_images_predicted_class(method, x):
    model = small_net()
    function, options = getattr(gradients, method), FAST.get(method, {})
    predicted = model.forward(x).argmax(axis=1)
    np.testing.assert_array_equal(function(model, x, **options), function(model, x, predicted, **options))


@pytest.mark.parametrize("method", METHODS)
def test_an_int_class_is_used_for_every_image(method, x):
    model = small_net()
    function, options = getattr(gradients, method), FAST.get(method, {})
    np.testing.assert_array_equal(function(model, x, 2, **options), function(model, x, [2, 2, 2], **options))


def test_a_class_out_of_range_is_refused(x):
    with pytest.raises(NpnetError, match="out of range"):
        gradients.saliency(small_net(), x, 3)


@pytest.mark.parametrize("method", METHODS)
def test_float32_model_works_in_float32_and_float64_in_float64(method, x):
    function, options = getattr(gradients, method), FAST.get(method, {})
    a32 = function(small_net(np.float32), x.astype(np.float32), 1, **options)
    a64 = function(small_net(np.float64), x, 1, **options)
    assert a32.dtype == np.float32 and a64.dtype == np.float64
    np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-4 * np.abs(a64).max())


@pytest.mark.parametrize("method", METHODS)
def test_attribution_dispatch_returns_float32_of_the_input_shape(method, x):
    got = attribution(small_net(np.float32), x.astype(np.float32), method, **FAST.get(method, {}))
    assert got.dtype == np.float32 and got.shape == x.shape


def test_unknown_option_raises_listing_the_methods_options(x):
    with pytest.raises(NpnetError, match="baseline, steps, batch_size"):
        attribution(small_net(), x, "integrated_gradients", samples=3)


@pytest.mark.parametrize("method, options, message", [
    ("integrated_gradients", {"steps": 0}, "option steps must be a whole number from 1 to 1,000"),
    ("integrated_gradients", {"steps": 2.5}, "option steps must be a whole number from 1 to 1,000"),
    ("integrated_gradients", {"steps": True}, "option steps must be a whole number from 1 to 1,000"),
    ("integrated_gradients", {"batch_size": 0}, "option batch_size must be a whole number from 1 to 4,096"),
    ("integrated_gradients", {"baseline": np.inf}, "baseline must be finite"),
    ("integrated_gradients", {"baseline": np.zeros((5, 5, 2))}, "broadcastable"),
    ("integrated_gradients", {"baseline": "black"}, "baseline must be a number"),
    ("smoothgrad", {"samples": 0}, "option samples must be a whole number from 1 to 1,000"),
    ("integrated_gradients", {"steps": 20000}, "option steps must be a whole number from 1 to 1,000"),
    ("smoothgrad_squared", {"samples": 1_000_000}, "option samples must be a whole number from 1 to 1,000"),
    ("smoothgrad", {"noise": -0.1}, "noise must be a finite number >= 0"),
    ("smoothgrad_squared", {"noise": np.nan}, "noise must be a finite number >= 0"),
    ("smoothgrad", {"seed": "abc"}, "seed must be an integer or None"),
])
def test_bad_options_are_npnet_errors(method, options, message, x):
    with pytest.raises(NpnetError, match=message):
        attribution(small_net(), x, method, **options)
