"""Grad-CAM points at the evidence: on a task where only a small coloured patch decides the class,
the map's peak falls on that patch, not on a white distractor of the same size.

Task: 16x16 RGB noise with one 4x4 patch of pure red, green or blue (class 0, 1, 2) and one white
4x4 patch elsewhere. A white patch is bright in every channel, so the net must learn colour, and
Grad-CAM must tell the two bright squares apart. 'same' padding keeps each map cell centred on
the input pixels the upsampler assumes, so the peak can be compared with the patch in pixels.
"""
import numpy as np
import pytest

from npnet.explain import grad_cam
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.losses import softmax_cross_entropy
from npnet.engine.model import Sequential
from npnet.engine.optimizers import Adam

SIZE, PATCH = 16, 4
COLOURS = np.eye(3, dtype=np.float32)


def coloured_patches(n, rng):
    """images (n, 16, 16, 3), labels (n,), patch centres (n, 2) in pixel coordinates (row, column)."""
    x = rng.uniform(0, 0.2, (n, SIZE, SIZE, 3)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    centres = np.zeros((n, 2))
    for k in range(n):
        while True:   # the patch and the distractor must not overlap
            (r, c), (rd, cd) = rng.integers(0, SIZE - PATCH + 1, (2, 2))
            if abs(r - rd) >= PATCH or abs(c - cd) >= PATCH:
                break
        x[k, rd:rd + PATCH, cd:cd + PATCH] = 1.0
        x[k, r:r + PATCH, c:c + PATCH] = COLOURS[labels[k]]
        centres[k] = r + (PATCH - 1) / 2, c + (PATCH - 1) / 2
    return x, labels, centres


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    model = Sequential([Conv2D(8, 3, activation="relu", padding="same"), MaxPool2D(2),
                        Conv2D(16, 3, activation="relu", padding="same"), Flatten(), Dense(3)],
                       input_shape=(SIZE, SIZE, 3), seed=0)
    optimizer = Adam(lr=0.01)
    for _ in range(50):
        x, labels, _ = coloured_patches(32, rng)
        _, dlogits = softmax_cross_entropy(model.forward(x, training=True), labels)
        model.backward(dlogits, input_grad=False)
        optimizer.step(model.params(), model.grads())
    return model


def test_tiny_net_learns_the_task(trained):
    x, labels, _ = coloured_patches(200, np.random.default_rng(1))
    assert (trained.forward(x).argmax(axis=1) == labels).mean() >= 0.95


def test_grad_cam_peak_falls_on_the_patch(trained):
    x, labels, centres = coloured_patches(200, np.random.default_rng(2))
    cams = grad_cam(trained, x, classes=labels)
    peaks = np.array([np.unravel_index(cam.argmax(), cam.shape) for cam in cams])
    on_patch = np.abs(peaks - centres).max(axis=1) <= PATCH / 2    # inside the patch
    assert on_patch.mean() >= 0.8
