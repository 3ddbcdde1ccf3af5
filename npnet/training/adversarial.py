"""Adversarial training: each batch is replaced by its attacked copy before the step.

    fgsm   FGSM from a random start (Wong, Rice & Kolter 2020, "Fast is better than free"):
           x0 = x + U(-eps, eps), one signed step of 1.25 eps, back onto the eps-ball, clip to 0..255
    pgd    PGD-7 from a random start (Madry et al. 2018): 7 signed steps of 2.5 eps / 7

Both are ``npnet.explain.attacks.pgd`` (untargeted, linf, away from the batch's labels, eps in grey
levels), on the current weights in inference mode: dropout is off while the attack is computed, on
during the step that follows. The random start is drawn from the batch's own generator, so a resumed
run attacks the same way. Each FGSM step costs one extra forward and backward (about 2x a plain
epoch), PGD-7 seven.
"""
from ..explain.attacks import pgd

ADVERSARIAL_KINDS = ("none", "fgsm", "pgd")
PGD_STEPS = 7


def adversarial_batch(model, images, labels, kind, eps, spec, rng):
    """The attacked batch, float32 pixels (B, 32, 32, 3) in [0, 255]."""
    seed = int(rng.integers(2 ** 63))
    if kind == "fgsm":
        return pgd(model, images, labels, eps, 1.25 * eps, 1, random_start=True, seed=seed, preprocessing=spec)
    return pgd(model, images, labels, eps, 2.5 * eps / PGD_STEPS, PGD_STEPS, random_start=True, seed=seed,
               preprocessing=spec)
