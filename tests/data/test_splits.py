"""track_split: hold out whole tracks, stratified by class."""

import numpy as np
import pytest

from npnet.data import Dataset, track_split


def dataset(labels, tracks):
    n = len(labels)
    return Dataset(
        images=np.zeros((n, 32, 32, 3), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        boxes=np.arange(n, dtype=np.float32)[:, None].repeat(4, 1),  # carries the row number
        tracks=np.asarray(tracks, dtype=np.int64),
        source="made up",
    )


def row_numbers(data):
    return data.boxes[:, 0].astype(int)


def tracked(classes=5, tracks_per_class=10, frames=30):
    labels = np.repeat(np.arange(classes), tracks_per_class * frames)
    tracks = np.repeat(np.arange(classes * tracks_per_class), frames) + 1000
    return dataset(labels, tracks)


@pytest.mark.parametrize("seed", range(5))
def test_no_track_is_on_both_sides(seed):
    train, valid = track_split(tracked(), valid_fraction=0.2, seed=seed)
    assert not set(train.tracks.tolist()) & set(valid.tracks.tolist())


def test_every_image_lands_on_exactly_one_side():
    data = tracked()
    train, valid = track_split(data)
    assert len(train) + len(valid) == len(data)
    assert sorted(row_numbers(train).tolist() + row_numbers(valid).tolist()) == list(range(len(data)))


def test_both_sides_keep_the_original_order():
    train, valid = track_split(tracked())
    assert (np.diff(row_numbers(train)) > 0).all() and (np.diff(row_numbers(valid)) > 0).all()


def test_each_class_gives_about_the_valid_fraction():
    train, valid = track_split(tracked(classes=4, tracks_per_class=10), valid_fraction=0.2)
    assert np.bincount(valid.labels).tolist() == [60, 60, 60, 60]  # 2 of each class's 10 tracks


def test_a_class_with_a_single_track_stays_in_train():
    data = dataset([0] * 30 + [1] * 300, [7] * 30 + list(np.repeat(np.arange(10), 30)))
    train, valid = track_split(data, valid_fraction=0.5)
    assert 0 not in valid.labels and (train.labels == 0).sum() == 30


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    data = tracked()
    assert np.array_equal(track_split(data, seed=1)[1].tracks, track_split(data, seed=1)[1].tracks)
    assert not np.array_equal(track_split(data, seed=1)[1].tracks, track_split(data, seed=2)[1].tracks)


def test_unknown_tracks_fall_back_to_contiguous_blocks_of_30_within_a_class():
    labels = np.repeat([3, 5, 3], [300, 300, 30])  # a class's rows need not be adjacent
    train, valid = track_split(dataset(labels, [-1] * 630), valid_fraction=0.1)
    rows = row_numbers(valid)
    assert np.bincount(valid.labels, minlength=6)[[3, 5]].tolist() == [30, 30]
    for label in (3, 5):
        class_rows = np.flatnonzero(labels == label)
        position = np.flatnonzero(np.isin(class_rows, rows))  # places within the class
        assert position[0] % 30 == 0 and np.array_equal(position, np.arange(position[0], position[0] + 30))


def test_a_valid_fraction_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="valid_fraction"):
        track_split(tracked(), valid_fraction=1.0)
