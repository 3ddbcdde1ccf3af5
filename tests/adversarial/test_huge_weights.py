"""Finite but huge weights: the network's output overflows float32. One line naming the model, no NaN%."""
import numpy as np
import pytest

from npnet.engine.seed_net import seed_net
from npnet.io import checkpoint
from npnet.io.errors import NonFiniteError

from .conftest import assert_one_line_error, run_script, write_dataset


def huge(seed=0):
    model = seed_net(seed=seed)
    for layer in model.layers:
        for key in layer.params:
            layer.params[key] = layer.params[key] * np.float32(1e30) + np.float32(1e30)
    return model


def test_predict_proba_refuses_logits_that_are_not_finite():
    x = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    with pytest.raises(NonFiniteError, match="image 0 is not finite"):
        huge().predict_proba(x)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_the_tools_name_the_model_whose_output_overflows(tmp_path, command):
    path = tmp_path / "huge.h5"
    checkpoint.save(huge(), path, preprocessing={"name": "seed"})
    data = write_dataset(tmp_path / "data")
    image = tmp_path / "sign.png"
    from PIL import Image
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    target = [image] if command == "predict" else ["--data", data / "valid.p"]
    result = run_script("explain.py", command, "--model", path, *target, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "huge.h5: the network's output for image 0 is not finite")
    assert "nan%" not in result.stdout


def test_preprocessing_statistics_that_overflow_are_blamed_on_the_checkpoint(tmp_path):
    from PIL import Image
    path = tmp_path / "tiny std.h5"
    spec = {"name": "standardize", "mean": [0.0, 0.0, 0.0], "std": [1e-44, 1e-44, 1e-44]}
    checkpoint.save(seed_net(), path, preprocessing=spec)
    image = tmp_path / "sign.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(image)
    result = run_script("explain.py", "predict", "--model", path, image, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "tiny std.h5: the checkpoint's preprocessing 'standardize'",
                          "not finite")
