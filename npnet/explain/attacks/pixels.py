"""Attacks work on the image itself: pixel values 0..255 (uint8 range, kept in float32), with the
model's preprocessing applied inside. This file holds what every attack shares:

    loss_gradient(model, pixels, classes, targeted, spec)   dL/dpixels (N, H, W, C), logits (N, K)
    project(pixels, original, eps, norm)                    back onto the eps-ball around the original
    random_start(original, eps, norm, rng)                  a uniform random point of the ball
    clip_to_image(pixels)                                   into [0, 255]

The loss is the softmax cross-entropy of the logits, L = -log softmax(f(pre(x)))_c, for the class c
each image moves away from (untargeted: the attack climbs L) or towards (targeted: it climbs -L).
Its gradient with respect to the pixels x is the chain rule through the two halves of the pipeline,
each with its hand-written backward:

    dL/dx = pre'(x)^T  f'(pre(x))^T  (softmax(y) - e_c)
            ``preprocess_backward``   ``passes.input_gradient(objective='cross_entropy')``

Norms of a perturbation delta = x' - x (N, H, W, C), per image over all its values:
    linf  ||delta||_inf = max |delta|         ball: every value within eps of the original
    l2    ||delta||_2 = sqrt(sum delta^2)     ball: the Euclidean ball of radius eps
"""
import numpy as np

from ...data.preprocessing import preprocess
from ...data.preprocessing_backward import preprocess_backward
from ...io.errors import NpnetError
from ..passes import input_gradient

NORMS = ("linf", "l2")


def check_norm(norm):
    if norm not in NORMS:
        raise NpnetError(f"unknown norm {norm!r}; choose one of: {', '.join(NORMS)}")
    return norm


def model_spec(model, preprocessing):
    """The preprocessing spec attacks apply: the one given, else the model's own (``npnet.load``)."""
    spec = preprocessing if preprocessing is not None else getattr(model, "preprocessing", None)
    if spec is None:
        raise NpnetError("the model has no preprocessing spec (it was not loaded from a checkpoint): "
                         "pass preprocessing=, e.g. {'name': 'seed'}")
    return spec


def pixel_images(images, shape):
    """``images`` (N, H, W, C) uint8 or float in pixel units as float32; NpnetError if they are not."""
    pixels = np.asarray(images)
    if pixels.ndim != 4 or pixels.shape[1:] != tuple(shape) or len(pixels) == 0:
        raise NpnetError(f"images: expected shape (N, {', '.join(map(str, shape))}) with N >= 1, got {pixels.shape}")
    if pixels.dtype.kind not in "fiu":
        raise NpnetError(f"images: expected numbers, got dtype {pixels.dtype}")
    pixels = pixels.astype(np.float32)
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise NpnetError("images: expected pixel values in [0, 255] (uint8 range), all finite")
    return pixels


def per_image(value, count, name):
    """A radius or step (a number, or one per image) as float32 (N, 1, 1, 1), each finite and >= 0."""
    array = np.asarray(value, dtype=np.float64) if np.ndim(value) else np.float64(value)
    if array.ndim > 1 or array.size not in (1, count) or not np.isfinite(array).all() or (array < 0).any():
        raise NpnetError(f"{name} must be a finite number >= 0 (pixel units, 0..255), or one per image; got {value!r}")
    return np.broadcast_to(array.reshape(-1), (count,)).astype(np.float32).reshape(count, 1, 1, 1)


def loss_gradient(model, pixels, classes, targeted, spec):
    """(g, logits): g = the direction that raises the attack's objective, dL/dx untargeted and
    -dL/dx targeted (N, H, W, C) float32; logits (N, K) at ``pixels``."""
    gradient, logits, _ = input_gradient(model, preprocess(pixels, spec), classes, objective="cross_entropy")
    gradient = preprocess_backward(pixels, spec, gradient).astype(np.float32)
    return (-gradient if targeted else gradient), logits


def l2_norms(values):
    """||v||_2 of each image's values, float32 (N, 1, 1, 1)."""
    return np.sqrt(np.einsum("nhwc,nhwc->n", values, values, dtype=np.float64)).astype(np.float32).reshape(-1, 1, 1, 1)


def unit_l2(values):
    """v / ||v||_2 per image; an image whose v is all zeros stays zeros."""
    norms = l2_norms(values)
    return np.where(norms > 0, values / np.where(norms > 0, norms, 1), 0).astype(np.float32)


def project(pixels, original, eps, norm):
    """The point of the eps-ball (``norm``) around ``original`` nearest to ``pixels``, then clipped
    to [0, 255]: linf clips every value of delta to [-eps, eps]; l2 scales delta by
    min(1, eps / ||delta||_2), as Captum (``torch.renorm``) and torchattacks do."""
    delta = pixels - original
    if norm == "linf":
        delta = np.clip(delta, -eps, eps)
    else:
        norms = l2_norms(delta)
        delta = delta * np.minimum(1, eps / np.where(norms > 0, norms, 1))
    return clip_to_image(original + delta)


def clip_to_image(pixels):
    return np.clip(pixels, 0, 255).astype(np.float32)


def random_start(original, eps, norm, rng):
    """A point drawn uniformly from the eps-ball around each image, then clipped to [0, 255].
    linf: delta ~ U(-eps, eps) per value (as Captum and torchattacks draw it); l2: a uniform
    direction times a radius eps * u^(1/d), u ~ U(0, 1), d = H*W*C (uniform in the ball's volume,
    as Captum draws it; torchattacks takes the radius eps * u). Drawn in row order from ``rng``."""
    shape = original.shape
    if norm == "linf":
        delta = (rng.random(shape, dtype=np.float32) * 2 - 1) * eps
    else:
        direction = unit_l2(rng.standard_normal(shape, dtype=np.float32))
        d = int(np.prod(shape[1:]))
        radius = rng.random(len(original)) ** (1.0 / d)
        delta = direction * radius.astype(np.float32).reshape(-1, 1, 1, 1) * eps
    return clip_to_image(original + delta)
