"""How close a decision was: adversarial attacks in the image's own units, margins, counterfactuals.

    fgsm(model, images, classes, eps, targeted=False, norm='linf', preprocessing=None)
    pgd(model, images, classes, eps, step_size, steps, norm='linf', targeted=False,
        random_start=False, seed=0, preprocessing=None)
        images uint8 or float (N, 32, 32, 3) in pixel units (0..255); eps and step_size in pixel
        units (eps = 8 is 8/255 of the range); the model's preprocessing applied inside
        -> float32 (N, 32, 32, 3) in [0, 255]
    minimal_flip(model, images, target=None, norm='linf')    the smallest radius that changes the
                                                             prediction (or reaches ``target``)
    counterfactual(model, images, classes)                   the smallest l2 change to ``classes``
    robust_accuracy(model, images, labels, eps, attacks)     accuracy under fgsm / pgdK per eps

Files: ``pixels`` (the loss gradient through the preprocessing, the ball, the clip),
``gradient_attacks`` (FGSM, PGD), ``minimal`` (bisection on the radius), ``robustness``.
"""
from .gradient_attacks import fgsm, pgd
from .minimal import MinimalFlip, counterfactual, minimal_flip
from .robustness import ATTACK_NAMES, robust_accuracy

__all__ = ["fgsm", "pgd", "minimal_flip", "counterfactual", "MinimalFlip", "robust_accuracy", "ATTACK_NAMES"]
