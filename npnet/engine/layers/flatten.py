"""Flatten: (N, H, W, C) -> (N, H*W*C), in NHWC order (as Keras with channels last)."""
from .base import Layer


class Flatten(Layer):
    """out = x.reshape(N, -1); backward reshapes dout back to x's shape. Nothing else to cache."""

    name_prefix = "flatten"

    def __init__(self, name=None):
        super().__init__(name)
        self.x_shape = None     # cache of forward: the input's shape, for the backward's reshape

    def compute_output_shape(self, input_shape):
        size = 1
        for dim in input_shape[1:]:
            size *= dim
        return (None, size)

    def forward(self, x, training=False):
        self.check_input(x)
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def infer(self, x):
        return x.reshape(len(x), -1)

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        return dout.reshape(self.x_shape)
