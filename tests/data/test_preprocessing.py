"""Preprocessing: each method's formula, and specs that survive JSON."""
import json

import numpy as np
import pytest

from npnet.data.preprocessing import equalize_luminance, fit_preprocessing, gaussian_blur, preprocess


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, (6, 32, 32, 3)).astype(np.uint8)


def test_seed_scaling_maps_0_255_to_minus_half_half():
    x = preprocess(np.array([[[[0, 255, 51]]]], dtype=np.uint8), {"name": "seed"})
    np.testing.assert_allclose(x.ravel(), [-0.5, 0.5, -0.3], atol=1e-7)
    assert x.dtype == np.float32


def test_standardize_gives_zero_mean_unit_std_per_channel_on_training_data(images):
    spec = fit_preprocessing("standardize", images)
    x = preprocess(images, json.loads(json.dumps(spec)))
    np.testing.assert_allclose(x.reshape(-1, 3).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(x.reshape(-1, 3).std(axis=0), 1, atol=1e-4)


def test_image_standardize_normalizes_each_image(images):
    x = preprocess(images, {"name": "image_standardize"})
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-4)


def test_image_standardize_of_a_flat_image_is_finite():
    x = preprocess(np.full((1, 32, 32, 3), 7, dtype=np.uint8), {"name": "image_standardize"})
    assert np.all(x == 0)


def test_center_standardize_normalizes_the_middle_half_of_each_image(images):
    x = preprocess(images, {"name": "center_standardize"})
    center = x[:, 8:24, 8:24, :]
    np.testing.assert_allclose(center.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(center.std(axis=(1, 2, 3)), 1, atol=1e-4)


def test_center_standardize_ignores_the_background(rng):
    sign = rng.integers(20, 100, (1, 16, 16, 3))
    dark, bright = np.zeros((1, 32, 32, 3), np.uint8), np.full((1, 32, 32, 3), 255, np.uint8)
    dark[:, 8:24, 8:24], bright[:, 8:24, 8:24] = sign, sign
    x_dark, x_bright = (preprocess(image, {"name": "center_standardize"}) for image in (dark, bright))
    np.testing.assert_array_equal(x_dark[:, 8:24, 8:24], x_bright[:, 8:24, 8:24])
    assert x_bright[0, 0, 0, 0] == 4 and x_dark[0, 0, 0, 0] < x_dark[:, 8:24, 8:24].min()


def test_center_standardize_clips_a_far_background_to_four_standard_deviations():
    image = np.full((1, 32, 32, 3), 255, np.uint8)
    image[:, 8:24, 8:24] = np.arange(16)[:, None, None] + 100        # a dim, low-contrast sign
    x = preprocess(image, {"name": "center_standardize"})
    assert x.max() == 4 and x.min() >= -4


def test_center_standardize_of_a_flat_image_is_finite():
    assert np.all(preprocess(np.full((1, 32, 32, 3), 7, dtype=np.uint8), {"name": "center_standardize"}) == 0)


def test_equalize_makes_a_dark_and_a_bright_copy_of_an_image_alike(rng):
    scene = rng.integers(0, 256, (1, 32, 32, 3)).astype(np.float32)
    dark, bright = scene * 0.2, np.clip(scene * 0.9 + 20, 0, 255)
    a, b = preprocess(dark, {"name": "equalize"}), preprocess(bright, {"name": "equalize"})
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_equalized_luminance_is_spread_evenly(rng):
    dark = rng.integers(0, 40, (2, 32, 32, 3)).astype(np.float32)
    out = equalize_luminance(dark)
    luminance = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert luminance.max() > 200 and out.min() >= 0 and out.max() <= 255


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown preprocessing"):
        fit_preprocessing("sharpen")
    with pytest.raises(ValueError, match="unknown preprocessing spec"):
        preprocess(np.zeros((1, 2, 2, 3)), {"name": "sharpen"})


def blur_reference(x, radius=4, sigma=2.0):
    """gaussian_blur by its definition, float64: sum over the window inside the image and all channels
    of g(dy) g(dx) x, divided by the window's weight inside the image times the channel count."""
    N, H, W, C = x.shape
    g = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    out = np.zeros((N, H, W, 1))
    for i in range(H):
        for j in range(W):
            total = weight = 0.0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    if 0 <= i + dy < H and 0 <= j + dx < W:
                        w = g[dy + radius] * g[dx + radius]
                        total = total + w * x[:, i + dy, j + dx, :].sum(axis=-1)
                        weight += w
            out[:, i, j, 0] = total / (weight * C)
    return out


def test_lcn_window_is_the_border_renormalized_gaussian_mean(rng):
    x = rng.uniform(0, 255, (2, 12, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(gaussian_blur(x), blur_reference(x.astype(np.float64)), rtol=1e-5, atol=1e-3)


def test_lcn_is_the_subtractive_then_divisive_normalization(images):
    x = images.astype(np.float64)
    v = x - blur_reference(x)
    s = np.sqrt(blur_reference(v * v))
    expected = v / np.maximum(np.maximum(s, s.mean(axis=(1, 2, 3), keepdims=True)), 1.0)
    np.testing.assert_allclose(preprocess(images, {"name": "lcn"}), expected, rtol=1e-4, atol=1e-4)


def test_lcn_does_not_care_how_bright_or_contrasty_the_photo_is(images):
    low = (images * 0.3 + 20).astype(np.float32)
    np.testing.assert_allclose(preprocess(low, {"name": "lcn"}), preprocess(images * 0.9 + 5, {"name": "lcn"}),
                               rtol=1e-3, atol=1e-3)


def test_lcn_of_a_flat_image_is_zero():
    flat = preprocess(np.full((1, 32, 32, 3), 7, dtype=np.uint8), {"name": "lcn"})
    assert np.all(np.isfinite(flat)) and np.abs(flat).max() < 1e-4
