"""RISE: the masks as the authors' generate_masks makes them, the map against a loop over the masks."""
import numpy as np
import pytest

from npnet.explain.methods import attribution
from npnet.explain.rise import mask_grids, rise, rise_masks, upsampled_masks, upsampling_matrix
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.io.errors import NpnetError

FEW = 300        # masks: enough to test the definition, few enough to be quick


def tiny_net(dtype=np.float64, seed=0):
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(5)],
                       input_shape=(8, 8, 3), seed=seed)
    return model.astype(dtype)


def some_images(n=3, dtype=np.float64, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 8, 8, 3)).astype(dtype)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def rise_by_loop(model, image, c, masks, keep, against=None):
    """sum_i p_c(x * M_i) M_i / (M p), one masked forward at a time."""
    total = np.zeros(masks.shape[1:])
    for mask in masks:
        p = softmax(model.forward((image * mask[:, :, None])[None])[0])
        total += (p[c] - (0 if against is None else p[against])) * mask
    return total / (len(masks) * keep)


# -- the masks ------------------------------------------------------------------------------------
def test_the_upsampling_weights_interpolate_linearly_and_mirror_at_the_edges():
    R = upsampling_matrix(2, 6)              # t = (u + 0.5) / 3 - 0.5 = -1/3, 0, 1/3, 2/3, 1, 4/3
    expected = [[2 / 3, 1 / 3], [1, 0], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [0, 1], [1 / 3, 2 / 3]]
    np.testing.assert_allclose(R, expected, rtol=1e-12)
    assert np.allclose(upsampling_matrix(1, 4), 1) and np.allclose(upsampling_matrix(8, 36).sum(axis=1), 1)


@pytest.mark.parametrize("height, width, cells", [(32, 32, 8), (8, 8, 3), (30, 20, 7), (5, 9, 1), (6, 6, 6)])
def test_the_masks_are_the_authors_skimage_resize_cropped_at_the_shift(height, width, cells):
    resize = pytest.importorskip("skimage.transform").resize
    grids, shifts = mask_grids(40, cells, 0.5, height, width, seed=3)
    masks = upsampled_masks(grids, shifts, height, width)
    up = ((cells + 1) * -(-height // cells), (cells + 1) * -(-width // cells))
    for grid, (x, y), mask in zip(grids, shifts, masks):      # explanations.py, generate_masks
        expected = resize(grid.astype(np.float64), up, order=1, mode="reflect", anti_aliasing=False)
        np.testing.assert_allclose(mask, expected[x:x + height, y:y + width], rtol=0, atol=1e-14)


def test_the_grids_keep_a_cell_with_probability_p_and_shift_within_a_cell():
    grids, shifts = mask_grids(4000, 8, 0.3, 32, 30, seed=0)
    assert grids.shape == (4000, 8, 8) and abs(grids.mean() - 0.3) < 0.01
    assert shifts[:, 0].min() == 0 and shifts[:, 0].max() == 3     # cell 4 x 4 pixels: 32 / 8, ceil(30 / 8)
    assert shifts[:, 1].min() == 0 and shifts[:, 1].max() == 3
    masks = rise_masks(4000, 8, 0.3, 32, 30)
    assert masks.shape == (4000, 32, 30) and masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean() - 0.3) < 0.01


def test_the_same_seed_gives_the_same_masks_and_another_seed_others():
    np.testing.assert_array_equal(rise_masks(50, 4, 0.5, 8, 8, seed=7), rise_masks(50, 4, 0.5, 8, 8, seed=7))
    assert not np.array_equal(rise_masks(50, 4, 0.5, 8, 8, seed=7), rise_masks(50, 4, 0.5, 8, 8, seed=8))


# -- the map --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cells, keep", [(4, 0.5), (3, 0.2), (8, 1.0)])
def test_rise_matches_a_loop_over_the_masks(cells, keep):
    model, images = tiny_net(), some_images()
    got = rise(model, images, None, masks=FEW, cells=cells, keep=keep, seed=5)
    assert got.shape == images.shape and got.dtype == np.float64
    masks = rise_masks(FEW, cells, keep, 8, 8, seed=5)
    for n, c in enumerate(model.forward(images).argmax(axis=1)):
        expected = rise_by_loop(model, images[n], c, masks, keep)
        np.testing.assert_allclose(got[n], np.repeat(expected[:, :, None], 3, axis=2), rtol=1e-10, atol=1e-13)


def test_a_contrast_class_weighs_the_masks_by_the_difference_of_probabilities():
    model, images = tiny_net(), some_images()
    got = rise(model, images, [1, 2, 3], [0, 0, 4], masks=FEW)
    masks = rise_masks(FEW, 8, 0.5, 8, 8)
    for n, (c, b) in enumerate(zip([1, 2, 3], [0, 0, 4])):
        np.testing.assert_allclose(got[n, :, :, 0], rise_by_loop(model, images[n], c, masks, 0.5, b),
                                   rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("batch_size", [1, 7, 4096])
def test_batch_size_does_not_change_the_result(batch_size):
    model, images = tiny_net(), some_images()
    np.testing.assert_allclose(rise(model, images, None, masks=FEW, batch_size=batch_size),
                               rise(model, images, None, masks=FEW), rtol=1e-12, atol=1e-15)


def test_every_image_is_explained_under_the_same_masks():
    model, images = tiny_net(), some_images(4)
    together = rise(model, images, [0, 3, 1, 4], masks=FEW, seed=2)
    for n, c in enumerate([0, 3, 1, 4]):
        np.testing.assert_allclose(together[n], rise(model, images[n:n + 1], c, masks=FEW, seed=2)[0],
                                   rtol=1e-12, atol=1e-15)


def test_a_model_blind_to_its_input_gives_its_probability_times_the_mean_mask():
    model, images = tiny_net(), np.zeros((1, 8, 8, 3))        # every masked image is the same: 0
    p = softmax(model.forward(images)[0])
    got = rise(model, images, 2, masks=FEW, keep=0.4)[0, :, :, 0]
    np.testing.assert_allclose(got, p[2] * rise_masks(FEW, 8, 0.4, 8, 8).mean(axis=0) / 0.4, rtol=1e-12)


def test_the_default_is_4000_masks_of_8x8_cells_at_p_half_through_attribution():
    model, images = tiny_net(np.float32), some_images(1, np.float32)
    got = attribution(model, images, "rise")
    assert got.shape == (1, 8, 8, 3) and got.dtype == np.float32
    masks = rise_masks(4000, 8, 0.5, 8, 8, seed=0)
    c = model.forward(images).argmax()
    expected = rise_by_loop(tiny_net(np.float64), images[0].astype(np.float64), c, masks[:4000], 0.5)
    np.testing.assert_allclose(got[0, :, :, 1], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("options, message", [
    ({"masks": 0}, "option masks must be a whole number from 1 to 20,000"),
    ({"masks": 10 ** 6}, "option masks must be a whole number from 1 to 20,000"),
    ({"masks": 2.5}, "option masks must be a whole number from 1 to 20,000"),
    ({"cells": 0}, "option cells must be a whole number from 1 to 64"),
    ({"keep": 0}, r"option keep must be a probability in \(0, 1\]"),
    ({"keep": 1.5}, r"option keep must be a probability in \(0, 1\]"),
    ({"keep": True}, r"option keep must be a probability in \(0, 1\]"),
    ({"seed": -1}, "option seed must be a whole number >= 0"),
    ({"seed": 0.5}, "option seed must be a whole number >= 0"),
    ({"batch_size": 0}, "option batch_size must be a whole number from 1 to 4,096"),
])
def test_bad_options_are_npnet_errors_naming_the_method(options, message):
    with pytest.raises(NpnetError, match="rise: " + message):
        attribution(tiny_net(), some_images(), "rise", **options)
