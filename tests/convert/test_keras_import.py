"""Keras files read by npnet.convert.load_keras (h5py and json only): the committed fixtures, written by
real Keras (fixtures/make_fixtures.py), give the logits Keras computed, and the layers keep their names."""
from pathlib import Path

import numpy as np
import pytest

from npnet.convert import load_keras
from npnet.engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from npnet.engine.model import Sequential
from npnet.data.preprocessing import preprocess
from npnet.engine.seed_net import seed_net

from .keras_files import config_of, keras_zip, legacy_h5, random_weights, vars_h5, weights_of

FIXTURES = Path(__file__).parent / "fixtures"
# Keras and npnet add the same products in different orders: float32 rounding, far below this
MAX_RELATIVE = 1e-5


def relative_difference(actual, expected):
    """max |actual - expected| / max |expected|: the issue's measure of a round trip."""
    return float(np.abs(actual.astype(np.float64) - expected).max() / np.abs(expected).max())


def fixture_architecture():
    """The fixtures' model as npnet layers (for the weights-only files, which hold no architecture)."""
    return Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Conv2D(6, 2, padding="same"), ReLU(),
                       Flatten(), Dropout(0.25), Dense(8, activation="relu"), Dense(5)], input_shape=(8, 8, 3))


WHOLE_MODELS = [("keras3.keras", "keras3"), ("keras3.h5", "keras3"), ("keras2.h5", "keras2"), ("keras2.keras", "keras2"),
                ("keras3_functional.keras", "keras3")]
WEIGHTS_ONLY = [("keras3.weights.h5", "keras3"), ("keras2_weights.h5", "keras2")]


@pytest.mark.parametrize("name, reference", WHOLE_MODELS + WEIGHTS_ONLY)
def test_a_keras_fixture_gives_the_logits_keras_computed(name, reference):
    stored = np.load(FIXTURES / f"{reference}_logits.npz")
    architecture = fixture_architecture() if (name, reference) in WEIGHTS_ONLY else None
    model, metadata = load_keras(FIXTURES / name, architecture=architecture)
    logits = model.forward(preprocess(stored["images"], metadata["preprocessing"]))
    assert relative_difference(logits, stored["logits"]) < MAX_RELATIVE
    probabilities = model.predict_proba(preprocess(stored["images"], metadata["preprocessing"]))
    assert relative_difference(probabilities, stored["probabilities"]) < MAX_RELATIVE


@pytest.mark.parametrize("name, reference", WHOLE_MODELS)
def test_the_final_softmax_is_recorded_and_left_out_of_the_logits(name, reference):
    model, metadata = load_keras(FIXTURES / name)
    assert metadata["final_softmax"] is True
    assert type(model.layers[-1]).__name__ == "Dense" and model.layers[-1].activation is None


@pytest.mark.parametrize("name", ["keras3.keras", "keras3.h5", "keras3_functional.keras"])
def test_layers_keep_their_keras_names(name):
    model, _ = load_keras(FIXTURES / name)
    assert [layer.name for layer in model.layers] == [
        "conv2d", "max_pooling2d", "conv2d_1", "re_lu", "flatten", "dropout", "dense_1", "activation", "dense"]


def test_keras2_records_its_version_and_backend():
    _, metadata = load_keras(FIXTURES / "keras2.h5")
    assert (metadata["keras_version"], metadata["backend"]) == ("2.21.0", "tensorflow")
    assert metadata["left_out"] == ["activation"]      # the separate softmax layer


def test_the_seed_preprocessing_is_assumed_unless_told():
    _, assumed = load_keras(FIXTURES / "keras3.keras")
    assert assumed["preprocessing"] == {"name": "seed"} and assumed["preprocessing_assumed"] is True
    _, told = load_keras(FIXTURES / "keras3.keras", preprocessing="image_standardize")
    assert told["preprocessing"] == {"name": "image_standardize"} and told["preprocessing_assumed"] is False


def test_a_full_standardize_spec_is_accepted_on_request():
    spec = {"name": "standardize", "mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 6.0]}
    assert load_keras(FIXTURES / "keras3.keras", preprocessing=spec)[1]["preprocessing"] == spec


def test_weights_only_default_to_the_seed_net(tmp_path):
    source = random_weights(seed_net(num_classes=7, seed=3))
    path = tmp_path / "seed.weights.h5"
    vars_h5(path, config_of(source), weights_of(source))
    model, metadata = load_keras(path)
    assert model.get_config()["layers"] == seed_net(num_classes=7).get_config()["layers"]
    assert "seed net" in metadata["keras_format"]
    for key, value in source.params().items():
        assert np.array_equal(model.params()[key], value), key


@pytest.mark.parametrize("write", [keras_zip, legacy_h5])
def test_a_seed_net_written_in_keras_layouts_gives_npnet_logits(tmp_path, write, rng):
    source = random_weights(seed_net(seed=1))
    path = write(tmp_path / "seed_model", config_of(source), weights_of(source))
    model, _ = load_keras(path)
    x = rng.uniform(-0.5, 0.5, (3, 32, 32, 3)).astype(np.float32)
    assert np.array_equal(model.forward(x), source.forward(x))       # same weights, same engine: same bits


def test_a_conv_without_bias_keeps_a_zero_bias(tmp_path):
    from .keras_files import layer, sequential
    config = sequential([layer("Conv2D", "conv", filters=2, kernel_size=[3, 3], use_bias=False, activation="relu"),
                         layer("Flatten", "flat"), layer("Dense", "out", units=3)])
    kernel = np.ones((3, 3, 3, 2), np.float32)
    path = legacy_h5(tmp_path / "nobias.h5", config, {"conv": [kernel], "out": [np.ones((72, 3), np.float32),
                                                                              np.zeros(3, np.float32)]})
    model, _ = load_keras(path)
    assert np.array_equal(model.layer("conv").params["kernel"], kernel)
    assert np.array_equal(model.layer("conv").params["bias"], np.zeros(2, np.float32))


def test_a_keras_2_0_era_file_is_read(tmp_path, rng):
    """Keras 2.0-2.2 (the seed's era): the config is a list of layers, the input shape sits on the first
    Conv2D as batch_input_shape, names count from 1, attributes are fixed-length byte strings."""
    import h5py
    source = random_weights(seed_net(seed=8))
    config = config_of(source)
    layers = config["config"]["layers"][1:]                       # no InputLayer
    layers[0]["config"]["batch_input_shape"] = [None, 32, 32, 3]
    old = {"class_name": "Sequential", "config": layers}
    path = legacy_h5(tmp_path / "seed_2017.h5", old, weights_of(source), keras_version="2.0.8")
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = np.bytes_(f.attrs["model_config"].encode())
        f.attrs["keras_version"] = np.bytes_(b"2.0.8")
    model, metadata = load_keras(path)
    assert metadata["keras_version"] == "2.0.8" and model.layers[0].name == "conv2d_1"
    x = rng.uniform(-0.5, 0.5, (2, 32, 32, 3)).astype(np.float32)
    assert np.array_equal(model.forward(x), source.forward(x))
