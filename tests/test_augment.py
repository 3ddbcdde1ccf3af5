"""Augmentation: seeded, shape-preserving, never a mirror image, identity when switched off."""
import numpy as np
import pytest

from npnet.augment import AugmentConfig, adjust_lighting, augment, random_affine

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
