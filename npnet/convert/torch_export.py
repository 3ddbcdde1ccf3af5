"""npnet <-> PyTorch: ``to_torch`` (a plain nn.Module to keep training on GPUs, with DDP), ``from_torch``
(its weights back into npnet, to explain), ``export_pt2`` (a ``torch.export`` program: no npnet needed).

The module takes what npnet's model takes, channels last, and gives its logits:

    x (N, H, W, C) -> permute to (N, C, H, W) -> the layers, in order -> logits (N, K)

Each npnet layer becomes the PyTorch module of the same name, so parameters are named as in the
summary: ``conv2d_1.weight``, ``conv2d_1.bias``, ..., ``dense_4.bias``. The weights, in PyTorch's layouts:

    Conv2D  nn.Conv2d   weight (F, C, kh, kw) = kernel (kh, kw, C, F).permute(3, 2, 0, 1); 'same' pads
                        (left, right, top, bottom) first, the extra row/column at the bottom/right as npnet
    Dense   nn.Linear   weight (U, D) = kernel (D, U).T
    MaxPool2D nn.MaxPool2d(p), Dropout nn.Dropout(rate), ReLU and the fused relus torch.relu;
    Flatten permutes back to (N, H, W, C) first, so that it flattens in npnet's order.

PyTorch is imported here only: ``pip install torch==2.13.0`` (the ``bench`` extra).
"""
import io
import json
import os

import numpy as np

from ..io.errors import NpnetError
from ..io.files import write_atomic
from ..engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from ..engine.model import Sequential

try:
    import torch
    from torch import nn
except ImportError:                                     # pragma: no cover - the message is the point
    raise NpnetError("PyTorch export needs PyTorch: pip install torch==2.13.0 (the bench extra)") from None


class NHWCSequential(nn.Module):
    """npnet's Sequential in PyTorch (see the module docstring). ``npnet_config`` and
    ``npnet_metadata`` keep the architecture and the metadata (preprocessing, class names) for
    ``from_torch``; PyTorch itself never reads them."""

    def __init__(self, model, metadata=None):
        super().__init__()
        self.npnet_config = model.get_config()
        self.npnet_metadata = dict(metadata or {})
        self.steps = []                                 # (layer name, kind, fused relu, padding)
        for layer in model.layers:
            if "." in layer.name or hasattr(self, layer.name):
                raise NpnetError(f"layer '{layer.name}': not usable as a PyTorch module name")
            relu, padding = getattr(layer, "activation", None) == "relu", None
            if isinstance(layer, Conv2D):
                (top, bottom), (left, right) = layer.padding_widths()
                padding = (left, right, top, bottom) if layer.padding == "same" else None
                module = nn.Conv2d(layer.input_shape[-1], layer.filters, tuple(layer.kernel_size))
            elif isinstance(layer, Dense):
                module = nn.Linear(layer.input_shape[-1], layer.units)
            elif isinstance(layer, MaxPool2D):
                module = nn.MaxPool2d(layer.pool_size)
            elif isinstance(layer, Dropout):
                module = nn.Dropout(layer.rate)
            elif isinstance(layer, (Flatten, ReLU)):
                module = None
            else:
                raise NpnetError(f"layer '{layer.name}' ({type(layer).__name__}): no PyTorch form in npnet.convert")
            if module is not None:
                self.add_module(layer.name, module)
            self.steps.append((layer.name, type(layer).__name__, relu, padding))
        self.channels_last = len(model.input_shape) == 4
        copy_weights(model, self)

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)                   # NHWC -> NCHW
        for name, kind, relu, padding in self.steps:
            if kind == "Flatten":
                x = (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).flatten(1)
                continue
            if kind == "ReLU":
                x = torch.relu(x)
                continue
            if padding is not None:
                x = nn.functional.pad(x, padding)
            x = getattr(self, name)(x)
            if relu:
                x = torch.relu(x)
        return x


def to_torch(model, metadata=None):
    """An ``NHWCSequential`` holding ``model``'s weights (float32), in eval mode; ``.train()`` to train it."""
    return NHWCSequential(model, metadata).eval()


def copy_weights(model, module):
    """npnet -> PyTorch: every Conv2D and Dense's kernel and bias, in PyTorch's layouts."""
    with torch.no_grad():
        for layer in model.layers:
            if layer.params:
                target = getattr(module, layer.name)
                kernel = layer.params["kernel"].astype(np.float32)
                weight = kernel.transpose(3, 2, 0, 1) if isinstance(layer, Conv2D) else kernel.T
                target.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
                target.bias.copy_(torch.from_numpy(layer.params["bias"].astype(np.float32)))


def from_torch(module, like=None):
    """The weights of ``module`` (from ``to_torch``, perhaps trained, perhaps wrapped by DDP or
    torch.compile) in an npnet model: returns (model, metadata). ``like``: an npnet model of the same
    architecture, for a module or state_dict that does not carry ``npnet_config``."""
    while isinstance(getattr(module, "module", None), nn.Module) or isinstance(getattr(module, "_orig_mod", None), nn.Module):
        module = getattr(module, "module", None) or module._orig_mod      # DDP / DataParallel, torch.compile
    state = module if isinstance(module, dict) else module.state_dict()
    config = getattr(module, "npnet_config", None)
    if like is None and config is None:
        raise NpnetError("from_torch: the module carries no npnet architecture; pass like=<an npnet model>")
    model = Sequential.from_config(config) if like is None else Sequential.from_config(like.get_config())
    for layer in model.layers:
        if not layer.params:
            continue
        for key, torch_key in (("kernel", "weight"), ("bias", "bias")):
            name = f"{layer.name}.{torch_key}"
            if name not in state:
                raise NpnetError(f"from_torch: no '{name}' in the module's state_dict")
            value = state[name].detach().cpu().to(torch.float32).numpy()
            if key == "kernel":
                value = value.transpose(2, 3, 1, 0) if isinstance(layer, Conv2D) else value.T
            if value.shape != layer.params[key].shape:
                raise NpnetError(f"from_torch: '{name}' gives {layer.name}/{key} the shape {value.shape}, "
                                 f"the architecture needs {layer.params[key].shape}")
            if not np.all(np.isfinite(value)):
                raise NpnetError(f"from_torch: '{name}' holds NaN or infinite values")
            layer.params[key] = np.ascontiguousarray(value)
    metadata = dict(getattr(module, "npnet_metadata", None) or {})
    return model, metadata


def export_program(model, metadata=None):
    """``torch.export.export`` of ``to_torch(model)``, the batch dimension dynamic."""
    module = to_torch(model, metadata)
    example = torch.zeros((2,) + tuple(model.input_shape[1:]), dtype=torch.float32)
    batch = torch.export.Dim("N", min=1, max=2**20)
    return torch.export.export(module, (example,), dynamic_shapes=({0: batch},))


def export_pt2(model, path, metadata=None):
    """Write ``model`` as a ``torch.export`` program (.pt2) to ``path`` atomically. The metadata
    (preprocessing, class names) travels as the extra file 'npnet.json'. Load it with
    ``torch.export.load(path).module()``: no npnet code needed."""
    program = export_program(model, metadata)
    metadata = metadata or {}
    extra = {"npnet.json": json.dumps({"preprocessing": metadata.get("preprocessing"),
                                       "class_names": metadata.get("class_names"), "input": "float32 NHWC, preprocessed"})}
    buffer = io.BytesIO()                   # torch wants a name ending in .pt2 or a buffer, not write_atomic's .tmp
    torch.export.save(program, buffer, extra_files=extra)

    def write(temporary):
        with open(temporary, "wb") as handle:
            handle.write(buffer.getvalue())
    write_atomic(os.fspath(path), write)
    return path
