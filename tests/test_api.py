"""The public API at the top of the package: npnet.seed_net, load, save, preprocess, and npnet.explain."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import npnet
from npnet.data import preprocessing
from npnet.engine.model import Sequential
from npnet.io import checkpoint

FIXTURES = Path(__file__).resolve().parent / "convert" / "fixtures"
SPEC = {"name": "standardize", "mean": [86.7, 79.6, 81.9], "std": [68.0, 64.9, 66.1]}


def images(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 32, 32, 3)).astype(np.uint8)


def test_seed_net_is_the_seeds_network():
    model = npnet.seed_net()
    assert isinstance(model, Sequential)
    assert model.count_params() == 422_187
    assert [layer.name for layer in model.layers][:2] == ["conv2d_1", "max_pooling2d_1"]
    assert model.output_shape == (None, 43)


def test_seed_net_passes_its_options_on():
    model = npnet.seed_net(num_classes=7, seed=3, dropout=0.25)
    assert model.output_shape == (None, 7) and model.layer("dropout_1").rate == 0.25
    np.testing.assert_array_equal(model.layer("dense_1").params["kernel"],
                                  npnet.seed_net(seed=3).layer("dense_1").params["kernel"])


def test_save_then_load_gives_the_same_model_and_metadata(tmp_path):
    model = npnet.seed_net(seed=5)
    names = [f"class {k}" for k in range(43)]
    npnet.save(model, tmp_path / "net.h5", preprocessing=SPEC, class_names=names, epoch=3)
    loaded, metadata = npnet.load(tmp_path / "net.h5")
    x = npnet.preprocess(images(4), metadata["preprocessing"])
    np.testing.assert_array_equal(loaded.predict_logits(x), model.predict_logits(x))
    assert metadata["preprocessing"] == SPEC and metadata["class_names"] == names and metadata["epoch"] == 3


def test_save_writes_what_the_checkpoint_module_reads(tmp_path):
    npnet.save(npnet.seed_net(), tmp_path / "net.h5", preprocessing={"name": "seed"})
    _, metadata = checkpoint.load(tmp_path / "net.h5")
    assert metadata["preprocessing"] == {"name": "seed"} and metadata["class_names"] is None


def test_load_reads_a_keras_file_by_its_content():
    model, metadata = npnet.load(FIXTURES / "keras3.keras")
    expected = np.load(FIXTURES / "keras3_logits.npz")
    x = npnet.preprocess(expected["images"], metadata["preprocessing"])
    np.testing.assert_allclose(model.predict_logits(x), expected["logits"], rtol=0,
                               atol=1e-5 * np.abs(expected["logits"]).max())


def test_load_refuses_a_file_that_is_no_model_in_one_line(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a model")
    with pytest.raises(npnet.io.errors.CheckpointError, match="notes.h5"):
        npnet.load(path)


@pytest.mark.parametrize("spec", [{"name": "seed"}, SPEC, {"name": "center_standardize"}])
def test_preprocess_is_the_data_pipelines(spec):
    x = images(3)
    np.testing.assert_array_equal(npnet.preprocess(x, spec), preprocessing.preprocess(x, spec))
    assert npnet.preprocess(x, spec).dtype == np.float32


def test_explain_is_reached_from_the_package():
    model = npnet.seed_net()
    x = npnet.preprocess(images(2), {"name": "seed"})
    maps = npnet.explain.cam(model, x, "gradcam")
    np.testing.assert_array_equal(maps, npnet.explain.grad_cam(model, x))
    assert npnet.explain.attribution(model, x, "saliency").shape == (2, 32, 32, 3)


def test_importing_npnet_loads_neither_numpy_nor_any_part():
    code = ("import sys; import npnet; "
            "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('npnet.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'layers'"):
        npnet.layers
