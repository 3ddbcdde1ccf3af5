"""Optimizers: ``step(params, grads)`` updates the model's arrays in place."""
from .adam import Adam
from .sgd import SGD

OPTIMIZERS = {"Adam": Adam, "SGD": SGD}

__all__ = ["Adam", "SGD", "OPTIMIZERS"]
