"""Faithfulness metrics, each against a case worked out by hand (npnet/explain/faithfulness/metrics.py)."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain.faithfulness import metrics
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential


def one_box(x1, y1, x2, y2, n=1):
    return np.tile(np.array([[x1, y1, x2, y2]], dtype=np.float64), (n, 1))


# -- box scaling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout, width, height, coords", [
    ("pickle (sizes = width, height)", 50, 40, (5, 4, 44, 35)),
    ("official test CSV (Width;Height;Roi.X1..Roi.Y2)", 53, 54, (6, 5, 48, 49)),
    ("Kaggle CSV (Width,Height,Roi.X1..Roi.Y2)", 125, 106, (11, 10, 114, 96)),
])
def test_boxes_scale_from_the_original_size_with_the_last_pixel_included(layout, width, height, coords):
    x1, y1, x2, y2 = coords
    box = metrics.boxes_to_32([coords], [(width, height)])[0]
    expected = [x1 * 32 / width, y1 * 32 / height, (x2 + 1) * 32 / width, (y2 + 1) * 32 / height]
    np.testing.assert_allclose(box, expected, rtol=1e-15)


def test_a_box_covering_the_whole_original_image_covers_the_whole_32x32_image():
    for width, height in [(25, 25), (30, 61), (243, 225)]:
        box = metrics.boxes_to_32([(0, 0, width - 1, height - 1)], [(width, height)])
        assert metrics.inside_box(box, 32, 32).all()


def test_boxes_of_images_of_different_sizes_scale_each_by_its_own_size():
    boxes = metrics.boxes_to_32([(0, 0, 31, 31), (0, 0, 31, 31)], [(32, 32), (64, 128)])
    np.testing.assert_allclose(boxes, [[0, 0, 32, 32], [0, 0, 16, 8]])


def test_a_size_of_zero_is_an_error():
    with pytest.raises(NpnetError, match="width or height"):
        metrics.boxes_to_32([(0, 0, 1, 1)], [(0, 10)])


def test_a_pixel_is_inside_when_its_centre_is_edges_included():
    # box x in [1.5, 3.5], y in [0.5, 1.0]: pixel centres x = 1.5, 2.5, 3.5 (columns 1-3), y = 0.5 (row 0)
    inside = metrics.inside_box(one_box(1.5, 0.5, 3.5, 1.0), 3, 5)[0]
    expected = np.zeros((3, 5), dtype=bool)
    expected[0, 1:4] = True
    np.testing.assert_array_equal(inside, expected)


# -- energy in the box ----------------------------------------------------------------------------
def test_energy_is_one_for_a_map_all_inside_and_zero_all_outside():
    maps = np.zeros((2, 4, 4))
    maps[0, 1:3, 1:3] = 5.0      # inside the box of the middle 2x2 pixels
    maps[1, 0, :] = 5.0          # the top row: outside it
    np.testing.assert_array_equal(metrics.energy_in_box(maps, one_box(1, 1, 3, 3, n=2)), [1.0, 0.0])


def test_energy_is_a_half_for_equal_mass_inside_and_outside():
    maps = np.zeros((1, 4, 4))
    maps[0, 1, 1] = 3.0           # inside
    maps[0, 0, 0] = maps[0, 3, 3] = 1.5    # outside, the same mass in total
    assert metrics.energy_in_box(maps, one_box(1, 1, 3, 3))[0] == 0.5


def test_energy_counts_only_positive_mass():
    maps = np.zeros((1, 4, 4))
    maps[0, 1, 1] = 2.0           # inside
    maps[0, 0, 0] = -100.0        # outside, negative: no mass
    assert metrics.energy_in_box(maps, one_box(1, 1, 3, 3))[0] == 1.0


def test_energy_of_an_all_zero_map_is_nan():
    assert np.isnan(metrics.energy_in_box(np.zeros((1, 4, 4)), one_box(1, 1, 3, 3))).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_map_is_an_error_not_a_score(bad):
    maps = np.ones((2, 4, 4))
    maps[1, 2, 2] = bad
    with pytest.raises(NpnetError, match="1 of 2 maps hold NaN"):
        metrics.energy_in_box(maps, one_box(0, 0, 4, 4, n=2))


# -- pointing game --------------------------------------------------------------------------------
def test_the_pointing_game_asks_whether_the_peak_is_in_the_box():
    maps = np.zeros((2, 4, 4))
    maps[0, 2, 2] = 1.0          # peak inside the middle 2x2
    maps[1, 0, 3] = 1.0          # peak in the corner
    np.testing.assert_array_equal(metrics.pointing_game(maps, one_box(1, 1, 3, 3, n=2)), [True, False])


def test_pointing_game_ties_go_to_the_first_pixel_in_row_major_order():
    maps = np.zeros((2, 4, 4))
    maps[0, 0, 3] = maps[0, 1, 1] = 1.0      # (0, 3) comes first: outside
    maps[1, 1, 1] = maps[1, 0, 3] = 1.0      # the same two pixels: still (0, 3) first
    maps[1, 1, 2] = 1.0
    box = one_box(1, 1, 3, 3, n=2)
    np.testing.assert_array_equal(metrics.pointing_game(maps, box), [False, False])
    np.testing.assert_array_equal(metrics.pointing_game(maps[:, ::-1].copy(), box), [True, True])  # (2, 1) first


def test_an_all_zero_map_points_at_the_top_left_pixel():
    maps = np.zeros((2, 4, 4))
    np.testing.assert_array_equal(metrics.pointing_game(maps, np.array([[0, 0, 1, 1], [1, 1, 3, 3.0]])),
                                  [True, False])


# -- deletion and insertion -----------------------------------------------------------------------
class KeptValuesModel:
    """Two classes; p(class 0) = LOW + (HIGH - LOW) * (share of the region's input values that are
    not 0), so p is linear in the number of pixels removed from the region (a pixel is C values)."""
    LOW, HIGH = 0.25, 0.75

    def __init__(self, region):
        self.region = region          # (H, W) bool
        self.calls = []

    def forward(self, x, training=False):
        assert not training
        self.calls.append(len(x))
        kept = (x[:, self.region] != 0).mean(axis=(1, 2))
        p = self.LOW + (self.HIGH - self.LOW) * kept
        return np.log(np.stack([p, 1 - p], axis=1)).astype(np.float32)


H = W = 8
P = H * W


def ones_images(n=1, channels=3):
    return np.ones((n, H, W, channels), dtype=np.float32)


def region_first_map(region):
    """A map ranking the region's pixels first, row-major within it and within the rest."""
    return np.where(region, 2.0, 1.0)[None]


def test_deletion_of_every_pixel_evenly_gives_the_area_under_a_straight_line():
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    # p(x) = HIGH - (HIGH - LOW) x falls linearly as the fraction x of pixels goes: area = (HIGH + LOW) / 2
    auc = metrics.deletion_auc(model, ones_images(), np.random.default_rng(0).random((1, H, W)), 0, steps=16)
    np.testing.assert_allclose(auc, (model.HIGH + model.LOW) / 2, rtol=1e-6)


def test_insertion_of_every_pixel_evenly_gives_the_same_straight_line_rising():
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    auc = metrics.insertion_auc(model, ones_images(), np.random.default_rng(0).random((1, H, W)), 0, steps=16)
    np.testing.assert_allclose(auc, (model.HIGH + model.LOW) / 2, rtol=1e-6)


def test_deleting_the_region_first_drops_the_probability_early():
    region = np.zeros((H, W), dtype=bool)
    region[:, :2] = True                                 # 16 of 64 pixels: r = 1/4
    r = region.sum() / P
    model = KeptValuesModel(region)
    first = metrics.deletion_auc(model, ones_images(), region_first_map(region), 0, steps=16)
    last = metrics.deletion_auc(model, ones_images(), region_first_map(~region), 0, steps=16)
    # region first: p falls linearly from HIGH to LOW over [0, r], then stays at LOW
    np.testing.assert_allclose(first, r * (model.HIGH + model.LOW) / 2 + (1 - r) * model.LOW, rtol=1e-6)
    # region last: p stays at HIGH over [0, 1 - r], then falls linearly to LOW
    np.testing.assert_allclose(last, (1 - r) * model.HIGH + r * (model.HIGH + model.LOW) / 2, rtol=1e-6)


def test_inserting_the_region_first_raises_the_probability_early():
    region = np.zeros((H, W), dtype=bool)
    region[:, :2] = True
    r = region.sum() / P
    model = KeptValuesModel(region)
    auc = metrics.insertion_auc(model, ones_images(), region_first_map(region), 0, steps=16)
    np.testing.assert_allclose(auc, r * (model.HIGH + model.LOW) / 2 + (1 - r) * model.HIGH, rtol=1e-6)


def test_all_channels_of_a_pixel_are_removed_at_once():
    # the model counts values, not pixels: with one channel removed at a time the curve would bend
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    maps = np.random.default_rng(1).random((1, H, W))
    curves, counts = metrics.perturbation_curves(model, ones_images(channels=3), maps, 0, 16, 0.0, False, 256)
    np.testing.assert_allclose(curves[0], model.HIGH - (model.HIGH - model.LOW) * counts / P, rtol=1e-6)


def test_ties_in_the_map_are_removed_in_row_major_order():
    region = np.zeros((H, W), dtype=bool)
    region[0] = True                                      # the first row: 8 pixels = the first 4 steps of 2
    model = KeptValuesModel(region)
    curves, counts = metrics.perturbation_curves(model, ones_images(), np.zeros((1, H, W)), 0, 32, 0.0, False, 256)
    kept = 1 - np.minimum(counts, W) / W
    np.testing.assert_allclose(curves[0], model.LOW + (model.HIGH - model.LOW) * kept, rtol=1e-6)


def test_the_steps_are_equal_and_start_and_end_at_nothing_and_everything():
    np.testing.assert_array_equal(metrics.step_counts(1024, 32), np.arange(33) * 32)
    counts = metrics.step_counts(10, 4)
    assert counts[0] == 0 and counts[-1] == 10 and list(counts) == [0, 2, 5, 7, 10]


@pytest.mark.parametrize("steps", [0, 65, 2.5, True])
def test_steps_outside_one_to_the_pixel_count_are_an_error(steps):
    with pytest.raises(NpnetError, match="steps"):
        metrics.step_counts(P, steps)


def test_the_baseline_is_what_deleted_pixels_become():
    # with a baseline of 1 on an image of ones nothing changes: p stays at HIGH, and so does the area
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    auc = metrics.deletion_auc(model, ones_images(), np.zeros((1, H, W)), 0, steps=8, baseline=1.0)
    np.testing.assert_allclose(auc, model.HIGH, rtol=1e-6)


def test_every_step_of_every_image_runs_in_batches_and_the_batch_size_changes_nothing():
    rng = np.random.default_rng(2)
    region = rng.random((H, W)) < 0.3
    images, maps = ones_images(5), rng.random((5, H, W))
    small, big = KeptValuesModel(region), KeptValuesModel(region)
    np.testing.assert_array_equal(metrics.deletion_auc(small, images, maps, 0, steps=8, batch_size=7),
                                  metrics.deletion_auc(big, images, maps, 0, steps=8, batch_size=1000))
    assert small.calls == [5] + [7] * 6 + [3]             # the originals, then 5 * 9 rows in sevens
    assert big.calls == [5, 45]


def test_each_image_is_scored_for_its_own_class():
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    maps = np.random.default_rng(3).random((2, H, W))
    auc = metrics.deletion_auc(model, ones_images(2), maps, [0, 1], steps=16)
    # p(class 1) = 1 - p(class 0): the area under it is 1 minus the area under p(class 0)
    np.testing.assert_allclose(auc, [(model.HIGH + model.LOW) / 2, 1 - (model.HIGH + model.LOW) / 2], rtol=1e-6)


@pytest.mark.parametrize("steps", [1, 2, 16])
def test_both_curves_with_shared_ends_are_the_two_perturbation_curves(steps):
    rng = np.random.default_rng(4)
    region = rng.random((H, W)) < 0.4
    images, maps, classes = rng.random((3, H, W, 3)).astype(np.float32), rng.random((3, H, W)), np.array([0, 1, 0])
    model = KeptValuesModel(region)
    ends = metrics.curve_ends(model, images, classes, 0.25)
    deletion, insertion, counts = metrics.deletion_and_insertion_curves(model, images, maps, ends, steps, 0.25, 5)
    for curves, insert in ((deletion, False), (insertion, True)):
        expected, expected_counts = metrics.perturbation_curves(model, images, maps, classes, steps, 0.25, insert, 5)
        np.testing.assert_allclose(curves, expected, rtol=1e-6)
        np.testing.assert_array_equal(counts, expected_counts)


def test_the_shared_ends_are_one_forward_and_only_the_inner_steps_run_per_map():
    model = KeptValuesModel(np.ones((H, W), dtype=bool))
    images, maps = ones_images(4), np.random.default_rng(5).random((4, H, W))
    ends = metrics.curve_ends(model, images, None, 0.0)
    assert model.calls == [8]                              # the 4 images and their 4 baseline images
    metrics.deletion_and_insertion_curves(model, images, maps, ends, 8, 0.0, 100)
    assert model.calls == [8, 28, 28]                      # 4 images x 7 inner steps, deletion then insertion


def test_the_ends_use_the_predicted_class_unless_given():
    model = KeptValuesModel(np.ones((H, W), dtype=bool))   # p(class 0) = HIGH on an image of ones
    chosen, original, empty = metrics.curve_ends(model, ones_images(2), None, 0.0)
    np.testing.assert_array_equal(chosen, [0, 0])
    np.testing.assert_allclose(original, model.HIGH, rtol=1e-6)
    np.testing.assert_allclose(empty, model.LOW, rtol=1e-6)
    chosen, original, _ = metrics.curve_ends(model, ones_images(2), [1, 0], 0.0)
    np.testing.assert_allclose(original, [1 - model.HIGH, model.HIGH], rtol=1e-6)


# -- baselines ------------------------------------------------------------------------------------
def test_the_centre_baseline_peaks_in_the_middle_and_falls_by_a_quarter_side_sigma():
    maps = metrics.centre_maps(2, 32, 32)
    assert maps.shape == (2, 32, 32) and (maps[0] == maps[1]).all()
    # pixel centres 15.5 and 16.5 are 0.5 from the centre 16; column 7 (centre 7.5) is 8.5 = 1.0625 sigma away
    np.testing.assert_allclose(maps[0, 15, 15], np.exp(-(0.5 ** 2 + 0.5 ** 2) / (2 * 8 ** 2)))
    np.testing.assert_allclose(maps[0, 15, 7] / maps[0, 15, 15], np.exp(-(8.5 ** 2 - 0.5 ** 2) / (2 * 8 ** 2)))


def test_the_random_baseline_is_seeded_uniform_noise():
    a, b = metrics.random_maps(3, 8, 8, seed=5), metrics.random_maps(3, 8, 8, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < 1 and not (a == metrics.random_maps(3, 8, 8, seed=6)).all()


def test_attributions_become_maps_as_the_channel_sum_of_their_absolute_values():
    a = np.zeros((1, 2, 2, 3), dtype=np.float32)
    a[0, 0, 1] = [1, -2, 0.5]
    np.testing.assert_array_equal(metrics.attribution_maps(a), [[[0, 3.5], [0, 0]]])


# -- rank correlation and SSIM --------------------------------------------------------------------
def test_tied_values_share_the_mean_of_their_ranks():
    np.testing.assert_array_equal(metrics.average_ranks(np.array([[3.0, 1, 3, 2, 1, 3]])),
                                  [[(3 + 4 + 5) / 3, 0.5, 4, 2, 0.5, 4]])


def test_spearman_is_one_for_any_increasing_function_and_minus_one_for_a_decreasing_one():
    a = np.random.default_rng(4).random((3, 6, 6))
    np.testing.assert_allclose(metrics.spearman(a, np.exp(5 * a)), 1.0)
    np.testing.assert_allclose(metrics.spearman(a, -a), -1.0)


def test_spearman_of_a_constant_map_is_nan():
    assert np.isnan(metrics.spearman(np.ones((1, 4, 4)), np.random.default_rng(0).random((1, 4, 4)))).all()


def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 4, (4, 6, 6)).astype(float), rng.random((4, 6, 6))
    expected = [stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b)]
    np.testing.assert_allclose(metrics.spearman(a, b), expected, rtol=1e-12)


def test_ssim_is_one_for_the_same_map_up_to_scale_and_offset():
    a = np.random.default_rng(6).random((2, 9, 9))
    np.testing.assert_allclose(metrics.ssim(a, 3 * a + 2), 1.0)


def test_ssim_matches_a_loop_over_the_windows():
    rng = np.random.default_rng(7)
    a, b = rng.random((1, 9, 8)), rng.random((1, 9, 8))
    x, y = ((m[0] - m.min()) / (m.max() - m.min()) for m in (a, b))
    scores = []
    for i in range(9 - 6):
        for j in range(8 - 6):
            p, q = x[i:i + 7, j:j + 7].ravel(), y[i:i + 7, j:j + 7].ravel()
            cov = np.cov(p, q)                                    # divides by 49 - 1
            scores.append((2 * p.mean() * q.mean() + 1e-4) * (2 * cov[0, 1] + 9e-4)
                          / ((p.mean() ** 2 + q.mean() ** 2 + 1e-4) * (cov[0, 0] + cov[1, 1] + 9e-4)))
    np.testing.assert_allclose(metrics.ssim(a, b), np.mean(scores), rtol=1e-10)


# -- randomization check --------------------------------------------------------------------------
def tiny_net():
    return Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Conv2D(4, 2, activation="relu"),
                       Flatten(), Dense(8, activation="relu"), Dense(3)], input_shape=(8, 8, 3), seed=0)


def tiny_images(n=4):
    return np.random.default_rng(8).standard_normal((n, 8, 8, 3)).astype(np.float32)


def test_the_cascade_randomizes_one_more_layer_at_each_stage_from_the_top():
    model = tiny_net()
    trained = {k: v.copy() for k, v in model.params().items()}
    stages = [(name, {k: v.copy() for k, v in copy.params().items()})
              for name, copy in metrics.randomized_copies(model, seed=1)]
    assert [name for name, _ in stages] == ["dense_2", "dense_1", "conv2d_2", "conv2d_1"]
    for k, (_, params) in enumerate(stages):
        randomized = {name for name, _ in stages[:k + 1]}
        for key, value in params.items():
            changed = not np.array_equal(value, trained[key])
            assert changed == (key.split("/")[0] in randomized and key.endswith("kernel")), key


def test_the_cascade_leaves_the_callers_model_alone():
    model = tiny_net()
    before = {k: v.copy() for k, v in model.params().items()}
    metrics.randomization_check(model, tiny_images(), "saliency", classes=0)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])


def test_randomized_weights_come_from_the_models_own_initializers():
    # Glorot uniform kernels: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); zero biases
    *_, (_, randomized) = metrics.randomized_copies(tiny_net(), seed=0)
    for layer in randomized.layers:
        if layer.params:
            kernel = layer.params["kernel"]
            receptive = int(np.prod(kernel.shape[:-2]))      # kh * kw for a conv, 1 for a dense layer
            fan_in, fan_out = receptive * kernel.shape[-2], receptive * kernel.shape[-1]
            limit = np.sqrt(6 / (fan_in + fan_out))
            assert kernel.dtype == np.float32 and 0.5 * limit < np.abs(kernel).max() <= limit, layer.name
            assert (layer.params["bias"] == 0).all()


def test_a_method_that_ignores_the_weights_scores_one_at_every_stage():
    def brightness(model, images, classes):
        return images.sum(axis=3)
    result = metrics.randomization_check(tiny_net(), tiny_images(), brightness)
    assert [s["layer"] for s in result["stages"]] == ["dense_2", "dense_1", "conv2d_2", "conv2d_1"]
    for stage in result["stages"]:
        assert stage["spearman"] == pytest.approx(1.0) and stage["ssim"] == pytest.approx(1.0)
        assert stage["constant_maps"] == 0


def test_a_method_that_reads_the_weights_loses_its_correlation():
    result = metrics.randomization_check(tiny_net(), tiny_images(), "input_x_gradient", keep=2)
    assert result["stages"][-1]["spearman"] < 0.9
    assert result["trained"].shape == result["stages"][0]["maps"].shape == (2, 8, 8)


def test_maps_that_are_constant_are_counted_and_left_out_of_the_means():
    model = tiny_net()

    def flat_once_randomized(net, images, classes):
        return images.sum(axis=3) if net is model else np.ones((len(images), 8, 8))
    stage = metrics.randomization_check(model, tiny_images(3), flat_once_randomized)["stages"][0]
    assert stage["constant_maps"] == 3 and np.isnan(stage["spearman"]) and np.isnan(stage["ssim"])
