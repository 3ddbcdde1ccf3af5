"""Input attributions from gradients: saliency and its relatives, integrated gradients, SmoothGrad.

x (N, H, W, C) is the model's input (the preprocessed image) and y^c the logit of class c, before the
softmax. Every method returns one value per input value, (N, H, W, C), in the model's dtype:

    saliency              g(x) = dy^c/dx, signed                                 (Simonyan 2014)
    input_x_gradient      x * g(x)                                               (Shrikumar 2016)
    guided_backprop       g with every ReLU's backward  dz = max(dout, 0) * [z > 0]  (Springenberg 2015)
    deconvnet             g with every ReLU's backward  dz = max(dout, 0)            (Zeiler 2014)
    guided_gradcam        guided_backprop * gradcam(x) upsampled to (H, W), broadcast over C
    integrated_gradients  (x - x') * sum_i w_i g(x' + a_i (x - x'))             (Sundararajan 2017)
    smoothgrad            1/S sum_s g(x + e_s),    e_s ~ N(0, sigma^2),  sigma = noise * (max x - min x)
    smoothgrad_squared    1/S sum_s g(x + e_s)^2                                 (Smilkov 2017; Hooker 2019)

"Every ReLU" includes the ones fused into Conv2D and Dense (``layers.relu_rules``); max-pool and the
rest keep their backward. Each gradient is one forward and one backward from dlogits = onehot(c)
(``passes.input_gradient``), and images never mix, so a batch gives every image its own gradient.

Integrated gradients. The path integral  int_0^1 g(x' + a (x - x')) da  is taken with Gauss-Legendre
quadrature on [0, 1] (Captum's default 'gausslegendre'): with (t_i, v_i) = leggauss(steps) on [-1, 1],
a_i = (t_i + 1) / 2 and w_i = v_i / 2. By the fundamental theorem of calculus along the path,

    sum(attribution) = y^c(x) - y^c(x')        (completeness; exact only as steps -> infinity)

A ReLU net is piecewise linear along the path, so its kinks keep the quadrature from being exact:
``integrated_gradients_completeness`` measures the gap. The N * steps path points are stacked as rows
(image n, step i) -> n * steps + i and go through batched backwards of ``batch_size`` rows.

Classes. c is chosen once, from the logits at the clean x (the predicted class when ``classes`` is
None), and every path point or noisy copy of an image is explained for that same class (Captum's
NoiseTunnel and IntegratedGradients use the target they are given for every copy too).

Contrast. With a class b per image (``contrast``), every method explains T = y^c - y^b instead of
y^c: the backward starts from dlogits = e_c - e_b, so each gradient is dy^c/dx - dy^b/dx. Saliency,
input x gradient, integrated gradients and SmoothGrad (not its squared form) are linear in the target: their contrastive
map is the difference of the two classes' maps. Guided backprop and deconvnet clip the gradient at
every ReLU, so theirs is the guided backward of the difference, not the difference of two guided
maps; guided Grad-CAM multiplies it by the contrastive Grad-CAM (``grad_cam(contrast=b)``). The
completeness of integrated gradients holds for T: sum = T(x) - T(x').

Choices where the definitions are silent:
  - guided_gradcam's map is ``grad_cam`` (computed in float32) upsampled bilinearly, as
    pytorch-grad-cam resizes it; Captum's GuidedGradCam upsamples with 'nearest' by default.
  - SmoothGrad's noise: e for image n, copy s is row n * samples + s of standard normals drawn in
    the model's dtype from np.random.default_rng(seed), times that image's sigma. So a result does
    not depend on batch_size, but an image's noise does depend on its place in the batch.
"""
import numbers

import numpy as np

from ..io.errors import NpnetError
from .gradcam import grad_cam
from .inputs import whole_option
from .passes import batches, input_gradient, resolve_classes

BATCH_ROWS = 512     # path points / noisy copies per backward: about 0.5 GB at the seed net's peak


# -- checking options -----------------------------------------------------------------------------
def model_input(model, images):
    """The images as the model's dtype (float32 work for a float32 model, float64 for float64)."""
    return np.asarray(images, dtype=model.layers[0].dtype)


def nonnegative_number(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise NpnetError(f"option {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def baseline_like(baseline, x):
    """x' broadcast to x's shape and dtype: a scalar, or an array broadcastable to (N, H, W, C)."""
    try:
        values = np.asarray(baseline, dtype=np.float64)
        values = np.broadcast_to(values, x.shape)
    except (TypeError, ValueError):
        shape = np.shape(baseline) if not isinstance(baseline, str) else "a string"
        raise NpnetError(f"option baseline must be a number or an array broadcastable to the images' shape "
                         f"{x.shape}, got {shape}") from None
    if not np.isfinite(values).all():
        raise NpnetError("option baseline must be finite (it has a NaN or an infinity)")
    return values.astype(x.dtype)


# -- one backward each ----------------------------------------------------------------------------
def saliency(model, images, classes=None, contrast=None):
    """dy^c/dx (N, H, W, C), signed."""
    gradient, _, _ = input_gradient(model, model_input(model, images), classes, contrast=contrast)
    return gradient


def input_x_gradient(model, images, classes=None, contrast=None):
    """x * dy^c/dx (N, H, W, C)."""
    x = model_input(model, images)
    gradient, _, _ = input_gradient(model, x, classes, contrast=contrast)
    return x * gradient


def guided_backprop(model, images, classes=None, contrast=None):
    """The backward of dy^c/dx with every ReLU passing back max(dout, 0) where its input was > 0."""
    gradient, _, _ = input_gradient(model, model_input(model, images), classes, relu_rule="guided", contrast=contrast)
    return gradient


def deconvnet(model, images, classes=None, contrast=None):
    """The backward of dy^c/dx with every ReLU passing back max(dout, 0), its forward mask ignored."""
    gradient, _, _ = input_gradient(model, model_input(model, images), classes, relu_rule="deconvnet",
                                    contrast=contrast)
    return gradient


def guided_gradcam(model, images, classes=None, contrast=None, *, layer=None):
    """guided_backprop (N, H, W, C) * the Grad-CAM map of ``layer`` (default the last Conv2D),
    bilinearly upsampled to (N, H, W) and broadcast over the channels; both for the same classes."""
    x = model_input(model, images)
    guided, logits, chosen = input_gradient(model, x, classes, relu_rule="guided", contrast=contrast)
    against = None if contrast is None else resolve_classes(contrast, logits)
    cam = grad_cam(model, x, chosen, layer=layer, upsample=True, contrast=against)
    return guided * cam[..., None].astype(x.dtype)


# -- integrated gradients -------------------------------------------------------------------------
def gauss_legendre(steps):
    """Nodes a (steps,) in (0, 1) and weights w (steps,) summing to 1: Captum's 'gausslegendre'."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


def integrated_gradients(model, images, classes=None, contrast=None, *, baseline=0.0, steps=50,
                         batch_size=BATCH_ROWS):
    """(x - x') * sum_i w_i dy^c/dx at x' + a_i (x - x'), (N, H, W, C); c chosen at x.

    baseline   : x', a number or an array broadcastable to the images (model input space), default 0
    steps      : Gauss-Legendre nodes on [0, 1]
    batch_size : path points (rows) per batched backward
    """
    x = model_input(model, images)
    steps = whole_option("steps", steps)
    batch_size = whole_option("batch_size", batch_size)
    start = baseline_like(baseline, x)
    logits = model.forward(x, training=False)
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    alphas, weights = (values.astype(x.dtype) for values in gauss_legendre(steps))
    delta = x - start
    total = np.zeros_like(x)                       # sum_i w_i g(point_i), image by image
    for rows in batches(len(x) * steps, batch_size):
        row = np.arange(rows.start, rows.stop)
        image, step = row // steps, row % steps    # row n * steps + i is image n at node i
        points = start[image] + alphas[step, None, None, None] * delta[image]
        gradient, _, _ = input_gradient(model, points, chosen[image],
                                        contrast=None if against is None else against[image])
        weighted = weights[step, None, None, None] * gradient
        present, first = np.unique(image, return_index=True)     # rows come grouped by image
        total[present] += np.add.reduceat(weighted, first, axis=0)
    return delta * total


def integrated_gradients_completeness(model, images, attributions, classes=None, baseline=0.0, contrast=None):
    """How far integrated gradients is from completeness, per image: (error (N,), relative (N,)).

        error    = |sum(attributions) - (y^c(x) - y^c(x'))|
        relative = error / |y^c(x) - y^c(x')|     (inf where the two logits are equal and error > 0)

    ``classes`` (and ``contrast``) must be those the attributions were computed for (None: predicted
    at x); with a contrast b the target is y^c - y^b at both ends.
    """
    x = model_input(model, images)
    start = baseline_like(baseline, x)
    logits = model.forward(x, training=False)
    chosen = resolve_classes(classes, logits)
    rows = np.arange(len(x))
    start_logits = model.forward(start, training=False)

    def target(values):
        score = values[rows, chosen].astype(np.float64)
        return score if contrast is None else score - values[rows, resolve_classes(contrast, logits)]
    difference = target(logits) - target(start_logits)
    total = np.asarray(attributions, dtype=np.float64).reshape(len(x), -1).sum(axis=1)
    error = np.abs(total - difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(error == 0, 0.0, error / np.abs(difference))
    return error, relative


# -- SmoothGrad -----------------------------------------------------------------------------------
def noisy_gradients(model, images, classes, samples, noise, seed, batch_size, square, contrast=None):
    """1/S sum_s g(x + e_s) (or of g^2); the noise of row n * samples + s is drawn in row order from
    default_rng(seed), so the result does not depend on batch_size."""
    x = model_input(model, images)
    samples = whole_option("samples", samples)
    noise = nonnegative_number("noise", noise)
    batch_size = whole_option("batch_size", batch_size)
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise NpnetError(f"option seed must be an integer or None, got {seed!r}: {error}") from None
    logits = model.forward(x, training=False)
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    sigma = noise * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))) if len(x) else np.zeros(0, x.dtype)
    total = np.zeros_like(x)
    for rows in batches(len(x) * samples, batch_size):
        image = np.arange(rows.start, rows.stop) // samples
        e = rng.standard_normal((len(image),) + x.shape[1:], dtype=x.dtype) * sigma[image, None, None, None]
        gradient, _, _ = input_gradient(model, x[image] + e, chosen[image],
                                        contrast=None if against is None else against[image])
        present, first = np.unique(image, return_index=True)
        total[present] += np.add.reduceat(gradient ** 2 if square else gradient, first, axis=0)
    return total / samples


def smoothgrad(model, images, classes=None, contrast=None, *, samples=50, noise=0.15, seed=0,
               batch_size=BATCH_ROWS):
    """The mean of dy^c/dx over ``samples`` noisy copies, noise std = noise * (max - min) of each image;
    c chosen at the clean x."""
    return noisy_gradients(model, images, classes, samples, noise, seed, batch_size, square=False,
                           contrast=contrast)


def smoothgrad_squared(model, images, classes=None, contrast=None, *, samples=50, noise=0.15, seed=0,
                       batch_size=BATCH_ROWS):
    """The mean of (dy^c/dx)^2 over the same noisy copies as ``smoothgrad``."""
    return noisy_gradients(model, images, classes, samples, noise, seed, batch_size, square=True,
                           contrast=contrast)
