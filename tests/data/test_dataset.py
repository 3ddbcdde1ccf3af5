"""Dataset: four aligned arrays, validated on construction."""

import numpy as np
import pytest

from npnet.data import Dataset
from npnet.io.errors import DataError


def make(n=5, **override):
    arrays = dict(
        images=np.zeros((n, 32, 32, 3), np.uint8),
        labels=np.arange(n, dtype=np.int64),
        boxes=np.zeros((n, 4), np.float32),
        tracks=np.full(n, -1, np.int64),
        source="somewhere/train.p",
    )
    arrays.update(override)
    return Dataset(**arrays)


def test_a_valid_dataset_has_one_row_per_image():
    assert len(make(n=5)) == 5


@pytest.mark.parametrize(
    "override, problem",
    [
        (dict(images=np.zeros((5, 32, 32, 3), np.float32)), "images has dtype float32"),
        (dict(images=np.zeros((5, 28, 28, 3), np.uint8)), "images has shape (5, 28, 28, 3)"),
        (dict(labels=np.arange(5, dtype=np.int32)), "labels has dtype int32"),
        (dict(labels=np.arange(4, dtype=np.int64)), "disagree in length"),
        (dict(labels=np.array([0, 1, 2, 3, 43])), "label 43 is outside 0..42"),
        (dict(labels=np.array([0, 1, -1, 3, 4])), "label -1 is outside 0..42"),
        (dict(boxes=np.zeros((5, 2), np.float32)), "boxes has shape (5, 2)"),
        (dict(tracks=[-1] * 5), "tracks is a list"),
        (dict(images=np.zeros((5, 32, 32, 6), np.uint8)[..., :3]), "not C-contiguous"),
    ],
)
def test_an_invalid_dataset_raises_one_line_naming_its_source_and_problem(override, problem):
    with pytest.raises(DataError) as error:
        make(**override)
    message = str(error.value)
    assert message.startswith("somewhere/train.p: ") and problem in message and "\n" not in message


def test_subset_picks_the_same_rows_from_every_array():
    data = make(n=5, tracks=np.arange(10, 15, dtype=np.int64))
    part = data.subset(np.array([4, 1]))
    assert part.labels.tolist() == [4, 1] and part.tracks.tolist() == [14, 11]
    assert part.source == data.source


def test_subset_accepts_a_boolean_mask_and_a_slice():
    data = make(n=5)
    assert data.subset(data.labels % 2 == 0).labels.tolist() == [0, 2, 4]
    assert data.subset(slice(None, None, 2)).images.flags.c_contiguous


def test_join_stacks_the_rows_of_every_part_in_order():
    from npnet.data.dataset import join
    first, second = make(5), make(3)
    second.images[:] = 7
    joined = join([first, second], "both")
    np.testing.assert_array_equal(joined.images, np.concatenate([first.images, second.images]))
    np.testing.assert_array_equal(joined.labels, np.concatenate([first.labels, second.labels]))
    np.testing.assert_array_equal(joined.boxes, np.concatenate([first.boxes, second.boxes]))
    assert joined.source == "both" and len(joined) == 8


def test_join_keeps_track_ids_unique_across_parts_and_unknown_ones_unknown():
    from npnet.data.dataset import join
    first = make(4, tracks=np.array([0, 0, 3, 3]))
    second = make(4, tracks=np.array([0, 1, -1, 1]))
    joined = join([first, second, make(2, tracks=np.array([2, 2]))], "all")
    np.testing.assert_array_equal(joined.tracks, [0, 0, 3, 3, 4, 5, -1, 5, 8, 8])
