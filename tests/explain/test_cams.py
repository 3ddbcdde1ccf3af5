"""The gradient CAMs and Eigen-CAM, each against its definition computed a second way in float64:
dy^c/dA by central differences, then the weights with plain loops over channels and positions."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain.methods import CAM_METHODS, METHODS, cam
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain.passes import forward_from

GRADIENT_CAMS = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam"]


def small_net(dtype=np.float64, seed=0):
    layers = [Conv2D(4, 3, activation="relu"), MaxPool2D(2), Conv2D(5, 2, activation="relu"),
              Flatten(), Dense(3)]
    return Sequential(layers, input_shape=(8, 8, 3), seed=seed).astype(dtype)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).normal(0, 1, (3, 8, 8, 3))


def finite_difference_gradient(model, layer, A, c, eps=1e-6):
    """dy^c/dA for one image's A (h, w, K), one entry at a time."""
    g = np.zeros_like(A)
    for index in np.ndindex(A.shape):
        up, down = A.copy(), A.copy()
        up[index] += eps
        down[index] -= eps
        y = forward_from(model, layer, np.stack([up, down]))[:, c]
        g[index] = (y[0] - y[1]) / (2 * eps)
    return g


def definition(method, A, g):
    """The map of ``method`` from A and g (h, w, K), written with loops over channels as in the papers."""
    h, w, K = A.shape
    weights = np.zeros(K)
    for k in range(K):
        Ak, gk = A[:, :, k], g[:, :, k]
        if method == "gradcam":
            weights[k] = gk.mean()
        elif method == "gradcam++":
            for i, j in np.ndindex(h, w):
                if gk[i, j] != 0:
                    a = gk[i, j] ** 2 / (2 * gk[i, j] ** 2 + Ak.sum() * gk[i, j] ** 3 + 1e-6)
                    weights[k] += a * max(gk[i, j], 0)
        elif method == "xgradcam":
            weights[k] = (Ak / (Ak.sum() + 1e-7) * gk).sum()
    if method == "hirescam":
        return np.maximum(sum(g[:, :, k] * A[:, :, k] for k in range(K)), 0)
    if method == "layercam":
        return np.maximum(sum(np.maximum(g[:, :, k], 0) * A[:, :, k] for k in range(K)), 0)
    return np.maximum(sum(weights[k] * A[:, :, k] for k in range(K)), 0)


@pytest.mark.parametrize("method", GRADIENT_CAMS)
def test_gradient_cam_equals_its_definition_with_finite_difference_gradients(method, images):
    model = small_net()
    maps = cam(model, images, method, classes=[0, 1, 2], layer="conv2d_2", upsample=False)
    model.forward(images, training=False)
    A_all = model.layer("conv2d_2").output.copy()
    for n, c in enumerate([0, 1, 2]):
        g = finite_difference_gradient(model, "conv2d_2", A_all[n], c)
        np.testing.assert_allclose(maps[n], definition(method, A_all[n], g), rtol=1e-6, atol=1e-9)
    assert maps.max() > 0


def test_layercam_works_on_the_first_conv_layer_at_its_resolution():
    model = seed_net(seed=1)
    x = np.random.default_rng(0).normal(0, 1, (2, 32, 32, 3)).astype(np.float32)
    assert cam(model, x, "layercam", layer="conv2d_1", upsample=False).shape == (2, 30, 30)
    assert cam(model, x, "layercam", layer="conv2d_1").shape == (2, 32, 32)


def eigencam_by_definition(A):
    """First principal component of A as (positions, channels), centred over positions; the sign that
    correlates positively with the channel sum; then ReLU. A (h, w, K) -> (h, w)."""
    h, w, K = A.shape
    X = A.reshape(h * w, K)
    X = X - X.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(X.T @ X)     # the right singular vectors of X
    v1 = eigenvectors[:, np.argmax(eigenvalues)]
    projection = X @ v1
    if np.corrcoef(projection, A.reshape(h * w, K).sum(axis=1))[0, 1] < 0:
        projection = -projection
    return np.maximum(projection, 0).reshape(h, w)


def test_eigencam_is_the_positive_part_of_the_first_principal_component(images):
    model = small_net()
    maps = cam(model, images, "eigencam", layer="conv2d_2", upsample=False)
    for n in range(len(images)):
        np.testing.assert_allclose(maps[n], eigencam_by_definition(model.layer("conv2d_2").output[n]),
                                   rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", GRADIENT_CAMS + ["eigencam"])
def test_batched_equals_one_image_at_a_time(method):
    model = seed_net(seed=2)
    x = np.random.default_rng(1).normal(0, 1, (4, 32, 32, 3)).astype(np.float32)
    batched = cam(model, x, method)
    single = np.concatenate([cam(model, x[n:n + 1], method) for n in range(4)])
    scale = np.abs(single).max()
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5 * scale)


def test_gradcam_through_cam_is_grad_cam():
    from npnet.explain import grad_cam
    model = seed_net(seed=2)
    x = np.random.default_rng(2).normal(0, 1, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(cam(model, x, "gradcam", classes=[1, 2, 3]),
                                  grad_cam(model, x, classes=[1, 2, 3]))


@pytest.mark.parametrize("classes", [None, 2, np.array([0, 1, 2])])
def test_classes_none_int_or_one_per_image(classes, images):
    model = small_net()
    logits = model.forward(images, training=False)
    expected_classes = logits.argmax(1) if classes is None else np.broadcast_to(classes, (3,))
    maps = cam(model, images, "hirescam", classes=classes, upsample=False)
    per_image = [cam(model, images[n:n + 1], "hirescam", classes=int(c), upsample=False)[0]
                 for n, c in enumerate(expected_classes)]
    np.testing.assert_allclose(maps, np.stack(per_image), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maps_are_float32_whatever_the_model_dtype(dtype, images):
    maps = cam(small_net(dtype), images.astype(dtype), "gradcam++")
    assert maps.dtype == np.float32 and maps.shape == (3, 8, 8)
    assert np.all(maps >= 0) and np.all(np.isfinite(maps))


def test_unknown_method_lists_the_valid_ones(images):
    with pytest.raises(NpnetError, match="gradcam, gradcam\\+\\+"):
        cam(small_net(), images, "gradcamm")


def test_an_attribution_method_given_to_cam_says_so(images):
    with pytest.raises(NpnetError, match="is an attribution method"):
        cam(small_net(), images, "saliency")


def test_unknown_option_lists_the_methods_options(images):
    with pytest.raises(NpnetError, match="no option 'steps'"):
        cam(small_net(), images, "gradcam", steps=3)


def test_unknown_layer_lists_the_valid_ones(images):
    with pytest.raises(NpnetError, match="conv2d_1"):
        cam(small_net(), images, "gradcam", layer="dense_9")


def test_every_method_is_listed_with_its_family_and_a_description():
    assert set(CAM_METHODS) <= set(METHODS)
    for name, (family, description) in METHODS.items():
        assert family in ("cam", "gradient", "path", "noise", "perturbation") and len(description) > 10
