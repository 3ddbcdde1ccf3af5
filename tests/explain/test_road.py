"""ROAD: which pixels each order removes, the accuracy curves and their areas, the seeded noise, and the
logits against pytorch-grad-cam's ROAD metrics on the PyTorch twin (when both are installed)."""
import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.explain.faithfulness import road
from npnet.io.errors import NpnetError

from .test_imputation import grad_cam_road

H = W = 8


class SpotModel:
    """Two classes: class 0 while the 2x2 spot at rows 2-3, columns 2-3 is bright (mean of its values
    above 5), class 1 otherwise. Records every batch it is given."""

    def __init__(self):
        self.seen = []

    def forward(self, x, training=False):
        assert not training
        self.seen.append(x.copy())
        bright = x[:, 2:4, 2:4, :].mean(axis=(1, 2, 3))
        return np.stack([bright - 5, np.zeros_like(bright)], axis=1)


def spot_image():
    image = np.zeros((1, H, W, 3))
    image[0, 2:4, 2:4] = 10.0
    return image


def spot_first_map():
    """The spot's 4 pixels first, then every other pixel, all values distinct."""
    m = np.arange(H * W, dtype=np.float64).reshape(1, H, W) / 100
    m[0, 2:4, 2:4] += 10
    return m


# -- the pixels removed ---------------------------------------------------------------------------
def test_morf_removes_the_top_and_lerf_the_bottom_share_of_the_map():
    maps = np.random.default_rng(0).permutation(H * W).reshape(1, H, W).astype(np.float64)
    for r in (10, 25, 50, 90):
        top = road.removed_pixels(maps, road.thresholds(maps, np.array([r]), True)[:, 0], True)
        bottom = road.removed_pixels(maps, road.thresholds(maps, np.array([r]), False)[:, 0], False)
        count = int(np.ceil(r / 100 * (H * W - 1)))          # 64 distinct values: the interpolated threshold
        assert top.sum() == bottom.sum() == count
        assert maps[top].min() > maps[~top].max() and maps[bottom].max() < maps[~bottom].min()


def test_pixels_tied_at_the_threshold_are_all_removed():
    constant = np.full((1, H, W), 0.3)
    for first in (True, False):
        limit = road.thresholds(constant, np.array([10]), first)[:, 0]
        assert road.removed_pixels(constant, limit, first).all()


# -- the curves -----------------------------------------------------------------------------------
def test_removing_the_spot_first_loses_the_class_and_removing_it_last_keeps_it():
    model = SpotModel()
    curves = road.road_curves(model, spot_image(), spot_first_map(), classes=0, noise=0.0)
    np.testing.assert_array_equal(curves["x"], np.arange(1, 10) / 10)
    np.testing.assert_array_equal(curves["morf"], np.zeros((1, 9)))   # the spot goes at 10%, filled from 0s
    np.testing.assert_array_equal(curves["lerf"], np.ones((1, 9)))    # 6 pixels, the spot among them, stay
    assert road.road_area(curves["morf"], curves["x"])[0] == 0 and road.road_area(curves["lerf"], curves["x"])[0] == 1


def test_the_removed_pixels_are_imputed_from_their_neighbours_not_set_to_a_value():
    model = SpotModel()
    image = np.random.default_rng(3).uniform(0, 1, (1, H, W, 3))
    image[0, :, 4:] += 5                                   # a step: the imputation must bridge it
    road.road_logits(model, image, spot_first_map(), True, percents=[50], noise=0.0)
    imputed = model.seen[-1][0]
    assert np.all(imputed > -1e-12) and np.all(imputed < 6 + 1e-12)
    removed = road.removed_pixels(spot_first_map(), road.thresholds(spot_first_map(), np.array([50]), True)[:, 0],
                                  True)[0]
    np.testing.assert_array_equal(imputed[~removed], image[0][~removed])
    assert not np.allclose(imputed[removed], imputed[removed][0])


def test_the_area_is_the_trapezoid_rule_over_the_fractions_divided_by_their_span():
    x = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(road.road_area([[1.0, 0.5, 0.0], [1.0, 1.0, 1.0]], x), [0.5, 1.0])
    assert road.road_area([[0.25]], np.array([0.3]))[0] == 0.25


def test_each_image_is_scored_for_its_own_class():
    model = SpotModel()
    images = np.concatenate([spot_image(), spot_image()])
    maps = np.concatenate([spot_first_map(), spot_first_map()])
    curves = road.road_curves(model, images, maps, classes=[0, 1], noise=0.0)
    np.testing.assert_array_equal(curves["morf"], [np.zeros(9), np.ones(9)])


# -- the noise ------------------------------------------------------------------------------------
def test_the_noise_is_seeded_per_image_and_lies_only_on_the_removed_pixels():
    images = np.zeros((3, H, W, 3))
    maps = np.random.default_rng(1).random((3, H, W))
    runs = []
    for batch_size in (1, 5, 27):
        model = SpotModel()
        road.road_logits(model, images, maps, False, noise=0.01, seed=4, batch_size=batch_size)
        runs.append(np.concatenate(model.seen))
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    rows = runs[0].reshape(3, 9, H, W, 3)
    removed = road.removed_pixels(maps, road.thresholds(maps, np.array(road.PERCENTS), False)[:, 4], False)
    assert np.all(rows[:, 4][~removed] == 0) and np.all(rows[:, 4][removed] != 0)
    assert 0.008 < rows[rows != 0].std() < 0.012
    model = SpotModel()
    road.road_logits(model, images[1:], maps[1:], False, noise=0.01, seed=4, first=1)
    np.testing.assert_array_equal(np.concatenate(model.seen), runs[0][9:])       # image 1 keeps its noise


@pytest.mark.parametrize("percents", [[], [0, 50], [50, 100], [50, 40], [10.5]])
def test_percents_must_increase_within_1_to_99(percents):
    with pytest.raises(NpnetError, match="percents must be increasing whole numbers"):
        road.road_logits(SpotModel(), spot_image(), spot_first_map(), True, percents=percents)


def test_a_map_of_another_size_or_with_nan_is_an_error():
    with pytest.raises(NpnetError, match="maps of size"):
        road.road_logits(SpotModel(), spot_image(), np.zeros((1, 4, 4)), True)
    with pytest.raises(NpnetError, match="NaN or infinity"):
        road.road_logits(SpotModel(), spot_image(), np.full((1, H, W), np.nan), True)


# -- against pytorch-grad-cam ---------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")      # numpy on its torch tensors
def test_the_logits_are_pytorch_grad_cams_road_on_the_same_maps_and_images(monkeypatch):
    torch, grad_cam = grad_cam_road()
    from pytorch_grad_cam.metrics.perturbation_confidence import (PerturbationConfidenceMetric,
                                                                  RemoveLeastRelevantFirst, RemoveMostRelevantFirst)
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from npnet.bench import torch_twin
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(5)], input_shape=(H, W, 3),
                       seed=0)
    twin = torch_twin.from_npnet(model).eval()[1:]                # without the NHWC -> NCHW permute
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, H, W, 3)).astype(np.float32)
    maps = np.stack([rng.permutation(H * W).reshape(H, W) for _ in range(4)]).astype(np.float32) / 64
    maps[0, :4] = 0.5                                             # ties too; k / 64 keeps 1 - m exact
    logits = model.forward(x)
    classes = logits.argmax(axis=1)
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    x_nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    mine = {first: road.road_logits(model, x, maps, first, noise=0.0)[np.arange(4), :, classes]
            - logits[np.arange(4), classes][:, None] for first in (True, False)}
    for k, r in enumerate(road.PERCENTS):
        for first, remove in ((True, RemoveMostRelevantFirst), (False, RemoveLeastRelevantFirst)):
            metric = PerturbationConfidenceMetric(remove(100 - r, grad_cam.NoisyLinearImputer(noise=0.0)))
            np.testing.assert_allclose(mine[first][:, k], metric(x_nchw, maps, targets, twin), rtol=1e-4, atol=1e-5)
    monkeypatch.setattr(grad_cam.NoisyLinearImputer.__init__, "__defaults__", (0.0, grad_cam.neighbors_weights))
    combined = grad_cam.ROADCombined(percentiles=list(road.PERCENTS))(x_nchw, maps, targets, twin)
    np.testing.assert_allclose((mine[False].mean(axis=1) - mine[True].mean(axis=1)) / 2, combined, rtol=1e-4,
                               atol=1e-5)
