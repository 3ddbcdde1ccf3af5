"""Resizing as matrices: a 1-D resize of length n_in to n_out is an (n_out, n_in) matrix M, and an image
(H, W) resized to (H', W') is Rows @ image @ Cols.T, Rows = M(H, H'), Cols = M(W, W').

    interpolation_matrix(size_in, size_out)   linear interpolation (enlarging: Grad-CAM's maps)
    area_matrix(size_in, size_out)            box averaging over each output pixel's footprint (shrinking)

Linear interpolation is the wrong way to shrink: from 32 to 12 pixels it reads 2 of every ~3 input
pixels and skips the rest, so fine lines alias or vanish. Averaging the footprint is what a camera
sensor with fewer, larger pixels records, and what image resizers call "area" (OpenCV INTER_AREA).
"""
import numpy as np


def interpolation_matrix(size_in, size_out):
    """The (size_out, size_in) matrix of 1-D linear interpolation, align-corners=False.

    Output pixel i covers [i, i+1) of the output grid; its centre maps back to the input at
        x = (i + 0.5) * size_in / size_out - 0.5
    clamped to [0, size_in - 1], and takes (1 - t) of input floor(x) and t of floor(x) + 1,
    t = x - floor(x). This is how image resizers (Pillow, OpenCV, TensorFlow v2) place pixels.
    """
    x = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    x = np.clip(x, 0, size_in - 1)
    left = np.floor(x).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    t = x - left
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    matrix[rows, left] += 1 - t
    matrix[rows, right] += t
    return matrix


def area_matrix(size_in, size_out):
    """The (size_out, size_in) matrix of box averaging, size_out <= size_in.

    Output pixel i covers [i r, (i+1) r) of the input, r = size_in / size_out; input pixel j covers
    [j, j+1). Entry (i, j) = overlap of the two / r, so every row sums to 1.
    """
    if size_out > size_in:
        raise ValueError(f"area_matrix shrinks: size_out {size_out} > size_in {size_in}")
    ratio = size_in / size_out
    starts = np.arange(size_out)[:, None] * ratio
    ends = starts + ratio
    left = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(ends, left + 1) - np.maximum(starts, left), 0, None)
    return overlap / ratio
