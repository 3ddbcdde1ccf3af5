"""Faithfulness: is an explanation right? Scored on GTSRB's own sign boxes, beside baselines it must beat.

A map is one value per input pixel, (N, H, W), larger = more important; an input-space attribution
(N, H, W, C) becomes one as sum_c |a[..., c]| (``attribution_maps``). Boxes are float (N, 4) x1, y1, x2,
y2 in the H x W image's pixel units (``boxes_to_32``); pixel (row i, column j) is inside when its centre
(j + 0.5, i + 0.5) lies in the rectangle, edges included (``inside_box``).

    energy_in_box(maps, boxes)                     (N,) float64  share of positive mass in the box; NaN if none
    pointing_game(maps, boxes)                     (N,) bool     the map's largest pixel is in the box
    deletion_auc(model, images, maps, classes)     (N,) float64  area under p_c as top pixels are removed
    insertion_auc(model, images, maps, classes)    (N,) float64  area under p_c as top pixels are restored
    randomization_check(model, images, method)     per stage of the cascade: mean Spearman and SSIM
    centre_maps, random_maps                       the baselines: a centred Gaussian, seeded uniform noise

Localization: Score-CAM's energy-based pointing game (Wang et al. 2020), Zhang et al.'s pointing game
(2016). Deletion and insertion: Petsiuk et al. 2018 (RISE). Randomization: Adebayo et al. 2018,
"Sanity checks for saliency maps", cascading. Every sum runs in float64; a map holding NaN or infinity
is an NpnetError, never a silent score.
"""
import numpy as np

from ...engine import inference
from ...io.errors import NpnetError
from ...engine.losses import softmax
from ..passes import batches, resolve_classes
from .perturbed import perturbed_images


# -- maps and boxes -------------------------------------------------------------------------------
def attribution_maps(attributions):
    """(N, H, W, C) attributions -> (N, H, W) maps: m[n, i, j] = sum_c |a[n, i, j, c]| (float64)."""
    return np.abs(np.asarray(attributions, dtype=np.float64)).sum(axis=3)


def boxes_to_32(coords, sizes, size=32):
    """Sign boxes in original pixels -> float64 (N, 4) in the size x size image's pixel units.

    coords : (N, 4) x1, y1, x2, y2, the first and last pixel of the box (GTSRB's Roi.X1..Roi.Y2)
    sizes  : (N, 2) the original width, height
    box    = x1 * size / width, y1 * size / height, (x2 + 1) * size / width, (y2 + 1) * size / height
    (the + 1: the box ends at the far edge of its last pixel).
    """
    x1, y1, x2, y2 = np.asarray(coords, dtype=np.float64).T
    width, height = np.asarray(sizes, dtype=np.float64).T
    if np.any(width <= 0) or np.any(height <= 0):
        raise NpnetError("an image has a width or height of 0 or less")
    sx, sy = size / width, size / height
    return np.stack([x1 * sx, y1 * sy, (x2 + 1) * sx, (y2 + 1) * sy], axis=1)


def inside_box(boxes, height, width):
    """(N, H, W) bool: pixel (i, j) is inside when x1 <= j + 0.5 <= x2 and y1 <= i + 0.5 <= y2."""
    x1, y1, x2, y2 = (np.asarray(boxes, dtype=np.float64)[:, k, None, None] for k in range(4))
    cx = np.arange(width)[None, None, :] + 0.5
    cy = np.arange(height)[None, :, None] + 0.5
    return (x1 <= cx) & (cx <= x2) & (y1 <= cy) & (cy <= y2)


def check_maps(maps, count=None):
    """maps as float64 (N, H, W); NpnetError for another shape, another count, or a non-finite value."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise NpnetError(f"maps must be (N, H, W), got shape {maps.shape}")
    if count is not None and len(maps) != count:
        raise NpnetError(f"{len(maps)} maps for {count} images")
    bad = ~np.isfinite(maps).all(axis=(1, 2))
    if bad.any():
        raise NpnetError(f"{bad.sum()} of {len(maps)} maps hold NaN or infinity (first: map {np.argmax(bad)})")
    return maps


# -- localization ---------------------------------------------------------------------------------
def energy_in_box(maps, boxes):
    """(N,) float64: the share of each map's positive mass inside its box.

        E = sum_{(i,j) in box} max(m_ij, 0) / sum_{i,j} max(m_ij, 0)

    NaN for a map without positive mass (all zero, say): there is nothing to share. Summaries count
    those as ``empty_maps`` and leave them out of the mean.
    """
    maps = check_maps(maps, len(boxes))
    N, H, W = maps.shape
    positive = np.maximum(maps, 0)
    total = positive.sum(axis=(1, 2))
    inside = np.where(inside_box(boxes, H, W), positive, 0).sum(axis=(1, 2))
    return np.divide(inside, total, out=np.full(N, np.nan), where=total > 0)


def pointing_game(maps, boxes):
    """(N,) bool: the map's largest pixel lies inside the box.

    Ties go to the first pixel in row-major order (np.argmax), so an all-zero map points at (0, 0).
    """
    maps = check_maps(maps, len(boxes))
    N, H, W = maps.shape
    peak = maps.reshape(N, H * W).argmax(axis=1)
    return inside_box(boxes, H, W).reshape(N, H * W)[np.arange(N), peak]


# -- deletion and insertion -----------------------------------------------------------------------
def pixel_ranks(maps):
    """(N, H, W) int: each pixel's place in the order of decreasing map value, 0 = first.

    A stable sort of -m, so ties keep row-major order.
    """
    N, H, W = maps.shape
    order = np.argsort(-maps.reshape(N, H * W), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(H * W)[None, :], axis=1)
    return ranks.reshape(N, H, W)


def step_counts(pixels, steps):
    """(steps + 1,) int: how many pixels have moved after step k = 0..steps, floor(k * P / steps)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= pixels:
        raise NpnetError(f"steps must be a whole number from 1 to the {pixels} pixels, got {steps!r}")
    return np.arange(steps + 1) * pixels // steps


def perturbation_curves(model, images, maps, classes, steps, baseline, insert, batch_size):
    """(N, steps + 1) float64: p_c after each step, with x_k = counts[k] / P; and the counts.

    Deletion (insert=False): image k holds ``baseline`` at the counts[k] first-ranked pixels.
    Insertion (insert=True): the baseline image with the counts[k] first-ranked pixels restored.
    All C channels of a pixel move together. Rows (image n, step k) run in batches of ``batch_size``,
    each built by ``perturbed.perturbed_images`` and run through the inference path (``inference.logits``).
    """
    N, H, W, C = images.shape
    maps = check_maps(maps, N)
    if maps.shape[1:] != (H, W):
        raise NpnetError(f"maps of size {maps.shape[1:]} for images of size {(H, W)}")
    fill = np.broadcast_to(np.asarray(baseline, dtype=images.dtype), images.shape)
    chosen = resolve_classes(classes, inference.logits(model, images))
    ranks = pixel_ranks(maps)
    counts = step_counts(H * W, steps)
    image_of, step_of = np.divmod(np.arange(N * (steps + 1)), steps + 1)
    curves = np.empty(N * (steps + 1))
    for part in batches(len(image_of), batch_size):
        n, k = image_of[part], step_of[part]
        batch = perturbed_images(images, ranks, counts, n, k, fill, insert)     # (B, H, W, C)
        probabilities = softmax(inference.logits(model, batch))
        curves[part] = probabilities[np.arange(len(n)), chosen[n]]
    return curves.reshape(N, steps + 1), counts


def curve_ends(model, images, classes, baseline=0.0, batch_size=256):
    """(classes (N,), p_c(x) (N,), p_c(baseline image) (N,)): the points every deletion and insertion
    curve of these images shares, whatever the map. Deletion starts at the image (nothing removed) and
    ends at the baseline image (everything removed); insertion goes the other way. Inference forwards
    of each batch of images beside its baseline images; classes as for ``deletion_auc`` (None: the
    predicted ones)."""
    fill = np.broadcast_to(np.asarray(baseline, dtype=images.dtype), images.shape)
    logits = [np.split(inference.logits(model, np.concatenate([images[part], fill[part]])), 2)
              for part in batches(len(images), batch_size)]
    image_logits = np.concatenate([pair[0] for pair in logits]) if logits else \
        inference.logits(model, images)
    chosen = resolve_classes(classes, image_logits)
    rows = np.arange(len(images))
    original = softmax(image_logits)[rows, chosen]
    empty = softmax(np.concatenate([pair[1] for pair in logits]))[rows, chosen] if logits else original
    return chosen, original, empty


def deletion_and_insertion_curves(model, images, maps, ends, steps, baseline, batch_size):
    """Both curves of ``perturbation_curves``, (deletion (N, steps + 1), insertion (N, steps + 1), counts),
    with their shared ends given: ``ends`` = ``curve_ends(model, images, classes, baseline)``. Only the
    steps 1 .. steps - 1 run, 2 (steps - 1) forwards per image instead of 2 (steps + 2): what
    ``explain.py faithfulness`` does for every method on the same images."""
    N, H, W, C = images.shape
    maps = check_maps(maps, N)
    if maps.shape[1:] != (H, W):
        raise NpnetError(f"maps of size {maps.shape[1:]} for images of size {(H, W)}")
    chosen, original, empty = ends
    fill = np.broadcast_to(np.asarray(baseline, dtype=images.dtype), images.shape)
    ranks = pixel_ranks(maps)
    counts = step_counts(H * W, steps)
    image_of, inner = np.divmod(np.arange(N * (steps - 1)), max(steps - 1, 1))
    curves = {}
    for insert in (False, True):
        curve = np.empty((N, steps + 1))
        curve[:, 0], curve[:, steps] = (empty, original) if insert else (original, empty)
        for part in batches(len(image_of), batch_size):
            n, k = image_of[part], inner[part] + 1
            batch = perturbed_images(images, ranks, counts, n, k, fill, insert)
            curve[n, k] = softmax(inference.logits(model, batch))[np.arange(len(n)), chosen[n]]
        curves[insert] = curve
    return curves[False], curves[True], counts


def trapezoid(curves, x):
    """(N,) float64: the trapezoid rule, sum_k (x_{k+1} - x_k) (y_k + y_{k+1}) / 2."""
    return (np.diff(x)[None, :] * (curves[:, 1:] + curves[:, :-1]) / 2).sum(axis=1)


def deletion_auc(model, images, maps, classes=None, steps=32, baseline=0.0, batch_size=256):
    """(N,) float64: area under p_c(x) as the fraction x in [0, 1] of top-ranked pixels is deleted.

    images : the model's input (N, H, W, C); maps (N, H, W); classes: None (predicted), an int or (N,)
    p_c    : softmax probability of class c; pixels set to ``baseline`` (a value of the model's input,
             or an array broadcasting to the images) in order of decreasing map value, ``steps`` equal
             steps of floor(k * H * W / steps) pixels. Lower is better: a faithful map kills p_c fast.
    """
    curves, counts = perturbation_curves(model, images, maps, classes, steps, baseline, False, batch_size)
    return trapezoid(curves, counts / counts[-1])


def insertion_auc(model, images, maps, classes=None, steps=32, baseline=0.0, batch_size=256):
    """(N,) float64: area under p_c(x) as the top-ranked fraction x of pixels is restored on the baseline.

    The mirror of ``deletion_auc`` (same arguments). Higher is better.
    """
    curves, counts = perturbation_curves(model, images, maps, classes, steps, baseline, True, batch_size)
    return trapezoid(curves, counts / counts[-1])


# -- baselines ------------------------------------------------------------------------------------
def centre_maps(count, height, width):
    """(count, H, W) float64: exp(-((i + .5 - H/2)^2 / (2 (H/4)^2) + (j + .5 - W/2)^2 / (2 (W/4)^2))).

    A Gaussian at the image centre, sigma a quarter of the side: the map that localizes GTSRB's
    centred signs without looking at the model.
    """
    dy = (np.arange(height) + 0.5 - height / 2) / (height / 4)
    dx = (np.arange(width) + 0.5 - width / 2) / (width / 4)
    blob = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / 2)
    return np.repeat(blob[None], count, axis=0)


def random_maps(count, height, width, seed=0):
    """(count, H, W) float64: uniform noise in [0, 1) from ``np.random.default_rng(seed)``."""
    return np.random.default_rng(seed).random((count, height, width))


# -- randomization (Adebayo et al. 2018, cascading) -----------------------------------------------
def method_maps(model, images, method, classes, **options):
    """(N, H, W) float64 maps of ``method``: a CAM name, an attribution name (sum_c |a|), or a
    function (model, images, classes) -> (N, H, W)."""
    from ..methods import ATTRIBUTION_METHODS, attribution, cam
    if callable(method):
        return check_maps(method(model, images, classes), len(images))
    if method in ATTRIBUTION_METHODS:
        return attribution_maps(attribution(model, images, method, classes=classes, **options))
    return cam(model, images, method, classes=classes, **options).astype(np.float64)


def randomized_copies(model, seed=0):
    """Yield (layer name, model copy) for the cascade: a copy of ``model`` (never the model itself)
    whose layers with weights are re-initialized from the top (dense_4) down to the first (conv2d_1),
    one more at each step. Each layer is rebuilt by its own ``build``, i.e. with the initializers it
    was created with (Glorot uniform kernels, zero biases), drawing from ``default_rng(seed)``."""
    import copy
    randomized = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    for layer in reversed(randomized.layers):
        if layer.params:
            dtype = layer.dtype
            layer.build(layer.input_shape, rng)
            layer.astype(dtype)
            yield layer.name, randomized


def average_ranks(values):
    """(N, P) -> (N, P) float64 ranks 0..P-1 along each row; tied values share the mean of their ranks."""
    N, P = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    starts = np.ones((N, P), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]              # a new run of equal values begins
    position = np.broadcast_to(np.arange(P), (N, P))
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    ends = np.ones((N, P), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    last = np.minimum.accumulate(np.where(ends, position, P)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((N, P))
    np.put_along_axis(ranks, order, (first + last) / 2, axis=1)
    return ranks


def spearman(a, b):
    """(N,) float64 Spearman rank correlation of each pair of maps (N, H, W): the Pearson correlation
    of their average ranks. NaN when either map is constant (its ranks have no variance)."""
    N = len(a)
    ra = average_ranks(np.asarray(a, dtype=np.float64).reshape(N, -1))
    rb = average_ranks(np.asarray(b, dtype=np.float64).reshape(N, -1))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    scale = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    return np.divide((ra * rb).sum(axis=1), scale, out=np.full(N, np.nan), where=scale > 0)


def ssim(a, b, window=7):
    """(N,) float64 mean structural similarity of each pair of maps (N, H, W), each first scaled to
    [0, 1] by its min and max; NaN when either map is constant.

    As scikit-image's ``structural_similarity`` with its defaults (data range 1): over every
    window x window patch lying inside the map, with means mu, sample variances s^2 and covariance
    s_ab (divided by window^2 - 1),
        SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)),
        C1 = 0.01^2, C2 = 0.03^2, and the score is the mean over the patches.
    """
    def scaled(maps):
        maps = np.asarray(maps, dtype=np.float64)
        low, high = maps.min(axis=(1, 2), keepdims=True), maps.max(axis=(1, 2), keepdims=True)
        return np.divide(maps - low, high - low, out=np.full(maps.shape, np.nan), where=high > low)

    def patch_mean(x):
        return np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(1, 2)).mean(axis=(3, 4))

    x, y = scaled(a), scaled(b)
    if window > min(x.shape[1:]):
        raise NpnetError(f"SSIM window {window} is larger than the {x.shape[1]}x{x.shape[2]} maps")
    correction = window ** 2 / (window ** 2 - 1)
    mx, my = patch_mean(x), patch_mean(y)
    vx = correction * (patch_mean(x * x) - mx ** 2)
    vy = correction * (patch_mean(y * y) - my ** 2)
    vxy = correction * (patch_mean(x * y) - mx * my)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = (2 * mx * my + c1) * (2 * vxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean(axis=(1, 2))


def randomization_check(model, images, method, classes=None, seed=0, keep=1, **options):
    """The cascading model-parameter randomization test: do the maps change when the weights do?

    images : the model's input (N, H, W, C); method: as ``method_maps``; classes: None = the trained
             model's predictions, the same classes at every stage; options: the method's settings
    Returns {"trained": maps of the first ``keep`` images (keep, H, W), "stages": [one per layer with
    weights, top first: {"layer": the layer added at this stage, "spearman": mean over images,
    "ssim": mean over images, "constant_maps": images left out of both means (a constant map has no
    ranks to correlate), "maps": (keep, H, W) of the randomized model}]}.
    A faithful method falls towards 0 as layers are randomized; one that ignores the weights stays at 1.
    The last stage is the baseline "the method on a fully randomized model".
    """
    chosen = resolve_classes(classes, model.forward(images, training=False))
    trained = method_maps(model, images, method, chosen, **options)
    stages = []
    for name, randomized in randomized_copies(model, seed):
        maps = method_maps(randomized, images, method, chosen, **options)
        rho, similarity = spearman(trained, maps), ssim(trained, maps)
        undefined = np.isnan(rho) | np.isnan(similarity)
        stages.append({"layer": name, "spearman": nan_mean(rho[~undefined]),
                       "ssim": nan_mean(similarity[~undefined]), "constant_maps": int(undefined.sum()),
                       "maps": maps[:keep]})
    return {"trained": trained[:keep], "stages": stages}


def nan_mean(values):
    """The mean as a float, NaN for no values (without numpy's empty-slice warning)."""
    return float(np.mean(values)) if len(values) else float("nan")
