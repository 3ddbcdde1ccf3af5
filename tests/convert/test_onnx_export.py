"""npnet -> ONNX: onnxruntime gives npnet's logits (max relative difference < 1e-5 in float32), the
graph is what the issue names (opset 17, input 'input' NHWC with a dynamic batch, output 'logits'),
and the preprocessing travels in the metadata or, on request, as ops."""
import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from npnet.convert import export_onnx  # noqa: E402
from npnet.convert.onnx_export import to_onnx  # noqa: E402
from npnet.io.errors import NpnetError  # noqa: E402
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from npnet.engine.model import Sequential  # noqa: E402
from npnet.data.preprocessing import preprocess  # noqa: E402

from .conftest import relative_difference  # noqa: E402

MAX_RELATIVE = 1e-5
SPECS = [{"name": "seed"}, {"name": "standardize", "mean": [86.7, 79.6, 81.9], "std": [68.0, 64.9, 66.1]},
         {"name": "image_standardize"}, {"name": "center_standardize"}]


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def test_onnxruntime_gives_npnets_logits(tmp_path, net, images):
    path = export_onnx(net, tmp_path / "net.onnx", {"preprocessing": {"name": "seed"}})
    x = preprocess(images, {"name": "seed"})
    assert relative_difference(run(path, x), net.forward(x)) < MAX_RELATIVE


def test_the_graph_has_the_named_input_and_output_with_a_dynamic_batch(tmp_path, net, images):
    proto = onnx.load(export_onnx(net, tmp_path / "net.onnx"))
    assert [op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")][0] >= 17
    (given,), (taken,) = proto.graph.input, proto.graph.output
    assert given.name == "input" and taken.name == "logits"
    dims = [d.dim_param or d.dim_value for d in given.type.tensor_type.shape.dim]
    assert dims == ["N", 32, 32, 3] and given.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = preprocess(images[:7], {"name": "seed"})
    assert run(tmp_path / "net.onnx", x).shape == (7, 43) and run(tmp_path / "net.onnx", x[:1]).shape == (1, 43)


def test_the_metadata_holds_the_preprocessing_and_class_names(tmp_path, net):
    names = [f"sign {i}" for i in range(43)]
    proto = onnx.load(export_onnx(net, tmp_path / "net.onnx", {"preprocessing": SPECS[1], "class_names": names}))
    props = {prop.key: prop.value for prop in proto.metadata_props}
    assert json.loads(props["npnet.preprocessing"]) == SPECS[1]
    assert json.loads(props["npnet.class_names"]) == names


@pytest.mark.parametrize("spec", SPECS, ids=[spec["name"] for spec in SPECS])
def test_with_preprocessing_the_graph_takes_uint8_images(tmp_path, net, images, spec):
    path = export_onnx(net, tmp_path / "net.onnx", {"preprocessing": spec}, with_preprocessing=True)
    assert relative_difference(run(path, images), net.forward(preprocess(images, spec))) < MAX_RELATIVE


@pytest.mark.parametrize("name", ["equalize", "lcn"])
def test_preprocessing_without_onnx_ops_is_refused_by_name(net, name):
    with pytest.raises(NpnetError, match=f"'{name}' cannot be written as ONNX ops"):
        to_onnx(net, {"preprocessing": {"name": name}}, with_preprocessing=True)


def test_same_padding_relu_layers_and_a_pool_on_the_input_export(tmp_path, rng):
    model = Sequential([MaxPool2D(2), Conv2D(4, 3, padding="same"), ReLU(), Conv2D(3, 2, padding="same",
                        activation="relu"), Flatten(), Dense(5)], input_shape=(10, 10, 3), seed=3)
    x = rng.normal(size=(3, 10, 10, 3)).astype(np.float32)
    assert relative_difference(run(export_onnx(model, tmp_path / "m.onnx"), x), model.forward(x)) < MAX_RELATIVE
