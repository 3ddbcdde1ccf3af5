"""Contrastive explanations (``contrast=b``: why c and not b): the difference of the two classes'
maps where a method is linear in its target, its definition with the score y^c - y^b (p^c - p^b for
Score-CAM) elsewhere."""
import numpy as np
import pytest

from npnet.explain import cam, attribution, grad_cam
from npnet.explain.gradcam import activations_and_gradient, bilinear_upsample
from npnet.explain.gradients import integrated_gradients, integrated_gradients_completeness

from .test_perturbation import LAYER, layers_above, some_images, tiny_net

LINEAR_ATTRIBUTIONS = {"saliency": {}, "input_x_gradient": {}, "integrated_gradients": {"steps": 8},
                       "smoothgrad": {"samples": 4}, "occlusion": {"window": 3, "stride": 2}}
A_CLASS, B_CLASS = np.array([0, 1, 2]), np.array([3, 3, 0])
EPS32 = np.finfo(np.float32).eps


def assert_difference(both, a, b):
    """``both`` == a - b, all three computed in float64 and stored as float32 (the methods' output):
    each within half an eps32 of its value, so within eps32 * (|a| + |b| + |both|) of each other."""
    a, b, both = (np.asarray(v, np.float64) for v in (a, b, both))
    tolerance = EPS32 * (np.abs(a) + np.abs(b) + np.abs(both))
    assert np.all(np.abs(both - (a - b)) <= tolerance), np.abs(both - (a - b)).max()


@pytest.mark.parametrize("method", LINEAR_ATTRIBUTIONS)
def test_a_method_linear_in_its_target_gives_the_difference_of_the_two_maps(method):
    model, images = tiny_net(), some_images()
    options = LINEAR_ATTRIBUTIONS[method]
    both = attribution(model, images, method, A_CLASS, contrast=B_CLASS, **options)
    assert_difference(both, attribution(model, images, method, A_CLASS, **options),
                      attribution(model, images, method, B_CLASS, **options))
    assert np.abs(both).max() > 0


def test_signed_grad_cam_of_the_contrast_is_the_difference_of_the_two_signed_maps():
    model, images = tiny_net(), some_images()
    signed = grad_cam(model, images, A_CLASS, layer=LAYER, contrast=B_CLASS, relu=False, upsample=False)
    a = grad_cam(model, images, A_CLASS, layer=LAYER, relu=False, upsample=False)
    b = grad_cam(model, images, B_CLASS, layer=LAYER, relu=False, upsample=False)
    assert_difference(signed, a, b)
    assert (signed < 0).any() and (signed > 0).any()


@pytest.mark.parametrize("method", ["hirescam", "layercam", "xgradcam"])
def test_a_gradient_cam_reads_the_gradient_of_the_logit_difference(method):
    model, images = tiny_net(), some_images()
    target = model.layer(LAYER)
    A, g_a, _, _ = activations_and_gradient(model, images, A_CLASS, target)
    A, g_a = A.copy(), g_a.copy()
    _, g_b, _, _ = activations_and_gradient(model, images, B_CLASS, target)
    g = g_a - g_b
    expected = {"hirescam": lambda: (g * A).sum(axis=3),
                "layercam": lambda: (np.maximum(g, 0) * A).sum(axis=3),
                "xgradcam": lambda: np.einsum("nhwk,nk->nhw", A, (A / (A.sum(axis=(1, 2), keepdims=True) + 1e-7)
                                                                   * g).sum(axis=(1, 2)))}[method]()
    got = cam(model, images, method, A_CLASS, layer=LAYER, upsample=False, contrast=B_CLASS)
    expected = np.maximum(expected, 0)
    assert np.all(np.abs(got - expected) <= EPS32 * np.abs(expected)) and expected.max() > 0


def scorecam_contrast_by_loop(model, image, a, b):
    model.forward(image[None])
    A = model.layer(LAYER).output[0].copy()
    total = np.zeros(A.shape[:2])
    for k in range(A.shape[2]):
        if A[:, :, k].max() == A[:, :, k].min():
            continue
        U = bilinear_upsample(A[None, :, :, k], image.shape[:2])[0]
        z = model.forward((image * ((U - U.min()) / (U.max() - U.min()))[:, :, None])[None])[0]
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        total += (p[a] - p[b]) * A[:, :, k]
    return np.maximum(total, 0)


def ablationcam_contrast_by_loop(model, image, a, b):
    z = model.forward(image[None])[0]
    A = model.layer(LAYER).output[0].copy()
    total = np.zeros(A.shape[:2])
    for k in range(A.shape[2]):
        ablated = A.copy()
        ablated[:, :, k] = 0
        z_k = layers_above(model, ablated[None])[0]
        total += ((z[a] - z[b]) - (z_k[a] - z_k[b])) / (z[a] - z[b]) * A[:, :, k]
    return np.maximum(total, 0)


@pytest.mark.parametrize("method, by_loop", [("scorecam", scorecam_contrast_by_loop),
                                             ("ablationcam", ablationcam_contrast_by_loop)])
def test_a_perturbation_cam_watches_the_difference_of_the_two_scores(method, by_loop):
    model, images = tiny_net(), some_images()
    got = cam(model, images, method, A_CLASS, layer=LAYER, upsample=False, contrast=B_CLASS)
    for n in range(len(images)):
        expected = by_loop(model, images[n], A_CLASS[n], B_CLASS[n])
        assert np.all(np.abs(got[n] - expected) <= 1e-9 * np.abs(expected).max() + EPS32 * np.abs(expected))
    assert got.max() > 0


def test_eigencam_reads_no_class_so_a_contrast_changes_nothing():
    model, images = tiny_net(), some_images()
    np.testing.assert_array_equal(cam(model, images, "eigencam", layer=LAYER, contrast=B_CLASS),
                                  cam(model, images, "eigencam", layer=LAYER))


def test_contrast_with_its_own_class_explains_nothing():
    model, images = tiny_net(), some_images()
    assert np.all(attribution(model, images, "saliency", A_CLASS, contrast=A_CLASS) == 0)


def test_integrated_gradients_of_a_contrast_is_complete_for_the_logit_difference():
    model, images = tiny_net(), some_images()
    attributions = integrated_gradients(model, images, A_CLASS, B_CLASS, steps=200)
    _, relative = integrated_gradients_completeness(model, images, attributions, A_CLASS, contrast=B_CLASS)
    assert relative.max() < 0.02
    _, without = integrated_gradients_completeness(model, images, attributions, A_CLASS)
    assert without.max() > relative.max()
