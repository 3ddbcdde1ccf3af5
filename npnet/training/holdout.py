"""Held-out tracks: a second validation set cut from the training split itself.

valid.p holds 147 tracks (physical signs); the official test set's errors fall on signs valid.p does not
have (docs/experiments.md). Holding whole tracks of the training split out of training gives another few hundred
unseen signs to measure on, at the price of training on fewer:

    train, held_out = split_holdout(train, 0.2)            # 80% of each class's tracks to train on, 20% held out
    train, held_out = split_holdout(train, 0.2, fold=3)    # the 4th of 5 disjoint folds held out instead

Without a fold, the held-out tracks are ``splits.track_split`` with a fixed seed (``FOLD_SEED``), whatever
the run's own seed, so that every run holding out the same fraction is measured on the same tracks and
runs can be compared. With ``fold`` = k, they are fold k of ``round(1 / fraction)`` disjoint folds
(``splits.track_folds``, the same seed): runs on different folds are measured on different signs, and
together the folds cover every track of the split once. best.h5 is still chosen on the validation split;
the held-out tracks are only measured.
"""
import numpy as np

from ..data.splits import track_folds, track_split_mask

#: the seed of the fold: fixed, so that runs with different --seed hold out the same tracks
FOLD_SEED = 0
#: the recipe's ``holdout_fold`` when no fold is chosen: the one ``track_split`` gives
NO_FOLD = -1


def fold_count(fraction):
    """How many disjoint folds a held-out ``fraction`` cuts the tracks into: round(1 / fraction)."""
    return max(2, round(1 / fraction))


def split_holdout(train, fraction, fold=NO_FOLD):
    """(the images to train on, the held-out tracks, or None when ``fraction`` is 0)."""
    if fraction == 0:
        return train, None
    held = held_out_mask(train, fraction, fold)
    return train.subset(~held), train.subset(held)


def held_out_mask(train, fraction, fold=NO_FOLD):
    """(N,) bool: the rows of ``train`` that ``split_holdout(train, fraction, fold)`` holds out (none at 0)."""
    if fraction == 0:
        return np.zeros(len(train), dtype=bool)
    if fold == NO_FOLD:
        return track_split_mask(train, fraction, seed=FOLD_SEED)
    return track_folds(train, fold_count(fraction), seed=FOLD_SEED) == fold
