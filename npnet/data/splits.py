"""Hold out a validation split without leaking a physical sign into both sides.

GTSRB photographs each physical sign about 30 times as a car drives past (a *track*). Frames of one track
are near copies, so a random split of images would put near copies on both sides and make validation
accuracy look better than it is. ``track_split`` moves whole tracks instead.
"""

from __future__ import annotations

import numpy as np

from npnet.data.dataset import Dataset

BLOCK = 30  # images per track in GTSRB's training set


def track_split(dataset: Dataset, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split ``dataset`` into (train, valid), holding out whole tracks, stratified by class.

    Within each class, tracks are shuffled (``seed``) and moved to valid while that brings valid closer to
    ``valid_fraction`` of the class's images; a class keeps at least one track in train, so a class with
    a single track stays whole in train. Both halves keep the original order (``track_split_mask``
    marks the rows moved).

    Where a track is unknown (-1, e.g. the pickles), images are grouped instead into contiguous blocks of
    30 within each class, in dataset order: GTSRB's training images come ordered by track, so a block is
    (mostly) one track. That fallback is only as good as the ordering of the data.
    """
    in_valid = track_split_mask(dataset, valid_fraction, seed)
    return dataset.subset(~in_valid), dataset.subset(in_valid)


def track_split_mask(dataset: Dataset, valid_fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    """(N,) bool: the rows ``track_split`` moves to valid."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be between 0 and 1, got {valid_fraction}")
    rng = np.random.default_rng(seed)
    in_valid = np.zeros(len(dataset), dtype=bool)
    for class_groups in _groups_by_class(dataset).values():
        class_size = sum(len(rows) for rows in class_groups)
        target, held = valid_fraction * class_size, 0
        for g in rng.permutation(len(class_groups))[: len(class_groups) - 1]:
            if held + len(class_groups[g]) / 2 > target:  # taking it would overshoot more than stopping
                break
            in_valid[class_groups[g]] = True
            held += len(class_groups[g])
    return in_valid


def track_folds(dataset: Dataset, folds: int, seed: int = 0) -> np.ndarray:
    """Fold ids int64 (N,), 0 .. folds-1, for K-fold cross-validation by whole tracks, stratified by class.

    Within each class the groups (``track_groups``) are shuffled (``seed``) and dealt one at a time to
    the fold holding the fewest of the class's images so far (ties: the fold with the fewest images of
    all classes so far, then the lowest id). So each fold gets about 1/folds of every class, to within
    one group, and a track is never split across folds. A class with fewer than ``folds`` groups leaves
    some folds without it.
    """
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer of at least 2, got {folds!r}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(dataset), dtype=np.int64)
    fold_sizes = np.zeros(folds, dtype=np.int64)
    for class_groups in _groups_by_class(dataset).values():
        class_sizes = np.zeros(folds, dtype=np.int64)
        for g in rng.permutation(len(class_groups)):
            fold = np.lexsort((np.arange(folds), fold_sizes, class_sizes))[0]  # last key sorts first
            fold_of[class_groups[g]] = fold
            class_sizes[fold] += len(class_groups[g])
            fold_sizes[fold] += len(class_groups[g])
    return fold_of


def track_groups(dataset: Dataset) -> np.ndarray:
    """A group id for every row, int64 (N,): its track where known, otherwise its block of 30.

    Rows whose track is unknown (-1) are cut, within each class and in dataset order, into contiguous
    blocks of ``BLOCK`` = 30; block b (counting over the classes in increasing order) gets the id
    max(known tracks) + 1 + b, so no block shares an id with a track. Every grouping by track in npnet
    (``track_split``, ``track_folds``) starts from these ids.
    """
    groups = dataset.tracks.copy()
    unknown = groups < 0
    next_id = int(groups.max()) + 1 if (~unknown).any() else 0
    for label in np.unique(dataset.labels[unknown]):
        rows = np.flatnonzero(unknown & (dataset.labels == label))
        groups[rows] = next_id + np.arange(len(rows)) // BLOCK
        next_id += -(-len(rows) // BLOCK)
    return groups


def _groups_by_class(dataset: Dataset) -> dict[int, list[np.ndarray]]:
    """Row indices of each group (``track_groups``), in increasing group id, listed under the group's class.

    A group is listed under the class of its first image, so a track is never divided; each group's
    rows stay in dataset order.
    """
    ids = track_groups(dataset)
    order = np.argsort(ids, kind="stable")  # stable: each group's rows stay in dataset order
    _, starts = np.unique(ids[order], return_index=True)
    groups: dict[int, list[np.ndarray]] = {}
    for rows in np.split(order, starts[1:]) if len(order) else []:
        groups.setdefault(int(dataset.labels[rows[0]]), []).append(rows)
    return groups
