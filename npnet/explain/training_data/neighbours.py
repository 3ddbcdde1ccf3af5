"""Nearest training images by cosine similarity of a layer's features.

    F = layer_features(model, x)                 x (N, 32, 32, 3) float32 -> F (N, D) float32
    F = image_features(model, images, spec)      the same from uint8 images and a preprocessing spec
    idx, sim = nearest(Fq, Fr, k)                Fq (Q, D), Fr (N, D) -> (Q, k) int64, (Q, k) float32

The cosine of rows q and r is  cos(q, r) = q . r / (|q| |r|),  in [-1, 1]: 1 for vectors pointing the
same way whatever their lengths. For all pairs it is one matrix product of the row-normalized features,
S = Q^ R^T with Q^ = Q / |Q| row by row, computed a chunk of query rows at a time so that memory is
(chunk, N), never (Q, N).
"""
from __future__ import annotations

import numpy as np

from ...data.preprocessing import preprocess
from ...engine import inference

QUERY_CHUNK = 256  # query rows per product: a (256, N) float32 block of similarities at a time


def layer_features(model, x, layer="dense_3", batch_size=1024):
    """The output of ``layer`` for every image, flattened: float32 (N, D).

    model : a ``Sequential``; x : its input (N, 32, 32, 3), already preprocessed
    D     : the size of the layer's output per image (64 for the seed net's dense_3, after its ReLU)

    The same numbers as ``model.forward(x, training=False)`` followed by ``model.layer(layer).output``
    (dropout off), to float32 rounding: only the layers up to ``layer`` run, through the cache-free
    inference path (``npnet.engine.inference``), ``batch_size`` images at a time.
    """
    names = [each.name for each in model.layers]
    position = names.index(model.layer(layer).name)  # KeyError names the unknown layer
    following = names[position + 1] if position + 1 < len(names) else None  # None: all layers run
    features = np.empty((len(x), int(np.prod(model.layer(layer).output_shape[1:]))), dtype=np.float32)
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        out = inference.predict_logits(model, batch, before=following)  # the input of the next layer
        features[start:start + len(batch)] = out.reshape(len(batch), -1)
    return features


def image_features(model, images, preprocessing, layer="dense_3", batch_size=1024):
    """``layer_features`` of uint8 images (N, 32, 32, 3) through the checkpoint's ``preprocessing``
    spec, ``batch_size`` images at a time: the whole set is never held as float32 images."""
    return np.concatenate([layer_features(model, preprocess(images[start:start + batch_size], preprocessing),
                                          layer, batch_size)
                           for start in range(0, max(len(images), 1), batch_size)])  # no image: one empty batch


def unit_rows(features):
    """The rows of ``features`` (N, D) scaled to length 1, float32; an all-zero row stays zero."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)


def nearest(query, reference, k, exclude_self=False, batch_size=QUERY_CHUNK):
    """The ``k`` rows of ``reference`` most cosine-similar to each row of ``query``.

    query (Q, D), reference (N, D) : features (``layer_features``), any float dtype
    Returns (indices int64 (Q, k), similarities float32 (Q, k)): row q lists reference rows by
    decreasing cos(query[q], reference[i]); equal similarities in increasing index i.

    A zero feature vector (a layer whose ReLUs are all off for an image) has no direction: its cosine
    is taken as 0 with every row, itself included.
    exclude_self: ``query`` is ``reference`` (Q == N) and row q never lists itself (needs k <= N - 1).

    Per chunk of ``batch_size`` query rows: S = Q^ R^T (chunk, N); ``np.argpartition`` picks the k
    largest of each row in O(N), and only those k are sorted. Where the k-th largest value is tied
    with values outside the k picked, the row is redone exactly: all values above it, then the tied
    ones of lowest index.
    """
    query, reference = unit_rows(query), unit_rows(reference)
    n = len(reference)
    if exclude_self and len(query) != n:
        raise ValueError(f"exclude_self needs the query to be the reference, got {len(query)} and {n} rows")
    available = n - 1 if exclude_self else n
    if not 1 <= k <= available:
        raise ValueError(f"k must be between 1 and {available} (the reference rows to choose from), got {k}")
    indices = np.empty((len(query), k), dtype=np.int64)
    similarities = np.empty((len(query), k), dtype=np.float32)
    for start in range(0, len(query), batch_size):
        sims = query[start:start + batch_size] @ reference.T  # (chunk, N)
        rows = np.arange(len(sims))
        if exclude_self:
            sims[rows, start + rows] = -np.inf
        top = _top_k(sims, k)
        values = sims[rows[:, None], top]
        order = np.lexsort((top, -values), axis=-1)  # by value, descending, then index
        indices[start:start + len(sims)] = np.take_along_axis(top, order, axis=1)
        similarities[start:start + len(sims)] = np.take_along_axis(values, order, axis=1)
    return indices, similarities


def _top_k(sims, k):
    """Column indices (rows, k) of the k largest values of each row of ``sims``, ties at the k-th
    value resolved to the lowest indices; unordered."""
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    kth = sims[np.arange(len(sims)), top[:, k - 1]]  # argpartition puts the k-th largest at k - 1
    tied_total = (sims == kth[:, None]).sum(axis=1)
    tied_picked = (np.take_along_axis(sims, top, axis=1) == kth[:, None]).sum(axis=1)
    for row in np.flatnonzero(tied_total > tied_picked):  # a tie across the cut: pick the lowest indices
        above = np.flatnonzero(sims[row] > kth[row])
        tied = np.flatnonzero(sims[row] == kth[row])[: k - len(above)]
        top[row] = np.concatenate([above, tied])
    return top
