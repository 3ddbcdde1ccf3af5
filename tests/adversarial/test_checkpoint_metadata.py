"""A checkpoint's metadata is validated like its weights: the preprocessing spec against the known
specs, class names as one string per class, the input shape, every layer's size, and the activation
memory of one image, each refused in one line naming the file, before any weight is allocated."""
import json

import h5py
import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.io.checkpoint_checks import MAX_IMAGE_BYTES
from npnet.data.names import OFFICIAL_NAMES
from npnet.io.errors import CheckpointError
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net

from .conftest import assert_one_line


def refused(path, **options):
    with pytest.raises(CheckpointError) as error:
        checkpoint.load(path, **options)
    return str(error.value)


def set_attr(path, key, value):
    with h5py.File(path, "a") as f:
        f.attrs[key] = json.dumps(value)


def edit_architecture(path, edit):
    with h5py.File(path, "a") as f:
        architecture = json.loads(f.attrs["architecture"])
        edit(architecture)
        f.attrs["architecture"] = json.dumps(architecture)


def never_built(monkeypatch):
    """Building the model (allocating its weights) fails the test: the refusal must come first."""
    monkeypatch.setattr(Sequential, "from_config", classmethod(lambda cls, config: pytest.fail("built")))


# -- preprocessing --------------------------------------------------------------------------------
def test_an_unknown_preprocessing_name_is_refused(checkpoint_file):
    set_attr(checkpoint_file, "preprocessing", {"name": "sharpen"})
    message = refused(checkpoint_file)
    assert_one_line(message, "model.h5: the preprocessing spec has name 'sharpen', expected one of seed")


def test_a_preprocessing_spec_that_is_not_an_object_is_refused(checkpoint_file):
    set_attr(checkpoint_file, "preprocessing", "seed")
    assert_one_line(refused(checkpoint_file), "model.h5: the preprocessing spec is a str, expected a JSON object")


def test_a_preprocessing_spec_with_unknown_keys_is_refused(checkpoint_file):
    set_attr(checkpoint_file, "preprocessing", {"name": "seed", "gamma": 2})
    assert_one_line(refused(checkpoint_file), "'seed' takes the keys name, got 'name, gamma'")


@pytest.mark.parametrize("mean, std, problem", [
    ([0.5, 0.5], [1, 1, 1], "'mean' is [0.5, 0.5], expected 3 finite numbers"),
    ([0, 0, 0], [1, None, 1], "'std' is [1, None, 1], expected 3 finite numbers"),
    ([0, 0, 10**400], [1, 1, 1], "'mean' is"),
    ([0, 0, 0], [1, 0, 1], "'std' is [1, 0, 1], expected numbers above 0"),
])
def test_a_standardize_spec_without_three_finite_means_and_positive_stds_is_refused(checkpoint_file, mean, std,
                                                                                    problem):
    set_attr(checkpoint_file, "preprocessing", {"name": "standardize", "mean": mean, "std": std})
    assert_one_line(refused(checkpoint_file), "model.h5: the preprocessing spec", problem)


def test_a_nan_in_a_standardize_spec_is_refused(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:   # json.dumps writes NaN, which json.loads reads back
        f.attrs["preprocessing"] = '{"name": "standardize", "mean": [0, NaN, 0], "std": [1, 1, 1]}'
    assert_one_line(refused(checkpoint_file), "'mean' is [0, nan, 0], expected 3 finite numbers")


def test_every_spec_fit_preprocessing_makes_is_accepted(tmp_path):
    from npnet.data.preprocessing import PREPROCESSING_METHODS, fit_preprocessing
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    for method in PREPROCESSING_METHODS:
        path = tmp_path / f"{method}.h5"
        checkpoint.save(seed_net(), path, preprocessing=fit_preprocessing(method, images))
        assert checkpoint.load(path)[1]["preprocessing"]["name"] == method


def test_a_checkpoint_without_preprocessing_or_class_names_still_loads(tmp_path):
    checkpoint.save(seed_net(), tmp_path / "weights.h5")
    _, metadata = checkpoint.load(tmp_path / "weights.h5")
    assert metadata["preprocessing"] is None and metadata["class_names"] is None


# -- class names ----------------------------------------------------------------------------------
def test_class_names_of_the_wrong_length_are_refused_not_replaced(checkpoint_file):
    set_attr(checkpoint_file, "class_names", list(OFFICIAL_NAMES[:42]))
    assert_one_line(refused(checkpoint_file), "model.h5: class_names has 42 names, but the network has 43 classes")


def test_class_names_that_are_not_a_list_are_refused(checkpoint_file):
    set_attr(checkpoint_file, "class_names", "Stop")
    assert_one_line(refused(checkpoint_file), "model.h5: class_names is Stop, expected a list of strings")


def test_class_names_that_are_not_all_strings_are_refused(checkpoint_file):
    set_attr(checkpoint_file, "class_names", list(OFFICIAL_NAMES[:42]) + [42])
    assert_one_line(refused(checkpoint_file), "class_names is", "expected a list of strings")


def test_metadata_that_overrides_class_names_is_refused(checkpoint_file):
    set_attr(checkpoint_file, "metadata", {"class_names": ["x"] * 43})
    message = refused(checkpoint_file)
    assert_one_line(message, "attribute 'metadata' holds 'class_names', which has an attribute of its own")


# -- input shape ----------------------------------------------------------------------------------
def test_a_network_not_taking_32x32x3_images_is_refused_where_images_are_fed(tmp_path):
    path = tmp_path / "small.h5"
    checkpoint.save(Sequential([Flatten(), Dense(4)], input_shape=(2, 2, 1)), path)
    assert checkpoint.load(path)[0].input_shape == (None, 2, 2, 1)        # a library user may load it
    message = refused(path, input_shape=checkpoint.IMAGE_INPUT)
    assert_one_line(message, "small.h5: the network takes input of shape (2, 2, 1), not the 32x32x3 images")


def test_the_seed_net_passes_the_image_input_check(checkpoint_file):
    model, _ = checkpoint.load(checkpoint_file, input_shape=checkpoint.IMAGE_INPUT)
    assert model.input_shape == (None, 32, 32, 3)


@pytest.mark.parametrize("shape", [[32, 32, 0], [32, -32, 3], [32.0, 32, 3], [32, 32, 3, 1], "32x32x3", [True, 32, 3]])
def test_an_input_shape_that_is_not_positive_whole_numbers_is_refused(checkpoint_file, shape, monkeypatch):
    edit_architecture(checkpoint_file, lambda a: a.update(input_shape=shape))
    never_built(monkeypatch)
    assert_one_line(refused(checkpoint_file), "model.h5: the input shape", "is not 1 to 3 whole numbers of at least 1")


# -- layer sizes ----------------------------------------------------------------------------------
def test_a_zero_unit_dense_layer_is_refused(checkpoint_file, monkeypatch):
    edit_architecture(checkpoint_file, lambda a: a["layers"][-2]["config"].update(units=0))
    never_built(monkeypatch)
    assert_one_line(refused(checkpoint_file), "model.h5: architecture cannot be built: layer 'dense_3' has units 0")


def test_a_zero_filter_conv_layer_is_refused(checkpoint_file, monkeypatch):
    edit_architecture(checkpoint_file, lambda a: a["layers"][0]["config"].update(filters=0))
    never_built(monkeypatch)
    assert_one_line(refused(checkpoint_file), "layer 'conv2d_1' has filters 0; it must be at least 1")


def test_a_negative_kernel_size_is_refused(checkpoint_file, monkeypatch):
    edit_architecture(checkpoint_file, lambda a: a["layers"][0]["config"].update(kernel_size=[-3, -3]))
    never_built(monkeypatch)
    assert_one_line(refused(checkpoint_file), "layer 'conv2d_1' has kernel_height -3; it must be at least 1")


def test_a_network_that_does_not_end_in_class_scores_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "maps.h5"
    checkpoint.save(Sequential([Conv2D(4, 3)], input_shape=(32, 32, 3)), path)
    never_built(monkeypatch)
    assert_one_line(refused(path), "maps.h5: the network's output has shape (None, 30, 30, 4), expected class scores")


def test_an_architecture_of_too_many_layers_is_refused(checkpoint_file, monkeypatch):
    edit_architecture(checkpoint_file, lambda a: a["layers"].__setitem__(
        slice(7, 7), [{"type": "ReLU", "name": f"relu_{i}", "config": {}} for i in range(2000)]))
    never_built(monkeypatch)
    assert_one_line(refused(checkpoint_file), "the architecture has 2,012 layers, more than 1,000")


# -- activation memory ----------------------------------------------------------------------------
def wide_net():
    """4.7 million parameters (under the 100 million cap), but 100,000 channels at 32x32: about
    1.5 GiB of activations for one image in a training step."""
    return Sequential([Conv2D(100_000, 1), MaxPool2D(32), Flatten(), Dense(43)], input_shape=(32, 32, 3))


def test_a_wide_net_over_the_activation_cap_for_one_image_is_refused_before_it_is_built(tmp_path, monkeypatch):
    path = tmp_path / "wide.h5"
    checkpoint.save(wide_net(), path, class_names=list(OFFICIAL_NAMES), preprocessing={"name": "seed"})
    never_built(monkeypatch)
    message = refused(path)
    assert_one_line(message, "wide.h5: one image needs about", "MiB of activations in a training step",
                    f"more than {MAX_IMAGE_BYTES // 2**20} MiB; refused before allocating anything")
