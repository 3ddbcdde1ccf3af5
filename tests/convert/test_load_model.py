"""load_model tells an npnet checkpoint from a Keras file by content, not by name, and every explain.py
command that takes --model reads either."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from npnet.io import checkpoint
from npnet.io.load import load_model
from npnet.io.errors import CheckpointError
from npnet.engine.seed_net import seed_net

from .keras_files import config_of, keras_zip, legacy_h5, random_weights, weights_of

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def keras_seed(tmp_path_factory):
    """A seed net with random weights, in a Keras 2 legacy .h5 and a Keras 3 .keras, and as npnet's."""
    folder = tmp_path_factory.mktemp("keras")
    source = random_weights(seed_net(seed=4))
    return {"net": source, "h5": legacy_h5(folder / "seed_model.h5", config_of(source), weights_of(source)),
            "keras": keras_zip(folder / "seed_model.keras", config_of(source), weights_of(source))}


def test_an_npnet_checkpoint_named_like_a_keras_file_is_read_as_npnet(tmp_path):
    path = tmp_path / "model.keras"
    checkpoint.save(seed_net(), path, preprocessing={"name": "equalize"})
    assert load_model(path)[1]["preprocessing"] == {"name": "equalize"}


def test_a_keras_file_named_anything_is_read_as_keras(tmp_path):
    path = tmp_path / "weights.ckpt"
    path.write_bytes((FIXTURES / "keras2.h5").read_bytes())
    model, metadata = load_model(path)
    assert metadata["keras_version"] == "2.21.0" and model.layers[0].name == "conv2d"


def test_a_keras_file_of_another_input_shape_is_refused_for_images():
    with pytest.raises(CheckpointError, match=r"takes input of shape \(8, 8, 3\), not the 32x32x3 images"):
        load_model(FIXTURES / "keras3.keras", input_shape=checkpoint.IMAGE_INPUT)


def test_a_preprocessing_for_an_npnet_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.h5"
    checkpoint.save(seed_net(), path, preprocessing={"name": "seed"})
    with pytest.raises(CheckpointError, match="records its own preprocessing"):
        load_model(path, preprocessing={"name": "image_standardize"})


def test_an_hdf5_file_of_neither_kind_keeps_the_checkpoint_error(tmp_path):
    path = tmp_path / "plain.h5"
    import h5py
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(CheckpointError, match="not an npnet checkpoint"):
        load_model(path)


def explain(*args):
    return subprocess.run([sys.executable, str(ROOT / "explain.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind", ["h5", "keras"])
def test_explain_predicts_from_a_keras_file(tmp_path, keras_seed, kind):
    image = tmp_path / "sign.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(image)
    result = explain("predict", "--model", keras_seed[kind], image, "--json", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    npnet_file = tmp_path / "seed.h5"
    checkpoint.save(keras_seed["net"], npnet_file, preprocessing={"name": "seed"})
    same = explain("predict", "--model", npnet_file, image, "--json", "--out", tmp_path / "out")
    assert result.stdout == same.stdout


def test_explain_gradcam_runs_on_a_keras_file(tmp_path, keras_seed):
    image = tmp_path / "sign.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(image)
    result = explain("gradcam", "--model", keras_seed["keras"], image, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "out").glob("*.png"))


def test_explain_refuses_an_unsupported_keras_file_in_one_line(tmp_path):
    path = tmp_path / "model.keras"
    config = config_of(seed_net())
    config["config"]["layers"][1]["config"]["strides"] = [2, 2]
    keras_zip(path, config, {})
    result = explain("predict", "--model", path, "x.png", "--out", tmp_path / "out")
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"explain.py: {path}: layer 'conv2d_1' (Conv2D): strides [2, 2]; npnet would need stride 1 " \
                       "(a strided convolution)"


def test_explain_report_runs_on_a_keras_file_and_says_no_recipe_was_recorded(tmp_path, keras_seed):
    import pickle
    rng = np.random.default_rng(2)
    split = {"features": rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8),
             "labels": rng.integers(0, 43, 12).astype(np.uint8), "sizes": np.full((12, 2), 32, dtype=np.int32),
             "coords": np.tile(np.array([2, 2, 30, 30], dtype=np.int32), (12, 1))}
    with open(tmp_path / "test.p", "wb") as handle:
        pickle.dump(split, handle)
    result = explain("report", "--model", keras_seed["keras"], "--data", tmp_path / "test.p", "--methods", "gradcam",
                     "--limit", 2, "--faithfulness-images", 0, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "report.html").read_text()
    assert "not recorded in the checkpoint" in page and "no history.json beside the checkpoint" in page
    assert "(assumed: a Keras file does not record it)" in page and "read from" in page
