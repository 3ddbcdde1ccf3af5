"""Gradient CAMs and Eigen-CAM: a map from one layer's activations and their class gradient.

A = the target layer's output after its ReLU, (N, h, w, K); g = dy^c/dA, same shape, y^c the logit of
class c (before the softmax). One forward and one backward give both for the whole batch: Grad-CAM's
own pass (``gradcam.activations_and_gradient``), which every method here reuses, as ``gradcam`` reuses
``gradcam.grad_cam_weights``. Each method says how it weighs A; every map ends with a ReLU, and stays raw:

    gradcam    w_k = mean_ij g_k,ij                                    map = ReLU(sum_k w_k A_k)
    gradcam++  a_k,ij = g^2 / (2 g^2 + (sum_ab A_k,ab) g^3 + 1e-6)   (a = 0 where g = 0)
               w_k = sum_ij a_k,ij ReLU(g_k,ij)                        map = ReLU(sum_k w_k A_k)
    xgradcam   w_k = sum_ij A_k,ij / (sum_ab A_k,ab + 1e-7) g_k,ij    map = ReLU(sum_k w_k A_k)
    hirescam   map = ReLU(sum_k g_k ⊙ A_k)             (elementwise first: no averaging over positions)
    layercam   map = ReLU(sum_k ReLU(g_k) ⊙ A_k)       (any conv layer, also the fine conv2d_1)
    eigencam   map = ReLU(A' v1): A' = A as (h*w, K) centred over positions, v1 its first right
               singular vector, its sign chosen so that A' v1 correlates positively with sum_k A_k

Contrast: with a class b (``contrast``), g = d(y^c - y^b)/dA, the gradient of the logit difference,
and every formula above is unchanged: the map shows where the evidence for c over b lies.

Grad-CAM++ is Chattopadhay et al. (2018) Eq. 19 with the exponential of the score cancelled against
its derivative, as pytorch-grad-cam computes it. Eigen-CAM needs no gradient and ignores the class.
"""
import numpy as np

from .gradcam import activations_and_gradient, grad_cam_weights, weighted_sum
from .passes import cached_forward


def gradcam(model, images, classes, target, contrast=None):
    """Grad-CAM itself (``gradcam.grad_cam_weights``): w_k = mean_ij g_k,ij."""
    alpha, A, _, _ = grad_cam_weights(model, images, classes, target.name, contrast)
    return weighted_sum(alpha, A)


def gradcam_plus_plus(model, images, classes, target, contrast=None):
    A, g, _, _ = activations_and_gradient(model, images, classes, target, contrast)
    g2, g3 = g ** 2, g ** 3
    sum_A = A.sum(axis=(1, 2), keepdims=True)                  # (N, 1, 1, K)
    denominator = 2 * g2 + sum_A * g3 + 1e-6
    alpha = np.where(g != 0, g2 / denominator, 0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2))      # (N, K)
    return weighted_sum(weights, A)


def xgradcam(model, images, classes, target, contrast=None):
    A, g, _, _ = activations_and_gradient(model, images, classes, target, contrast)
    sum_A = A.sum(axis=(1, 2), keepdims=True)
    weights = (A / (sum_A + 1e-7) * g).sum(axis=(1, 2))
    return weighted_sum(weights, A)


def hirescam(model, images, classes, target, contrast=None):
    A, g, _, _ = activations_and_gradient(model, images, classes, target, contrast)
    return np.maximum((g * A).sum(axis=3), 0)


def layercam(model, images, classes, target, contrast=None):
    A, g, _, _ = activations_and_gradient(model, images, classes, target, contrast)
    return np.maximum((np.maximum(g, 0) * A).sum(axis=3), 0)


def eigencam(model, images, classes, target, contrast=None):
    """Eigen-CAM reads no class, so neither ``classes`` nor ``contrast`` changes its map."""
    cached_forward(model, images, keep_from=target.name)
    A = target.output
    N, h, w, K = A.shape
    rows = A.reshape(N, h * w, K).astype(np.float64)
    centred = rows - rows.mean(axis=1, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)    # vt (N, min(h*w, K), K)
    projection = np.einsum("npk,nk->np", centred, vt[:, 0])  # (N, h*w)
    total = rows.sum(axis=2)
    correlation = ((projection - projection.mean(1, keepdims=True))
                   * (total - total.mean(1, keepdims=True))).sum(axis=1)
    projection *= np.where(correlation < 0, -1.0, 1.0)[:, None]
    return np.maximum(projection, 0).reshape(N, h, w).astype(A.dtype)
