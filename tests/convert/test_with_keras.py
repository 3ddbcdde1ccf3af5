"""With real Keras (make test-all, the `keras` extra; Keras 3 on the PyTorch backend): the seed net built
in Keras as the seed's author built it, random weights, saved in each of Keras' formats, read by npnet
(h5py only) and giving Keras' logits on images (real GTSRB when NPNET_DATA is set)."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from npnet.convert import load_keras  # noqa: E402
from npnet.data.preprocessing import preprocess  # noqa: E402
from npnet.engine.seed_net import seed_net  # noqa: E402

from .conftest import relative_difference  # noqa: E402

pytestmark = pytest.mark.slow
MAX_RELATIVE = 1e-5


@pytest.fixture(scope="module")
def keras_seed(tmp_path_factory):
    """The seed's network in Keras (final softmax as the seed had it) and its files in every format."""
    layers = keras.layers
    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (2, 2), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (2, 2), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(256, activation="relu"), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"),
        layers.Dense(43, activation="softmax")])
    rng = np.random.default_rng(12)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([weights[0], rng.normal(0, 0.05, weights[1].shape).astype(np.float32)])
    folder = tmp_path_factory.mktemp("keras_seed")
    files = {"keras": folder / "seed.keras", "h5": folder / "seed.h5", "weights": folder / "seed.weights.h5"}
    model.save(files["keras"])
    model.save(files["h5"])
    model.save_weights(files["weights"])
    return model, files


def keras_logits(model, x):
    last = model.layers[-1]
    last.activation = keras.activations.linear
    try:
        return model.predict(x, verbose=0)
    finally:
        last.activation = keras.activations.softmax


@pytest.mark.parametrize("kind", ["keras", "h5", "weights"])
def test_the_seed_net_saved_by_keras_gives_keras_logits_in_npnet(keras_seed, images, kind):
    model, files = keras_seed
    net, metadata = load_keras(files[kind])
    x = preprocess(images, metadata["preprocessing"])
    assert relative_difference(net.forward(x), keras_logits(model, x)) < MAX_RELATIVE
    assert relative_difference(net.predict_proba(x), model.predict(x, verbose=0)) < MAX_RELATIVE


def test_the_imported_architecture_is_the_seed_net(keras_seed):
    net, _ = load_keras(keras_seed[1]["h5"])
    assert net.count_params() == seed_net().count_params() == 422_187
    assert [type(layer).__name__ for layer in net.layers] == [type(layer).__name__ for layer in seed_net().layers]
