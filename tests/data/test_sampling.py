"""Bilinear sampling: the numba loop computes exactly what the NumPy reference does."""
import numpy as np
import pytest

from npnet.engine import ops
from npnet.data.sampling import bilinear_sample, bilinear_sample_fast, bilinear_sample_reference


def sample_points(rng, N, H, W, Ho, Wo):
    """Coordinates inside an H x W image, with whole numbers and the last row and column among them."""
    y, x = rng.uniform(0, H - 1, (N, Ho, Wo)), rng.uniform(0, W - 1, (N, Ho, Wo))
    y[:, 0], x[:, :, 0] = H - 1, np.round(x[:, :, 0])
    return y, x


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_bilinear_sample_fast_equals_reference(rng, dtype):
    images = rng.uniform(0, 255, (3, 7, 9, 3)).astype(dtype)
    y, x = sample_points(rng, 3, 7, 9, 5, 6)
    out = bilinear_sample_fast(images, y, x)
    assert out.dtype == np.float32 and out.shape == (3, 5, 6, 3)
    np.testing.assert_array_equal(out, bilinear_sample_reference(images, y, x))


def test_bilinear_sample_fast_equals_reference_on_broadcast_coordinates(rng):
    # test-time augmentation passes one grid broadcast over the batch (stride 0 along the images)
    images = rng.integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    y, x = (np.broadcast_to(grid[0], (4, 8, 8)) for grid in sample_points(rng, 1, 8, 8, 8, 8))
    np.testing.assert_array_equal(bilinear_sample_fast(images, y, x), bilinear_sample_reference(images, y, x))


@pytest.mark.parametrize("kernel", [bilinear_sample_fast, bilinear_sample_reference], ids=["fast", "reference"])
def test_bilinear_sample_reads_pixels_at_whole_coordinates_and_means_between_them(rng, kernel):
    images = rng.uniform(0, 255, (2, 5, 6, 2)).astype(np.float32)
    rows, columns = np.mgrid[0:5, 0:6].astype(np.float64)
    whole = kernel(images, np.stack([rows] * 2), np.stack([columns] * 2))
    np.testing.assert_array_equal(whole, images)
    middle = kernel(images, np.full((2, 1, 1), 1.5), np.full((2, 1, 1), 2.5))
    np.testing.assert_allclose(middle[:, 0, 0], images[:, 1:3, 2:4].mean(axis=(1, 2)), rtol=1e-6)


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_bilinear_sample_follows_the_engines_kernel_switch(monkeypatch, kernels):
    called = []
    monkeypatch.setattr("npnet.data.sampling.bilinear_sample_" + kernels, lambda *args: called.append(kernels))
    ops.use(kernels)
    try:
        bilinear_sample(None, None, None)
    finally:
        ops.use("fast")
    assert called == [kernels]
