"""npnet Sequential -> ONNX (opset 17), through the ``onnx`` package (the optional ``onnx`` extra).

The graph takes what npnet's model takes and gives its logits:

    input   float32 (N, H, W, C)   channels last, N dynamic ('N')     [uint8 with --with-preprocessing]
    logits  float32 (N, K)         before the softmax, as ``model.forward``

ONNX's Conv and MaxPool work channels first, so the graph transposes NHWC -> NCHW before the first of
them and back (NCHW -> NHWC) before Flatten, which then flattens in npnet's (and Keras') H, W, C order:

    Conv2D     Conv(W = kernel.transpose(3, 2, 0, 1): (F, C, kh, kw), B = bias, pads for 'same'), Relu
    MaxPool2D  MaxPool(kernel = stride = p)        Flatten  Flatten(axis=1)     ReLU  Relu
    Dense      Gemm(x, kernel (D, U), bias), Relu  Dropout  nothing (the identity at inference)

The model's metadata_props carry what the checkpoint knows: npnet.preprocessing (the spec, JSON),
npnet.class_names (JSON), npnet.input ("float32 NHWC, preprocessed" or "uint8 NHWC images").
"""
import json
import os

import numpy as np

from ..io.errors import NpnetError
from ..io.files import write_atomic
from ..engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

OPSET = 17
IR_VERSION = 8          # the IR of opset 17: readable by every onnxruntime since 1.10


def _onnx():
    try:
        import onnx
    except ImportError:
        raise NpnetError("ONNX export needs the onnx package: pip install -e '.[onnx]'") from None
    return onnx


def to_onnx(model, metadata=None, with_preprocessing=False):
    """The onnx.ModelProto of ``model`` (checked by ``onnx.checker``). ``with_preprocessing``: the graph
    takes uint8 images and applies ``metadata['preprocessing']`` first (``onnx_preprocessing``)."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper
    metadata = metadata or {}
    spec = metadata.get("preprocessing")
    graph = _Graph(helper, numpy_helper)
    name = "input"
    if with_preprocessing:
        from .onnx_preprocessing import add_preprocessing
        if not isinstance(spec, dict):
            raise NpnetError("--with-preprocessing: the model records no preprocessing spec to add")
        name = add_preprocessing(graph, spec, name, model.input_shape[1:])
    layout = "NHWC" if len(model.input_shape) == 4 else "flat"
    for layer in model.layers:
        name, layout = _add_layer(graph, layer, name, layout)
    graph.nodes.append(helper.make_node("Identity", [name], ["logits"], name="logits"))
    dims = ["N", *model.input_shape[1:]]
    inputs = [helper.make_tensor_value_info("input", TensorProto.UINT8 if with_preprocessing else TensorProto.FLOAT,
                                            dims)]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", model.output_shape[-1]])]
    proto = helper.make_model(helper.make_graph(graph.nodes, "npnet", inputs, outputs, graph.initializers),
                              opset_imports=[helper.make_opsetid("", OPSET)], producer_name="npnet",
                              doc_string="npnet Sequential: NHWC input, logits out (softmax not applied)")
    proto.ir_version = IR_VERSION
    props = {"npnet.preprocessing": json.dumps(spec), "npnet.class_names": json.dumps(metadata.get("class_names")),
             "npnet.input": "uint8 NHWC images" if with_preprocessing else "float32 NHWC, preprocessed",
             "npnet.architecture": json.dumps(model.get_config())}
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, metadata=None, with_preprocessing=False):
    """Write ``model`` as ONNX to ``path`` atomically; returns the path."""
    onnx = _onnx()
    proto = to_onnx(model, metadata, with_preprocessing)
    write_atomic(os.fspath(path), lambda temporary: onnx.save_model(proto, temporary))
    return path


class _Graph:
    """Nodes and initializers being collected, with unique names."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.used = [], [], set()

    def constant(self, name, value):
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value), name=self.unique(name)))
        return self.initializers[-1].name

    def node(self, op, inputs, name, **attributes):
        output = self.unique(name)
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def unique(self, name):
        base, count = name, 1
        while name in self.used:
            count += 1
            name = f"{base}_{count}"
        self.used.add(name)
        return name


def _add_layer(graph, layer, x, layout):
    """Append ``layer``'s nodes reading ``x``; returns (its output's name, its layout)."""
    name = layer.name
    if isinstance(layer, (Conv2D, MaxPool2D)) and layout == "NHWC":
        x, layout = graph.node("Transpose", [x], f"{name}/to_nchw", perm=[0, 3, 1, 2]), "NCHW"
    if isinstance(layer, Conv2D):
        kernel = layer.params["kernel"].astype(np.float32).transpose(3, 2, 0, 1)
        (top, bottom), (left, right) = layer.padding_widths()
        x = graph.node("Conv", [x, graph.constant(f"{name}/kernel", kernel),
                                graph.constant(f"{name}/bias", layer.params["bias"].astype(np.float32))],
                       f"{name}/conv", kernel_shape=list(layer.kernel_size), strides=[1, 1],
                       pads=[top, left, bottom, right])
        return (graph.node("Relu", [x], f"{name}/relu") if layer.activation == "relu" else x), layout
    if isinstance(layer, MaxPool2D):
        p = layer.pool_size
        return graph.node("MaxPool", [x], name, kernel_shape=[p, p], strides=[p, p]), layout
    if isinstance(layer, ReLU):
        return graph.node("Relu", [x], name), layout
    if isinstance(layer, Dropout):
        return x, layout
    if isinstance(layer, Flatten):
        if layout == "NCHW":
            x = graph.node("Transpose", [x], f"{name}/to_nhwc", perm=[0, 2, 3, 1])
        return graph.node("Flatten", [x], name, axis=1), "flat"
    if isinstance(layer, Dense):
        x = graph.node("Gemm", [x, graph.constant(f"{name}/kernel", layer.params["kernel"].astype(np.float32)),
                                graph.constant(f"{name}/bias", layer.params["bias"].astype(np.float32))], name)
        return (graph.node("Relu", [x], f"{name}/relu") if layer.activation == "relu" else x), "flat"
    raise NpnetError(f"layer '{name}' ({type(layer).__name__}): no ONNX form in npnet.convert")
