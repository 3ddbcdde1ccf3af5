"""Robust accuracy: the accuracy of a split when every image is attacked within eps.

    robust_accuracy(model, images, labels, eps=(1, 2, 4, 8), attacks=('fgsm', 'pgd10', 'pgd20'),
                    seed=0, preprocessing=None)
        -> {"images": N, "clean": acc, "attacks": {"fgsm": {"1": acc, ...}, "pgd10": {...}, ...}}

Each attack is untargeted, away from the true label, linf, in pixel units:
    fgsm      one step of size eps (``fgsm``)
    pgdK      K steps of size eps / 4 from a random start in the eps-ball (``pgd``, seeded with
              ``seed``): the step size and start the robustness table of this project uses
An image counts as correct when the model's prediction for the attacked image is its label; an image
the model already gets wrong stays wrong (the attack starts from it and moves away from the label).
"""
import re

import numpy as np

from ...io.errors import NpnetError
from ..inputs import check_labels
from .gradient_attacks import fgsm, pgd, predicted_classes
from .pixels import model_spec, pixel_images

ATTACK_NAMES = ("fgsm", "pgd10", "pgd20")


def parse_attack(name):
    """'fgsm' -> 0 (one fgsm step); 'pgdK' -> K (PGD steps); NpnetError otherwise."""
    if name == "fgsm":
        return 0
    match = re.fullmatch(r"pgd([1-9][0-9]{0,3})", name)
    if not match:
        raise NpnetError(f"unknown attack {name!r}: fgsm, or pgdK with K steps (pgd10, pgd20, ...)")
    return int(match.group(1))


def attacked(model, pixels, labels, name, eps, seed, spec):
    """The images after attack ``name`` at radius ``eps`` (pixel units)."""
    steps = parse_attack(name)
    if steps == 0:
        return fgsm(model, pixels, labels, eps, preprocessing=spec)
    return pgd(model, pixels, labels, eps, eps / 4, steps, random_start=True, seed=seed, preprocessing=spec)


def robust_accuracy(model, images, labels, eps=(1, 2, 4, 8), attacks=ATTACK_NAMES, seed=0, preprocessing=None,
                    progress=None):
    """The table of the module docstring; ``progress(name, eps)`` is called before each attack."""
    spec = model_spec(model, preprocessing)
    pixels = pixel_images(images, model.input_shape[1:])
    labels = check_labels(labels, len(pixels), model.output_shape[-1])
    for name in attacks:
        parse_attack(name)
    clean = float(np.mean(predicted_classes(model, pixels, spec) == labels))
    table = {}
    for name in attacks:
        table[name] = {}
        for radius in eps:
            if progress is not None:
                progress(name, radius)
            adversarial = attacked(model, pixels, labels, name, radius, seed, spec)
            table[name][eps_key(radius)] = float(np.mean(predicted_classes(model, adversarial, spec) == labels))
    return {"images": len(pixels), "clean": clean, "attacks": table}


def eps_key(radius):
    """The JSON key of a radius: '1' for 1.0, '0.5' for 0.5."""
    return f"{float(radius):g}"
