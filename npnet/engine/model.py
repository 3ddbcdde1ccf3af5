"""Sequential: layers applied one after another, and the chain rule walked back through them."""
import warnings

import numpy as np

from . import inference
from .layers import LAYER_TYPES
from .layers.relu_rules import check_rule
from ..io.errors import NonFiniteError
from ..io.text import escaped
from .losses import softmax


class Sequential:
    """A stack of layers.

        logits = model.forward(x, training=False)     x (N, 32, 32, 3) float32 -> logits (N, K)
        dx     = model.backward(dlogits)              dlogits = dL/dlogits (N, K) -> dL/dx

    Backward visits the layers in reverse; before each layer's backward it records the gradient
    with respect to that layer's output as ``layer.doutput`` (Grad-CAM reads it at the last conv
    layer, beside ``layer.output``). It works after a ``training=False`` forward too: explanations
    need gradients of the model as it predicts.

    Layers without a name get Keras-style ones, numbered per type: conv2d_1, conv2d_2, dense_1, ...
    Weights are drawn from one generator seeded with ``seed``, layer by layer.
    """

    def __init__(self, layers, input_shape, seed=0):
        self.layers = list(layers)
        self.input_shape = (None,) + tuple(input_shape)
        self.seed = seed
        self.preprocessing = None    # the spec of the file it was loaded from (``npnet.load``), if any
        counts = {}
        for layer in self.layers:
            counts[layer.name_prefix] = counts.get(layer.name_prefix, 0) + 1
            if layer.name is None:
                layer.name = f"{layer.name_prefix}_{counts[layer.name_prefix]}"
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        rng = np.random.default_rng(seed)
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.build(shape, rng)
        self.output_shape = shape

    # -- running ----------------------------------------------------------------------------------
    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dlogits, input_grad=True, stop_at=None, keep_output_grads=True, param_grads=True,
                 relu_rule="gradient", fuse_conv_pool=True):
        """Backpropagate dlogits; fill every layer's ``grads`` and return dL/dx.

        The walk: from the last layer down, each layer's backward takes the gradient of its output,
        ``dout``, and returns the gradient of its input, which is the ``dout`` of the layer below.
        Before each layer's backward the gradient is recorded as ``layer.doutput``.

        fuse_conv_pool (default True, the path training takes): a layer that ``fuses_with`` the one
        above it (a Conv2D under a MaxPool2D) is walked back with it in one step,
        ``Conv2D.backward_through_pool``, which skips the pool's zeros: the same gradients, a quarter
        of the products. The Conv2D's ``doutput`` is then the pool's backward of ``dout`` (each
        window's gradient at its winner), recorded only when ``keep_output_grads``.
        fuse_conv_pool=False walks every layer on its own: the two-step walk, tested equal.
        input_grad=False skips the first layer's dx (training never needs it).
        stop_at='conv2d_3' stops once that layer's ``doutput`` is recorded and returns it: the
        layers below it (and its own weight gradients) are not computed.
        param_grads=False computes only the gradients flowing down (each layer's ``grads`` is left as
        it was): Grad-CAM's dy/dA, as ``torch.autograd.grad`` gives it.
        keep_output_grads=False keeps no layer's ``doutput`` but ``stop_at``'s (training does not
        read them; at batch 1024 they hold about 300 MB).
        relu_rule='guided' or 'deconvnet' (with param_grads=False) changes how every ReLU passes the
        gradient back (``layers.relu_rules``): guided backprop and deconvnet.
        """
        check_rule(relu_rule, param_grads)
        if stop_at is not None:
            self.layer(stop_at)  # fail early on an unknown name
        dout = dlogits
        index = len(self.layers) - 1
        while index >= 0:
            layer = self.layers[index]
            layer.doutput = dout if keep_output_grads or layer.name == stop_at else None
            if layer.name == stop_at:
                return dout
            below = self.layers[index - 1] if index > 0 else None
            if fuse_conv_pool and below is not None and below.name != stop_at and below.fuses_with(layer):
                # the pool and the convolution below it in one step: the same gradients
                below.doutput = layer.backward(dout) if keep_output_grads else None
                dout = below.backward_through_pool(dout, layer, input_grad=input_grad or index > 1,
                                                   param_grads=param_grads, relu_rule=relu_rule)
                index -= 2
            else:
                dout = layer.backward(dout, input_grad=input_grad or index > 0, param_grads=param_grads,
                                      relu_rule=relu_rule)
                index -= 1
        return dout

    def predict_logits(self, x):
        """The logits (N, K) of an inference forward that keeps no caches: every layer's ``infer`` on
        a slice of images before the next slice (``npnet.engine.inference``). The same logits as
        ``forward(x, training=False)`` to float32 rounding, faster; no backward may follow."""
        return inference.predict_logits(self, x)

    def predict_proba(self, x, batch_size=1024):
        """Softmax probabilities (N, K), in batches, inference mode (``predict_logits``).

        Logits that are not finite (weights so large that a sum overflows float32) raise
        ``NonFiniteError`` instead of giving NaN probabilities."""
        if not len(x):
            return np.zeros((0, self.output_shape[-1]), dtype=np.float32)
        parts = []
        for start in range(0, len(x), batch_size):
            with warnings.catch_warnings():     # an overflow is reported below, once, not as warnings
                warnings.simplefilter("ignore", RuntimeWarning)
                logits = self.predict_logits(x[start:start + batch_size])
            if not np.isfinite(logits).all():
                bad = start + int(np.flatnonzero(~np.isfinite(logits).all(axis=1))[0])
                raise NonFiniteError(f"the network's output for image {bad} is not finite (its weights or "
                                     "its input overflow float32): no probabilities to give")
            parts.append(softmax(logits))
        return np.concatenate(parts)

    # -- parameters -------------------------------------------------------------------------------
    def params(self):
        """{'conv2d_1/kernel': array, 'conv2d_1/bias': array, ...} in layer order (the live arrays)."""
        return {f"{layer.name}/{key}": value
                for layer in self.layers for key, value in layer.params.items()}

    def grads(self):
        """The gradients from the last backward, keyed like ``params()``."""
        return {f"{layer.name}/{key}": layer.grads[key]
                for layer in self.layers for key in layer.params}

    def layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(l.name for l in self.layers)}")

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def astype(self, dtype):
        """Cast every weight to ``dtype`` in place (float64 for gradient checks); returns self."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # -- description ------------------------------------------------------------------------------
    def get_config(self):
        """The architecture as JSON-able data: enough for ``from_config`` to rebuild the model."""
        return {"input_shape": list(self.input_shape[1:]), "seed": self.seed,
                "layers": [{"type": type(layer).__name__, "name": layer.name,
                            "config": layer.get_config()} for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        layers = []
        for spec in config["layers"]:
            if spec["type"] not in LAYER_TYPES:
                raise ValueError(f"unknown layer type {spec['type']!r}")
            layers.append(LAYER_TYPES[spec["type"]](name=spec["name"], **spec["config"]))
        return cls(layers, config["input_shape"], seed=config.get("seed", 0))

    def summary(self, print_fn=print):
        """Print (and return) the Keras-style table: Layer (type), Output Shape, Param #."""
        positions = [29, 55, 65]          # Keras' column ends for a 65-character line

        def row(fields):
            line = ""
            for i, field in enumerate(fields):
                if i > 0:
                    line = line[:-1] + " "
                line = (line + str(field))[:positions[i]]
                line += " " * (positions[i] - len(line))
            return line

        lines = ["_" * 65, row(["Layer (type)", "Output Shape", "Param #"]), "=" * 65]
        for i, layer in enumerate(self.layers):
            lines.append(row([f"{escaped(layer.name)} ({layer.keras_type or type(layer).__name__})", layer.output_shape,
                              layer.count_params()]))
            lines.append("=" * 65 if i == len(self.layers) - 1 else "_" * 65)
        total = self.count_params()
        lines += [f"Total params: {total:,}", f"Trainable params: {total:,}",
                  "Non-trainable params: 0", "_" * 65]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

