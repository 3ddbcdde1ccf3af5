"""Concept activation vectors: the direction, in a layer's activation space, from random images to a concept.

    v = logistic_cav(P, R, l2=0.01)      P (n_p, D) concept activations, R (n_r, D) random ones -> v (D,)
    v = fastcav(P, R)                    the same shapes: the difference of the two means
    v = train_cav(P, R, method)          either, by name (CAV_METHODS)

Every CAV is float64 of length 1, pointing towards the concept (its activations score higher along it).

logistic (Kim et al. 2018, "Interpretability Beyond Feature Attribution: Quantitative Testing with
Concept Activation Vectors (TCAV)"): the normal of a linear classifier of concept (y = 1) against random
(y = 0), L2-regularized logistic regression on the activations centred on their joint mean and divided by
their root mean square s (one number: the direction is the same in the raw activations),

    minimize over w (D,), b:   mean_i log(1 + exp(-(2 y_i - 1)(z_i . w + b))) + l2 / 2 |w|^2,
    z_i = (x_i - mean) / s,    v = w / |w|.

The optimum lies in the span of the z_i (the gradient in w is Z^T r / n + l2 w = 0), so it is solved
exactly in that span: Z = U S V^T (thin SVD, rank k <= n; U and S from the eigenvectors of the n x n
Gram matrix Z Z^T, V_k = Z^T U_k S_k^-1), w = V_k beta, and Newton's method on the k + 1
numbers (beta, b), whose Hessian [Z V_k, 1]^T diag(p(1 - p)) [Z V_k, 1] / n + l2 diag(1, ..., 1, 0) is
positive definite, with step halving until the loss falls. No learning rate, no epochs: to 1e-10 in the
gradient, typically in 10 to 20 steps. TCAV's code uses l2 = 0.01 (sklearn's alpha) as its default.

fastcav (Schmalwasser et al. 2025, "FastCAV: Efficient Computation of Concept Activation Vectors"):
v = (mean(P) - mean(R)) / |mean(P) - mean(R)|: no fit; it is where the logistic CAV goes as l2 grows
(w -> Z^T (y - mean(y)) / (n l2), a positive multiple of mean(P) - mean(R)).
"""
import numpy as np

from ...io.errors import NpnetError

CAV_METHODS = ("logistic", "fastcav")
TOLERANCE = 1e-10       # the logistic fit stops when its gradient's largest entry is below this
MAX_STEPS = 100


def _stacked(concept, random):
    """(X (n, D) float64, y (n,) 1 for the concept's rows then 0 for the random ones)."""
    concept, random = np.asarray(concept, dtype=np.float64), np.asarray(random, dtype=np.float64)
    if concept.ndim != 2 or random.ndim != 2 or concept.shape[1] != random.shape[1]:
        raise ValueError(f"a CAV needs two (n, D) sets of one layer's activations, got {concept.shape} "
                         f"and {random.shape}")
    if len(concept) < 1 or len(random) < 1:
        raise ValueError("a CAV needs at least one concept and one random activation")
    return np.concatenate([concept, random]), np.r_[np.ones(len(concept)), np.zeros(len(random))]


def _unit(v, what):
    norm = np.linalg.norm(v)
    if not norm > 0:
        raise NpnetError(f"{what}: the concept's and the random images' activations do not differ "
                         f"at this layer, so they define no direction")
    return v / norm


def fastcav(concept, random):
    """The unit vector along mean(concept) - mean(random): (n_p, D), (n_r, D) -> (D,) float64."""
    X, y = _stacked(concept, random)
    return _unit(X[y == 1].mean(axis=0) - X[y == 0].mean(axis=0), "fastcav")


def _logistic_loss(margins, y, beta, l2):
    """mean log(1 + exp(-(2y - 1) m)) + l2/2 |beta|^2, stably (logaddexp)."""
    return float(np.logaddexp(0.0, -(2.0 * y - 1.0) * margins).mean() + 0.5 * l2 * beta @ beta)


def logistic_fit(Z, y, l2):
    """(beta (k,), b) minimizing mean log(1 + exp(-(2y - 1)(Z beta + b))) + l2/2 |beta|^2, by Newton.
    Z (n, k) float64 features, y (n,) 0/1 labels, l2 > 0."""
    n, k = Z.shape
    A = np.hstack([Z, np.ones((n, 1))])                 # (n, k + 1): the bias as a last column
    penalty = np.r_[np.full(k, l2), 0.0]                # the bias is not penalized
    theta = np.zeros(k + 1)
    loss = _logistic_loss(A @ theta, y, theta[:k], l2)
    for _ in range(MAX_STEPS):
        p = 0.5 * (1.0 + np.tanh(0.5 * (A @ theta)))   # sigmoid, without overflow
        gradient = A.T @ (p - y) / n + penalty * theta
        if np.abs(gradient).max() < TOLERANCE:
            break
        hessian = (A * (p * (1.0 - p))[:, None]).T @ A / n + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(60):                             # halve the step until the loss does not rise
            trial = theta - step
            trial_loss = _logistic_loss(A @ trial, y, trial[:k], l2)
            if trial_loss <= loss:
                break
            step = step / 2.0
        theta, loss = trial, trial_loss
    return theta[:k], theta[k]


def logistic_cav(concept, random, l2=0.01):
    """The unit normal, towards the concept, of the L2-regularized logistic regression of concept
    (n_p, D) against random (n_r, D) activations (see the module's docstring): (D,) float64."""
    if not l2 > 0:
        raise ValueError(f"l2 must be > 0 (the concept and random sets are often separable), got {l2}")
    X, y = _stacked(concept, random)
    Z = X - X.mean(axis=0)
    scale = np.sqrt((Z * Z).mean())
    if not scale > 0:
        raise NpnetError("logistic CAV: every activation of the concept and the random images is the same "
                         "at this layer, so they define no direction")
    Z /= scale
    S2, U = np.linalg.eigh(Z @ Z.T)                     # Z Z^T = U S^2 U^T: Z's thin SVD without V
    kept = S2 > S2.max() * len(Z) * np.finfo(np.float64).eps
    U, S = U[:, kept], np.sqrt(S2[kept])                # (n, k), (k,)
    beta, _ = logistic_fit(U * S, y, l2)                # Z V_k = U_k S_k
    return _unit(Z.T @ (U @ (beta / S)), "logistic CAV")  # V_k beta = Z^T U_k S_k^-1 beta


def train_cav(concept, random, method="logistic", l2=0.01):
    """The CAV of ``method`` ('logistic' or 'fastcav') of concept (n_p, D) against random (n_r, D)."""
    if method == "logistic":
        return logistic_cav(concept, random, l2)
    if method == "fastcav":
        return fastcav(concept, random)
    raise NpnetError(f"unknown CAV method {method!r}; choose one of: {', '.join(CAV_METHODS)}")
