"""Held-out tracks: a second validation set cut from the training split itself.

valid.p holds 147 tracks (physical signs); the official test set's errors fall on signs valid.p does not
have (docs/experiments.md). Holding whole tracks of the training split out of training gives another few hundred
unseen signs to measure on, at the price of training on fewer:

    train, held_out = split_holdout(train, 0.2)    # 80% of each class's tracks to train on, 20% held out

The fold is ``splits.track_split`` with a fixed seed (``FOLD_SEED``), whatever the run's own seed, so
that every run holding out the same fraction is measured on the same tracks and runs can be compared.
best.h5 is still chosen on the validation split; the held-out tracks are only measured.
"""
import numpy as np

from ..data.splits import track_split, track_split_mask

#: the seed of the fold: fixed, so that runs with different --seed hold out the same tracks
FOLD_SEED = 0


def split_holdout(train, fraction):
    """(the images to train on, the held-out tracks, or None when ``fraction`` is 0)."""
    if fraction == 0:
        return train, None
    return track_split(train, fraction, seed=FOLD_SEED)


def held_out_mask(train, fraction):
    """(N,) bool: the rows of ``train`` that ``split_holdout(train, fraction)`` holds out (none at 0)."""
    if fraction == 0:
        return np.zeros(len(train), dtype=bool)
    return track_split_mask(train, fraction, seed=FOLD_SEED)
