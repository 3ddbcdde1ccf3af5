"""Fully connected layer with an optional fused ReLU."""
import numpy as np

from .. import ops
from .base import Layer, check_activation, glorot_uniform
from .relu_rules import check_rule, relu_backward


class Dense(Layer):
    """out = act(x @ kernel + bias).

    Shapes: x (N, D), kernel (D, U), bias (U,), out (N, U).

    Backward, given dout = dL/d(out) (N, U):
        dz      = dout * (out > 0)     (relu only)
        dkernel = x.T @ dz             (D, U)
        dbias   = dz.sum(axis=0)       (U,)
        dx      = dz @ kernel.T        (N, D)

    Cached for backward: ``x`` and ``output``. ``backward(dout, param_grads=False)`` computes dz and
    dx only; with it, ``relu_rule`` may replace the ReLU's derivative by guided backprop's or
    deconvnet's rule (``relu_rules``).
    """

    name_prefix = "dense"

    def __init__(self, units, activation=None, name=None):
        super().__init__(name)
        self.units = int(units)
        self.activation = check_activation(activation)
        self.x = self.output = None

    def get_config(self):
        return {"units": self.units, "activation": self.activation}

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: expects flat input (None, D), got {input_shape}; "
                             "put a Flatten before it")
        return (None, self.units)

    def build(self, input_shape, rng):
        output_shape = super().build(input_shape, rng)
        D = input_shape[-1]
        self.params["kernel"] = glorot_uniform((D, self.units), D, self.units, rng)
        self.params["bias"] = np.zeros(self.units, dtype=np.float32)
        return output_shape

    def forward(self, x, training=False):
        self.check_input(x)
        self.x = x
        z = x @ self.params["kernel"]
        self.output = ops.active().bias_relu(z, self.params["bias"], self.activation == "relu")
        return self.output

    def infer(self, x):
        return ops.active().bias_relu(x @ self.params["kernel"], self.params["bias"], self.activation == "relu")

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        relu = self.activation == "relu"
        check_rule(relu_rule, param_grads and relu)
        if param_grads:
            dz, self.grads["bias"] = ops.active().bias_relu_backward(dout, self.output, relu)
            self.grads["kernel"] = self.x.T @ dz
        else:
            dz = relu_backward(dout, self.output, relu_rule) if relu else dout
        return dz @ self.params["kernel"].T if input_grad else None
