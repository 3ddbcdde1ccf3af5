"""The seed's network, `seed_net()`: the architecture this project trains and explains (Sequential is in model.py)."""
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from .model import Sequential


def seed_net(num_classes=43, seed=0, dropout=0.5, input_shape=(32, 32, 3)):
    """The seed's traffic-sign CNN, exactly (422,187 parameters for 43 classes):

        conv 3x3x32 relu -> maxpool 2 -> conv 2x2x128 relu -> maxpool 2 -> conv 2x2x128 relu ->
        maxpool 2 -> flatten (1152) -> dropout -> dense 256 relu -> dense 128 relu -> dense 64 relu
        -> dense num_classes (logits; the softmax lives in the loss)
    """
    return Sequential([
        Conv2D(32, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(128, 2, activation="relu"),
        MaxPool2D(2),
        Conv2D(128, 2, activation="relu"),
        MaxPool2D(2),
        Flatten(),
        Dropout(dropout, seed=seed),
        Dense(256, activation="relu"),
        Dense(128, activation="relu"),
        Dense(64, activation="relu"),
        Dense(num_classes),
    ], input_shape=input_shape, seed=seed)
