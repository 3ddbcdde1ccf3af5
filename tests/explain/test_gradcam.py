"""Grad-CAM: alpha_k = mean_ij dy^c/dA^k_ij, map = ReLU(sum_k alpha_k A^k), from one backward pass."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain import grad_cam, grad_cam_weights, last_conv_layer
from npnet.explain.gradcam import bilinear_upsample
from npnet.engine.seed_net import seed_net
from tolerances import assert_same_sums


@pytest.fixture(scope="module")
def net():
    return seed_net(seed=3)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(7).uniform(-0.5, 0.5, (5, 32, 32, 3)).astype(np.float32)


def logits_above(model, layer_name, A):
    """Feed activations A of ``layer_name`` through the layers after it: the class scores y(A)."""
    index = [layer.name for layer in model.layers].index(layer_name)
    for layer in model.layers[index + 1:]:
        A = layer.forward(A, training=False)
    return A


def finite_difference_alpha(model, layer_name, A, c, eps=1e-6):
    """alpha_k = 1/(h w) sum_ij dy^c/dA^k_ij, as the central difference of y^c along the direction
    that raises every entry of channel k by the same amount: (y(A + eps 1_k) - y(A - eps 1_k)) / 2 eps.
    A: (h, w, K) for one image -> (K,)."""
    h, w, K = A.shape
    shifts = np.zeros((2 * K, h, w, K))
    for k in range(K):
        shifts[2 * k, :, :, k], shifts[2 * k + 1, :, :, k] = eps, -eps
    y = logits_above(model, layer_name, A[None] + shifts)[:, c]
    return (y[0::2] - y[1::2]) / (2 * eps) / (h * w)


@pytest.mark.parametrize("layer", ["conv2d_2", "conv2d_3"])
def test_alpha_equals_finite_difference_of_the_class_score(layer):
    model = seed_net(seed=3).astype(np.float64)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 32, 32, 3))
    classes = np.array([5, 17])
    alpha, A, _, _ = grad_cam_weights(model, x, classes, layer=layer)
    A = A.copy()
    for n in range(2):
        expected = finite_difference_alpha(model, layer, A[n], classes[n])
        np.testing.assert_allclose(alpha[n], expected, rtol=1e-5, atol=1e-9)


def test_map_is_relu_of_alpha_weighted_activations(net, images):
    alpha, A, _, _ = grad_cam_weights(net, images, layer="conv2d_3")
    expected = np.maximum((A * alpha[:, None, None, :]).sum(axis=-1), 0)
    # the same 128 products (A >= 0), added in another order; the ReLU only narrows the gap
    assert_same_sums(grad_cam(net, images, upsample=False), expected, (A * np.abs(alpha)[:, None, None, :]).sum(-1),
                     128)


def cam_magnitudes(model, images, classes, layer="conv2d_3"):
    """The scale of the raw Grad-CAM maps, for ``assert_same_sums``: sum_k alpha~_k A~^k, with A~ the
    forward on |weights| and |images| (every ReLU then passes all, each pool keeps its window's
    largest) and alpha~ the backward on |weights| through the ReLU masks and pool winners of the
    real forward. Errors in A and alpha stay within their rounding times these, so the map's do too."""
    weights = {key: value.copy() for key, value in model.params().items()}
    try:
        model.forward(images)
        for value in model.params().values():
            np.abs(value, out=value)
        onehot = np.zeros((len(images), model.output_shape[-1]), images.dtype)
        onehot[np.arange(len(images)), classes] = 1
        alpha = model.backward(onehot, stop_at=layer, param_grads=False).mean(axis=(1, 2))
        A = np.abs(images)
        for each in model.layers[:[l.name for l in model.layers].index(layer) + 1]:
            A = each.forward(A)
    finally:
        for key, value in model.params().items():
            value[...] = weights[key]
    return np.einsum("nhwk,nk->nhw", A, alpha)


#: the sums from the image to the map: conv2d_1..3's patches, dense_4..1 and the flatten's
#: 1152 inputs back to the pool's, and the map's 128 channels (then 2 x 2 for the upsampling)
CAM_TERMS = [27, 128, 512, 43, 64, 128, 256, 1152, 128, 2, 2]


def test_batch_gives_the_same_maps_as_one_image_at_a_time(images):
    # float64: the test is about images not mixing in a batch. Products of other shapes add in
    # other orders, through 11 layers; in float32 that rounding (bounded as in tests/tolerances.py)
    # would be larger than the maps themselves, which cancel a lot.
    net, images = seed_net(seed=3).astype(np.float64), images.astype(np.float64)
    classes = np.array([0, 3, 14, 42, 7])
    batched = grad_cam(net, images, classes=classes)
    single = np.concatenate([grad_cam(net, images[n:n + 1], classes=int(classes[n])) for n in range(5)])
    scale = bilinear_upsample(cam_magnitudes(net, images, classes), (32, 32))
    assert batched.max() > 0
    assert_same_sums(batched, single, scale, CAM_TERMS, computed_in=np.float64)


def test_no_classes_means_each_images_predicted_class(net, images):
    predicted = net.forward(images).argmax(axis=1)
    np.testing.assert_array_equal(grad_cam(net, images), grad_cam(net, images, classes=predicted))


def test_an_int_class_is_used_for_every_image(net, images):
    np.testing.assert_array_equal(grad_cam(net, images, classes=9), grad_cam(net, images, classes=[9] * 5))


def test_maps_differ_between_classes(net, images):
    assert not np.allclose(grad_cam(net, images, classes=0), grad_cam(net, images, classes=1))


def test_class_ids_come_back_with_the_weights(net, images):
    _, _, classes, logits = grad_cam_weights(net, images)
    np.testing.assert_array_equal(classes, logits.argmax(axis=1))


@pytest.mark.parametrize("layer, size", [("conv2d_1", 30), ("conv2d_2", 14), ("conv2d_3", 6)])
def test_without_upsampling_the_map_has_the_layers_resolution(net, images, layer, size):
    assert grad_cam(net, images, layer=layer, upsample=False).shape == (5, size, size)


@pytest.mark.parametrize("layer", ["conv2d_1", "conv2d_2", "conv2d_3"])
def test_upsampled_map_has_the_input_size_and_is_float32(net, images, layer):
    cam = grad_cam(net, images, layer=layer)
    assert cam.shape == (5, 32, 32) and cam.dtype == np.float32


def test_upsampled_map_is_the_bilinear_upsampling_of_the_raw_map(net, images):
    raw = grad_cam(net, images, upsample=False)
    np.testing.assert_allclose(grad_cam(net, images), bilinear_upsample(raw, (32, 32)), rtol=1e-6)


def test_maps_are_non_negative_and_not_normalized(net, images):
    cam = grad_cam(net, images)
    assert cam.min() >= 0
    assert not np.allclose(cam.max(axis=(1, 2)), 1.0)


def test_default_layer_is_the_last_conv(net, images):
    assert last_conv_layer(net) == "conv2d_3"
    np.testing.assert_array_equal(grad_cam(net, images), grad_cam(net, images, layer="conv2d_3"))


def test_backward_stops_at_the_layer(images):
    model = seed_net()
    grad_cam(model, images, layer="conv2d_2")
    assert model.layer("conv2d_2").doutput is not None
    assert model.layer("conv2d_1").doutput is None      # nothing below the layer was computed
    assert "kernel" not in model.layer("conv2d_2").grads


def test_uint8_images_are_preprocessed_with_the_spec(net):
    raw = np.random.default_rng(2).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    x = raw.astype(np.float32) / 255 - 0.5
    np.testing.assert_allclose(grad_cam(net, raw, preprocessing={"name": "seed"}), grad_cam(net, x), rtol=1e-6)


def test_unknown_layer_is_an_error_listing_the_valid_ones(net, images):
    with pytest.raises(NpnetError, match="conv2d_3"):
        grad_cam(net, images, layer="dense_9")


def test_class_out_of_range_is_an_error(net, images):
    with pytest.raises(NpnetError, match="0..42"):
        grad_cam(net, images, classes=43)
