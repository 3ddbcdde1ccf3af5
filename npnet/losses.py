"""Softmax cross-entropy, fused: its gradient with respect to the logits is (p - y) / N."""
import numpy as np

from .errors import NonFiniteError


def log_softmax(logits):
    """log p = z - logsumexp(z), computed after subtracting each row's max so exp never overflows.
    logits: (N, K) -> (N, K)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """p = exp(z) / sum(exp(z)), row by row. logits: (N, K) -> (N, K)."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits, labels, label_smoothing=0.0):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

        t        = (1 - s) onehot(y) + s / K     target distribution (s = label_smoothing, usually 0)
        L        = -(1/N) sum_n sum_k t[n, k] log p[n, k],   p = softmax(logits)
        dlogits  = (p - t) / N

    With s = 0 this is -(1/N) sum_n log p[n, y_n]. logits: (N, K) float, labels: (N,) int in 0..K-1
    ->  (loss: float, dlogits: (N, K)). A NaN or infinite loss raises ``NonFiniteError`` instead of
    being trained on.
    """
    N, K = logits.shape
    rows = np.arange(N)
    log_probs = log_softmax(logits)
    loss = -log_probs[rows, labels].mean()
    if label_smoothing:
        loss = (1 - label_smoothing) * loss - label_smoothing * log_probs.mean(axis=1).mean()
    if not np.isfinite(loss):
        raise NonFiniteError(f"the loss is {loss} (NaN or infinite logits): the weights have diverged")
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1 - label_smoothing
    if label_smoothing:
        dlogits -= label_smoothing / K
    dlogits /= N
    return float(loss), dlogits

