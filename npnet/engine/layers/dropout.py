"""Inverted dropout: active only when training=True."""
import numpy as np

from .base import Layer


class Dropout(Layer):
    """Training: out = x * mask, mask = (u >= rate) / (1 - rate), u ~ U[0, 1) drawn per element.
    Inference (training=False): out = x, so no rescaling is needed at test time ("inverted").

    Backward: dx = dout * mask (or dout itself after an inference forward).

    The layer draws its masks from its own generator ``rng`` (seeded with ``seed``), so a training
    run is repeatable and a gradient check can hold the mask fixed by re-seeding ``rng`` before each
    forward.
    """

    name_prefix = "dropout"

    def __init__(self, rate, seed=0, name=None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.mask = None

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed}

    def forward(self, x, training=False):
        self.check_input(x)
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        scale = x.dtype.type(1.0 / (1.0 - self.rate))
        uniform = self.rng.random(x.shape, dtype=np.float32)
        self.mask = (uniform >= self.rate).astype(x.dtype) * scale
        return x * self.mask

    def infer(self, x):
        return x

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        return dout if self.mask is None else dout * self.mask
