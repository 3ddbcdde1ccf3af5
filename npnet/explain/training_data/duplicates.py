"""Near-copies in feature space: copies labelled differently, and held-out images copied from training.

    pairs = cross_label_copies(F, labels)        F (N, D) training features -> [(i, j, cos), ...]
    q, t, cos = leaks(Fq, F)                     held-out images whose nearest training image is a near-copy

Two images are near-copies when the cosine of their features (``neighbours``; dense_3 by default) is at
least a threshold. The defaults were measured on GTSRB's train.p (34,799 images in 1,160 tracks, the
30-frame blocks of ``track_groups``: the pixel cosine of consecutive rows, mean-centred, has median
0.87 within a block and 0.15 across a block's end, so the blocks are the tracks) with the seed net
trained by ``train.py --data <gtsrb> --epochs 30`` (95.7% validation accuracy). For every image, the cosine to its nearest other frame of its own track ("same track") and to its
nearest image of any other track ("other track"), and ``cross_label_copies`` over all pairs.

    cosine of dense_3 features        p5      p10     p50     p90     >= 0.995   >= 0.999
    same track, nearest frame         0.9881  0.9915  0.9975  0.9993  76.6%      18.3%
    other track, nearest image        0.9774  0.9824  0.9934  0.9975  35.2%       0.65%
    different label, any pair         highest 0.9946 (168 pairs >= 0.99: 60 vs 80 and 100 vs 120 km/h)
    valid.p -> nearest train image    0.9756  0.9816  0.9926  0.9971  30.0%       0.98%

The net maps a class to one narrow cone of ReLU features, so dense_3 tells classes apart but hardly
tracks: other tracks of the class come nearly as close as a track's own frames. Hence two defaults:

- ``COPY_THRESHOLD = 0.995``: above the highest cosine of any two differently labelled images
  (0.9946), while 77% of frames have a track mate above it. A frame labelled with another class than
  its look-alikes shows up here; correct labels give no pair (0 on train.p).
- ``LEAK_THRESHOLD = 0.999``: same-class look-alikes from other tracks reach it for only 0.65% of
  images, a track's own frames for 18% of frames, so a leaked track of ~30 frames is all but surely
  caught. On valid.p it flags 43 of 4,410 (0.98%), near that base rate (at 0.995 it would flag 30%,
  every one of the same class: look-alikes, not leaks). Pixels agree that valid.p shares no track
  with train.p: the mean-centred pixel cosine to the nearest train image has median 0.785 and p99
  0.973, as for the nearest image of another track (0.807, 0.967), not of the same track (median 0.922).

Both assume a trained net. After 5 epochs (68% validation accuracy) the classes are not yet apart:
23% of images have a differently labelled neighbour at >= 0.995 (29,881 pairs), 0.09% at >= 0.999;
measure such a net first. Raw pixels are no substitute: there the nearest frame of the same track
has median cosine 0.9855 (p10 0.946) and the nearest image of another track 0.9623 (p99 0.9938;
>= 0.99: same track 36.0%, other tracks 3.3%), since pixel cosine mostly follows brightness.
"""
from __future__ import annotations

import numpy as np

from .neighbours import nearest, unit_rows

COPY_THRESHOLD = 0.995  # dense_3 cosine above any two differently labelled images (0.9946)
LEAK_THRESHOLD = 0.999  # dense_3 cosine reached by another track for only 0.65% of images


def cross_label_copies(features, labels, threshold=COPY_THRESHOLD, groups=None):
    """Pairs of near-copies that carry different labels, most similar first.

    features : (N, D) the training images' features; labels : (N,) their classes
    groups   : optional (N,) group ids (``npnet.data.splits.track_groups``); when given, only the most
               similar pair of each pair of groups is kept, so two tracks that copy each other are
               listed once, not once per pair of frames
    Returns [(i, j, cos), ...] with i < j, labels[i] != labels[j] and cos(F_i, F_j) >= threshold,
    sorted by cos descending, then i, then j.

    Each class's rows are compared (``nearest``) with the rows of the classes above it, so every pair of
    different labels is computed once and same-label near-copies (a track's frames) cost nothing.
    """
    features, labels = unit_rows(features), np.asarray(labels)
    firsts, seconds, sims = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for label in np.unique(labels):
        mine, theirs = np.flatnonzero(labels == label), np.flatnonzero(labels > label)
        q, r, s = _pairs_above(features[mine], features[theirs], threshold)
        firsts.append(np.minimum(mine[q], theirs[r]))
        seconds.append(np.maximum(mine[q], theirs[r]))
        sims.append(s)
    i, j, s = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(sims)
    order = np.lexsort((j, i, -s))
    i, j, s = i[order], j[order], s[order]
    if groups is not None:
        groups = np.asarray(groups)
        low, high = np.minimum(groups[i], groups[j]), np.maximum(groups[i], groups[j])
        _, first = np.unique(np.stack([low, high], axis=1), axis=0, return_index=True)  # the most similar
        keep = np.sort(first)
        i, j, s = i[keep], j[keep], s[keep]
    return [(int(a), int(b), float(c)) for a, b, c in zip(i, j, s)]


def leaks(query_features, train_features, threshold=LEAK_THRESHOLD):
    """The queries (validation or test images) whose nearest training image is a near-copy.

    query_features (Q, D), train_features (N, D)
    Returns (queries int64 (L,), their nearest training rows int64 (L,), cosines float32 (L,)) for
    the L queries whose nearest training neighbour has cos >= threshold, in increasing query index.
    """
    if not len(query_features):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    index, similarity = nearest(query_features, train_features, 1)
    queries = np.flatnonzero(similarity[:, 0] >= threshold)
    return queries, index[queries, 0], similarity[queries, 0]


def _pairs_above(query, reference, threshold, k=8):
    """Every (query row, reference row, cos) with cos >= threshold, as three arrays.

    ``nearest`` with k neighbours; the query rows whose k-th neighbour still reaches the threshold are
    asked again with 4k, until every row's list ends below it (or holds the whole reference).
    """
    rows = np.arange(len(query))
    parts = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))]
    while len(rows) and len(reference):
        k = min(k, len(reference))
        index, similarity = nearest(query[rows], reference, k)
        done = (similarity[:, -1] < threshold) | (k == len(reference))
        q, c = np.nonzero(done[:, None] & (similarity >= threshold))
        parts.append((rows[q], index[q, c], similarity[q, c]))
        rows, k = rows[~done], 4 * k
    return tuple(np.concatenate(part) for part in zip(*parts))
