"""The one switch between the readable kernels and the fast ones.

Layers never import ``reference`` or ``fast`` themselves: they call ``ops.active().im2col(...)``.
``use('reference')`` or ``NPNET_OPS=reference`` in the environment selects the plain NumPy loops
a learner can step through; the default is the numba-compiled ``fast`` module.

    >>> from npnet.engine import ops
    >>> ops.use("reference")   # every layer now runs the readable kernels
"""
import importlib
import os

KERNEL_NAMES = ("im2col", "col2im", "maxpool_forward", "maxpool_backward", "bias_relu", "relu_backward",
                "bias_relu_backward", "conv_pool_weight_grads", "conv_pool_input_grad", "bias_relu_maxpool")
_CHOICES = ("fast", "reference")
_active = None


def use(name):
    """Select the kernel module every layer calls: 'fast' (numba) or 'reference' (NumPy)."""
    global _active
    if name not in _CHOICES:
        raise ValueError(f"unknown kernels {name!r}: choose one of {', '.join(_CHOICES)}")
    _active = importlib.import_module(f"{__name__}.{name}")
    return _active


def in_use():
    """'fast' or 'reference': the kernels selected. Kernels that live beside their users (bilinear
    sampling in ``npnet.data.sampling``, the faithfulness curves' images) follow this switch too."""
    return active().__name__.rsplit(".", 1)[-1]


def active():
    """The kernel module in use (imported on first call, so ``NPNET_OPS`` can be set late)."""
    return _active if _active is not None else use(os.environ.get("NPNET_OPS", "fast"))
