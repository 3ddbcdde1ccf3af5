"""Label audit by Confident Learning: which training labels are probably wrong.

Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JAIR 70 (2021). Inputs: given labels y (N,) in 0..K-1 and out-of-sample probabilities p (N, K)
(each image scored by a model that did not train on it, e.g. cross-validation).

    t[j]      = mean{ p[n, j] : y[n] = j }                    per-class threshold     (K,)
    C[i, j]   = #{ n : y[n] = i, believed[n] = j }            confident joint         (K, K)
                believed[n] = the class j with p[n, j] >= t[j] - 1e-6, the largest p[n, j] if several;
                images above no threshold are not counted
    Q         = C with rows scaled to the label counts, then rounded      (calibrated, sums to N)
    R[i, j]   = Q[i, j] (i != j), less a share if class i would keep < min_examples_per_class (1)
    issues    = for each given class i and each j != i: the R[i, j] images labelled i with the
                largest margin p[n, j] - p[n, i]; minus those whose argmax already is their label
    ranking   = ascending self-confidence p[n, y[n]]

This follows cleanlab 2.x (checked against 2.9.0): count.compute_confident_joint (calibrate=True),
count.calibrate_confident_joint and filter.find_label_issues(filter_by="prune_by_noise_rate",
return_indices_ranked_by="self_confidence") with its other defaults, step for step, so the same
inputs give the same indices in the same order. Where cleanlab's result depends on details, this
module copies them rather than choosing: ties are ordered by NumPy's default argsort (not stable)
on the same arrays cleanlab sorts; thresholds keep pred_probs' dtype (float32 stays float32) unless
a class has no labels; a class no image is labelled with gets threshold 2 (never reached); the
joint is laid out column-major, as cleanlab's is, so the calibration's float total rounds alike.
Choices of our own: inputs are checked more strictly (rows must sum to 1 within 1e-4), and
precision_recall defines the precision of an empty finding.
"""
import numpy as np

_EPS = 1e-6                 # cleanlab's FLOATING_POINT_COMPARISON
_THRESHOLD_FLOOR = 2e-6     # cleanlab's CONFIDENT_THRESHOLDS_LOWER_BOUND
_TINY = 1e-100              # cleanlab's TINY_VALUE: guards divisions by zero
_NO_LABELS_THRESHOLD = 2    # threshold of a class with no labelled images: no probability reaches it


def check_pred_probs(pred_probs):
    """pred_probs (N, K) float, checked; raises ValueError with a one-line message."""
    pred_probs = np.asarray(pred_probs)
    if pred_probs.ndim != 2 or pred_probs.shape[0] == 0 or pred_probs.shape[1] < 2:
        raise ValueError(f"pred_probs must have shape (N, K) with N >= 1 and K >= 2, got {pred_probs.shape}")
    if not np.issubdtype(pred_probs.dtype, np.floating):
        raise ValueError(f"pred_probs must be floating point, got {pred_probs.dtype}")
    if not np.isfinite(pred_probs).all():
        raise ValueError("pred_probs contains NaN or infinite values")
    if pred_probs.min() < 0 or np.abs(pred_probs.sum(axis=1) - 1).max() > 1e-4:
        raise ValueError("pred_probs rows must be non-negative and sum to 1 (within 1e-4)")
    return pred_probs


def check_inputs(labels, pred_probs):
    """(labels (N,) int64, pred_probs (N, K) float), checked; raises ValueError with a one-line message."""
    labels, pred_probs = np.asarray(labels), check_pred_probs(pred_probs)
    if labels.shape != (pred_probs.shape[0],):
        raise ValueError(f"labels must have shape ({pred_probs.shape[0]},) to match pred_probs, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    if labels.min() < 0 or labels.max() >= pred_probs.shape[1]:
        raise ValueError(f"labels must lie in 0..{pred_probs.shape[1] - 1}")
    return labels.astype(np.int64), pred_probs


def self_confidence(labels, pred_probs):
    """(N,) p[n, y[n]]: the probability of the given label; low means the label is doubtful."""
    labels, pred_probs = check_inputs(labels, pred_probs)
    return pred_probs[np.arange(len(labels)), labels]


def suggested_labels(pred_probs):
    """(N,) argmax_k p[n, k]: the label the out-of-sample models believe."""
    return check_pred_probs(pred_probs).argmax(axis=1)


def per_class_thresholds(labels, pred_probs):
    """(K,) t[j] = mean of p[:, j] over the images labelled j, floored at 2e-6; 2 for a class without labels."""
    labels, pred_probs = check_inputs(labels, pred_probs)
    means = [pred_probs[labels == j, j].mean() if np.any(labels == j) else _NO_LABELS_THRESHOLD
             for j in range(pred_probs.shape[1])]
    return np.clip(np.array(means), _THRESHOLD_FLOOR, None)  # dtype as cleanlab: see module docstring


def _round_preserving_sum(row):
    """(K,) floats -> (K,) ints with the same (rounded) total: round, then move the largest
    leftover fractions up (or the smallest down) one at a time. cleanlab's round_preserving_sum."""
    floats = np.asarray(row, dtype=float)
    ints = floats.round()
    target = floats.sum().round()
    while abs(ints.sum().round() - target) > _EPS:
        diff = np.round(target - ints.sum().round())
        step = -1 if diff < 0 else 1
        changes = min(int(abs(diff)), len(floats))
        ints[np.argsort(floats - ints)[::-step][:changes]] += step
    return ints.astype(int)


def calibrate_joint(joint, labels):
    """(K, K) int: scale row i of the confident joint to the count of label i, then the whole to N,
    rounding each row so its total is kept:  Q[i, j] = C[i, j] / sum_j C[i, j] * count[i]."""
    counts = np.bincount(labels, minlength=len(joint))
    # Written as cleanlab writes it (on the transpose), so float sums round the same way.
    scaled = (joint.T / np.clip(joint.sum(axis=1), _TINY, None) * counts).T
    scaled = scaled / np.clip(np.sum(scaled), _TINY, None) * counts.sum()
    return np.array([_round_preserving_sum(row) for row in scaled], dtype=int)


def confident_joint(labels, pred_probs, calibrate=True):
    """(K, K) int counts C[i, j]: images labelled i that the model confidently believes are j.

    An image is confident for class j if p[n, j] >= t[j] - 1e-6. With one such class that is the
    believed class; with several, the argmax of p[n] (first index on equal probabilities), even if
    the argmax is not one of them; with none the image is not counted. The diagonal is raised to
    at least 1. calibrate=True rescales it (calibrate_joint)."""
    labels, pred_probs = check_inputs(labels, pred_probs)
    num_classes = pred_probs.shape[1]
    confident = pred_probs >= per_class_thresholds(labels, pred_probs) - _EPS   # (N, K) bool
    num_confident = confident.sum(axis=1)
    believed = np.where(num_confident > 1, pred_probs.argmax(axis=1), confident.argmax(axis=1))
    counted = num_confident > 0
    # Column-major like cleanlab's joint (a transposed confusion matrix): calibrate_joint's float total
    # is summed in memory order, and only the same order gives the same last bit.
    joint = np.zeros((num_classes, num_classes), dtype=np.int64, order="F")
    np.add.at(joint, (labels[counted], believed[counted]), 1)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    return calibrate_joint(joint, labels) if calibrate else joint


def _num_to_remove(joint, min_examples_per_class=1):
    """(K, K) int R[i, j], i != j: how many images labelled i to flag as really j. If a class would keep
    fewer than min_examples_per_class (diagonal Q[i, i] too small), the shortfall is taken evenly from
    the row's other non-zero entries. Floats are truncated to int, as cleanlab's prune counts are."""
    diagonal = joint.diagonal()
    raised = np.maximum(diagonal, min_examples_per_class)
    nonzero_off_diagonal = np.maximum(np.count_nonzero(joint, axis=1) - 1.0, 1.0)
    remove = joint - ((raised - diagonal) / nonzero_off_diagonal)[:, None]
    remove[remove < 0] = 0
    np.fill_diagonal(remove, raised)
    return remove.astype(int)


def find_label_issues(labels, pred_probs, *, min_examples_per_class=1):
    """(M,) int indices of the images whose label is probably wrong, most doubtful first.

    For each given class i with more than min_examples_per_class images and each j != i, flag the
    R[i, j] images labelled i with the largest margin p[n, j] - p[n, i] (prune by noise rate).
    Unflag images whose argmax (with the given label favoured by 1e-6) is the given label.
    Order by self-confidence p[n, y[n]], ascending."""
    labels, pred_probs = check_inputs(labels, pred_probs)
    remove = _num_to_remove(confident_joint(labels, pred_probs), min_examples_per_class)
    is_issue = np.zeros(len(labels), dtype=bool)
    for i in range(pred_probs.shape[1]):
        members = np.flatnonzero(labels == i)
        if len(members) <= min_examples_per_class:
            continue  # too few images of this class to remove any
        for j in np.flatnonzero(remove[i]):
            if j != i:
                margin = pred_probs[members, j] - pred_probs[members, i]
                is_issue[members[np.argsort(-margin)[:remove[i, j]]]] = True

    favoured = pred_probs.copy()
    favoured[np.arange(len(labels)), labels] += _EPS
    is_issue[favoured.argmax(axis=1) == labels] = False

    found = np.flatnonzero(is_issue)
    return found[np.argsort(self_confidence(labels, pred_probs)[is_issue])]


def inject_label_noise(labels, fraction, seed, num_classes):
    """(noisy_labels (N,), flipped_mask (N,) bool): round(fraction * N) labels, chosen uniformly without
    replacement, each moved to one of the other num_classes - 1 classes uniformly. Reproducible by seed."""
    labels = np.asarray(labels)
    if not 0 <= fraction <= 1 or num_classes < 2:
        raise ValueError("fraction must lie in [0, 1] and num_classes be at least 2")
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, num_classes, size=len(flipped))) % num_classes
    flipped_mask = np.zeros(len(labels), dtype=bool)
    flipped_mask[flipped] = True
    return noisy, flipped_mask


def precision_recall(found_indices, flipped_mask):
    """(precision, recall) of found images against the truly flipped ones:
    precision = |found & flipped| / |found|,  recall = |found & flipped| / |flipped|.
    Empty cases: nothing found gives precision 0.0 if there are flips (1.0 if there are none);
    no flips gives recall 1.0 (there was nothing to find)."""
    flipped_mask = np.asarray(flipped_mask, dtype=bool)
    hits = int(flipped_mask[np.asarray(found_indices, dtype=np.int64)].sum())
    num_found, num_flipped = len(found_indices), int(flipped_mask.sum())
    precision = hits / num_found if num_found else (0.0 if num_flipped else 1.0)
    recall = hits / num_flipped if num_flipped else 1.0
    return precision, recall
