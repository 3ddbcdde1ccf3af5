"""ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci & Kasneci 2022, "A consistent and efficient
evaluation strategy for attribution methods"): remove pixels in the order of a map, fill them in by
noisy linear imputation so that the removal leaks no shape, and ask whether the model still sees the class.

    road_logits(model, images, maps, most_relevant_first, percents, noise, seed, batch_size)  (N, F, K)
    road_curves(model, images, maps, classes, percents, noise, seed, batch_size)
        -> {"x": (F,) fractions removed, "morf": (N, F), "lerf": (N, F)} 1.0 where the imputed image is
           still classified as the explained class c, else 0.0
    road_area(curves, x)                                                                       (N,)

For each percent r in ``percents`` (default 10, 20, ..., 90), with m the map (N, H, W):
    MoRF (most relevant first)   removed = m >= percentile(m, 100 - r)   the top r % of the map
    LeRF (least relevant first)  removed = m <= percentile(m, r)          the bottom r %
    x_r     = linear_imputation(x, removed) + noise * z at the removed pixels, z ~ N(0, 1) per value
    correct = argmax f(x_r) == c
The accuracy curve is the mean of ``correct`` over the images at each x = r / 100; its area is the
trapezoid rule over x from the first to the last fraction divided by their distance, i.e. the curve's
mean height (a number in [0, 1]). MoRF: lower is better (the class is lost when its evidence goes);
LeRF: higher is better (it survives the loss of what the map calls irrelevant).

As pytorch-grad-cam's ROAD (``pytorch_grad_cam/metrics/road.py``, from the authors' code): the same
thresholds (its ``RemoveMostRelevantFirst(100 - r)`` keeps ``m < percentile(m, 100 - r)``, its
``RemoveLeastRelevantFirst(100 - r)`` keeps ``1 - m < percentile(1 - m, 100 - r)``: the same pixels in
exact arithmetic), the same imputation (``imputation``), the same noise, 0.01 in the model's input
units. Pixels tied at the threshold are all removed, so a map with ties can remove more than r % (a
constant map removes every pixel, and the image becomes 0 plus noise). Where npnet differs:
  - what is measured: pytorch-grad-cam reports the change of the target's logit, f_c(x_r) - f_c(x),
    averaged over the percents (``ROADCombined``: (LeRF - MoRF) / 2); npnet reports the paper's
    accuracy curves (its figures plot accuracy against the fraction removed) and their areas. The
    logits are ``road_logits``: pytorch-grad-cam's numbers are one subtraction away
    (tests/explain/test_road.py compares them);
  - LeRF thresholds m itself, not 1 - m: the same pixels for maps in [0, 1] (pytorch-grad-cam's
    CAMs are scaled so), and for raw maps it keeps the small differences 1 - m would round away;
  - the noise comes from np.random.default_rng((seed, order, first + n, r)) for image n of
    the call (order 0 MoRF, 1 LeRF), so it does not depend on the batch size; pytorch-grad-cam draws
    torch.randn_like;
  - everything removed (no pixel to interpolate from) gives 0 (plus noise), where spsolve fails.
"""
import numbers

import numpy as np

from ...engine import inference
from ...io.errors import NpnetError
from ..passes import batches, resolve_classes
from .imputation import linear_imputation
from .metrics import check_maps

PERCENTS = (10, 20, 30, 40, 50, 60, 70, 80, 90)
NOISE = 0.01


def check_percents(percents):
    values = np.asarray(percents)
    if values.ndim != 1 or not len(values) or values.dtype.kind not in "iu" or values.min() < 1 \
            or values.max() > 99 or np.any(np.diff(values) <= 0):
        raise NpnetError(f"percents must be increasing whole numbers from 1 to 99, got {percents!r}")
    return values.astype(np.int64)


def thresholds(maps, percents, most_relevant_first):
    """(N, F): percentile(m, 100 - r) of each map for MoRF, percentile(m, r) for LeRF."""
    N = len(maps)
    q = 100 - percents if most_relevant_first else percents
    return np.percentile(maps.reshape(N, -1), q, axis=1).T


def removed_pixels(maps, limits, most_relevant_first):
    """(B, H, W) bool: m >= limit (MoRF) or m <= limit (LeRF); maps (B, H, W), limits (B,)."""
    limits = limits[:, None, None]
    return maps >= limits if most_relevant_first else maps <= limits


def road_logits(model, images, maps, most_relevant_first, percents=PERCENTS, noise=NOISE, seed=0,
                batch_size=256, first=0):
    """(N, F, K) logits of the imputed images, row (n, k) with percents[k] % of image n removed.

    images: the model's input (N, H, W, C); maps (N, H, W), larger = more relevant. Rows (image,
    percent) are imputed and run through inference forwards in batches of ``batch_size``. first: the
    number of image 0 in the noise's seed (a chunk of a larger set passes its start).
    """
    N, H, W, C = images.shape
    maps = check_maps(maps, N)
    if maps.shape[1:] != (H, W):
        raise NpnetError(f"maps of size {maps.shape[1:]} for images of size {(H, W)}")
    percents = check_percents(percents)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < np.inf:
        raise NpnetError(f"noise must be a finite number >= 0, got {noise!r}")
    F = len(percents)
    limits = thresholds(maps, percents, most_relevant_first)
    order = 0 if most_relevant_first else 1
    image_of, step_of = np.divmod(np.arange(N * F), F)
    logits = None
    for part in batches(N * F, batch_size):
        n, k = image_of[part], step_of[part]
        removed = removed_pixels(maps[n], limits[n, k], most_relevant_first)
        imputed = linear_imputation(images[n], removed).astype(np.float64)
        if noise:
            z = np.stack([np.random.default_rng((seed, order, first + a, percents[b])).standard_normal((H, W, C))
                          for a, b in zip(n, k)])
            imputed += np.where(removed[..., None], noise * z, 0.0)
        out = inference.logits(model, imputed.astype(images.dtype))
        if logits is None:
            logits = np.empty((N * F, out.shape[1]), dtype=out.dtype)
        logits[part] = out
    return logits.reshape(N, F, -1)


def road_curves(model, images, maps, classes=None, percents=PERCENTS, noise=NOISE, seed=0, batch_size=256,
                first=0):
    """{"x": r / 100 (F,), "morf": (N, F), "lerf": (N, F)}: 1.0 where the imputed image's top class is
    still c (``classes``: None = each image's predicted class, an int, or one per image), else 0.0."""
    chosen = resolve_classes(classes, inference.logits(model, images))
    curves = {"x": check_percents(percents) / 100}
    for name, most in (("morf", True), ("lerf", False)):
        logits = road_logits(model, images, maps, most, percents, noise, seed, batch_size, first)
        curves[name] = (logits.argmax(axis=2) == chosen[:, None]).astype(np.float64)
    return curves


def road_area(curves, x):
    """(N,) float64: the trapezoid rule over x, divided by x[-1] - x[0] (the curve itself for one x)."""
    curves = np.asarray(curves, dtype=np.float64)
    if len(x) == 1:
        return curves[:, 0]
    return (np.diff(x)[None, :] * (curves[:, 1:] + curves[:, :-1]) / 2).sum(axis=1) / (x[-1] - x[0])
