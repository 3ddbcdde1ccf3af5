"""Augmentation: seeded, shape-preserving, never a mirror image, identity when switched off."""
import numpy as np
import pytest

from PIL import Image

from npnet.data.augment import (SMALLEST_SIDE, AugmentConfig, adjust_lighting, augment, homography,
    lower_resolution, random_affine, random_perspective, through_fewer_pixels)
from npnet.data.resize import area_matrix, interpolation_matrix

NOTHING = AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_shift=0, max_contrast=0, max_brightness=0)


def test_augment_keeps_shape_and_range(rng):
    images = rng.integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    out = augment(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255


def test_same_generator_seed_same_augmentation(rng):
    images = rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_array_equal(augment(images, np.random.default_rng(7)), augment(images, np.random.default_rng(7)))


def test_zero_ranges_leave_images_unchanged(rng):
    images = rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(augment(images, np.random.default_rng(0), NOTHING), images, atol=1e-4)


class FixedDraws:
    """Stands in for a generator: each call to uniform() returns the next fixed value."""

    def __init__(self, *values):
        self.values = list(values)

    def uniform(self, low, high, size):
        return np.full(size, self.values.pop(0), dtype=np.float64)


def test_a_pure_shift_moves_pixels_by_whole_steps():
    image = np.zeros((1, 9, 9, 1), dtype=np.float32)
    image[0, 4, 4, 0] = 100
    out = random_affine(image, FixedDraws(0.0, 1.0, 2.0))   # rotation 0, scale 1, shift (2, 2)
    assert out[0, 6, 6, 0] == 100 and out.sum() == 100


def test_no_augmentation_mirrors_an_asymmetric_image(rng):
    image = np.zeros((64, 32, 32, 3), dtype=np.float32)
    image[:, 8:24, 4:10] = 255          # a bar on the left
    out = augment(image, np.random.default_rng(1))
    assert np.all(out[:, :, :16].sum(axis=(1, 2, 3)) > out[:, :, 16:].sum(axis=(1, 2, 3)))


def test_lighting_keeps_a_flat_gray_image_flat():
    out = adjust_lighting(np.full((4, 8, 8, 3), 100, np.float32), np.random.default_rng(0))
    assert np.all(out.std(axis=(1, 2, 3)) < 1e-3)


def test_strength_scales_every_range_and_zero_strength_is_no_augmentation(rng):
    stronger = AugmentConfig().scaled(2.0)
    assert stronger.max_rotation == 24.0 and stronger.min_scale == pytest.approx(0.8)
    images = rng.integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(augment(images, np.random.default_rng(0), AugmentConfig().scaled(0.0)), images,
                               atol=1e-4)


# -- lower resolution ---------------------------------------------------------------------------------
def test_lower_resolution_leaves_every_image_when_the_fraction_is_zero(rng):
    images = rng.uniform(0, 255, (6, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(lower_resolution(images, np.random.default_rng(0), 0.0), images)


def test_lower_resolution_shrinks_by_area_then_enlarges_bilinearly(rng):
    # reference: Pillow's bilinear enlargement (the same pixel centres as GTSRB's resizing) of the
    # exact area average, computed by repeating every pixel `side` times and averaging blocks of 32
    images = rng.uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    out = lower_resolution(images, np.random.default_rng(4), 1.0)
    draws = np.random.default_rng(4)
    draws.random(5)
    sides = draws.integers(SMALLEST_SIDE, 32, 5)
    for image, result, side in zip(images, out, sides):
        fine = image.astype(np.float64).repeat(side, axis=0).repeat(side, axis=1)         # (32 s, 32 s, 3)
        small = fine.reshape(side, 32, side, 32, 3).mean(axis=(1, 3)).astype(np.float32)  # (s, s, 3)
        enlarged = np.stack([np.asarray(Image.fromarray(small[..., c], "F").resize((32, 32), Image.BILINEAR))
                             for c in range(3)], axis=-1)
        np.testing.assert_allclose(result, enlarged, rtol=0, atol=255 * 1e-5)   # float32 sums of <= 4 terms


def test_lower_resolution_picks_about_the_fraction_asked(rng):
    images = rng.uniform(0, 255, (400, 32, 32, 1)).astype(np.float32)
    changed = (lower_resolution(images, np.random.default_rng(1), 0.25) != images).any(axis=(1, 2, 3))
    assert 0.18 < changed.mean() < 0.32           # binomial(400, 0.25): 5 standard deviations either way


def test_lower_resolution_keeps_its_resize_matrices_read_only_and_equal_to_a_fresh_product():
    kept = through_fewer_pixels(12, 32)
    fresh = (interpolation_matrix(12, 32) @ area_matrix(32, 12)).astype(np.float32)
    np.testing.assert_array_equal(kept, fresh)
    assert through_fewer_pixels(12, 32) is kept
    with pytest.raises(ValueError, match="read-only"):
        kept[0, 0] = 1


def test_lower_resolution_keeps_a_flat_image_flat():
    images = np.full((3, 32, 32, 3), 77.0, dtype=np.float32)
    np.testing.assert_allclose(lower_resolution(images, np.random.default_rng(0), 1.0), images, rtol=1e-6)


def test_area_matrix_rows_average_their_footprint():
    matrix = area_matrix(5, 3)
    np.testing.assert_allclose(matrix.sum(axis=1), 1)
    np.testing.assert_allclose(matrix[1], [0, 0.2, 0.6, 0.2, 0])     # [5/3, 10/3) covers 1/3, 1, 1/3 pixel
    np.testing.assert_array_equal(area_matrix(4, 4), np.eye(4))


def test_perspective_with_no_corner_shift_leaves_images_unchanged(rng):
    images = rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_array_equal(random_perspective(images, rng, max_corner_shift=0.0), images)


def test_homography_takes_each_corner_to_its_target(rng):
    points = np.array([[[0, 0], [31, 0], [31, 31], [0, 31]]], dtype=np.float64)
    targets = points + rng.uniform(-3, 3, (1, 4, 2))
    M = homography(points, targets)[0]
    mapped = M @ np.vstack([points[0].T, np.ones(4)])
    np.testing.assert_allclose((mapped[:2] / mapped[2]).T, targets[0], atol=1e-9)


def test_perspective_warps_within_the_image_range(rng):
    images = rng.integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    warped = random_perspective(images, rng, max_corner_shift=3.0)
    assert warped.shape == images.shape and warped.dtype == np.float32
    assert warped.min() >= 0 and warped.max() <= 255 and not np.array_equal(warped, images)


def test_perspective_of_a_flat_image_stays_flat(rng):
    flat = np.full((2, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_allclose(random_perspective(flat, rng, max_corner_shift=4.0), 90, atol=1e-4)
