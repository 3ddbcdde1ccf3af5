"""Adam, as Keras computes it (bias correction folded into the step size)."""
import numpy as np


class Adam:
    """For each parameter p with gradient g, at step t = 1, 2, ...:

        m     = m + (1 - beta1) * (g - m)            (= beta1 m + (1 - beta1) g)
        v     = v + (1 - beta2) * (g*g - v)          (= beta2 v + (1 - beta2) g^2)
        alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        p     = p - alpha * m / (sqrt(v) + epsilon)

    Defaults are Keras': lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7. (PyTorch adds epsilon to
    sqrt(v) / sqrt(1 - beta2^t) instead; the two differ only while v is tiny.)

    Two options, both off by default (Keras 3's optimizers have both, as ``weight_decay`` and
    ``use_ema``/``ema_momentum``; the two differences from Keras are named below):

    - ``weight_decay`` w (decoupled, "AdamW"): before the step above, every kernel (keys ending in
      '/kernel'; biases are left alone, where Keras decays every variable unless told otherwise)
      shrinks by p = p - lr * w * p.
    - ``ema_momentum`` mu: after each step the optimizer also keeps an exponential moving average
      of every parameter, average = mu_t * average + (1 - mu_t) * p, starting from the first step's
      p, with mu_t = min(mu, (1 + t) / (10 + t)) so that the early, random weights are forgotten
      quickly (TensorFlow's ExponentialMovingAverage with num_updates; Keras 3 uses mu from the
      second step on). ``averaged_params()`` returns it; evaluating with the averaged weights
      smooths out the noise of the last steps.

    The moments live here, keyed like ``model.params()`` ('dense_1/kernel', ...), never on layers.
    ``lr`` may be changed between steps (a learning-rate schedule sets it).
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7, weight_decay=0.0, ema_momentum=None):
        if not 0 <= weight_decay < 1:
            raise ValueError(f"weight decay must be in [0, 1), got {weight_decay}")
        if ema_momentum is not None and not 0 <= ema_momentum < 1:
            raise ValueError(f"EMA momentum must be in [0, 1), got {ema_momentum}")
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        self.weight_decay, self.ema_momentum = weight_decay, ema_momentum
        self.iterations = 0
        self.m = {}
        self.v = {}
        self.average = {}

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (dicts with the same keys)."""
        self.iterations += 1
        t = self.iterations
        alpha = self.lr * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        for key, p in params.items():
            g = grads[key]
            m = self.m.setdefault(key, np.zeros_like(p))
            v = self.v.setdefault(key, np.zeros_like(p))
            if self.weight_decay and key.endswith("/kernel"):
                p -= p.dtype.type(self.lr * self.weight_decay) * p
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (alpha * m / (np.sqrt(v) + self.epsilon)).astype(p.dtype, copy=False)
            if self.ema_momentum is not None:
                average = self.average.get(key)
                if average is None:
                    self.average[key] = p.copy()
                else:
                    momentum = min(self.ema_momentum, (1 + t) / (10 + t))
                    average += p.dtype.type(1 - momentum) * (p - average)

    def averaged_params(self):
        """The moving averages of the parameters (keyed like params), or None when EMA is off."""
        return self.average if self.ema_momentum is not None and self.average else None

    def state(self):
        """Everything needed to resume: hyper-parameters, step count and the moments."""
        slots = {"m": self.m, "v": self.v}
        if self.ema_momentum is not None:
            slots["average"] = self.average
        return {"config": {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                           "epsilon": self.epsilon, "weight_decay": self.weight_decay,
                           "ema_momentum": self.ema_momentum},
                "iterations": self.iterations, "slots": slots}

    def load_state(self, state):
        self.__init__(**state["config"])
        self.iterations = int(state["iterations"])
        self.m = dict(state["slots"]["m"])
        self.v = dict(state["slots"]["v"])
        self.average = dict(state["slots"].get("average", {}))
