"""Camera degradations: sensor noise of the strength asked, JPEG as Pillow writes it, repeatable."""
import io

import numpy as np
import pytest
from PIL import Image

from npnet.data.degrade import add_noise, jpeg, jpeg_round_trip


@pytest.fixture
def images(rng):
    return rng.integers(30, 220, (64, 32, 32, 3)).astype(np.uint8)


def test_noise_of_sigma_zero_leaves_images_unchanged(images, rng):
    np.testing.assert_array_equal(add_noise(images, rng, max_sigma=0.0), images)


def test_noise_strength_is_uniform_up_to_the_largest_sigma(images, rng):
    noisy = add_noise(images, rng, max_sigma=8.0)
    sigmas = (noisy - images).reshape(len(images), -1).std(axis=1)     # no clipping: pixels in 30..220
    assert sigmas.max() <= 8.0 * 1.05
    # uniform on [0, 8]: mean 4, and about a quarter of the images below 2
    assert 3.0 < sigmas.mean() < 5.0 and 0.1 < (sigmas < 2).mean() < 0.45


def test_jpeg_round_trip_is_what_pillow_writes_and_reads(images):
    buffer = io.BytesIO()
    Image.fromarray(images[0]).save(buffer, format="JPEG", quality=40)
    expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    np.testing.assert_array_equal(jpeg_round_trip(images[0].astype(np.float32), 40), expected)


def test_jpeg_fraction_zero_leaves_images_and_one_changes_every_image(images, rng):
    np.testing.assert_array_equal(jpeg(images, rng, fraction=0.0), images)
    compressed = jpeg(images, rng, fraction=1.0)
    assert all(not np.array_equal(a, b) for a, b in zip(compressed, images))


def test_same_generator_seed_same_degradation(images):
    first = jpeg(add_noise(images, np.random.default_rng(3), 6.0), np.random.default_rng(4), 0.5)
    again = jpeg(add_noise(images, np.random.default_rng(3), 6.0), np.random.default_rng(4), 0.5)
    np.testing.assert_array_equal(first, again)
