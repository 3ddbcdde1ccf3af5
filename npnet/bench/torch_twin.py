"""A PyTorch copy of an npnet model, for the benchmark and the comparison test only.

npnet never imports this module itself and never needs torch: ``npnet.bench --compare torch`` and
``tests/engine/test_against_torch.py`` do, where torch is installed (``pip install -e '.[bench]'``).

    twin = torch_twin.from_npnet(model)         # same layers, a copy of the same weights
    logits = twin(torch.from_numpy(x))          # x (N, H, W, C) float32, as npnet takes it

Layouts, npnet -> torch:
    conv kernel  (kh, kw, C, F)  -> weight (F, C, kh, kw)      permute(3, 2, 0, 1)
    dense kernel (In, Out)       -> weight (Out, In)           transpose
    input        (N, H, W, C)    -> (N, C, H, W)               done inside the twin
    flatten      NHWC order: the twin permutes back to (N, H, W, C) before flattening, so dense_1's
                 rows line up with npnet's without reordering any weight.

Module names are npnet's layer names ('conv2d_3', 'dense_1', ...); a fused ReLU becomes its own
module named '<layer>_relu' (Grad-CAM hooks 'conv2d_3_relu', whose output is npnet's conv2d_3.output).
"""
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from ..engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU


class NHWCToNCHW(nn.Module):
    """(N, H, W, C) -> (N, C, H, W): npnet's input layout to torch's."""

    def forward(self, x):
        return x.permute(0, 3, 1, 2)


class FlattenNHWC(nn.Module):
    """(N, C, H, W) -> (N, H*W*C) in NHWC order, as npnet's (and Keras') Flatten."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def _conv(layer):
    kh, kw, C, F = layer.params["kernel"].shape
    (top, bottom), (left, right) = layer.padding_widths()
    if (top, left) != (bottom, right):
        raise NotImplementedError(f"{layer.name}: asymmetric 'same' padding has no nn.Conv2d twin")
    conv = nn.Conv2d(C, F, (kh, kw), padding=(top, left))
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["kernel"].transpose(3, 2, 0, 1))))
        conv.bias.copy_(torch.from_numpy(layer.params["bias"]))
    return conv


def _dense(layer):
    In, Out = layer.params["kernel"].shape
    linear = nn.Linear(In, Out)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["kernel"].T)))
        linear.bias.copy_(torch.from_numpy(layer.params["bias"]))
    return linear


def from_npnet(model):
    """An ``nn.Sequential`` computing what ``model`` computes, with a copy of its weights (float32).

    It takes the input as npnet does, (N, H, W, C), and returns logits (N, K).
    """
    modules = [("input_to_nchw", NHWCToNCHW())]
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            modules.append((layer.name, _conv(layer)))
        elif isinstance(layer, Dense):
            modules.append((layer.name, _dense(layer)))
        elif isinstance(layer, MaxPool2D):
            modules.append((layer.name, nn.MaxPool2d(layer.pool_size)))
        elif isinstance(layer, Flatten):
            modules.append((layer.name, FlattenNHWC()))
        elif isinstance(layer, Dropout):
            modules.append((layer.name, nn.Dropout(layer.rate)))
        elif isinstance(layer, ReLU):
            modules.append((layer.name, nn.ReLU()))
        else:
            raise NotImplementedError(f"no torch twin for {type(layer).__name__} ({layer.name})")
        if getattr(layer, "activation", None) == "relu":
            modules.append((f"{layer.name}_relu", nn.ReLU()))
    return nn.Sequential(OrderedDict(modules)).float()


def to_npnet_layout(name, array):
    """A torch parameter (or its gradient) named like npnet ('conv2d_1/kernel') -> npnet's layout."""
    array = array.detach().cpu().numpy()
    if name.endswith("/kernel") and array.ndim == 4:
        return array.transpose(2, 3, 1, 0)       # (F, C, kh, kw) -> (kh, kw, C, F)
    if name.endswith("/kernel") and array.ndim == 2:
        return array.T                           # (Out, In) -> (In, Out)
    return array


def named_parameters(twin):
    """{'conv2d_1/kernel': weight, 'conv2d_1/bias': bias, ...}: the twin's parameters under npnet's keys."""
    rename = {"weight": "kernel", "bias": "bias"}
    return {f"{module}/{rename[kind]}": p
            for module, kind, p in ((*name.split("."), p) for name, p in twin.named_parameters())}


def params(twin):
    """The twin's weights as numpy arrays in npnet's layouts, keyed like ``model.params()``."""
    return {key: to_npnet_layout(key, p) for key, p in named_parameters(twin).items()}


def grads(twin):
    """The twin's gradients from the last backward, in npnet's layouts, keyed like ``model.grads()``."""
    return {key: to_npnet_layout(key, p.grad) for key, p in named_parameters(twin).items()}


def grad_cam(twin, x, layer="conv2d_3"):
    """Grad-CAM of the predicted class at ``layer`` (the same math as ``npnet.explain.grad_cam``).

        A     = the layer's activations after its ReLU        (N, F, h, w)
        y     = logits[n, argmax_k logits[n, k]]              (N,)
        alpha = mean over (h, w) of dy/dA                     (N, F)
        map   = relu(sum_F alpha * A)                         (N, h, w)

    x: (N, H, W, C) tensor. Returns (maps (N, h, w), predicted classes (N,)) as tensors. Only dy/dA
    is computed (``torch.autograd.grad``), not the weights' gradients: what npnet's stop_at does.
    """
    captured = {}
    module = twin.get_submodule(f"{layer}_relu")
    handle = module.register_forward_hook(lambda mod, inputs, output: captured.__setitem__("A", output))
    try:
        logits = twin(x)
    finally:
        handle.remove()
    A = captured["A"]
    predicted = logits.argmax(dim=1)
    score = logits.gather(1, predicted[:, None]).sum()
    (dA,) = torch.autograd.grad(score, A)
    alpha = dA.mean(dim=(2, 3))
    maps = torch.relu((alpha[:, :, None, None] * A).sum(dim=1))
    return maps.detach(), predicted


def pool_winners(twin, x):
    """Which input each max-pool window passed on, in torch, encoded as npnet's ``argmax`` cache.

    Returns {pool layer name: winners (N, Ho, Wo, C) uint8, di * p + dj within the p x p window}.
    Where two inputs of a window are within float32 rounding of each other, the two engines may pick
    different winners and so route that window's gradient to different positions: both are correct
    for the values each computed, but the gradients below that layer then differ there.
    """
    inputs, handles = {}, []
    for name, module in twin.named_children():
        if isinstance(module, nn.MaxPool2d):
            handles.append(module.register_forward_hook(
                lambda mod, args, output, name=name: inputs.__setitem__(name, (args[0], mod.kernel_size))))
    try:
        with torch.no_grad():
            twin(x)
    finally:
        for handle in handles:
            handle.remove()
    winners = {}
    for name, (a, p) in inputs.items():
        _, indices = nn.functional.max_pool2d(a, p, return_indices=True)   # flat h * W + w per plane
        W = a.shape[3]
        Ho, Wo = indices.shape[2:]
        rows = torch.arange(Ho)[:, None] * p
        cols = torch.arange(Wo)[None, :] * p
        di, dj = indices // W - rows, indices % W - cols
        winners[name] = (di * p + dj).permute(0, 2, 3, 1).numpy().astype(np.uint8)
    return winners
