"""load_gtsrb, load_split and class_names: the public API, whichever layout the data comes in."""

import os
from pathlib import Path

import numpy as np
import pytest

from npnet.data import class_names, load_gtsrb, load_split
from npnet.io.errors import DataError


def test_a_pickle_folder_gives_train_valid_and_test(tmp_path, fixtures):
    for split, n in (("train", 6), ("valid", 3), ("test", 4)):
        fixtures.write_pickle(tmp_path / f"{split}.p", fixtures.pickle_dict(n=n))
    splits = load_gtsrb(tmp_path, progress=False)
    assert {split: len(data) for split, data in splits.items()} == {"train": 6, "valid": 3, "test": 4}


def test_a_pickle_folder_without_valid_p_gets_a_held_out_split(tmp_path, fixtures):
    content = fixtures.pickle_dict(n=300)
    content["labels"][:] = 7
    fixtures.write_pickle(tmp_path / "train.p", content)
    splits = load_gtsrb(tmp_path, progress=False)
    assert (len(splits["train"]), len(splits["valid"])) == (270, 30)  # one block of 30: 10%


def test_an_official_folder_gets_a_track_split_and_its_test(official, fixtures, cache_dir):
    splits = load_gtsrb(official, cache_dir=cache_dir, progress=False)
    assert sorted(splits) == ["test", "train", "valid"]
    assert not set(splits["train"].tracks.tolist()) & set(splits["valid"].tracks.tolist())
    assert len(splits["train"]) + len(splits["valid"]) == len(fixtures.TRAINING)
    assert len(splits["test"]) == len(fixtures.TEST)


def test_pickles_win_over_other_layouts_in_the_same_folder(kaggle, fixtures, cache_dir):
    fixtures.write_pickle(kaggle / "train.p", fixtures.pickle_dict(n=5))
    assert load_gtsrb(kaggle, cache_dir=cache_dir, progress=False)["train"].source.endswith("train.p")


def test_an_empty_folder_raises_listing_the_accepted_layouts(tmp_path):
    with pytest.raises(DataError) as error:
        load_gtsrb(tmp_path, progress=False)
    message = str(error.value)
    assert message.startswith(f"{tmp_path}: holds no GTSRB data I can read. Accepted layouts: ")
    assert "train.p" in message and "GTSRB-Training_fixed.zip" in message and "Train.csv" in message


def test_an_unknown_layout_raises_listing_the_accepted_layouts(tmp_path, fixtures):
    fixtures.write_image(tmp_path / "photos/cat.png", (10, 10), (0, 0, 0))
    with pytest.raises(DataError, match="holds no GTSRB data I can read. Accepted layouts: pickles"):
        load_gtsrb(tmp_path, progress=False)


def test_a_missing_path_raises_saying_so(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: no such file or folder\. Accepted layouts"):
        load_gtsrb(tmp_path / "nowhere", progress=False)


def test_a_zip_that_is_not_a_zip_is_not_taken_for_data(tmp_path):
    (tmp_path / "GTSRB-Training_fixed.zip").write_bytes(b"half a download")
    with pytest.raises(DataError, match="holds no GTSRB data"):
        load_gtsrb(tmp_path, progress=False)


def test_load_split_reads_a_single_pickle_file(tmp_path, fixtures):
    path = fixtures.write_pickle(tmp_path / "test.p", fixtures.pickle_dict(n=4))
    assert len(load_split(path)) == 4


def test_load_split_of_a_folder_gives_its_test_split(kaggle, fixtures, cache_dir):
    data = load_split(kaggle, cache_dir=cache_dir, progress=False)
    assert data.labels.tolist() == fixtures.expected_test().labels.tolist()


def test_load_split_of_a_folder_without_a_test_split_raises(tmp_path, fixtures):
    fixtures.write_pickle(tmp_path / "train.p", fixtures.pickle_dict(n=4))
    with pytest.raises(DataError, match="holds no test split"):
        load_split(tmp_path)


def test_class_names_are_the_43_official_names_by_default():
    names = class_names()
    assert len(names) == 43 and names[0] == "Speed limit (20km/h)" and names[42].startswith("End of no passing by")


def test_class_names_come_from_signnames_csv_in_the_data_folder(tmp_path):
    rows = [f"{i},Sign number {i}" for i in range(43)]
    (tmp_path / "signnames.csv").write_text("ClassId,SignName\n" + "\n".join(rows) + "\n")
    assert class_names(tmp_path)[5] == "Sign number 5"


def test_a_signnames_csv_missing_classes_raises_naming_it(tmp_path):
    (tmp_path / "signnames.csv").write_text("ClassId,SignName\n0,Only one\n")
    with pytest.raises(DataError, match=r"signnames\.csv: names 1 classes, expected ClassIds 0\.\.42"):
        class_names(tmp_path)


@pytest.mark.realdata
@pytest.mark.skipif(not os.environ.get("NPNET_DATA"), reason="NPNET_DATA does not point at the real GTSRB data")
def test_the_real_data_loads_as_43_classes_of_32x32_images():
    path = Path(os.environ["NPNET_DATA"])
    splits = load_gtsrb(path, progress=False)
    for data in splits.values():
        assert data.images.shape[1:] == (32, 32, 3) and len(np.unique(data.labels)) == 43
        assert (data.boxes[:, :2] >= 0).all() and (data.boxes[:, 2:] <= 32.5).all()
    assert class_names(path) == class_names()
