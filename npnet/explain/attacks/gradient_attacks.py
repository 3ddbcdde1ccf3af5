"""FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018), in pixel units (``pixels``).

    pgd(model, images, classes, eps, step_size, steps, norm='linf', targeted=False,
        random_start=False, seed=0, preprocessing=None)      -> float32 (N, H, W, C) in [0, 255]

x_0 = the images (or a uniform random point of the eps-ball around them, ``random_start``), then
``steps`` times

    g       = dL/dx at x_t                     (-dL/dx for a targeted attack; ``loss_gradient``)
    x_t+1   = x_t + step_size * s(g)           s(g) = sign(g) (linf), g / ||g||_2 (l2; 0 where g = 0)
    x_t+1   = project(x_t+1)                   back onto the eps-ball around the images
    x_t+1   = clip(x_t+1, 0, 255)

    fgsm(model, images, classes, eps, targeted=False, norm='linf', preprocessing=None)
        one step of size eps from the images: clip(x + eps * s(g), 0, 255). It is ``pgd`` with
        steps=1, step_size=eps and no random start (the step never leaves the ball).

``classes``: the labels each image moves away from (untargeted) or towards (targeted), an int for
all or one per image; None (untargeted only) takes the model's prediction for the clean image.
``eps`` and ``step_size``: pixel units (eps = 8 is 8/255 of the range), a number or one per image.
``preprocessing``: the spec the pixels go through before the net; default the model's own.

Choices where the definitions leave room: sign(0) = 0, so a value whose gradient is exactly 0 stays
(Captum's FGSM keeps values with |g| <= 1e-6; torchattacks uses sign as here); the l2 step divides by
||g||_2 exactly (torchattacks adds 1e-10); the random start is drawn in row order from
np.random.default_rng(seed), so it depends on an image's place in the batch. The loss gradient of a
whole batch is one batched forward and backward per step.
"""
import numpy as np

from ...io.errors import NpnetError
from ..passes import resolve_classes
from .pixels import (check_norm, clip_to_image, loss_gradient, model_spec, per_image, pixel_images, project,
                     random_start as random_point, unit_l2)
from ...data.preprocessing import preprocess
from ...engine import inference


def attack_classes(model, pixels, classes, targeted, spec):
    """(N,) int64 class ids: the given ones, or (untargeted, classes None) the clean prediction."""
    N, K = len(pixels), model.output_shape[-1]
    if classes is None:
        if targeted:
            raise NpnetError("a targeted attack needs classes: the class each image is pushed towards")
        return predicted_classes(model, pixels, spec)
    return resolve_classes(classes, np.empty((N, K)))


def predicted_classes(model, pixels, spec):
    """The model's class for each image (pixel units), (N,) int64."""
    return inference.predict_logits(model, preprocess(pixels, spec)).argmax(axis=1).astype(np.int64)


def whole_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= 10_000:
        raise NpnetError(f"steps must be a whole number from 0 to 10,000, got {steps!r}")
    return int(steps)


def direction(gradient, norm):
    return np.sign(gradient).astype(np.float32) if norm == "linf" else unit_l2(gradient)


def pgd(model, images, classes, eps, step_size, steps, norm="linf", targeted=False, random_start=False,
        seed=0, preprocessing=None):
    """Projected gradient descent on the loss (see the module docstring): float32 (N, H, W, C)."""
    norm = check_norm(norm)
    spec = model_spec(model, preprocessing)
    original = pixel_images(images, model.input_shape[1:])
    chosen = attack_classes(model, original, classes, targeted, spec)
    radius = per_image(eps, len(original), "eps")
    step = per_image(step_size, len(original), "step_size")
    steps = whole_steps(steps)
    x = random_point(original, radius, norm, np.random.default_rng(seed)) if random_start else original.copy()
    for _ in range(steps):
        gradient, _ = loss_gradient(model, x, chosen, targeted, spec)
        x = project(x + step * direction(gradient, norm), original, radius, norm)
    return x


def fgsm(model, images, classes, eps, targeted=False, norm="linf", preprocessing=None):
    """The fast gradient sign method: one step of size eps, clip(x + eps * s(g), 0, 255)."""
    norm = check_norm(norm)
    spec = model_spec(model, preprocessing)
    original = pixel_images(images, model.input_shape[1:])
    chosen = attack_classes(model, original, classes, targeted, spec)
    radius = per_image(eps, len(original), "eps")
    gradient, _ = loss_gradient(model, original, chosen, targeted, spec)
    return clip_to_image(original + radius * direction(gradient, norm))
