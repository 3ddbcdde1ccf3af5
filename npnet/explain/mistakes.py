"""How good is the model, and where is it wrong: accuracy, confusion matrix, ranked mistakes.

For N labelled images with true classes y (N,) and probabilities p (N, K):

    predicted        = argmax_k p[n, k]                                   (N,)
    accuracy         = mean(predicted == y)
    confusion[i, j]  = number of images of true class i predicted as j    (K, K); rows sum to class counts
    per-class acc.   = confusion[i, i] / sum_j confusion[i, j]            (recall of class i)
    confidence       = p[n, predicted[n]]: a mistake made with high confidence is the most telling
"""
from collections import namedtuple

import numpy as np

from .inputs import check_images, check_labels

Evaluation = namedtuple("Evaluation", "probs predicted labels confusion accuracy")


def confusion_matrix(labels, predicted, num_classes):
    """(K, K) int64 counts: row = true class, column = predicted class."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return confusion


def classify(model, images, labels):
    """Run the model over preprocessed ``images`` (N, 32, 32, 3) with true ``labels`` (N,).
    Returns Evaluation(probs (N, K), predicted (N,), labels (N,), confusion (K, K), accuracy)."""
    images = check_images(model, images)
    labels = check_labels(labels, len(images), model.output_shape[-1])
    return evaluation_of(model.predict_proba(images), labels)


def evaluation_of(probs, labels):
    """Evaluation(probs, predicted, labels, confusion, accuracy) of probabilities ``probs`` (N, K) already
    computed (e.g. averaged over test-time views, ``npnet.data.tta``) against checked ``labels`` (N,)."""
    predicted = probs.argmax(axis=1)
    confusion = confusion_matrix(labels, predicted, probs.shape[1])
    accuracy = float((predicted == labels).mean()) if len(labels) else float("nan")
    return Evaluation(probs, predicted, labels, confusion, accuracy)


def per_class(confusion, class_names):
    """[{class_id, name, n, accuracy}] for every class; accuracy is None for a class with no images."""
    rows = []
    for k, name in enumerate(class_names):
        n = int(confusion[k].sum())
        rows.append({"class_id": k, "name": name, "n": n,
                     "accuracy": float(confusion[k, k] / n) if n else None})
    return rows


def most_confused(confusion, top=10):
    """The ``top`` largest off-diagonal cells as (true, predicted, count), largest first."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:top]
    pairs = [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(flat, off.shape))]
    return [pair for pair in pairs if pair[2] > 0]


def ranked_mistakes(evaluation):
    """Indices of the misclassified images, most confident mistake (highest p[predicted]) first."""
    wrong = np.flatnonzero(evaluation.predicted != evaluation.labels)
    confidence = evaluation.probs[wrong, evaluation.predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]
