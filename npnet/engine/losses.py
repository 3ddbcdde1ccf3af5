"""Softmax cross-entropy, fused: its gradient with respect to the logits is (p - y) / N."""
import numpy as np

from ..io.errors import NonFiniteError


def log_softmax(logits):
    """log p = z - logsumexp(z), computed after subtracting each row's max so exp never overflows.
    logits: (N, K) -> (N, K)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """p = exp(z) / sum(exp(z)), row by row. logits: (N, K) -> (N, K)."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits, labels, label_smoothing=0.0, sample_weights=None):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

        t        = (1 - s) onehot(y) + s / K     target distribution (s = label_smoothing, usually 0)
        L        = -(1/N) sum_n sum_k t[n, k] log p[n, k],   p = softmax(logits)
        dlogits  = (p - t) / N

    With s = 0 this is -(1/N) sum_n log p[n, y_n]. logits: (N, K) float, labels: (N,) int in 0..K-1
    ->  (loss: float, dlogits: (N, K)). A NaN or infinite loss raises ``NonFiniteError`` instead of
    being trained on.

    ``sample_weights`` (N,), e.g. class weights looked up by label (``train.py --class-weight-power``),
    weight each image's whole term, smoothing included, still over N (not over the weights' sum):

        L        = -(1/N) sum_n w[n] sum_k t[n, k] log p[n, k]
        dlogits  = w[n] (p - t) / N
    """
    N, K = logits.shape
    rows = np.arange(N)
    log_probs = log_softmax(logits)
    if sample_weights is None:
        loss = -log_probs[rows, labels].mean()
        if label_smoothing:
            loss = (1 - label_smoothing) * loss - label_smoothing * log_probs.mean(axis=1).mean()
    else:
        per_image = -(1 - label_smoothing) * log_probs[rows, labels] - label_smoothing * log_probs.mean(axis=1)
        loss = (sample_weights * per_image).mean()
    if not np.isfinite(loss):
        raise NonFiniteError(f"the loss is {loss} (NaN or infinite logits): the weights have diverged")
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1 - label_smoothing
    if label_smoothing:
        dlogits -= label_smoothing / K
    if sample_weights is not None:
        dlogits *= sample_weights.astype(dlogits.dtype, copy=False)[:, None]
    dlogits /= N
    return float(loss), dlogits


def distillation_loss(logits, labels, teacher_probs, weight, temperature, label_smoothing=0.0):
    """Knowledge distillation (Hinton et al., 2015): the labels' cross-entropy mixed with the student's
    divergence from the teachers' softened probabilities, and its gradient.

        q        = softmax(z / T)                                    the student, softened   (N, K)
        L        = (1 - a) CE(z, y) + a T^2 (1/N) sum_n KL(p_t[n] || q[n])
        dlogits  = (1 - a) (p - t) / N  +  a T (q - p_t) / N         (d KL / dz = (q - p_t) / T)

    CE and (p - t) / N are ``softmax_cross_entropy``'s (with its label smoothing); p_t =
    ``teacher_probs`` (N, K), each row a distribution, already softened by the same T; a = ``weight``
    in [0, 1]. The T^2 keeps the soft term's gradient on the hard term's scale whatever T is.
    Returns (loss: float, dlogits: (N, K)).
    """
    N = len(logits)
    hard_loss, hard_dlogits = softmax_cross_entropy(logits, labels, label_smoothing)
    log_q = log_softmax(logits / temperature)
    teacher_probs = teacher_probs.astype(logits.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(teacher_probs > 0, teacher_probs * (np.log(teacher_probs) - log_q), 0)
    divergence = terms.sum() / N
    loss = (1 - weight) * hard_loss + weight * temperature ** 2 * divergence
    if not np.isfinite(loss):
        raise NonFiniteError(f"the distillation loss is {loss}: the weights have diverged")
    dlogits = (1 - weight) * hard_dlogits + weight * temperature * (np.exp(log_q) - teacher_probs) / N
    return float(loss), dlogits
