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

    The moments live here, keyed like ``model.params()`` ('dense_1/kernel', ...), never on layers.
    ``lr`` may be changed between steps (a learning-rate schedule sets it).
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7):
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        self.iterations = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (dicts with the same keys)."""
        self.iterations += 1
        t = self.iterations
        alpha = self.lr * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        for key, p in params.items():
            g = grads[key]
            m = self.m.setdefault(key, np.zeros_like(p))
            v = self.v.setdefault(key, np.zeros_like(p))
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (alpha * m / (np.sqrt(v) + self.epsilon)).astype(p.dtype, copy=False)

    def state(self):
        """Everything needed to resume: hyper-parameters, step count and the moments."""
        return {"config": {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                           "epsilon": self.epsilon},
                "iterations": self.iterations, "slots": {"m": self.m, "v": self.v}}

    def load_state(self, state):
        self.__init__(**state["config"])
        self.iterations = int(state["iterations"])
        self.m = dict(state["slots"]["m"])
        self.v = dict(state["slots"]["v"])
