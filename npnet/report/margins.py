"""How close each mistake was to being right, and how the split stands up to attacks: computed for the page.

    mistake_margins(model, images, trues, predicted)  per mistake: its contrastive Grad-CAM, its
                                                      margin and its counterfactual; and the seconds taken
    robustness_part(model, images, labels, seed)      ``robust_accuracy`` of a sample, its curve and table

A mistake's contrastive Grad-CAM is why the net said its predicted class p and not the true class t:
``grad_cam(..., classes=p, contrast=t, relu=False)``, sum_k alpha_k A^k with alpha from
d(y^p - y^t)/dA and no final ReLU, so it is signed (> 0: evidence for p over t, < 0: for t over p),
drawn on its own diverging scale -m .. m, m = max |map|.

Its margin is how far the true class was: ``attacks.counterfactual`` with ``COUNTERFACTUAL``, the
smallest l2 change of the pixels (grey levels) after which the net says t, found by targeted PGD and a
bisection on the radius. The radius is where PGD reached t (an upper bound on the true minimum), within
``tolerance`` of one where it did not; inf when ``high`` did not reach it. Beside it the counterfactual
image, the change amplified (``figures.amplified``: grey is 0) and the contrastive Grad-CAM on the
counterfactual the other way round: why t and not p, now that the net says t.
"""
import time

import numpy as np

from ..data.preprocessing import preprocess
from ..explain import grad_cam
from ..explain.attacks import ATTACK_NAMES, counterfactual, robust_accuracy
from ..explain.attacks.figures import amplified, robustness_plot
from ..explain.faithfulness.sample import sample_positions
from . import pictures

# (pixel units) 11 PGD runs per mistake: one at ``high``, then 10 halvings to ``tolerance``; 20 steps each
COUNTERFACTUAL = {"high": 512.0, "tolerance": 0.5, "steps": 20}
ROBUSTNESS_IMAGES = 1000                # --robustness-limit's default
EPS = (1, 2, 4, 8)                      # grey levels, and the attacks: as ``explain.py robustness``
ATTACKS = ATTACK_NAMES                  # fgsm, pgd10, pgd20


def contrastive_grad_cam(net, x, classes, against, batch_size=256):
    """grad_cam(x, classes, contrast=against, relu=False), (N, H, W), ``batch_size`` images at a time
    (one pass keeps every image's activations: about 1 MB each for the seed net)."""
    return np.concatenate([grad_cam(net, x[i:i + batch_size], classes=classes[i:i + batch_size],
                                    contrast=against[i:i + batch_size], relu=False)
                           for i in range(0, len(x), batch_size)])


def signed_map(values):
    """{'uri', 'scale'}: a signed map on its own scale -m .. m (m = max |map|; 0 for an all-zero map)."""
    scale = float(np.abs(values).max(initial=0.0))
    return {"uri": pictures.signed_uri(values, scale), "scale": scale}


def mistake_margins(model, images, trues, predicted, settings=None):
    """(cards, seconds): for each mistake (images uint8 (M, H, W, 3), trues and predicted (M,) ids) a
    dict {'contrast': signed_map, 'margin': {'radius', 'below', 'rms', 'l2', 'reached', **settings},
    'counterfactual': None or {'image', 'change', 'factor', 'prob', 'contrast'}}; seconds: the
    counterfactual search's wall time. settings: counterfactual's high, tolerance and steps
    (default ``COUNTERFACTUAL``)."""
    settings = COUNTERFACTUAL if settings is None else settings
    if not len(images):
        return [], 0.0
    trues, predicted = np.asarray(trues, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    x = model.input(images)
    contrast = contrastive_grad_cam(model.net, x, predicted, trues)
    began = time.perf_counter()
    found = counterfactual(model.net, images, trues, preprocessing=model.spec, **settings)
    seconds = time.perf_counter() - began
    x_found = preprocess(found.adversarial, model.spec)
    probs = model.net.predict_proba(x_found)
    back = contrastive_grad_cam(model.net, x_found, trues, predicted)       # why t and not p
    cards = []
    for m in range(len(images)):
        change = found.adversarial[m] - images[m].astype(np.float32)
        reached = bool(np.isfinite(found.radius[m]))
        top = float(np.abs(change).max())
        cards.append({
            "contrast": signed_map(contrast[m]),
            "margin": {"radius": float(found.radius[m]), "below": float(found.below[m]), "reached": reached,
                       "rms": float(found.radius[m]) / np.sqrt(change.size),     # per pixel value
                       "l2": float(np.linalg.norm(change)), **settings},
            "counterfactual": None if not reached else {
                "image": pictures.pixels_uri(found.adversarial[m]),
                "change": pictures.pixels_uri(255 * amplified(change)),
                "factor": 127.5 / top if top > 0 else None, "prob": float(probs[m, trues[m]]),
                "contrast": signed_map(back[m])}})
    return cards, seconds


def robustness_part(model, images, labels, count, seed=0, progress=None):
    """{'table': robust_accuracy's table, 'figure': its curve (a data URI), 'sample': which images,
    'seconds'}: ``ATTACKS`` at ``EPS`` grey levels (as ``explain.py robustness``), on
    ``count`` images evenly spaced over the split (``sample_positions``)."""
    positions = sample_positions(len(images), count)
    began = time.perf_counter()
    table = robust_accuracy(model.net, images[positions], labels[positions], eps=EPS, attacks=ATTACKS, seed=seed,
                            preprocessing=model.spec, progress=progress)
    seconds = time.perf_counter() - began
    sample = (f"{len(positions):,} of the split's {len(images):,} images" if len(positions) < len(images)
              else f"all {len(images):,} images")
    figure = robustness_plot(table, f"robust accuracy on {sample}")
    return {"table": table, "figure": pictures.figure_uri(figure, dpi=90), "sample": sample,
            "evenly_spaced": len(positions) < len(images), "seconds": seconds}
