"""ReLU as a layer of its own (Conv2D and Dense can also fuse it with activation='relu')."""
import numpy as np

from .. import kernels
from .base import Layer


class ReLU(Layer):
    """out = max(x, 0). Backward: dx = dout * (out > 0); the derivative at exactly 0 is taken as 0.

    Cached for backward: ``output``.
    """

    name_prefix = "re_lu"

    def __init__(self, name=None):
        super().__init__(name)
        self.output = None

    def forward(self, x, training=False):
        self.check_input(x)
        self.output = np.maximum(x, 0)
        return self.output

    def backward(self, dout, input_grad=True, param_grads=True):
        return kernels.active().relu_backward(dout, self.output)
