"""Bilinear sampling, for augmentation's warps and the test-time views: the NumPy reference and the
numba loop side by side, picked by the engine's one kernel switch (``npnet.engine.ops.use``).

    bilinear_sample(images, y, x)            the kernel in use
    bilinear_sample_reference(images, y, x)  the readable NumPy version: the ground truth
    bilinear_sample_fast(images, y, x)       the same float32 operations as loops, compiled (``prange``
                                             over the images); tests/data/test_sampling.py holds the
                                             two equal bit for bit
"""
import numpy as np
from numba import njit, prange

from ..engine import ops


def bilinear_sample(images, y, x):
    """images (N, H, W, C) read at real coordinates y, x (N, Ho, Wo), each inside the image, with
    bilinear interpolation -> float32 (N, Ho, Wo, C); the math is in ``bilinear_sample_reference``."""
    kernel = bilinear_sample_fast if ops.in_use() == "fast" else bilinear_sample_reference
    return kernel(images, y, x)


def bilinear_sample_reference(images, y, x):
    """images (N, H, W, C) read at real coordinates y, x (N, Ho, Wo), each inside the image
    (augmentation's warps and the test-time views call this)  ->  float32 (N, Ho, Wo, C):

        out = (1-wy)(1-wx) I[y0, x0] + (1-wy) wx I[y0, x1] + wy (1-wx) I[y1, x0] + wy wx I[y1, x1]

    with y0 = floor(y), y1 = min(y0 + 1, H - 1), wy = y - y0 (likewise for x), summed in float32 as
    top = I[y0, x0] (1 - wx) + I[y0, x1] wx, bottom likewise on row y1, out = top (1 - wy) + bottom wy.
    """
    N, H, W, _ = images.shape
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, H - 1), np.minimum(x0 + 1, W - 1)
    wy, wx = (y - y0)[..., None].astype(np.float32), (x - x0)[..., None].astype(np.float32)
    n = np.arange(N)[:, None, None]
    source = images.astype(np.float32, copy=False)
    top = source[n, y0, x0] * (1 - wx) + source[n, y0, x1] * wx
    bottom = source[n, y1, x0] * (1 - wx) + source[n, y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def _bilinear_sample(images, y, x):
    # the reference's float32 operations in its order, so the two agree bit for bit
    N, H, W, C = images.shape
    Ho, Wo = y.shape[1], y.shape[2]
    out = np.empty((N, Ho, Wo, C), dtype=np.float32)
    one = np.float32(1)
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                floor_y, floor_x = np.floor(y[n, i, j]), np.floor(x[n, i, j])
                wy, wx = np.float32(y[n, i, j] - floor_y), np.float32(x[n, i, j] - floor_x)
                y0, x0 = int(floor_y), int(floor_x)
                y1, x1 = min(y0 + 1, H - 1), min(x0 + 1, W - 1)
                for c in range(C):
                    top = np.float32(images[n, y0, x0, c]) * (one - wx) + np.float32(images[n, y0, x1, c]) * wx
                    bottom = np.float32(images[n, y1, x0, c]) * (one - wx) + np.float32(images[n, y1, x1, c]) * wx
                    out[n, i, j, c] = top * (one - wy) + bottom * wy
    return out


bilinear_sample_fast = njit(parallel=True, cache=True, nogil=True)(_bilinear_sample)
