"""Perturbation methods: change the input (or a layer's activations), run forwards, and watch the score.

Notation: x (N, H, W, C) the model's input, c the class explained for each image (the predicted one
when ``classes`` is None), y^c the logit of c (before the softmax), A (N, h, w, K) the target layer's
output (after its ReLU). Every image is explained for its own class; the many forwards all run in
inference mode, in batches of at most ``batch_size`` rows, and images never mix inside a batch. They
need no caches, so they take the depth-first inference path (``inference.predict_logits``).

Score-CAM (Wang et al. 2020, as the authors' code)                        scorecam -> (N, h, w)
    U_k   = bilinear_upsample(A_k)                        (H, W)   channel k at the input's size
    M_k   = (U_k - min U_k) / (max U_k - min U_k)         (H, W)   a mask in [0, 1]
    w_k   = softmax(f(x * M_k))_c                         scalar   M_k broadcast over the C channels
    map   = ReLU(sum_k w_k A_k)                           (h, w)
  N*K masked forwards. A channel that is constant over the image (max == min: a dead channel, say)
  has no mask; it is skipped, i.e. w_k = 0, as the authors' code does (``continue``), and costs no
  forward. (pytorch-grad-cam divides by max - min + 1e-8 instead, which gives it a mask of zeros.)
  Constancy is decided on A_k itself: bilinear upsampling to a size >= (h, w) is constant exactly
  when A_k is, and A_k's test is free of the rounding an interpolated constant can carry.
  The authors sum w_k * U_k at the input's size before the ReLU; here the map stays at the layer's
  resolution, like every CAM in npnet, and ``methods.cam`` upsamples it after the ReLU.
  (pytorch-grad-cam's ScoreCAM weighs by a softmax over the channels of the masked logits y^c_k
  instead; this is the paper's and the authors' softmax over the classes.)

Ablation-CAM (Desai & Ramaswamy 2020)                                     ablationcam -> (N, h, w)
    y^c_k = the logit of c when the layers above the target are fed A with channel k set to 0
    w_k   = (y^c - y^c_k) / y^c                           (N, K)
    map   = ReLU(sum_k w_k A_k)                           (h, w)
  N*K forwards from the target layer up (``predict_logits(after=...)``). The division is exact, without an
  epsilon, as pytorch-grad-cam does it: a logit y^c of exactly 0 gives infinite or NaN weights, and a
  negative y^c flips the weights' sign; both are the definition's.

Occlusion (Zeiler & Fergus 2014, as Captum's ``Occlusion``)               occlusion -> (N, H, W, C)
    windows   window x window over all C channels, top-left corners at 0, stride, 2*stride, ...:
              ceil((H - window) / stride) + 1 rows of them (likewise for columns), as Captum counts;
              the last one may hang over the edge and is cut to the image, as Captum's padding does
    d_p       = y^c(x) - y^c(x with window p set to ``baseline``)             (N, P)
    attr[v]   = mean of d_p over the windows p that cover the value v         (N, H, W, C)
  N*P forwards. With stride > window some values lie under no window: they get 0 (Captum refuses
  that stride instead). The attribution is the same for the C channels of a pixel.

Contrast (a class b per image, ``contrast``): the score watched is the difference of the two classes'
  Score-CAM   w_k = softmax(f(x * M_k))_c - softmax(f(x * M_k))_b      (it is defined on probabilities)
  Ablation    w_k = (s - s_k) / s  with s = y^c - y^b and s_k the same with channel k set to 0
  Occlusion   d_p = s(x) - s(x with window p set to the baseline),  s = y^c - y^b
"""
import numbers

import numpy as np

from ..io.errors import NpnetError
from ..engine.losses import softmax
from ..engine.inference import predict_logits
from .gradcam import bilinear_upsample
from .inputs import whole_option
from .passes import batches, cached_forward, resolve_classes


def class_score(values, rows, chosen, against):
    """values[rows, c] (logits or probabilities), or values[rows, c] - values[rows, b] with a contrast b."""
    score = values[np.arange(len(rows)), chosen[rows]]
    return score if against is None else score - values[np.arange(len(rows)), against[rows]]


def contrast_classes(contrast, logits):
    return None if contrast is None else resolve_classes(contrast, logits)


# -- options --------------------------------------------------------------------------------------
def check_baseline(baseline):
    if isinstance(baseline, bool) or not isinstance(baseline, numbers.Real) or not np.isfinite(baseline):
        raise NpnetError(f"baseline must be a finite number, got {baseline!r}")


def pairs(count, inner):
    """(outer, inner) indices of the flat rows 0..count-1 of an (outer, inner) grid."""
    rows = np.arange(count)
    return rows // inner, rows % inner


# -- Score-CAM ------------------------------------------------------------------------------------
def min_max_scale(maps):
    """Each map (M, H, W) scaled to [0, 1]: (U - min U) / (max U - min U). No map may be constant."""
    low = maps.min(axis=(1, 2), keepdims=True)
    high = maps.max(axis=(1, 2), keepdims=True)
    return (maps - low) / (high - low)


def scorecam(model, images, classes, target, contrast=None, *, batch_size=256):
    """Score-CAM maps (N, h, w) at ``target``'s resolution, after the ReLU, in the model's dtype."""
    batch_size = whole_option("batch_size", batch_size)
    logits = cached_forward(model, images, keep_from=target.name)
    chosen = resolve_classes(classes, logits)
    against = contrast_classes(contrast, logits)
    activations = target.output.copy()
    N, h, w, K = activations.shape
    varies = activations.max(axis=(1, 2)) > activations.min(axis=(1, 2))          # (N, K)
    image_of, channel_of = np.nonzero(varies)   # the (image, channel) pairs that have a mask
    weights = np.zeros((N, K), dtype=activations.dtype)                           # w_k = 0 if constant
    for part in batches(len(image_of), batch_size):
        n, k = image_of[part], channel_of[part]
        masks = min_max_scale(bilinear_upsample(activations[n, :, :, k], images.shape[1:3]))   # (B, H, W)
        probabilities = softmax(predict_logits(model, images[n] * masks[..., None]))
        weights[n, k] = class_score(probabilities, n, chosen, against)
    return np.maximum(np.einsum("nhwk,nk->nhw", activations, weights), 0)


# -- Ablation-CAM ---------------------------------------------------------------------------------
def ablationcam(model, images, classes, target, contrast=None, *, batch_size=256):
    """Ablation-CAM maps (N, h, w) at ``target``'s resolution, after the ReLU, in the model's dtype."""
    batch_size = whole_option("batch_size", batch_size)
    logits = cached_forward(model, images, keep_from=target.name)
    chosen = resolve_classes(classes, logits)
    against = contrast_classes(contrast, logits)
    activations = target.output.copy()
    N, h, w, K = activations.shape
    score = class_score(logits, np.arange(N), chosen, against)                    # y^c (N,)
    image_of, channel_of = pairs(N * K, K)      # row n*K + k: image n with channel k ablated
    ablated_scores = np.empty(N * K, dtype=logits.dtype)
    for part in batches(N * K, batch_size):
        n, k = image_of[part], channel_of[part]
        ablated = activations[n]                                                  # a copy (B, h, w, K)
        ablated[np.arange(len(n)), :, :, k] = 0
        ablated_logits = predict_logits(model, ablated, after=target.name)
        ablated_scores[part] = class_score(ablated_logits, n, chosen, against)
    weights = (score[:, None] - ablated_scores.reshape(N, K)) / score[:, None]    # (N, K)
    return np.maximum(np.einsum("nhwk,nk->nhw", activations, weights), 0)


# -- Occlusion ------------------------------------------------------------------------------------
def window_starts(size, window, stride):
    """Captum's window positions along one axis: ceil((size - window) / stride) + 1 of them."""
    count = -(-(size - window) // stride) + 1
    return np.arange(count) * stride


def window_masks(height, width, window, stride):
    """(P, H, W) bool: True inside each window, the row of windows varying slowest."""
    masks = []
    for top in window_starts(height, window, stride):
        for left in window_starts(width, window, stride):
            mask = np.zeros((height, width), dtype=bool)
            mask[top:top + window, left:left + window] = True    # cut to the image at the edge
            masks.append(mask)
    return np.array(masks)


def occlusion(model, images, classes, contrast=None, *, window=4, stride=2, baseline=0.0, batch_size=256):
    """Occlusion attributions (N, H, W, C) in the logits' dtype."""
    window = whole_option("window", window)
    stride = whole_option("stride", stride)
    batch_size = whole_option("batch_size", batch_size)
    check_baseline(baseline)
    N, H, W, C = images.shape
    if window > min(H, W):
        raise NpnetError(f"window {window} is larger than the {H}x{W} image")
    logits = predict_logits(model, images)
    chosen = resolve_classes(classes, logits)
    against = contrast_classes(contrast, logits)
    score = class_score(logits, np.arange(N), chosen, against)                    # y^c(x) (N,)
    masks = window_masks(H, W, window, stride)                                    # (P, H, W)
    P = len(masks)
    fill = np.asarray(baseline, dtype=images.dtype)
    image_of, window_of = pairs(N * P, P)       # row n*P + p: image n with window p occluded
    drops = np.empty(N * P, dtype=logits.dtype)
    for part in batches(N * P, batch_size):
        n, p = image_of[part], window_of[part]
        occluded = np.where(masks[p][..., None], fill, images[n])                 # (B, H, W, C)
        occluded_logits = predict_logits(model, occluded)
        drops[part] = score[n] - class_score(occluded_logits, n, chosen, against)
    flat = masks.reshape(P, H * W).astype(logits.dtype)
    total = (drops.reshape(N, P) @ flat).reshape(N, H, W)                         # sum of d_p over windows
    covering = flat.sum(axis=0).reshape(H, W)                                     # windows per pixel
    mean = np.divide(total, covering, out=np.zeros_like(total), where=covering > 0)
    return np.repeat(mean[..., None], C, axis=3)
