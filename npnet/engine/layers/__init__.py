"""The layers, one file each: forward caches, backward returns dx and fills grads."""
from .base import Layer
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .maxpool2d import MaxPool2D
from .relu import ReLU

LAYER_TYPES = {cls.__name__: cls for cls in (Conv2D, MaxPool2D, Flatten, Dropout, Dense, ReLU)}

__all__ = ["Layer", "Conv2D", "MaxPool2D", "Flatten", "Dropout", "Dense", "ReLU", "LAYER_TYPES"]
