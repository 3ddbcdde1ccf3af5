"""The images of the deletion and insertion curves (``metrics.perturbation_curves``): the NumPy
reference and the numba loop side by side, picked by the engine's one kernel switch
(``npnet.engine.ops.use``); tests/explain/test_perturbed.py holds the two equal.

    perturbed_images(...)            the kernel in use
    perturbed_images_reference(...)  the readable NumPy version: the ground truth
    perturbed_images_fast(...)       the same as loops, compiled (``prange`` over the rows)
"""
import numpy as np
from numba import njit, prange

from ...engine import ops


def perturbed_images(images, ranks, limits, image_of, step_of, fill, insert):
    """One image per (image, step) row, each pixel from the image or from ``fill`` by its rank;
    the definition is ``perturbed_images_reference``'s."""
    kernel = perturbed_images_fast if ops.in_use() == "fast" else perturbed_images_reference
    return kernel(images, ranks, limits, image_of, step_of, fill, insert)


def perturbed_images_reference(images, ranks, limits, image_of, step_of, fill, insert):
    """The deletion / insertion metric's images (``metrics``), one row per (image, step):

        images (N, H, W, C), ranks (N, H, W) each pixel's place in its map's order, limits (S,) the
        pixels moved after each step, image_of, step_of (B,) each row's image and step, fill (N, H, W, C)
        the baseline's values (a broadcast view for one value)  ->  (B, H, W, C) with, in row b,
        moved = ranks[image_of[b]] < limits[step_of[b]], every channel of a pixel alike:
            deletion (insert=False): fill where moved, the image elsewhere
            insertion (insert=True): the image where moved, fill elsewhere
    """
    moved = (ranks[image_of] < limits[step_of][:, None, None])[..., None]
    kept, filled = images[image_of], fill[image_of]
    return np.where(moved, kept, filled) if insert else np.where(moved, filled, kept)


def _perturbed_images(images, ranks, limits, image_of, step_of, fill, insert):
    # one row per (image, step); fill is an array of the images' shape (a broadcast view for one value)
    B = image_of.shape[0]
    _, H, W, C = images.shape
    out = np.empty((B, H, W, C), dtype=images.dtype)
    for b in prange(B):
        n, limit = image_of[b], limits[step_of[b]]
        for i in range(H):
            for j in range(W):
                moved = ranks[n, i, j] < limit
                use_image = moved if insert else not moved
                for c in range(C):
                    out[b, i, j, c] = images[n, i, j, c] if use_image else fill[n, i, j, c]
    return out


perturbed_images_fast = njit(parallel=True, cache=True, nogil=True)(_perturbed_images)
