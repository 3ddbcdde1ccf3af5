"""The Kaggle mirror: Train.csv / Train/<id>/ and Test.csv / Test/, labels from ClassId."""

import pytest

from npnet.data import load_gtsrb
from npnet.data.kaggle import find_split
from npnet.data.tree import open_trees
from npnet.io.errors import DataError


def read(path, split):
    return find_split(open_trees(path), split).read(False)


def test_the_train_split_loads_labels_boxes_and_tracks(kaggle, fixtures):
    data, expected = read(kaggle, "Train"), fixtures.expected_training()
    assert data.labels.tolist() == expected.labels.tolist()
    assert data.tracks.tolist() == expected.tracks.tolist()
    assert (data.boxes == expected.boxes).all()
    assert (data.images == expected.colours[:, None, None, :]).all()


def test_labels_come_from_class_id_not_from_folder_order(kaggle):
    # the folders sort as text ("0", "10", "2"), so folder order would call class 10 "1" and class 2 "2"
    data = read(kaggle, "Train")
    assert sorted(set(data.labels.tolist())) == [0, 2, 10]
    assert data.labels[data.tracks == 10 * 100_000 + 5].tolist() == [10, 10]


def test_the_test_split_loads_with_unknown_tracks(kaggle, fixtures):
    data = read(kaggle, "Test")
    assert data.labels.tolist() == fixtures.expected_test().labels.tolist()
    assert (data.tracks == -1).all()


def test_a_file_name_without_the_class_track_frame_pattern_has_an_unknown_track(kaggle):
    (kaggle / "Train/2/00002_00003_00001.png").rename(kaggle / "Train/2/odd.png")
    csv = kaggle / "Train.csv"
    csv.write_text(csv.read_text().replace("00002_00003_00001.png", "odd.png"))
    assert read(kaggle, "Train").tracks.tolist().count(-1) == 1


def test_a_kaggle_folder_loads_with_train_valid_and_test(kaggle, fixtures, cache_dir):
    splits = load_gtsrb(kaggle, cache_dir=cache_dir, progress=False)
    assert sorted(splits) == ["test", "train", "valid"]
    assert len(splits["train"]) + len(splits["valid"]) == len(fixtures.TRAINING)


def test_a_csv_naming_a_missing_file_raises_naming_the_csv_and_the_file(kaggle):
    (kaggle / "Test/00002.png").unlink()
    with pytest.raises(DataError, match=r"Test\.csv: lists .*Test/00002\.png, which is missing"):
        read(kaggle, "Test")


def test_a_class_id_that_is_not_a_number_raises_naming_the_csv_and_line(kaggle):
    csv = kaggle / "Test.csv"
    lines = csv.read_text().splitlines()
    lines[2] = lines[2].replace(",0,Test", ",zero,Test")
    csv.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"Test\.csv: line 3: ClassId is 'zero', expected a whole number"):
        read(kaggle, "Test")
