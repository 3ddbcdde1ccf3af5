"""The backward of ``preprocess``: the gradient with respect to the pixel values (0..255).

    y = preprocess(images, spec)                    # (N, H, W, C) 0..255 -> the model's input
    dx = preprocess_backward(images, spec, dout)    # dout = dL/dy (N, H, W, C) -> dL/dx, same shape

An adversarial attack moves pixels, so it needs the loss's gradient with respect to x, not to the
network's input y. This is the vector-Jacobian product of each method in ``preprocessing.py``,
written by hand, one function per method. It keeps no state: each function recomputes the forward
statistics it needs from ``images`` with the forward's own expressions, so in float32 every mask
and branch below is the one the forward took.

The kinks get one fixed choice each (away from them every choice agrees with finite differences):
    clip(u, lo, hi)  passes the gradient where lo <= u <= hi, bounds included (PyTorch's clamp does
                     the same). For equalize's clip at 0 this is the derivative from above, the only
                     side a pixel value can move to.
    max(a, b)        the gradient goes to the argument that is strictly larger; at a tie it goes to
                     the later, constant-like one: the floor, or the image's mean contrast.
    ranks            equalize's luminance ranks are piecewise constant; see ``equalize_backward``.

dx has grad_output's dtype when that is float64 (for gradient checks) and is float32 otherwise (the
engine); everything is computed in that dtype.
"""
import numpy as np

from .preprocessing import LCN_RADIUS, LCN_SIGMA, LUMINANCE, PREPROCESSING_METHODS, gaussian_blur, window_sum


def preprocess_backward(images, spec, grad_output):
    """dL/dx of ``preprocess(images, spec)`` given dL/dy = grad_output.

    images: (N, H, W, C) uint8 or float 0..255, what preprocess was applied to.
    grad_output: (N, H, W, C), the gradient of the loss with respect to preprocess's output.
    Returns dx (N, H, W, C): float64 if grad_output is float64, float32 otherwise.
    """
    method = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(method, str) or method not in PREPROCESSING_METHODS:
        raise ValueError(f"unknown preprocessing spec {spec!r}: its name must be one of {', '.join(PREPROCESSING_METHODS)}")
    dout = np.asarray(grad_output)
    dtype = np.float64 if dout.dtype == np.float64 else np.float32
    x = np.asarray(images, dtype=dtype)
    if dout.shape != x.shape:
        raise ValueError(f"grad_output has shape {dout.shape}, expected the images' shape {x.shape}")
    return BACKWARDS[method](x, dout.astype(dtype, copy=False), spec)


def seed_backward(x, dout, spec=None):
    """y = x / 255 - 0.5  ->  dx = dout / 255.   dout, dx: (N, H, W, C)."""
    return dout / dout.dtype.type(255)


def standardize_backward(x, dout, spec):
    """y = (x - mean[c]) / std[c], the spec's training-set statistics  ->  dx = dout / std[c].

    dout, dx: (N, H, W, C); std: (C,), cast to dout's dtype (the forward casts it to float32)."""
    return dout / np.asarray(spec["std"], dtype=dout.dtype)


def _region_standardize_backward(x, dout, rows, cols, limit=None):
    """The backward of standardizing each image by the statistics of a region R of it.

    Forward, for image n, R = x[n, rows, cols, :] with Q entries, y and u over the whole image:
        m = mean_R(x),  s = std_R(x),  d = max(s, 1/sqrt(Q)),  u = (x - m) / d,  y = clip(u, -limit, limit)
    Backward, with g = dout * [-limit <= u <= limit] (no clip: g = dout) and sums over all H W C entries:
        dx = g / d  -  [x in R] (sum(g) + u sum(g u) [s > floor]) / (Q d)
    The first term is the direct path. sum(g) comes through m (dm/dx = [x in R] / Q), and sum(g u)
    through s: ds/dx = [x in R] (x - m) / (Q s) = [x in R] u / Q where d = s; the floor is a constant.
    x, dout, dx: (N, H, W, C); m, s, d, sum(g), sum(g u): (N, 1, 1, 1).
    """
    axes = (1, 2, 3)
    region = x[:, rows, cols, :]
    mean = region.mean(axis=axes, keepdims=True)
    std = region.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(np.prod(region.shape[1:])))
    scale = np.maximum(std, floor)
    u = (x - mean) / scale
    g = dout if limit is None else dout * ((u >= -limit) & (u <= limit))
    Q = int(np.prod(region.shape[1:]))
    total = g.sum(axis=axes, keepdims=True)
    along_u = (g * u).sum(axis=axes, keepdims=True) * (std > floor)
    dx = g / scale
    dx[:, rows, cols, :] -= (total + u[:, rows, cols, :] * along_u) / (Q * scale)
    return dx


def image_standardize_backward(x, dout, spec=None):
    """y = (x - m) / max(s, 1/sqrt(H W C)), m and s the mean and std of the whole image  ->

        dx = (g - mean(g) - u mean(g u) [s > floor]) / d,   g = dout, u = y, d = max(s, floor)

    the region form of ``_region_standardize_backward`` with R the whole image (Q = H W C).
    x, dout, dx: (N, H, W, C)."""
    return _region_standardize_backward(x, dout, slice(None), slice(None))


def center_standardize_backward(x, dout, spec=None, limit=4.0):
    """y = clip((x - m) / max(s, 1/sqrt(Q)), -limit, limit), m and s over the central region R
    (rows H//4 .. H - H//4 - 1, the same columns: 16 x 16 x 3 = 768 entries of 32 x 32 x 3)  ->

        dx = g / d - [x in R] (sum(g) + u sum(g u) [s > floor]) / (Q d),   g = dout [-limit <= u <= limit]

    (``_region_standardize_backward``): a clipped output (|u| > limit, e.g. a background far from the
    sign's range) passes no gradient, and at exactly |u| = limit it passes. x, dout, dx: (N, H, W, C)."""
    H, W = x.shape[1:3]
    return _region_standardize_backward(x, dout, slice(H // 4, H - H // 4), slice(W // 4, W - W // 4), limit)


def equalize_backward(x, dout, spec=None):
    """y = image_standardize(z), z = clip(w, 0, 255), w = x Y' / max(Y, 1), per pixel:

        Y = x . LUMINANCE                       the luminance, (N, H, W)
        Y' = 255 (rank(Y) + 0.5) / P            its equalized value, P = H W pixels per image

    The ranks are piecewise constant in x: they change only where two pixels' luminances cross, where
    y jumps. Everywhere else their derivative is zero, so Y' (hence r = Y' / max(Y, 1)) varies only
    through Y, and the backward is

        dz = image_standardize_backward(z, dout)
        dw = dz [0 <= w <= 255]                                    clipped channels pass nothing
        dx = dw r + LUMINANCE (sum_c dw_c x_c) (-Y' / Y^2) [Y > 1]  dr/dY = -Y' / Y^2 above the floor 1

    x, dout, dz, dw, dx: (N, H, W, 3); r and sum_c dw_c x_c: (N, H, W, 1); LUMINANCE: (3,).
    """
    N, H, W, _ = x.shape
    luminance = x @ LUMINANCE
    P = H * W
    order = luminance.reshape(N, P).argsort(axis=1, kind="stable")      # as equalize_luminance
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(P)[None, :], axis=1)
    equalized = np.float32(255.0 / P) * (ranks.astype(np.float32) + np.float32(0.5))
    equalized = equalized.reshape(N, H, W)
    below = np.maximum(luminance, np.float32(1.0))
    ratio = (equalized / below)[..., None]
    w = x * ratio
    dz = image_standardize_backward(np.clip(w, 0, 255), dout)
    dw = dz * ((w >= 0) & (w <= 255))
    dratio = (dw * x).sum(axis=3, keepdims=True)
    dluminance = -dratio * ratio / below[..., None] * (luminance > 1)[..., None]
    return dw * ratio + dluminance * LUMINANCE


def gaussian_blur_adjoint(dout, channels, radius=LCN_RADIUS, sigma=LCN_SIGMA):
    """The adjoint of ``gaussian_blur``: <gaussian_blur(x), dout> = <x, gaussian_blur_adjoint(dout, C)>.

    gaussian_blur(x) = A (sum_c x_c) / (inside C), inside = A 1 the window's weight inside the image
    (fixed per pixel), A the zero-padded window sum (``preprocessing.window_sum``, self-adjoint). So

        gaussian_blur^T(dout) = A (dout / (inside C)), copied to each of the C channels.

    dout: (N, H, W, 1) -> (N, H, W, C)."""
    N, H, W, _ = dout.shape
    inside = window_sum(np.ones((1, H, W, 1), np.float32), radius, sigma)
    spread = window_sum(dout / (inside * channels), radius, sigma)
    return np.repeat(spread, channels, axis=3)


def lcn_backward(x, dout, spec=None, radius=LCN_RADIUS, sigma=LCN_SIGMA, floor=1.0):
    """The backward of ``local_contrast_normalize``; B = gaussian_blur, B^T = gaussian_blur_adjoint.

    Forward:
        v = x - B(x)                  (N, H, W, C)   B(x) is (N, H, W, 1), the same for every channel
        s = sqrt(B(v^2))              (N, H, W, 1)   the neighbourhood's contrast
        M = mean_hw(s)                (N, 1, 1, 1)   the image's mean contrast
        d = max(max(s, M), floor)     (N, H, W, 1)
        y = v / d
    Backward:
        dd = -sum_c(dout v) / d^2                                   (N, H, W, 1)
        ds = dd [s > M] [max(s, M) > floor] + sum_hw(dd [s <= M] [max(s, M) > floor]) / (H W)
        dq = ds / (2 s) where s > 0, else 0                         q = B(v^2) = s^2
        dv = dout / d + 2 v B^T(dq)
        dx = dv - B^T(sum_c dv)
    The max routes dd to the winner: s where s > M, the mean M (which spreads it over every s of the
    image) where M >= s, nothing where the floor (one grey level) is at least max(s, M).
    s = 0 where v = 0 across a pixel's window (a flat region: a black border, say). There q grows
    quadratically in every direction, so s = sqrt(q) grows like |t|: it has no derivative, but its
    central differences are 0, and 0 is what dq gets (no division by zero, no NaN).
    """
    N, H, W, C = x.shape
    v = x - gaussian_blur(x, radius, sigma)
    s = np.sqrt(gaussian_blur(v * v, radius, sigma))
    mean_contrast = s.mean(axis=(1, 2, 3), keepdims=True)
    local = np.maximum(s, mean_contrast)
    d = np.maximum(local, np.float32(floor))
    dd = -(dout * v).sum(axis=3, keepdims=True) / (d * d) * (local > floor)
    own = s > mean_contrast
    ds = dd * own + (dd * ~own).sum(axis=(1, 2, 3), keepdims=True) / (H * W)
    dq = np.divide(ds, 2 * s, out=np.zeros_like(ds), where=s > 0)
    dv = dout / d + 2 * v * gaussian_blur_adjoint(dq, C, radius, sigma)
    return dv - gaussian_blur_adjoint(dv.sum(axis=3, keepdims=True), C, radius, sigma)


#: The backward of each preprocessing method: fn(x, dout, spec) -> dx, all (N, H, W, C).
BACKWARDS = {
    "seed": seed_backward,
    "standardize": standardize_backward,
    "image_standardize": image_standardize_backward,
    "center_standardize": center_standardize_backward,
    "equalize": equalize_backward,
    "lcn": lcn_backward,
}
