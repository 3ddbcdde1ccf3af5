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
    a single track stays whole in train. Both halves keep the original order.

    Where a track is unknown (-1, e.g. the pickles), images are grouped instead into contiguous blocks of
    30 within each class, in dataset order: GTSRB's training images come ordered by track, so a block is
    (mostly) one track. That fallback is only as good as the ordering of the data.
    """
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
    return dataset.subset(~in_valid), dataset.subset(in_valid)


def _groups_by_class(dataset: Dataset) -> dict[int, list[np.ndarray]]:
    """Row indices grouped by track (or by 30-image block where unknown), listed under each group's class.

    A track is listed under the class of its first image, so a track is never divided.
    """
    groups: dict[int, list[np.ndarray]] = {}
    known_rows = np.flatnonzero(dataset.tracks >= 0)
    tracks = dataset.tracks[known_rows]
    order = np.argsort(tracks, kind="stable")  # stable: each track's rows stay in dataset order
    _, starts = np.unique(tracks[order], return_index=True)
    for rows in np.split(known_rows[order], starts[1:]) if len(order) else []:
        groups.setdefault(int(dataset.labels[rows[0]]), []).append(rows)
    known = dataset.tracks >= 0
    for label in np.unique(dataset.labels[~known]):
        rows = np.flatnonzero(~known & (dataset.labels == label))
        for start in range(0, len(rows), BLOCK):
            groups.setdefault(int(label), []).append(rows[start : start + BLOCK])
    return groups
