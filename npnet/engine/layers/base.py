"""What every layer shares: a name, its shapes, its parameters and their gradients.

The interface (Chainer's forward/backward split, cs231n's caches):

    out = layer.forward(x, training=False)   # caches what backward needs
    dx  = layer.backward(dout)               # dout = dL/d(out); returns dL/dx, fills layer.grads
    out = layer.infer(x)                     # the same output, nothing cached (inference only)

``params`` and ``grads`` are dicts with the same keys ('kernel', 'bias'), so an optimizer walks them
side by side. Shapes follow Keras: ``output_shape`` is ``(None, H, W, C)``, None standing for the batch.
"""
import numpy as np


class Layer:
    #: Keras-style prefix of the layer's name: conv2d -> conv2d_1, conv2d_2, ...
    name_prefix = "layer"
    #: the type name the summary shows (Keras' class name, where it differs from ours)
    keras_type = None

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.input_shape = None
        self.output_shape = None
        self.dtype = np.dtype(np.float32)
        self.doutput = None     # dL/d(output) from the last backward, recorded by Sequential.backward

    # -- building ---------------------------------------------------------------------------------
    def build(self, input_shape, rng):
        """Fix the input shape ``(None, ...)``, create the parameters (drawing from ``rng``) and
        return the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        """The constructor arguments, as JSON-able values (enough to rebuild the layer)."""
        return {}

    def count_params(self):
        return int(sum(p.size for p in self.params.values()))

    def astype(self, dtype):
        """Cast the parameters to ``dtype`` (float32 to train, float64 for gradient checks)."""
        self.dtype = np.dtype(dtype)
        for key, value in self.params.items():
            self.params[key] = value.astype(self.dtype)
        return self

    # -- running ----------------------------------------------------------------------------------
    def check_input(self, x):
        """Refuse an input of the wrong shape or dtype with a message naming this layer.

        A layer with weights wants its weights' dtype; one without takes float32 or float64."""
        expected = self.input_shape[1:]
        if isinstance(x, np.ndarray) and not self.params and x.dtype in (np.float32, np.float64):
            self.dtype = x.dtype
        if not isinstance(x, np.ndarray) or x.shape[1:] != expected or x.dtype != self.dtype:
            given = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
            raise ValueError(f"{self.name}: expected {self.dtype} input of shape "
                             f"{(None,) + expected}, got {given}")

    def forward(self, x, training=False):
        raise NotImplementedError

    def infer(self, x):
        """The inference output for a slice ``x``, keeping nothing for a backward: what
        ``forward(x, training=False)`` returns, without the caches (``npnet.engine.inference``)."""
        raise NotImplementedError(f"{type(self).__name__} has no cache-free inference step")

    def fuses_with(self, following):
        """True when this layer and the ``following`` one run as one step (``infer_fused``) at
        inference, and walk back as one step in a backward. None does by default."""
        return False

    def infer_fused(self, x, following):
        """``following.infer(self.infer(x))`` in one step, where ``fuses_with(following)``."""
        raise NotImplementedError(f"{type(self).__name__} does not fuse with {type(following).__name__}")

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        """Return dL/dx (``None`` when ``input_grad`` is False: the first layer needs no dx) and fill
        ``grads`` beside ``params``; ``param_grads=False`` leaves ``grads`` as they are and computes
        only dL/dx (Grad-CAM needs dy/dA, not the weights' gradients). ``relu_rule`` is how a ReLU
        in this layer passes the gradient back (``relu_rules``); layers without one ignore it."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"


def glorot_uniform(shape, fan_in, fan_out, rng):
    """Keras' default initializer: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def check_activation(activation):
    if activation not in (None, "relu"):
        raise ValueError(f"unknown activation {activation!r}: use None or 'relu'")
    return activation
