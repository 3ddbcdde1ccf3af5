"""RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko 2018), as the authors' code.

Notation as in ``perturbation``: x (N, H, W, C) the model's input, c the class explained for each
image, p_c the softmax probability of c. M masks M_i (H, W) in [0, 1], the same for every image:

    grid_i  = rand(s, s) < p                   (s, s)    s x s cells, each kept with probability p
    cell    = ceil(H / s), ceil(W / s)                   one cell's size in pixels
    U_i     = resize(grid_i, (s + 1) * cell)             bilinear (order 1), mirrored edges
    M_i     = U_i[a:a + H, b:b + W]            (H, W)    a, b random shifts in [0, cell)
    map     = sum_i p_c(x * M_i) M_i / (M p)   (H, W)    M_i broadcast over the C channels
  N*M masked forwards; returned as (N, H, W, C), the map repeated over the channels, like occlusion.
  With a contrast class b the score is p_c - p_b.

The masks follow ``generate_masks`` in the authors' explanations.py (github eclique/RISE):
``grid = rand(N, s, s) < p1``, ``cell_size = ceil(H / s)``, ``up_size = (s + 1) * cell_size``, then for
each mask ``resize(grid[i], up_size, order=1, mode='reflect', anti_aliasing=False)[x:x + H, y:y + W]``
with ``x, y = randint(0, cell_size)``; and ``forward``: ``sal = p^T masks / N / p1`` with p the
softmax of the masked images' logits (their forward's comment: ``p = nn.Softmax(dim=1)(model(stack))``;
their Keras notebook uses ResNet50's softmax output). RISEBatch, the batched variant in the same file,
omits the division by N p1; npnet divides, as the paper and their RISE do. Where npnet differs:
  - the resize is written out (``upsampling_matrix``): skimage's order-1 resize with mode='reflect'
    samples output pixel u at t = (u + 0.5) s / up - 0.5 of the grid, linearly between the two nearest
    cells, a t outside [0, s - 1] mirrored about the edge cell ('reflect' is numpy's name for it,
    ndimage's 'mirror'); M_i = R_rows grid_i R_cols^T with R the (up, s) interpolation weights, the
    same numbers as skimage to rounding (tests/explain/test_rise.py, when skimage is installed);
  - the random numbers come from np.random.default_rng(seed): first every grid (rng.random((M, s, s))
    < p), then every shift (rng.integers(0, cell, (M, 2)), rows then columns); the authors draw from
    numpy's global generator in another order, so equal seeds do not give the authors' masks;
  - the sum over masks runs in float64, then the map takes the model's dtype.
"""
import numbers

import numpy as np

from ..engine.inference import predict_logits
from ..engine.losses import softmax
from ..io.errors import NpnetError
from .inputs import whole_option
from .passes import batches, resolve_classes
from .perturbation import contrast_classes


# -- masks ----------------------------------------------------------------------------------------
def upsampling_matrix(cells, size):
    """(size, cells) float64: row u holds the weights of the cells that output pixel u interpolates.

    t = (u + 0.5) * cells / size - 0.5, mirrored into [0, cells - 1] (t -> -t below 0, t -> 2 (cells - 1)
    - t above); weight 1 - (t - floor t) on cell floor t and t - floor t on the next one.
    """
    t = (np.arange(size) + 0.5) * cells / size - 0.5
    if cells == 1:
        t = np.zeros(size)
    else:
        period = 2 * (cells - 1)
        t = np.abs(t) % period
        t = np.where(t > cells - 1, period - t, t)
    low = np.floor(t).astype(np.int64)
    high = np.minimum(low + 1, cells - 1)
    weight = t - low
    R = np.zeros((size, cells))
    np.add.at(R, (np.arange(size), low), 1 - weight)
    np.add.at(R, (np.arange(size), high), weight)
    return R


def mask_grids(count, cells, keep, height, width, seed):
    """(grids (M, s, s) bool, shifts (M, 2) int): the random part of the masks, from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    grids = rng.random((count, cells, cells)) < keep
    cell = (-(-height // cells), -(-width // cells))
    shifts = rng.integers(0, cell, size=(count, 2))
    return grids, shifts


def upsampled_masks(grids, shifts, height, width):
    """(M, H, W) float64: each grid resized to (s + 1) cells' size, then cut at its shift.

    M_i = R_r[a_i:a_i + H] grid_i R_c[b_i:b_i + W]^T, R_r and R_c the ``upsampling_matrix`` of each axis:
    the crop of the resized grid, without resizing the rows and columns the crop drops.
    """
    M, s, _ = grids.shape
    rows = upsampling_matrix(s, (s + 1) * -(-height // s))                     # (up_h, s)
    cols = upsampling_matrix(s, (s + 1) * -(-width // s))                      # (up_w, s)
    R = rows[shifts[:, 0, None] + np.arange(height)]                           # (M, H, s)
    Q = cols[shifts[:, 1, None] + np.arange(width)]                            # (M, W, s)
    return np.einsum("mhs,mst,mwt->mhw", R, grids.astype(np.float64), Q, optimize=True)


def rise_masks(count, cells, keep, height, width, seed=0):
    """The M masks (M, H, W) float64 of ``rise``: the same for the same arguments."""
    grids, shifts = mask_grids(count, cells, keep, height, width, seed)
    return upsampled_masks(grids, shifts, height, width)


def check_keep(keep):
    if isinstance(keep, bool) or not isinstance(keep, numbers.Real) or not 0 < keep <= 1:
        raise NpnetError(f"option keep must be a probability in (0, 1], got {keep!r}")
    return float(keep)


def check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise NpnetError(f"option seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


# -- the method -----------------------------------------------------------------------------------
def rise(model, images, classes=None, contrast=None, *, masks=4000, cells=8, keep=0.5, seed=0, batch_size=256):
    """RISE attributions (N, H, W, C) in the logits' dtype: sum_i p_c(x * M_i) M_i / (M p).

    An image that appears more than once (one image explained for several classes, as the report and
    ``compare`` do) goes through its M masked forwards once: every class's map comes from the same
    probabilities p(x * M_i), so each distinct image costs M forwards whatever the classes asked.
    """
    count = whole_option("masks", masks)
    cells = whole_option("cells", cells)
    keep = check_keep(keep)
    seed = check_seed(seed)
    batch_size = whole_option("batch_size", batch_size)
    N, H, W, C = images.shape
    logits = predict_logits(model, images)
    chosen = resolve_classes(classes, logits)
    against = contrast_classes(contrast, logits)
    weights = rise_masks(count, cells, keep, H, W, seed).reshape(count, H * W)   # (M, H*W) float64
    stencils = weights.astype(images.dtype).reshape(count, H, W, 1)
    saliency = np.empty((N, H * W))
    for rows in same_image_rows(images):
        probabilities = np.empty((count, logits.shape[1]))                     # p(x * M_i), (M, K)
        for part in batches(count, batch_size):
            probabilities[part] = softmax(predict_logits(model, images[rows[0]] * stencils[part]))
        scores = probabilities[:, chosen[rows]]                                # (M, rows): p_c, or p_c - p_b
        if against is not None:
            scores = scores - probabilities[:, against[rows]]
        saliency[rows] = scores.T @ weights / (count * keep)
    return np.repeat(saliency.reshape(N, H, W, 1), C, axis=3).astype(logits.dtype)


def same_image_rows(images):
    """Groups of row indices (int arrays) whose images are equal, value for value, in first-seen order."""
    groups = {}
    for n, image in enumerate(images):
        groups.setdefault(image.tobytes(), []).append(n)
    return [np.array(rows) for rows in groups.values()]
