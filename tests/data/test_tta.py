"""Test-time augmentation: fixed views of each image, probabilities averaged; one view is the single pass."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain import predict
from npnet.data.preprocessing import preprocess
from npnet.engine.seed_net import seed_net
from npnet.data.tta import MAX_VIEWS, VIEWS, check_views, predict_proba_tta, view, warp

SPEC = {"name": "center_standardize"}


@pytest.fixture(scope="module")
def model():
    return seed_net()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)


def test_one_view_is_the_single_pass_exactly(model, images):
    single = model.predict_proba(preprocess(images, SPEC))
    np.testing.assert_array_equal(predict_proba_tta(model, images, SPEC, 1), single)


def test_the_average_is_a_hand_loop_over_the_views(model, images):
    for count in (3, MAX_VIEWS):
        by_hand = np.zeros((len(images), 43))
        for v in range(count):
            scale, shift_x, shift_y = VIEWS[v]
            warped = images if v == 0 else warp(images, scale, shift_x, shift_y)
            by_hand += model.predict_proba(preprocess(warped, SPEC)) / count
        np.testing.assert_allclose(predict_proba_tta(model, images, SPEC, count), by_hand, rtol=1e-5, atol=1e-7)


def test_batches_do_not_change_the_average(model, images):
    np.testing.assert_allclose(predict_proba_tta(model, images, SPEC, 5, batch=2),
                               predict_proba_tta(model, images, SPEC, 5), rtol=1e-5, atol=1e-7)


def test_a_shift_moves_the_content_by_whole_pixels():
    image = np.zeros((1, 8, 8, 1), dtype=np.uint8)
    image[0, 3, 4] = 200
    right = warp(image, 1.0, 2, 0)
    down = warp(image, 1.0, 0, 2)
    assert right[0, 3, 6, 0] == 200 and right.sum() == 200
    assert down[0, 5, 4, 0] == 200 and down.sum() == 200


def test_a_zoom_keeps_the_centre_and_spreads_away_from_it():
    # a horizontal ramp x = column: zoomed by s about c = 3.5, the output column j reads (j - c) / s + c
    ramp = np.tile(np.arange(8, dtype=np.float32), (1, 8, 1))[..., None]
    zoomed = warp(ramp, 1.1, 0, 0)
    np.testing.assert_allclose(zoomed[0, 0, :, 0], (np.arange(8) - 3.5) / 1.1 + 3.5, rtol=1e-6)


def test_views_are_fixed_and_the_first_is_the_image_itself(images):
    assert view(images, 0) is images
    np.testing.assert_array_equal(view(images, 5), view(images, 5))


@pytest.mark.parametrize("count", [0, MAX_VIEWS + 1, -1, 2.0, True])
def test_a_bad_number_of_views_is_refused(count):
    with pytest.raises(NpnetError, match="from 1 to 9"):
        check_views(count)


def test_predict_with_tta_averages_over_the_views(model, images):
    top = predict(model, images, top=1, preprocessing=SPEC, tta=3)
    expected = predict_proba_tta(model, images, SPEC, 3)
    assert [row[0].class_id for row in top] == list(expected.argmax(axis=1))
    np.testing.assert_allclose([row[0].prob for row in top], expected.max(axis=1), rtol=1e-6)
