"""ReLU as a layer of its own (Conv2D and Dense can also fuse it with activation='relu')."""
import numpy as np

from .base import Layer
from .relu_rules import check_rule, relu_backward


class ReLU(Layer):
    """out = max(x, 0). Backward: dx = dout * (out > 0); the derivative at exactly 0 is taken as 0.
    ``relu_rule`` selects guided backprop's or deconvnet's rule instead (``relu_rules``).

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

    def infer(self, x):
        return np.maximum(x, 0)

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        check_rule(relu_rule, False)   # no weights here: any rule may run
        return relu_backward(dout, self.output, relu_rule)
