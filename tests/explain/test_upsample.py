"""Bilinear upsampling, align-corners=False: pixel centres at (i + 0.5) * in/out - 0.5, edges clamped."""
import numpy as np
import pytest
from PIL import Image

from npnet.explain.gradcam import bilinear_upsample
from npnet.data.resize import interpolation_matrix


@pytest.mark.parametrize("size_in, size_out", [(6, 32), (14, 32), (30, 32), (5, 16), (1, 7)])
def test_upsampling_matches_pillows_bilinear_resize(size_in, size_out):
    maps = np.random.default_rng(size_in).uniform(0, 5, (1, size_in, size_in)).astype(np.float32)
    expected = np.asarray(Image.fromarray(maps[0], mode="F").resize((size_out, size_out), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(bilinear_upsample(maps, (size_out, size_out))[0], expected, rtol=1e-5, atol=1e-5)


def test_rows_and_columns_are_resized_independently():
    maps = np.random.default_rng(0).uniform(size=(2, 3, 5)).astype(np.float32)
    assert bilinear_upsample(maps, (12, 20)).shape == (2, 12, 20)


def test_constant_map_stays_constant():
    np.testing.assert_allclose(bilinear_upsample(np.full((1, 6, 6), 2.5), (32, 32)), 2.5)


def test_same_size_is_the_identity():
    np.testing.assert_array_equal(interpolation_matrix(6, 6), np.eye(6))


def test_each_output_pixel_is_a_weighted_average():
    matrix = interpolation_matrix(6, 32)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    assert matrix.min() >= 0


def test_first_output_pixel_lies_between_the_first_two_inputs_when_scale_is_2():
    # output pixel 1 of a 2x upsampling sits at input x = 1.5 * 0.5 - 0.5 = 0.25
    np.testing.assert_allclose(interpolation_matrix(2, 4)[1], [0.75, 0.25])
    np.testing.assert_allclose(interpolation_matrix(2, 4)[0], [1.0, 0.0])   # x = -0.25 clamps to 0
