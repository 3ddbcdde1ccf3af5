"""Mixup and CutMix: each training image blended with, or patched from, another image of the batch, and
its target blended in the same proportion.

    mixed, partner, lam = mix_batch(images, rng, "mixup", alpha=0.2)
    loss = lam * L(logits, labels) + (1 - lam) * L(logits, labels[partner])       (training/step.py)

lam ~ Beta(alpha, alpha), one draw per batch (Zhang et al. 2018, "mixup"; Yun et al. 2019, "CutMix");
``partner`` is a random permutation of the batch.
    mixup   x_n' = lam x_n + (1 - lam) x_partner(n)
    cutmix  x_n' = x_n with one box taken from x_partner(n): the box has sides H sqrt(1 - lam),
            W sqrt(1 - lam) around a uniformly drawn centre, clipped to the image; lam is then set to
            1 - (box area) / (H W), the share of the image that is still x_n.
The loss is linear in the target, so blending the two losses is training on the blended target.
"""
import numpy as np

MODES = ("mixup", "cutmix")


def mix_batch(images, rng, mode, alpha):
    """images (N, H, W, C) 0..255 -> (float32 mixed images, partner indices (N,), lam float)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    N, H, W, _ = images.shape
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(N)
    x = np.asarray(images, dtype=np.float32)
    if mode == "mixup":
        return lam * x + (1 - lam) * x[partner], partner, lam
    side = np.sqrt(1 - lam)
    centre_y, centre_x = rng.integers(0, H), rng.integers(0, W)
    top, bottom = np.clip([centre_y - round(H * side / 2), centre_y + round(H * side / 2)], 0, H)
    left, right = np.clip([centre_x - round(W * side / 2), centre_x + round(W * side / 2)], 0, W)
    mixed = x.copy()
    mixed[:, top:bottom, left:right] = x[partner, top:bottom, left:right]
    return mixed, partner, 1 - (bottom - top) * (right - left) / (H * W)
