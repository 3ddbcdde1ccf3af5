"""Input preprocessing: the one function that turns uint8 images into the model's float32 input.

Training, evaluation, prediction and Grad-CAM all call ``preprocess(images, spec)``; the ``spec`` is
a small JSON-able dict stored in every checkpoint, so a model is always fed the way it was trained.

    spec = fit_preprocessing("standardize", train.images)     # learns what it needs from training data
    x = preprocess(images, spec)                              # (N, 32, 32, 3) uint8 -> float32

Methods (images x in 0..255, shape (N, H, W, 3)):
    seed               x / 255 - 0.5                                    the seed's scaling, to [-0.5, 0.5]
    standardize        (x - mean[c]) / max(std[c], 1)                   per channel, training-set statistics
                                                                        (a channel the training images hold
                                                                        constant is divided by 1 grey level)
    image_standardize  (x - mean(x_n)) / max(std(x_n), 1/sqrt(size))   per image, as TensorFlow's
                                                                        per_image_standardization
    center_standardize clip((x - mean(c_n)) / max(std(c_n), 1/sqrt(size)), -4, 4) with c_n the
                       middle half of image n's rows and columns: GTSRB crops hold the sign in the
                       middle, so this is exposure metered on the sign, not on the background. A
                       backlit sign (dark disc on bright sky) comes out like the bright sign on a
                       dark background it is; the background, which may lie far outside the sign's
                       range (up to 77 standard deviations), saturates at +-4.
    equalize           histogram-equalize each image's luminance (its pixels' brightness ranks become
                       evenly spaced), scale the pixel's RGB by new/old luminance, then image_standardize.
                       Dark and washed-out photos, common in GTSRB, come out alike.
    lcn                local contrast normalization (Jarrett et al. 2009, the preprocessing of
                       Sermanet & LeCun 2011): v = x - G*x, y = v / max(mean(s_n), s, 1) with
                       s = sqrt(G*v^2); G a 9x9 Gaussian (sigma 2) summed over the three channels,
                       renormalized where it overhangs the border (``local_contrast_normalize``).
                       Each neighbourhood gets zero mean and, where it has contrast, unit contrast:
                       a pictogram in a dark or hazy sign comes out as crisp as in a bright one.
"""
import math

import numpy as np

PREPROCESSING_METHODS = ("seed", "standardize", "image_standardize", "center_standardize", "equalize", "lcn")
MIN_STD = 1.0        # grey levels: the smallest per-channel std 'standardize' divides by
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)   # ITU-R BT.601 weights


def fit_preprocessing(method, train_images=None):
    """The spec for ``method``; 'standardize' measures the per-channel mean and std of train_images,
    the std at least ``MIN_STD`` (one grey level: a constant channel would be divided by 0)."""
    if method not in PREPROCESSING_METHODS:
        raise ValueError(f"unknown preprocessing {method!r}: choose one of {', '.join(PREPROCESSING_METHODS)}")
    spec = {"name": method}
    if method == "standardize":
        pixels = np.asarray(train_images, dtype=np.float64).reshape(-1, train_images.shape[-1])
        spec["mean"] = pixels.mean(axis=0).round(6).tolist()
        spec["std"] = np.maximum(pixels.std(axis=0), MIN_STD).round(6).tolist()
    return spec


def spec_problem(spec, channels=3):
    """What is wrong with ``spec`` as a spec ``fit_preprocessing`` makes (one phrase), or None.

    A spec is {"name": one of PREPROCESSING_METHODS}; 'standardize' adds "mean" and "std", lists of ``channels``
    finite numbers (std > 0). Nothing else is accepted: a checkpoint's spec is data from a file.
    """
    if not isinstance(spec, dict):
        return f"is a {type(spec).__name__}, expected a JSON object such as {{\"name\": \"seed\"}}"
    name = spec.get("name")
    if not isinstance(name, str) or name not in PREPROCESSING_METHODS:
        return f"has name {_short(name)}, expected one of {', '.join(PREPROCESSING_METHODS)}"
    if name == "equalize" and channels != 3:
        return f"'equalize' needs RGB input, but the network takes {channels} channel(s)"
    keys = {"name", "mean", "std"} if name == "standardize" else {"name"}
    if set(spec) != keys:
        return f"{name!r} takes the keys {', '.join(sorted(keys))}, got {_short(', '.join(map(str, spec)))}"
    for key in keys - {"name"}:
        values = spec[key]
        if not (isinstance(values, list) and len(values) == channels
                and all(_finite_number(v) for v in values)):
            return f"'{key}' is {_short(values)}, expected {channels} finite numbers"
        if key == "std" and min(values) <= 0:
            return f"'std' is {_short(values)}, expected numbers above 0"
    return None


def _finite_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:                 # a JSON integer too large for a float
        return False


def _short(value, limit=60):
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


def preprocess(images, spec):
    """uint8 (or float, 0..255) images (N, H, W, C) -> float32 model input of the same shape."""
    method = spec.get("name") if isinstance(spec, dict) else None
    x = np.asarray(images, dtype=np.float32)
    if method == "seed":
        return x / np.float32(255) - np.float32(0.5)
    if method == "standardize":
        mean = np.asarray(spec["mean"], dtype=np.float32)
        std = np.asarray(spec["std"], dtype=np.float32)
        return (x - mean) / std
    if method == "image_standardize":
        return image_standardize(x)
    if method == "center_standardize":
        return center_standardize(x)
    if method == "equalize":
        return image_standardize(equalize_luminance(x))
    if method == "lcn":
        return local_contrast_normalize(x)
    raise ValueError(f"unknown preprocessing spec {spec!r}: its name must be one of {', '.join(PREPROCESSING_METHODS)}")


def image_standardize(x):
    """Each image to zero mean and unit variance over all its pixels and channels."""
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(np.prod(x.shape[1:])))
    return (x - mean) / np.maximum(std, floor)


def center_standardize(x, limit=4.0):
    """Each image shifted and scaled so that its central region (the middle half of its rows and
    columns, 16x16 of 32x32) has zero mean and unit variance; the border follows the same map, and
    every value is clipped to [-limit, limit]."""
    H, W = x.shape[1:3]
    center = x[:, H // 4:H - H // 4, W // 4:W - W // 4, :]
    axes = tuple(range(1, x.ndim))
    mean = center.mean(axis=axes, keepdims=True)
    std = center.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(np.prod(center.shape[1:])))
    return np.clip((x - mean) / np.maximum(std, floor), -limit, limit)


def equalize_luminance(x):
    """Histogram equalization of each image's luminance, keeping each pixel's hue.

    For image n with P pixels: rank r of a pixel's luminance Y among the P (ties in pixel order)
    gives the equalized luminance Y' = 255 (r + 0.5) / P, and the pixel's RGB is scaled by Y' / Y.
    x: (N, H, W, 3) float 0..255 -> same shape, clipped to 0..255.
    """
    N = x.shape[0]
    luminance = (x @ LUMINANCE).reshape(N, -1)
    P = luminance.shape[1]
    order = luminance.argsort(axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(P)[None, :], axis=1)
    equalized = np.float32(255.0 / P) * (ranks.astype(np.float32) + np.float32(0.5))
    ratio = equalized / np.maximum(luminance, np.float32(1.0))
    return np.clip(x * ratio.reshape(x.shape[:-1] + (1,)), 0, 255)


#: local_contrast_normalize's window: radius 4 (9x9), Gaussian sigma 2 pixels.
LCN_RADIUS, LCN_SIGMA = 4, 2.0


def window_sum(z, radius=LCN_RADIUS, sigma=LCN_SIGMA):
    """A z: the sum over the (2 radius + 1)^2 window of g(di) g(dj) z, zero outside the image, one
    axis after the other; g(d) = exp(-d^2 / 2 sigma^2) in float32. z: (N, H, W, 1) -> same. A's entries
    g(i - i') g(j - j') are symmetric in the two pixels, so A is its own adjoint."""
    N, H, W, _ = z.shape
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2)).astype(np.float32)

    def along(array, axis, size):
        padded = np.pad(array, [(radius, radius) if a == axis else (0, 0) for a in range(4)])
        out = np.zeros_like(array)
        for k, weight in enumerate(taps):
            out += weight * np.take(padded, np.arange(k, k + size), axis=axis)
        return out
    return along(along(z, 1, H), 2, W)


def gaussian_blur(x, radius=LCN_RADIUS, sigma=LCN_SIGMA):
    """G * x summed over channels: the weighted mean of every pixel's neighbourhood in all channels,
    (N, H, W, C) -> (N, H, W, 1). The separable Gaussian g(d) = exp(-d^2 / 2 sigma^2), |d| <= radius,
    is renormalized at the border by the weight that falls inside the image, so each output is a
    weighted mean of real pixels (no zero or mirrored padding): A (sum_c x_c) / (A 1 * C), A the
    zero-padded ``window_sum``."""
    N, H, W, C = x.shape
    total = window_sum(x.sum(axis=3, keepdims=True), radius, sigma)
    inside = window_sum(np.ones((1, H, W, 1), np.float32), radius, sigma)
    return total / (inside * C)


def local_contrast_normalize(x, radius=LCN_RADIUS, sigma=LCN_SIGMA, floor=1.0):
    """Subtractive then divisive normalization (N, H, W, C) float 0..255 -> float32, same shape:

        v = x - G*x                       every channel minus its neighbourhood's mean (all channels)
        s = sqrt(G*v^2)                   the neighbourhood's contrast, (N, H, W, 1)
        y = v / max(mean_hw(s_n), s, floor)

    Dividing by at least the image's mean contrast (Jarrett et al.) keeps flat regions from being
    blown up to noise; ``floor`` (one grey level) keeps a flat image finite (all zeros)."""
    v = x - gaussian_blur(x, radius, sigma)
    s = np.sqrt(gaussian_blur(v * v, radius, sigma))
    mean_contrast = s.mean(axis=(1, 2, 3), keepdims=True)
    return v / np.maximum(np.maximum(s, mean_contrast), np.float32(floor))
