"""Every layer type is taught to every place that must know it (docs/adding-a-layer.md).

``every_layer_net`` holds one layer of each type in ``LAYER_TYPES``; the first test fails when a type is
registered but missing here, and each test after it fails when one place does not know a type: the
cache-free inference step, the gradient check, the checkpoint and its checks,
the memory estimate, the Keras import, the ONNX and PyTorch exports and the benchmark's PyTorch twin.
"""
import numpy as np
import pytest

from npnet.engine.gradcheck import check_model
from npnet.engine.layers import LAYER_TYPES, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from npnet.engine.model import Sequential
from npnet.io import checkpoint
from npnet.io.checkpoint_checks import plan
from npnet.runtime.memory import training_bytes_per_image

INPUT_SHAPE = (8, 8, 3)


def assert_close(actual, expected):
    """The same logits up to float32 rounding: max |a - b| / max |b| < 1e-5. Each logit here sums at
    most 80 products of values near 1 (float32 rounding ~1e-7 of that); a layer computed wrongly
    moves it by a large fraction of itself."""
    expected = np.asarray(expected, dtype=np.float64)
    difference = np.abs(np.asarray(actual, dtype=np.float64) - expected).max() / np.abs(expected).max()
    assert difference < 1e-5, difference


def every_layer_net():
    """One layer of every type, each with weights that are not zero."""
    model = Sequential([
        Conv2D(4, 3, activation="relu", padding="same"),
        MaxPool2D(2),
        Conv2D(5, 2),
        ReLU(),
        Flatten(),
        Dropout(0.25, seed=1),
        Dense(6, activation="relu"),
        Dense(3),
    ], input_shape=INPUT_SHAPE, seed=3)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.normal(0, 0.1, layer.params["bias"].shape).astype(np.float32)
    return model


@pytest.fixture
def net():
    return every_layer_net()


@pytest.fixture
def x():
    return np.random.default_rng(1).standard_normal((5,) + INPUT_SHAPE).astype(np.float32)


def test_the_net_holds_one_layer_of_every_registered_type(net):
    assert {type(layer).__name__ for layer in net.layers} == set(LAYER_TYPES)


@pytest.mark.parametrize("name", sorted(LAYER_TYPES))
def test_every_layer_type_has_its_own_cache_free_inference_step(name):
    assert LAYER_TYPES[name].infer is not Layer.infer


def test_the_cache_free_forward_gives_the_cached_forwards_logits(net, x):
    assert_close(net.predict_logits(x), net.forward(x, training=False))


def test_the_backward_of_every_layer_type_passes_the_gradient_check(net):
    model = net.astype(np.float64)
    x = np.random.default_rng(2).standard_normal((3,) + INPUT_SHAPE)
    errors = check_model(model, x, np.array([0, 1, 2]))
    assert max(errors.values()) < 1e-6, errors


def test_a_checkpoint_keeps_every_layer_type_and_its_checks_count_every_parameter(net, x, tmp_path):
    assert plan(net.get_config()) == net.count_params()
    checkpoint.save(net, tmp_path / "net.h5")
    loaded, _ = checkpoint.load(tmp_path / "net.h5")
    np.testing.assert_array_equal(loaded.predict_logits(x), net.predict_logits(x))


def test_the_memory_estimate_counts_every_layer(net):
    outputs = sum(int(np.prod(layer.output_shape[1:])) for layer in net.layers)
    assert training_bytes_per_image(net) >= 2 * 4 * outputs


@pytest.mark.parametrize("name", sorted(LAYER_TYPES))
def test_the_keras_import_reads_every_layer_type(name):
    from npnet.convert.keras_config import HANDLERS
    cls = LAYER_TYPES[name]
    assert (cls.keras_type or cls.__name__) in HANDLERS


def test_the_onnx_export_computes_every_layer_type(net, x):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from npnet.convert.onnx_export import to_onnx
    session = onnxruntime.InferenceSession(to_onnx(net).SerializeToString(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    assert_close(logits, net.predict_logits(x))


def torch_module(kind, net):
    """The net as a PyTorch module: the export (``to_torch``) or the benchmark's twin (``from_npnet``)."""
    if kind == "export":
        from npnet.convert.torch_export import to_torch
        return to_torch(net)
    from npnet.bench.torch_twin import from_npnet
    return from_npnet(net)


@pytest.mark.parametrize("kind", ["export", "benchmark twin"])
def test_pytorch_computes_every_layer_type(net, x, kind):
    torch = pytest.importorskip("torch")
    module = torch_module(kind, net).eval()
    with torch.no_grad():
        logits = module(torch.from_numpy(x)).numpy()
    assert_close(logits, net.predict_logits(x))
