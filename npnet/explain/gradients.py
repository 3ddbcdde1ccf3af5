"""Input attributions from backward passes: x (N, H, W, C) -> attribution (N, H, W, C).

With y^c the logit of class c and every backward started from dlogits = onehot(c):

    saliency              dy^c/dx, signed (display takes |.|)
    input_x_gradient      x ⊙ dy^c/dx
    guided_backprop       the backward with every ReLU's rule 'guided': dx = ReLU(dout) ⊙ [out > 0]
    deconvnet             the backward with every ReLU's rule 'deconvnet': dx = ReLU(dout)
    guided_gradcam        guided_backprop ⊙ the upsampled Grad-CAM map (broadcast over channels)
    integrated_gradients  (x - x') ⊙ sum_i w_i dy^c/dx (x' + a_i (x - x')), (a_i, w_i) the Gauss-Legendre
                          nodes and weights on [0, 1] (Captum's default); all steps in batched backwards
    smoothgrad            mean over `samples` copies x + e, e ~ N(0, (noise * (max x - min x))^2) per image,
                          of dy^c/dx; smoothgrad_squared: the mean of its square

The class of every path point and noisy copy is the class chosen at x (its prediction when None).
"""
import numpy as np

from ..errors import NpnetError
from .gradcam import grad_cam, resolve_classes
from .passes import batches, class_gradient


def chosen_classes(model, images, classes):
    return resolve_classes(classes, model.forward(images, training=False))


def saliency(model, images, classes=None):
    return class_gradient(model, images, classes)[0]


def input_x_gradient(model, images, classes=None):
    return images * saliency(model, images, classes)


def guided_backprop(model, images, classes=None):
    return class_gradient(model, images, classes, relu_rule="guided")[0]


def deconvnet(model, images, classes=None):
    return class_gradient(model, images, classes, relu_rule="deconvnet")[0]


def guided_gradcam(model, images, classes=None, *, layer=None):
    chosen = chosen_classes(model, images, classes)
    return guided_backprop(model, images, chosen) * grad_cam(model, images, chosen, layer=layer)[..., None]


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise NpnetError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def gradients_of(model, points, classes, batch_size):
    """dy^c/dx at every row of ``points`` (M, H, W, C) for its class classes[m], in batches."""
    out = np.empty_like(points)
    for rows in batches(len(points), batch_size):
        out[rows] = class_gradient(model, points[rows], classes[rows])[0]
    return out


def integrated_gradients(model, images, classes=None, *, baseline=0.0, steps=50, batch_size=1024):
    steps = positive_int("steps", steps)
    baseline = np.broadcast_to(np.asarray(baseline, dtype=images.dtype), images.shape)
    if not np.all(np.isfinite(baseline)):
        raise NpnetError("baseline must be finite")
    chosen = chosen_classes(model, images, classes)
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (nodes + 1) / 2, weights / 2                       # on [0, 1]
    N = len(images)
    points = baseline[None] + alphas[:, None, None, None, None].astype(images.dtype) * (images - baseline)[None]
    grads = gradients_of(model, points.reshape(steps * N, *images.shape[1:]), np.tile(chosen, steps),
                         batch_size).reshape(steps, N, *images.shape[1:])
    path_mean = np.einsum("s,snhwc->nhwc", weights.astype(images.dtype), grads)
    return (images - baseline) * path_mean


def integrated_gradients_completeness(model, images, attributions, classes, baseline=0.0):
    """|sum attribution - (y^c(x) - y^c(x'))| per image (N,): how far the path integral is from exact."""
    chosen = chosen_classes(model, images, classes)
    rows = np.arange(len(images))
    y = model.forward(images, training=False)[rows, chosen]
    baseline = np.broadcast_to(np.asarray(baseline, dtype=images.dtype), images.shape)
    y0 = model.forward(np.ascontiguousarray(baseline), training=False)[rows, chosen]
    return np.abs(attributions.reshape(len(images), -1).sum(axis=1) - (y - y0))


def noisy_gradients(model, images, classes, samples, noise, seed, batch_size):
    samples = positive_int("samples", samples)
    if not np.isfinite(noise) or noise < 0:
        raise NpnetError(f"noise must be a finite number >= 0, got {noise!r}")
    chosen = chosen_classes(model, images, classes)
    N = len(images)
    spread = (images.reshape(N, -1).max(axis=1) - images.reshape(N, -1).min(axis=1)) * noise
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((samples,) + images.shape) * spread[None, :, None, None, None]
    points = (images[None] + eps).astype(images.dtype).reshape(samples * N, *images.shape[1:])
    return gradients_of(model, points, np.tile(chosen, samples), batch_size).reshape(samples, *images.shape)


def smoothgrad(model, images, classes=None, *, samples=50, noise=0.15, seed=0, batch_size=1024):
    return noisy_gradients(model, images, classes, samples, noise, seed, batch_size).mean(axis=0)


def smoothgrad_squared(model, images, classes=None, *, samples=50, noise=0.15, seed=0, batch_size=1024):
    return (noisy_gradients(model, images, classes, samples, noise, seed, batch_size) ** 2).mean(axis=0)
