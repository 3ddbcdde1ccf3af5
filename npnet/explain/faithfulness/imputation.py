"""ROAD's linear imputation (Rong et al. 2022): a removed pixel becomes the weighted mean of its
neighbours, all removed pixels at once, so that the removal leaves no hole for the model to see.

    linear_imputation(images, removed)           the solver in use (``npnet.engine.ops`` switch)
    linear_imputation_reference(images, removed) the system written out, solved densely: the ground truth
    linear_imputation_fast(images, removed)      the same system as a banded Cholesky solve, compiled

images (B, H, W, C), removed (B, H, W) bool -> (B, H, W, C) in the images' dtype: the kept pixels as
they were, every removed pixel v (each channel alike) the solution of

    x_v = sum_{u in N(v)} w_u x_u / sum_{u in N(v)} w_u        N(v): v's 8 neighbours inside the image

where x_u is the image's value for a kept u and the unknown for a removed one; w = 1/6 for the four
edge neighbours, 1/12 for the four corner ones (``NEIGHBOURS``, pytorch-grad-cam's ``neighbors_weights``,
from the ROAD authors' imputations.py). As in the authors' code, a neighbour outside the image drops
out of both sums (the weights of a border pixel's equation sum to less than 1). ROAD's noise is added
by ``road``, not here.

The system. With U the removed pixels, per channel: A x_U = b, A[v, v] = -sum_{u in N(v)} w_u,
A[v, u] = w_u for a removed neighbour u, b_v = -sum of w_u x_u over the kept neighbours; the
reference's ``setup_sparse_system`` builds exactly this and hands it to scipy's ``spsolve``. -A is
symmetric and, when some pixel is kept, positive definite (every 8-connected region of removed pixels
touches a kept one, so A is irreducibly diagonally dominant).
  - Reference: the loops that build A and b, then ``np.linalg.solve`` (dense, U x U, up to 1024^2).
  - Fast: the whole image as one system of H W unknowns in row-major order, a kept pixel's row the
    identity (x_v = its value), a removed one's row -A's with the kept neighbours moved to the right
    side. It is symmetric positive definite and banded: a neighbour is at most W + 1 rows away. A
    band Cholesky factorization L L^T costs H W (W + 1)^2 / 2 multiply-adds (about 0.6 M at 32x32),
    the two triangular solves 2 H W (W + 1) C; a kept pixel's row of L is the identity's and is skipped.
    numba compiles it, one image per thread (``prange``).
  No scipy: it is not a dependency of npnet. Every pixel removed (nothing to interpolate from): the
  system is singular, its minimum-norm solution is 0, and the image becomes 0 (the reference's spsolve
  warns and returns NaN there).
"""
import numpy as np
from numba import njit, prange

from ...engine import ops

NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))
ROW_OFFSETS = np.array([offset[0] for offset, _ in NEIGHBOURS], dtype=np.int64)
COLUMN_OFFSETS = np.array([offset[1] for offset, _ in NEIGHBOURS], dtype=np.int64)
WEIGHTS = np.array([weight for _, weight in NEIGHBOURS])


def linear_imputation(images, removed):
    """Each image with its removed pixels imputed; the definition is ``linear_imputation_reference``'s."""
    kernel = linear_imputation_fast if ops.in_use() == "fast" else linear_imputation_reference
    return kernel(images, np.asarray(removed, dtype=bool))


# -- the reference --------------------------------------------------------------------------------
def imputation_system(image, removed):
    """(A (U, U), b (U, C), pixels (U,) flat row-major indices) of one image (H, W, C), float64."""
    H, W, C = image.shape
    pixels = np.flatnonzero(removed)
    unknown = np.full(H * W, -1)
    unknown[pixels] = np.arange(len(pixels))
    A = np.zeros((len(pixels), len(pixels)))
    b = np.zeros((len(pixels), C))
    for row, pixel in enumerate(pixels):
        i, j = divmod(pixel, W)
        for (di, dj), weight in NEIGHBOURS:
            k, l = i + di, j + dj
            if not (0 <= k < H and 0 <= l < W):
                continue                                     # outside the image: in neither sum
            A[row, row] -= weight
            if removed[k, l]:
                A[row, unknown[k * W + l]] += weight
            else:
                b[row] -= weight * image[k, l]
    return A, b, pixels


def linear_imputation_reference(images, removed):
    """The readable version: ``imputation_system`` and a dense solve, one image at a time."""
    B, H, W, C = images.shape
    out = images.astype(np.float64).reshape(B, H * W, C)
    for n in range(B):
        A, b, pixels = imputation_system(images[n].astype(np.float64), removed[n])
        if len(pixels) == H * W:
            out[n] = 0.0                                     # nothing kept: the minimum-norm solution
        elif len(pixels):
            out[n, pixels] = np.linalg.solve(A, b)
    return out.reshape(B, H, W, C).astype(images.dtype)


# -- the fast version -----------------------------------------------------------------------------
def _linear_imputation(images, removed, row_offsets, column_offsets, weights):
    # the whole image as one banded SPD system; band[r, d] holds the entry (r, r - d), then L's
    B, H, W, C = images.shape
    n, p = H * W, W + 1
    out = np.empty(images.shape, dtype=images.dtype)
    for b in prange(B):
        band = np.zeros((n, p + 1))
        x = np.zeros((n, C))
        kept = 0
        for i in range(H):
            for j in range(W):
                r = i * W + j
                if not removed[b, i, j]:
                    kept += 1
                    band[r, 0] = 1.0
                    for c in range(C):
                        x[r, c] = images[b, i, j, c]
                    continue
                for e in range(8):
                    k, l = i + row_offsets[e], j + column_offsets[e]
                    if k < 0 or k >= H or l < 0 or l >= W:
                        continue
                    band[r, 0] += weights[e]
                    q = k * W + l
                    if removed[b, k, l]:
                        if q < r:
                            band[r, r - q] = -weights[e]
                    else:
                        for c in range(C):
                            x[r, c] += weights[e] * images[b, k, l, c]
        if kept == 0:
            x[:, :] = 0.0
        else:
            for r in range(n):                               # L L^T, row by row; a kept row stays e_r
                if not removed[b, r // W, r % W]:
                    continue
                first = max(0, r - p)
                for q in range(first, r + 1):
                    s = band[r, r - q]
                    for k in range(first, q):
                        s -= band[r, r - k] * band[q, q - k]
                    if q == r:
                        band[r, 0] = np.sqrt(s)
                    else:
                        band[r, r - q] = s / band[q, 0]
            for r in range(n):                               # L y = rhs
                for k in range(max(0, r - p), r):
                    for c in range(C):
                        x[r, c] -= band[r, r - k] * x[k, c]
                for c in range(C):
                    x[r, c] /= band[r, 0]
            for r in range(n - 1, -1, -1):                   # L^T x = y
                for k in range(r + 1, min(n, r + p + 1)):
                    for c in range(C):
                        x[r, c] -= band[k, k - r] * x[k, c]
                for c in range(C):
                    x[r, c] /= band[r, 0]
        for i in range(H):
            for j in range(W):
                for c in range(C):
                    out[b, i, j, c] = x[i * W + j, c] if removed[b, i, j] else images[b, i, j, c]
    return out


_linear_imputation_fast = njit(parallel=True, cache=True, nogil=True)(_linear_imputation)


def linear_imputation_fast(images, removed):
    """The banded Cholesky solve, compiled; the same numbers as the reference to rounding."""
    return _linear_imputation_fast(images, removed, ROW_OFFSETS, COLUMN_OFFSETS, WEIGHTS)
