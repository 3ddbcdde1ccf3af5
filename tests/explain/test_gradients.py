"""Input attributions against their definitions, computed a second way in float64."""
import numpy as np
import pytest

from npnet.errors import NpnetError
from npnet.explain.gradcam import grad_cam
from npnet.explain.gradients import integrated_gradients_completeness
from npnet.explain.methods import attribution
from npnet.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.model import Sequential


def small_net(dtype=np.float64):
    layers = [Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(6, activation="relu"), Dense(3)]
    return Sequential(layers, input_shape=(6, 6, 2), seed=3).astype(dtype)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(4).normal(0, 1, (2, 6, 6, 2))


def logit(model, x, c):
    return model.forward(x, training=False)[:, c]


def test_saliency_is_the_finite_difference_gradient_of_the_logit(x):
    model, eps = small_net(), 1e-6
    sal = attribution(model, x, "saliency", classes=1).astype(np.float64)
    expected = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        expected[index] = (logit(model, up, 1)[index[0]] - logit(model, down, 1)[index[0]]) / (2 * eps)
    np.testing.assert_allclose(sal, expected, rtol=1e-4, atol=1e-7)


def test_input_x_gradient_is_input_times_saliency(x):
    model = small_net()
    np.testing.assert_allclose(attribution(model, x, "input_x_gradient"),
                               (x * attribution(model, x, "saliency")).astype(np.float32), rtol=1e-6)


def test_guided_gradcam_is_guided_backprop_times_the_upsampled_gradcam(x):
    model = small_net()
    expected = attribution(model, x, "guided_backprop", classes=2) * grad_cam(model, x, 2)[..., None]
    np.testing.assert_allclose(attribution(model, x, "guided_gradcam", classes=2), expected, rtol=1e-6)


def test_integrated_gradients_equals_a_loop_over_gauss_legendre_points(x):
    model = small_net()
    nodes, weights = np.polynomial.legendre.leggauss(7)
    expected = np.zeros_like(x)
    for t, w in zip(nodes, weights):
        expected += w / 2 * attribution(model, 0.5 + (t + 1) / 2 * (x - 0.5), "saliency", classes=[0, 2])
    expected *= x - 0.5
    got = attribution(model, x, "integrated_gradients", classes=[0, 2], steps=7, baseline=0.5, batch_size=3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


def test_integrated_gradients_completeness_error_shrinks_with_steps(x):
    model = small_net()
    errors = [integrated_gradients_completeness(model, x, attribution(model, x, "integrated_gradients", steps=s),
                                                None).max() for s in (1, 256)]
    assert errors[1] <= errors[0] + 1e-12 and errors[1] < 0.02 * np.abs(logit(model, x, 0)).max() + 1e-6


def test_smoothgrad_is_the_mean_saliency_over_seeded_noisy_copies(x):
    model = small_net()
    spread = 0.2 * (x.reshape(2, -1).max(1) - x.reshape(2, -1).min(1))
    noise = np.random.default_rng(9).standard_normal((5,) + x.shape) * spread[None, :, None, None, None]
    classes = model.forward(x).argmax(1)
    saliencies = np.stack([attribution(model, x + e, "saliency", classes=classes) for e in noise])
    kwargs = dict(samples=5, noise=0.2, seed=9)
    np.testing.assert_allclose(attribution(model, x, "smoothgrad", **kwargs), saliencies.mean(0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(attribution(model, x, "smoothgrad_squared", **kwargs), (saliencies ** 2).mean(0),
                               rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("method", ["saliency", "guided_backprop", "deconvnet", "integrated_gradients"])
def test_batched_equals_one_image_at_a_time(method, x):
    model = small_net()
    batched = attribution(model, x, method, classes=[1, 0])
    single = np.concatenate([attribution(model, x[n:n + 1], method, classes=c) for n, c in enumerate([1, 0])])
    np.testing.assert_allclose(batched, single, rtol=1e-6, atol=1e-9)


def test_float32_model_gives_float32_close_to_float64(x):
    a32 = attribution(small_net(np.float32), x.astype(np.float32), "saliency", classes=0)
    a64 = attribution(small_net(), x, "saliency", classes=0)
    assert a32.dtype == np.float32
    np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-5 * np.abs(a64).max())


@pytest.mark.parametrize("options", [{"steps": 0}, {"steps": 2.5}, {"baseline": np.inf}])
def test_bad_integrated_gradients_options_are_npnet_errors(options, x):
    with pytest.raises(NpnetError):
        attribution(small_net(), x, "integrated_gradients", **options)


def test_unknown_option_lists_the_methods_options(x):
    with pytest.raises(NpnetError, match="samples, noise, seed"):
        attribution(small_net(), x, "smoothgrad", steps=3)
