"""Models from elsewhere, models elsewhere: Keras import, ONNX and PyTorch export.

    model, metadata = load_keras("seed_model.h5")          # .keras, legacy .h5, .weights.h5 (h5py + json)
    model, metadata = npnet.load("any.h5")                 # npnet checkpoint or Keras file, by content
    export_onnx(model, "net.onnx", metadata)               # needs the `onnx` extra
    export_pt2(model, "net.pt2", metadata)                 # needs PyTorch (the `bench` extra)
    module = to_torch(model); model = from_torch(module)   # a plain nn.Module, NHWC, and back

Command line: ``python -m npnet.convert MODEL OUT`` (OUT's extension picks .h5, .onnx or .pt2).
"""
from .keras import load_keras
from .keras_weights import KerasError

__all__ = ["load_keras", "KerasError", "export_onnx", "export_pt2", "to_torch", "from_torch"]


def export_onnx(model, path, metadata=None, with_preprocessing=False):
    from .onnx_export import export_onnx as export
    return export(model, path, metadata, with_preprocessing=with_preprocessing)


def export_pt2(model, path, metadata=None):
    from .torch_export import export_pt2 as export
    return export(model, path, metadata)


def to_torch(model, metadata=None):
    from .torch_export import to_torch as convert
    return convert(model, metadata)


def from_torch(module, like=None):
    from .torch_export import from_torch as convert
    return convert(module, like)
