"""How a ReLU passes a gradient back: the chain rule, or one of the rules explanation methods use.

Every ReLU in the engine (the ReLU layer, and the ReLU fused into Conv2D and Dense) calls
``relu_backward(dout, out, rule)``; this is the one place a rule is selected. With out = max(z, 0):

    'gradient'   dz = dout * [out > 0]            the derivative: training, gradient checks, Grad-CAM
    'guided'     dz = max(dout, 0) * [out > 0]    guided backprop (Springenberg et al., 2015)
    'deconvnet'  dz = max(dout, 0)                deconvnet (Zeiler & Fergus, 2014): the forward mask ignored

[out > 0] is the same as [z > 0], the forward input's sign. Only 'gradient' is a derivative, so the
other two give no weight gradients: a backward with them must pass ``param_grads=False``.
"""
import numpy as np

from .. import ops

RULES = ("gradient", "guided", "deconvnet")


def check_rule(rule, param_grads):
    """Refuse an unknown rule, and weight gradients under a rule that is not the derivative."""
    if rule not in RULES:
        raise ValueError(f"unknown ReLU backward rule {rule!r}: choose one of {', '.join(RULES)}")
    if rule != "gradient" and param_grads:
        raise ValueError(f"the {rule!r} ReLU rule is not a derivative: call backward with param_grads=False")


def relu_backward(dout, out, rule="gradient"):
    """dz (the shape of dout) from dout = dL/d(out) and the forward's output ``out``; dout is not changed."""
    if rule == "gradient":
        return ops.active().relu_backward(dout, out)
    positive = np.maximum(dout, 0)
    if rule == "guided":
        return ops.active().relu_backward(positive, out)
    if rule == "deconvnet":
        return positive
    raise ValueError(f"unknown ReLU backward rule {rule!r}: choose one of {', '.join(RULES)}")
