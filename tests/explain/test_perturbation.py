"""Score-CAM, Ablation-CAM and occlusion against plain loops (one forward per channel or window); RISE's own
definition is checked in test_rise.py, and it shares the batching, class and dtype checks here."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain.gradcam import bilinear_upsample
from npnet.explain.perturbation import ablationcam, occlusion, scorecam, window_starts
from npnet.explain.rise import rise
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net

LAYER = "conv2d_1"


def tiny_net(dtype=np.float64, seed=0):
    """conv 3x3x4 relu -> maxpool 2 -> flatten -> dense 5, on 8x8x3; random biases."""
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(5)],
                       input_shape=(8, 8, 3), seed=seed)
    rng = np.random.default_rng(seed + 100)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.uniform(-0.2, 0.2, layer.params["bias"].shape).astype(np.float32)
    return model.astype(dtype)


def some_images(n=3, dtype=np.float64, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 8, 8, 3)).astype(dtype)


def predicted(model, images):
    return model.forward(images).argmax(axis=1)


def layers_above(model, activations):
    """The logits when the layers after LAYER are fed ``activations``, written out."""
    names = [layer.name for layer in model.layers]
    out = activations
    for layer in model.layers[names.index(LAYER) + 1:]:
        out = layer.forward(out)
    return out


# -- the definitions, one image and one channel or window at a time -------------------------------------
def scorecam_by_loop(model, image, c):
    model.forward(image[None])
    A = model.layer(LAYER).output[0].copy()
    total = np.zeros(A.shape[:2])
    for k in range(A.shape[2]):
        if A[:, :, k].max() == A[:, :, k].min():
            continue                                        # no mask: the authors skip the channel
        U = bilinear_upsample(A[None, :, :, k], image.shape[:2])[0]
        M = (U - U.min()) / (U.max() - U.min())
        z = model.forward((image * M[:, :, None])[None])[0]
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        total += p[c] * A[:, :, k]
    return np.maximum(total, 0)


def ablationcam_by_loop(model, image, c):
    y = model.forward(image[None])[0, c]
    A = model.layer(LAYER).output[0].copy()
    total = np.zeros(A.shape[:2])
    for k in range(A.shape[2]):
        ablated = A.copy()
        ablated[:, :, k] = 0
        y_k = layers_above(model, ablated[None])[0, c]
        total += (y - y_k) / y * A[:, :, k]
    return np.maximum(total, 0)


def occlusion_by_loop(model, image, c, window, stride, baseline):
    H, W, C = image.shape
    y = model.forward(image[None])[0, c]
    total, count = np.zeros((H, W)), np.zeros((H, W))
    top = 0
    while True:                                             # shift until the window reaches the edge
        left = 0
        while True:
            occluded = image.copy()
            occluded[top:top + window, left:left + window, :] = baseline
            total[top:top + window, left:left + window] += y - model.forward(occluded[None])[0, c]
            count[top:top + window, left:left + window] += 1
            if left + window >= W:
                break
            left += stride
        if top + window >= H:
            break
        top += stride
    mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return np.repeat(mean[:, :, None], C, axis=2)


def run(method, model, images, classes=None, **options):
    if method == "occlusion":
        return occlusion(model, images, classes, **options)
    if method == "rise":                                    # 200 masks, not 4000: the same code, quicker
        return rise(model, images, classes, **{"masks": 200, **options})
    function = scorecam if method == "scorecam" else ablationcam
    return function(model, images, classes, model.layer(LAYER), **options)


METHODS = ["scorecam", "ablationcam", "occlusion", "rise"]


# -- against the definitions ----------------------------------------------------------------------------
def test_scorecam_matches_a_loop_over_channels():
    model, images = tiny_net(), some_images()
    maps = run("scorecam", model, images)
    assert maps.shape == (3, 6, 6) and maps.dtype == np.float64
    for n, c in enumerate(predicted(model, images)):
        np.testing.assert_allclose(maps[n], scorecam_by_loop(model, images[n], c), rtol=1e-10, atol=1e-12)
    assert maps.max() > 0


def test_scorecam_gives_a_constant_channel_no_weight():
    model, images = tiny_net(), some_images()
    conv = model.layer(LAYER)
    conv.params["kernel"][..., 1] = 0
    conv.params["bias"][1] = 0.3                            # channel 1 is 0.3 everywhere: no mask
    maps = run("scorecam", model, images)
    for n, c in enumerate(predicted(model, images)):
        np.testing.assert_allclose(maps[n], scorecam_by_loop(model, images[n], c), rtol=1e-10, atol=1e-12)


def test_ablationcam_matches_a_loop_over_channels():
    model, images = tiny_net(), some_images()
    maps = run("ablationcam", model, images)
    assert maps.shape == (3, 6, 6) and maps.dtype == np.float64
    for n, c in enumerate(predicted(model, images)):
        np.testing.assert_allclose(maps[n], ablationcam_by_loop(model, images[n], c), rtol=1e-10, atol=1e-12)
    assert maps.max() > 0


@pytest.mark.parametrize("window, stride, baseline", [(4, 2, 0.0), (3, 2, 0.5), (3, 1, -1.0), (8, 1, 0.0)])
def test_occlusion_matches_a_loop_over_windows(window, stride, baseline):
    model, images = tiny_net(), some_images()
    attributions = occlusion(model, images, None, window=window, stride=stride, baseline=baseline)
    assert attributions.shape == images.shape and attributions.dtype == np.float64
    for n, c in enumerate(predicted(model, images)):
        expected = occlusion_by_loop(model, images[n], c, window, stride, baseline)
        np.testing.assert_allclose(attributions[n], expected, rtol=1e-10, atol=1e-12)


def test_occlusion_counts_windows_as_captum_with_a_cut_last_window():
    assert list(window_starts(8, 3, 2)) == [0, 2, 4, 6]     # ceil(5 / 2) + 1: the last one hangs over
    assert list(window_starts(32, 4, 2)) == list(range(0, 29, 2))
    assert list(window_starts(5, 5, 1)) == [0]


def test_occlusion_gives_zero_where_no_window_covers():
    model, images = tiny_net(), some_images()
    attributions = occlusion(model, images, None, window=2, stride=3)     # rows/columns 2 and 5 uncovered
    assert np.all(attributions[:, [2, 5], :, :] == 0) and np.all(attributions[:, :, [2, 5], :] == 0)
    for n, c in enumerate(predicted(model, images)):
        np.testing.assert_allclose(attributions[n], occlusion_by_loop(model, images[n], c, 2, 3, 0.0),
                                   rtol=1e-10, atol=1e-12)


# -- batching, classes, dtypes --------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch_size", [1, 7, 4096])
def test_batch_size_does_not_change_the_result(method, batch_size):
    model, images = tiny_net(), some_images()
    np.testing.assert_allclose(run(method, model, images, batch_size=batch_size), run(method, model, images),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_a_batch_of_images_equals_one_image_at_a_time(method):
    model, images = tiny_net(), some_images(4)
    classes = np.array([0, 3, 1, 4])
    together = run(method, model, images, classes)
    for n in range(len(images)):
        np.testing.assert_allclose(together[n], run(method, model, images[n:n + 1], classes[n])[0],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_classes_none_int_and_array(method):
    model, images = tiny_net(), some_images()
    np.testing.assert_array_equal(run(method, model, images, None),
                                  run(method, model, images, predicted(model, images)))
    np.testing.assert_array_equal(run(method, model, images, 2), run(method, model, images, np.full(3, 2)))
    per_image = run(method, model, images, [4, 0, 2])
    for n, c in enumerate([4, 0, 2]):
        np.testing.assert_array_equal(per_image[n], run(method, model, images, c)[n])
    with pytest.raises(NpnetError, match="out of range"):
        run(method, model, images, 5)


@pytest.mark.parametrize("method", METHODS)
def test_float32_model_agrees_with_float64(method):
    wide = run(method, tiny_net(np.float64), some_images(dtype=np.float64), 1)
    narrow = run(method, tiny_net(np.float32), some_images(dtype=np.float32), 1)
    assert narrow.dtype == np.float32
    np.testing.assert_allclose(narrow, wide, rtol=1e-3, atol=1e-4 * np.abs(wide).max())


# -- options --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, options, message", [
    ("scorecam", {"batch_size": 0}, "option batch_size must be a whole number from 1 to 4,096"),
    ("ablationcam", {"batch_size": 2.5}, "option batch_size must be a whole number from 1 to 4,096"),
    ("occlusion", {"batch_size": True}, "option batch_size must be a whole number from 1 to 4,096"),
    ("occlusion", {"window": 0}, "option window must be a whole number from 1 to 64"),
    ("occlusion", {"window": 9}, "window 9 is larger than the 8x8 image"),
    ("occlusion", {"stride": -1}, "option stride must be a whole number from 1 to 64"),
    ("scorecam", {"batch_size": 10**9}, "option batch_size must be a whole number from 1 to 4,096"),
    ("occlusion", {"stride": "2"}, "option stride must be a whole number from 1 to 64"),
    ("occlusion", {"baseline": float("nan")}, "baseline must be a finite number"),
    ("occlusion", {"baseline": np.inf}, "baseline must be a finite number"),
    ("occlusion", {"baseline": "zero"}, "baseline must be a finite number"),
    ("rise", {"batch_size": 0}, "option batch_size must be a whole number from 1 to 4,096"),
    ("rise", {"masks": 0}, "option masks must be a whole number from 1 to 20,000"),
])
def test_bad_options_raise_npnet_errors(method, options, message):
    with pytest.raises(NpnetError, match=message):
        run(method, tiny_net(), some_images(), **options)


def test_scorecam_on_the_seed_net_through_cam():
    try:
        from npnet.explain import methods
    except ImportError as error:                            # another family's file is not there yet
        pytest.skip(f"npnet.explain.methods does not import: {error}")
    images = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 32, 32, 3)).astype(np.float32)
    maps = methods.cam(seed_net(), images, "scorecam", batch_size=100)
    assert maps.shape == (2, 32, 32) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and (maps >= 0).all()
