"""Influence of training images on a prediction: TracInCP (Pruthi et al. 2020, "Estimating Training
Data Influence by Tracing Gradient Descent").

Training moved the weights by eta_i * g along each checkpoint's gradient; to first order the loss of a
test example z' fell by eta_i <grad l(theta_i; z), grad l(theta_i; z')> for each training example z
in the step. Summed over the checkpoints kept during training:

    influence(z, z') = sum_i eta_i <grad_theta l(theta_i; z), grad_theta l(theta_i; z')>
    self_influence(z) = sum_i eta_i ||grad_theta l(theta_i; z)||^2

l is the plain softmax cross-entropy for the example's label (``per_example``); theta is every
weight of the layers asked for (default all); eta_i is the learning rate checkpoint i trained with.
With ``normalize`` each checkpoint's gradients are first made unit vectors, so the score is a sum of
cosines: plain TracIn ranks mislabelled images, whose gradients are huge, first for every query.

A positive score: the training image pushed the query's loss down (a proponent of its label);
negative: up (an opponent). For a mistake scored for its true label, the opponents are the images
that taught the wrong answer.

The work is streamed: per checkpoint, the queries' gradients once, then the training set in batches,
each batch's gradients dotted with the queries' as a matrix product and dropped
(``LayerGradients.dot``: the dense layers never form their gradients). Memory: the (N_train, Q)
scores in float64 and one batch.
"""
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ...data.preprocessing import preprocess
from .per_example import LayerGradients, layers_with_weights, per_example_gradients


@dataclass
class Checkpoint:
    """A model saved during training and the learning rate eta its epoch trained with."""
    model: object
    learning_rate: float
    name: str = ""


@dataclass
class Influence:
    """TracIn scores of every training image for every query, and the top k of each side.

    scores       (N_train, Q) float64   influence(train n, query q)
    proponents   (Q, k) int             the k highest scores' training indices, highest first
    opponents    (Q, k) int             the k lowest, lowest first
    """
    scores: np.ndarray
    proponents: np.ndarray
    opponents: np.ndarray

    def proponent_scores(self):
        return np.take_along_axis(self.scores.T, self.proponents, axis=1)

    def opponent_scores(self):
        return np.take_along_axis(self.scores.T, self.opponents, axis=1)


def top_and_bottom(scores, k):
    """(highest k, lowest k) row indices of every column of scores (N, Q) -> two (Q, k) arrays,
    ordered, ties to the lower index (a stable sort)."""
    k = min(k, len(scores))
    order = np.argsort(-scores.T, axis=1, kind="stable")
    highest = order[:, :k]
    lowest = np.argsort(scores.T, axis=1, kind="stable")[:, :k]
    return highest, lowest


def batches(n, batch_size):
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def model_input(images, preprocessing):
    """uint8 images through the checkpoint's preprocessing, or ``images`` as they are (spec None)."""
    return images if preprocessing is None else preprocess(images, preprocessing)


def gradients_of(checkpoint, images, labels, layers, preprocessing, batch_size):
    """Yield (rows, {layer: LayerGradients}) over ``images`` in batches."""
    for rows in batches(len(images), batch_size):
        x = model_input(images[rows], preprocessing).astype(checkpoint.model.layers[0].dtype, copy=False)
        yield rows, per_example_gradients(checkpoint.model, x, labels[rows], layers)


def gradient_norms(gradients, layers):
    """(N,) ||g_n|| over the layers (the square root of the summed squared norms)."""
    return np.sqrt(sum(gradients[name].squared_norms().astype(np.float64) for name in layers))


def influence(checkpoints, train_images, train_labels, query_images, query_labels, layers=None,
              normalize=False, top=8, preprocessing=None, batch_size=256, progress=False):
    """TracInCP of every training image for every query. Returns ``Influence``.

    checkpoints   : [Checkpoint], the models and learning rates to sum over
    train_images  : (N, 32, 32, 3), uint8 with ``preprocessing`` (a checkpoint's spec), else model input
    train_labels  : (N,) int
    query_images, query_labels : (Q, ...), (Q,) likewise; a query is scored for its label
    layers        : names of the Conv2D / Dense layers whose weights count (default all of them)
    normalize     : cosine scores, each checkpoint's gradients scaled to unit length (a zero
                    gradient scores 0)
    """
    names = layers_with_weights(checkpoints[0].model, layers)
    scores = np.zeros((len(train_images), len(query_images)), dtype=np.float64)
    steps = len(checkpoints) * len(batches(len(train_images), batch_size))
    with tqdm(total=steps, desc="influence", unit="batch", disable=not progress, leave=False) as bar:
        for checkpoint in checkpoints:
            queries = merge(list(gradients_of(checkpoint, query_images, query_labels, names, preprocessing,
                                              batch_size)))
            query_vectors = {name: None if g.positions == 1 else g.vectors() for name, g in queries.items()}
            query_norms = gradient_norms(queries, names) if normalize else None
            for rows, train in gradients_of(checkpoint, train_images, train_labels, names, preprocessing,
                                            batch_size):
                dots = sum(train[name].dot(queries[name], other_vectors=query_vectors[name]).astype(np.float64)
                           for name in names)
                if normalize:
                    dots = divide_or_zero(dots, np.outer(gradient_norms(train, names), query_norms))
                scores[rows] += checkpoint.learning_rate * dots
                bar.update(1)
    proponents, opponents = top_and_bottom(scores, top)
    return Influence(scores, proponents, opponents)


def self_influence(checkpoints, images, labels, layers=None, preprocessing=None, batch_size=256):
    """(N,) float64 sum_i eta_i ||grad l(theta_i; z_n)||^2: how much each image pulled on the
    weights; mislabelled and atypical images score highest (Pruthi et al., section 5)."""
    names = layers_with_weights(checkpoints[0].model, layers)
    total = np.zeros(len(images), dtype=np.float64)
    for checkpoint in checkpoints:
        for rows, gradients in gradients_of(checkpoint, images, labels, names, preprocessing, batch_size):
            total[rows] += checkpoint.learning_rate * gradient_norms(gradients, names) ** 2
    return total


def merge(parts):
    """One {layer: LayerGradients} from a list of (rows, {layer: LayerGradients}) batches."""
    names = parts[0][1].keys()
    return {name: LayerGradients(np.concatenate([p[1][name].x for p in parts]),
                                 np.concatenate([p[1][name].dz for p in parts])) for name in names}


def divide_or_zero(numerator, denominator):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)
