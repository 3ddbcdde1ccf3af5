"""How close a decision was: the smallest radius at which PGD changes it, by bisection.

    minimal_flip(model, images, target=None, norm='linf', high=None, tolerance=None, steps=20,
                 preprocessing=None)                                  -> MinimalFlip
    counterfactual(model, images, classes, high=None, tolerance=None, steps=20, preprocessing=None)
        the smallest l2 change that makes the net say ``classes`` (targeted PGD, l2):
        "what the net needed to see"

For each image, with c0 its clean prediction, a radius r "flips" it when PGD at radius r (steps
``steps``, step size 2.5 r / steps as Madry et al. take it, no random start, so each run is
deterministic) ends on a prediction other than c0 (untargeted), or on ``target`` (targeted). The
bisection keeps a bracket [below, radius]: PGD at ``radius`` flips the image, PGD at ``below`` does
not, and radius - below <= tolerance. It starts from [0, high]; an image that ``high`` does not
flip gets radius = inf, and one already predicted as its target radius = 0.

PGD is not monotone in r (a larger ball may hold a flip PGD does not find), so the radius is an
upper bound on the true minimal perturbation (PGD found a flip there) and ``below`` is where PGD
found none: a margin measured with this attack, not a certificate.

Defaults (pixel units): linf high 32, tolerance 0.25 (7 halvings); l2 high 2048, tolerance 2
(10 halvings). One PGD run per halving, on the images whose bracket is still open.
"""
from dataclasses import dataclass

import numpy as np

from ...io.errors import NpnetError
from ..passes import resolve_classes
from .gradient_attacks import pgd, predicted_classes
from .pixels import check_norm, model_spec, pixel_images

DEFAULTS = {"linf": (32.0, 0.25), "l2": (2048.0, 2.0)}   # (high, tolerance) in pixel units


@dataclass
class MinimalFlip:
    """Per image: radius (N,) where PGD flipped it (inf: not within ``high``), below (N,) where it
    did not, adversarial (N, H, W, C) the image PGD found at ``radius`` (the original where radius
    is inf or 0), clean (N,) the clean prediction, predicted (N,) the prediction of ``adversarial``."""
    radius: np.ndarray
    below: np.ndarray
    adversarial: np.ndarray
    clean: np.ndarray
    predicted: np.ndarray
    norm: str
    tolerance: float


def positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value) or value <= 0:
        raise NpnetError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def minimal_flip(model, images, target=None, norm="linf", high=None, tolerance=None, steps=20,
                 preprocessing=None):
    """The smallest PGD radius that changes each image's prediction (or reaches ``target``)."""
    norm = check_norm(norm)
    spec = model_spec(model, preprocessing)
    original = pixel_images(images, model.input_shape[1:])
    N, K = len(original), model.output_shape[-1]
    high = positive_number("high", DEFAULTS[norm][0] if high is None else high)
    tolerance = positive_number("tolerance", DEFAULTS[norm][1] if tolerance is None else tolerance)
    clean = predicted_classes(model, original, spec)
    targeted = target is not None
    goal = resolve_classes(target, np.empty((N, K))) if targeted else clean

    def run(rows, radius):
        """PGD at ``radius`` (per row) on ``rows``: (adversarial, flipped?)."""
        adversarial = pgd(model, original[rows], goal[rows], radius, 2.5 * radius / max(steps, 1), steps,
                          norm=norm, targeted=targeted, preprocessing=spec)
        found = predicted_classes(model, adversarial, spec)
        return adversarial, (found == goal[rows]) if targeted else (found != goal[rows])

    below = np.zeros(N)
    radius = np.full(N, np.inf)
    adversarial = original.copy()
    done = (clean == goal) if targeted else np.zeros(N, bool)       # already there: radius 0
    radius[done] = 0.0
    rows = np.flatnonzero(~done)
    if len(rows):
        found, flipped = run(rows, np.full(len(rows), high))
        radius[rows[flipped]] = high
        adversarial[rows[flipped]] = found[flipped]
        rows = rows[flipped]
    while len(rows) and (radius[rows] - below[rows]).max() > tolerance:
        rows = rows[radius[rows] - below[rows] > tolerance]
        middle = (below[rows] + radius[rows]) / 2
        found, flipped = run(rows, middle)
        radius[rows[flipped]] = middle[flipped]
        adversarial[rows[flipped]] = found[flipped]
        below[rows[~flipped]] = middle[~flipped]
    below[np.isinf(radius)] = high
    predicted = predicted_classes(model, adversarial, spec)
    return MinimalFlip(radius, below, adversarial, clean, predicted, norm, tolerance)


def counterfactual(model, images, classes, high=None, tolerance=None, steps=20, preprocessing=None):
    """The smallest l2 change (targeted PGD, bisection on the radius) after which the net predicts
    ``classes`` (e.g. each mistake's true class). ``adversarial - images`` is the change."""
    return minimal_flip(model, images, target=classes, norm="l2", high=high, tolerance=tolerance, steps=steps,
                        preprocessing=preprocessing)
