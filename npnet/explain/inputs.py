"""What every explanation function checks about its arguments before it computes anything, so that
a mistake is an NpnetError naming the argument, never a reshape error deep inside or a silent NaN.

    images   the model's input (N, H, W, C): N >= 1, (H, W, C) the model's input shape, all finite
    labels   (N,) whole numbers in 0..K-1, one per image
    options  the methods' whole-number options, each in its range (``OPTION_RANGES``), so that no
             option can ask for minutes or gigabytes: integrated gradients' ``steps`` and
             SmoothGrad's ``samples`` up to 1,000 (Captum's defaults are 50), ``batch_size`` up to
             4,096 images, occlusion's ``window`` and ``stride`` up to 64 pixels, RISE's ``masks``
             up to 20,000 (the authors' default is 4,000; 20,000 masks of 32x32 are 160 MB in
             float64) and its ``cells`` up to 64 per side
"""
import numpy as np

from ..io.errors import NpnetError

OPTION_RANGES = {"steps": (1, 1000), "samples": (1, 1000), "batch_size": (1, 4096), "window": (1, 64),
                 "stride": (1, 64), "masks": (1, 20000), "cells": (1, 64)}


def whole_option(name, value):
    """``value`` as an int in ``OPTION_RANGES[name]``; NpnetError naming the option and its range otherwise."""
    low, high = OPTION_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise NpnetError(f"option {name} must be a whole number from {low} to {high:,}, got {value!r}")
    return int(value)


def check_images(model, images, name="images"):
    """``images`` as an array, checked against the model's input; raises NpnetError otherwise."""
    images = np.asarray(images)
    expected = tuple(model.input_shape[1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise NpnetError(f"{name}: expected shape (N, {', '.join(map(str, expected))}), got {images.shape}")
    if len(images) == 0:
        raise NpnetError(f"{name}: no images (N = 0)")
    if images.dtype.kind not in "fiu":
        raise NpnetError(f"{name}: expected numbers, got dtype {images.dtype}")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = int(np.count_nonzero(~np.isfinite(images).reshape(len(images), -1).all(axis=1)))
        raise NpnetError(f"{name}: {bad} of {len(images)} images hold NaN or infinite values")
    return images


def check_labels(labels, count, num_classes, name="labels"):
    """``labels`` as int64 (count,), each in 0..num_classes-1; raises NpnetError otherwise."""
    array = np.asarray(labels)
    if array.shape != (count,):
        raise NpnetError(f"{name}: expected one label per image, shape ({count},), got {array.shape}")
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.all(array == np.round(array))):
        raise NpnetError(f"{name}: expected whole numbers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    bad = array[(array < 0) | (array >= num_classes)]
    if bad.size:
        raise NpnetError(f"{name}: label {bad[0]} is outside 0..{num_classes - 1}")
    return array


def check_top(top):
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise NpnetError(f"top: expected a whole number >= 1, got {top!r}")
    return int(top)
