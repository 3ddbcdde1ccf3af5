"""track_groups and track_folds: K-fold cross-validation by whole tracks, stratified by class."""

import os

import numpy as np
import pytest

from npnet.data import Dataset, load_gtsrb
from npnet.data.splits import BLOCK, track_folds, track_groups


def dataset(labels, tracks):
    n = len(labels)
    return Dataset(
        images=np.zeros((n, 32, 32, 3), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        boxes=np.zeros((n, 4), np.float32),
        tracks=np.asarray(tracks, dtype=np.int64),
        source="made up",
    )


def mixed(rng, classes=6):
    """Classes of 3 to 12 tracks of 5 to 40 frames, shuffled, half of them with unknown tracks."""
    labels, tracks = [], []
    for label in range(classes):
        for _ in range(rng.integers(3, 13)):
            frames = int(rng.integers(5, 41))
            labels += [label] * frames
            tracks += [len(set(tracks)) if label % 2 else -1] * frames
    order = rng.permutation(len(labels))
    return dataset(np.array(labels)[order], np.array(tracks)[order])


def test_a_known_track_is_its_own_group():
    data = dataset([0, 0, 1, 1], [7, 3, 7, 9])
    assert track_groups(data).tolist() == [7, 3, 7, 9]


def test_unknown_tracks_are_grouped_in_blocks_of_30_within_each_class_in_dataset_order():
    labels = np.repeat([4, 2, 4], [40, 35, 25])  # class 4: 65 rows in two runs, class 2: 35 rows
    groups = track_groups(dataset(labels, [-1] * 100))
    for label in (2, 4):
        rows = np.flatnonzero(labels == label)
        blocks = np.arange(len(rows)) // BLOCK
        ids = groups[rows]
        assert all(len(np.unique(ids[blocks == b])) == 1 for b in np.unique(blocks))
        assert len(np.unique(ids)) == blocks.max() + 1
    assert not set(groups[labels == 2].tolist()) & set(groups[labels == 4].tolist())


def test_blocks_never_share_an_id_with_a_known_track():
    groups = track_groups(dataset([0] * 3 + [1] * 3, [5, 5, 5, -1, -1, -1]))
    assert groups[:3].tolist() == [5, 5, 5] and len(set(groups[3:].tolist())) == 1 and groups[3] != 5


@pytest.mark.parametrize("seed", range(4))
def test_no_group_is_ever_split_across_folds(rng, seed):
    data = mixed(rng)
    groups, folds = track_groups(data), track_folds(data, folds=4, seed=seed)
    assert all(len(np.unique(folds[groups == g])) == 1 for g in np.unique(groups))


def test_fold_ids_run_from_0_to_folds_minus_1(rng):
    folds = track_folds(mixed(rng), folds=3)
    assert folds.dtype == np.int64 and set(folds.tolist()) == {0, 1, 2}


def test_each_fold_holds_a_share_of_every_class_with_at_least_folds_groups(rng):
    data, k = mixed(rng, classes=8), 3
    groups, folds = track_groups(data), track_folds(data, folds=k)
    for label in np.unique(data.labels):
        in_class = data.labels == label
        if len(np.unique(groups[in_class])) < k:
            continue
        per_fold = np.bincount(folds[in_class], minlength=k)
        largest_group = np.bincount(groups[in_class]).max()
        assert (per_fold > 0).all()
        assert np.abs(per_fold - in_class.sum() / k).max() <= largest_group  # within one group of 1/k


def test_a_class_with_fewer_groups_than_folds_still_gets_a_fold_per_group():
    data = dataset([0] * 60 + [1] * 300, [1] * 30 + [2] * 30 + list(np.repeat(np.arange(10, 20), 30)))
    folds = track_folds(data, folds=5)
    assert len(np.unique(folds[:60])) == 2  # its two tracks in two different folds


def test_the_same_seed_gives_the_same_folds_and_another_seed_others(rng):
    data = mixed(rng)
    assert np.array_equal(track_folds(data, 4, seed=1), track_folds(data, 4, seed=1))
    assert not np.array_equal(track_folds(data, 4, seed=1), track_folds(data, 4, seed=2))


@pytest.mark.parametrize("folds", [1, 0, 2.5])
def test_fewer_than_two_folds_or_a_fraction_are_refused(rng, folds):
    with pytest.raises(ValueError, match="folds"):
        track_folds(mixed(rng), folds)


@pytest.fixture(scope="module")
def real_train():
    folder = os.environ.get("NPNET_DATA")
    if not folder:
        pytest.skip("NPNET_DATA does not point at the real GTSRB data")
    return load_gtsrb(folder, progress=False)["train"]


@pytest.mark.realdata
@pytest.mark.parametrize("folds", [3, 5, 10])
def test_real_folds_each_hold_within_10_percent_of_n_over_folds(real_train, folds):
    sizes = np.bincount(track_folds(real_train, folds), minlength=folds)
    expected = len(real_train) / folds
    assert np.abs(sizes - expected).max() <= 0.1 * expected
