"""Test-time augmentation: the model's probabilities averaged over a few fixed shifts and scales of each image.

    p_tta(x) = (1 / N) sum_{v < N} softmax(f(preprocess(T_v(x))))          (B, K)

T_v is the v-th of ``VIEWS``, a fixed list (nothing random: the same images give the same figures):

    v  scale  shift x, y (px)
    0  1      0, 0     the image itself (untouched: N = 1 is the single pass exactly)
    1  1     +2, 0     the content moved right
    2  1     -2, 0     left
    3  1      0, +2    down
    4  1      0, -2    up
    5  1.1    0, 0     zoomed in 10% (about GTSRB's margin around the sign)
    6  0.9    0, 0     zoomed out 10%
    7  1.05   0, 0
    8  0.95   0, 0

so every odd N is symmetric (3: the horizontal pair; 5: the four shifts; 7: + the 10% scales; 9: + 5%).
The ranges lie inside what the best recipe trains on (scale 0.84-1.16, shifts up to 3.9 px at strength 1.25).
A view warps the uint8 image about its centre c = ((W - 1) / 2, (H - 1) / 2), as ``npnet.data.augment``
does (same inverse map, bilinear sampling, border clamped):

    T_v(x)[p] = x[(p - c - t) / s + c]                                    float32 (B, H, W, C) in 0..255

and the checkpoint's own preprocessing follows, as it does for augmented images in training.
"""
import numpy as np

from .sampling import bilinear_sample
from ..io.errors import NpnetError
from .preprocessing import preprocess

VIEWS = ((1.0, 0, 0), (1.0, 2, 0), (1.0, -2, 0), (1.0, 0, 2), (1.0, 0, -2),
         (1.1, 0, 0), (0.9, 0, 0), (1.05, 0, 0), (0.95, 0, 0))      # (scale, shift x, shift y)
MAX_VIEWS = len(VIEWS)


def check_views(count):
    """The number of views asked for, as an int in 1..MAX_VIEWS; NpnetError otherwise."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= MAX_VIEWS:
        raise NpnetError(f"--tta {count!r}: the number of views must be a whole number from 1 to {MAX_VIEWS}")
    return int(count)


def warp(images, scale, shift_x, shift_y):
    """images (B, H, W, C) read at (p - c - t) / scale + c, clamped to the image -> float32 (B, H, W, C)."""
    B, H, W, _ = images.shape
    centre_y, centre_x = (H - 1) / 2, (W - 1) / 2
    rows, columns = np.mgrid[0:H, 0:W]
    source_x = np.clip((columns - centre_x - shift_x) / scale + centre_x, 0, W - 1)
    source_y = np.clip((rows - centre_y - shift_y) / scale + centre_y, 0, H - 1)
    return bilinear_sample(images, np.broadcast_to(source_y, (B, H, W)), np.broadcast_to(source_x, (B, H, W)))


def view(images, v):
    """The v-th view of uint8 images (B, H, W, C): the images themselves for v = 0, else ``warp``."""
    scale, shift_x, shift_y = VIEWS[v]
    return images if v == 0 else warp(images, scale, shift_x, shift_y)


def predict_proba_tta(model, images, spec, count, batch=1024):
    """The mean of the model's probabilities over the first ``count`` views of uint8 ``images`` (B, H, W, C),
    each view preprocessed with ``spec``: float32 (B, K). Works through ``batch`` images at a time."""
    count = check_views(count)
    parts = []
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch]
        total = sum(model.predict_proba(preprocess(view(chunk, v), spec)).astype(np.float64) for v in range(count))
        parts.append((total / count).astype(np.float32))
    if not parts:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return np.concatenate(parts)
