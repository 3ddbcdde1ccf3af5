"""Stochastic gradient descent with momentum (Keras' formulation)."""
import numpy as np


class SGD:
    """velocity = momentum * velocity - lr * g;   p = p + velocity.   (momentum 0: p -= lr * g)"""

    def __init__(self, lr=0.01, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.iterations = 0
        self.velocity = {}

    def step(self, params, grads):
        self.iterations += 1
        for key, p in params.items():
            velocity = self.velocity.setdefault(key, np.zeros_like(p))
            velocity *= self.momentum
            velocity -= self.lr * grads[key]
            p += velocity

    def state(self):
        return {"config": {"lr": self.lr, "momentum": self.momentum},
                "iterations": self.iterations, "slots": {"velocity": self.velocity}}

    def load_state(self, state):
        self.__init__(**state["config"])
        self.iterations = int(state["iterations"])
        self.velocity = dict(state["slots"]["velocity"])
