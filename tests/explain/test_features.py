"""feature_maps: every Conv2D and MaxPool2D layer's activations for a batch, by layer name."""
import numpy as np
import pytest

from npnet.explain import feature_map_layers, feature_maps
from npnet.engine.layers import Conv2D
from npnet.engine.seed_net import seed_net
from tolerances import assert_same_sums


@pytest.fixture(scope="module")
def net():
    return seed_net()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(-0.5, 0.5, (2, 32, 32, 3)).astype(np.float32)


def test_default_is_every_conv_and_pool_layer_in_order(net, images):
    assert list(feature_maps(net, images)) == ["conv2d_1", "max_pooling2d_1", "conv2d_2",
                                               "max_pooling2d_2", "conv2d_3", "max_pooling2d_3"]


def test_maps_have_the_layers_output_shape(net, images):
    shapes = {name: maps.shape for name, maps in feature_maps(net, images).items()}
    assert shapes["conv2d_1"] == (2, 30, 30, 32)
    assert shapes["max_pooling2d_1"] == (2, 15, 15, 32)
    assert shapes["conv2d_3"] == (2, 6, 6, 128)


def test_maps_are_the_activations_after_relu(net, images):
    maps = feature_maps(net, images, layers=["conv2d_1"])["conv2d_1"]
    kernel, bias = net.layer("conv2d_1").params["kernel"], net.layer("conv2d_1").params["bias"]
    patch = images[0, 4:7, 9:12, :]                          # the 3x3 window of output (4, 9)
    expected = np.maximum(np.einsum("ijc,ijcf->f", patch, kernel) + bias, 0)
    scale = np.einsum("ijc,ijcf->f", np.abs(patch), np.abs(kernel)) + np.abs(bias)  # 27 products and the bias
    assert_same_sums(maps[0, 4, 9], expected, scale, 28)


def test_asked_layers_only(net, images):
    assert list(feature_maps(net, images, layers=["conv2d_2"])) == ["conv2d_2"]


def test_maps_survive_a_later_forward(net, images):
    maps = feature_maps(net, images, layers=["conv2d_3"])["conv2d_3"]
    kept = maps.copy()
    net.forward(images[::-1].copy())
    np.testing.assert_array_equal(maps, kept)


def test_conv_layers_can_be_listed_alone(net):
    assert feature_map_layers(net, kinds=(Conv2D,)) == ["conv2d_1", "conv2d_2", "conv2d_3"]


def test_unknown_layer_is_a_key_error(net, images):
    with pytest.raises(KeyError, match="conv2d_9"):
        feature_maps(net, images, layers=["conv2d_9"])
