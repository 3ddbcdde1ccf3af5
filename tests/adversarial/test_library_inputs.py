"""The explanation library checks its arguments: 0 images, NaN or infinite images, the wrong shape,
labels outside 0..K-1, the wrong number of classes and top < 1 are NpnetErrors naming the argument,
raised before anything is computed, never a reshape error or a silent NaN."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain import attribution, cam, classify, feature_maps, grad_cam, predict
from npnet.engine.seed_net import seed_net


@pytest.fixture(scope="module")
def net():
    return seed_net()


def images(n, fill=None):
    x = np.random.default_rng(0).standard_normal((n, 32, 32, 3)).astype(np.float32)
    if fill is not None:
        x[-1, 5, 5, 1] = fill
    return x


EXPLAINERS = {
    "grad_cam": lambda net, x: grad_cam(net, x),
    "cam": lambda net, x: cam(net, x, "scorecam"),
    "attribution": lambda net, x: attribution(net, x, "integrated_gradients"),
    "feature_maps": lambda net, x: feature_maps(net, x),
    "predict": lambda net, x: predict(net, x),
    "evaluate": lambda net, x: classify(net, x, np.zeros(len(x), dtype=np.int64)),
}


@pytest.mark.parametrize("name", EXPLAINERS)
def test_no_images_is_an_error_naming_the_argument(net, name):
    with pytest.raises(NpnetError, match=r"images: no images \(N = 0\)"):
        EXPLAINERS[name](net, images(0))


@pytest.mark.parametrize("name", EXPLAINERS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_image_is_an_error_not_a_nan_map(net, name, value):
    with pytest.raises(NpnetError, match="images: 1 of 3 images hold NaN or infinite values"):
        EXPLAINERS[name](net, images(3, fill=value))


@pytest.mark.parametrize("name", EXPLAINERS)
def test_images_of_the_wrong_shape_are_an_error(net, name):
    with pytest.raises(NpnetError, match=r"images: expected shape \(N, 32, 32, 3\), got \(2, 32, 32\)"):
        EXPLAINERS[name](net, images(2)[..., 0])


@pytest.mark.parametrize("labels, message", [
    ([0, 43], "labels: label 43 is outside 0..42"),
    ([-1, 0], "labels: label -1 is outside 0..42"),
    ([0], r"labels: expected one label per image, shape \(2,\), got \(1,\)"),
    ([0.5, 1.0], "labels: expected whole numbers"),
])
def test_evaluate_refuses_labels_it_cannot_count(net, labels, message):
    with pytest.raises(NpnetError, match=message):
        classify(net, images(2), np.array(labels))


@pytest.mark.parametrize("classes", [[1, 2], [[1, 2, 3]], [0.5, 1.5, 2.5]])
def test_classes_must_be_one_id_or_one_per_image(net, classes):
    with pytest.raises(NpnetError, match="classes: expected one class id or 3"):
        grad_cam(net, images(3), classes=classes)


@pytest.mark.parametrize("top", [0, -1, 2.5, True])
def test_predict_refuses_a_top_below_one(net, top):
    with pytest.raises(NpnetError, match="top: expected a whole number >= 1"):
        predict(net, images(1), top=top)
