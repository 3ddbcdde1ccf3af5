"""The official GTSRB release: training folders per class, the test folder and its GT csv, or their zips."""

import shutil

import numpy as np
import pytest

from npnet.data import load_gtsrb, load_split
from npnet.data.official import find_test, find_training
from npnet.data.tree import open_trees
from npnet.io.errors import DataError, ImageError


def read_training(path, progress=False):
    return find_training(open_trees(path)).read(progress)


def assert_matches(data, expected):
    assert data.labels.tolist() == expected.labels.tolist()
    assert data.tracks.tolist() == expected.tracks.tolist()
    np.testing.assert_allclose(data.boxes, expected.boxes, rtol=1e-6)
    assert (data.images == expected.colours[:, None, None, :]).all()


@pytest.mark.parametrize("training_folder", ["GTSRB/Final_Training/Images", "GTSRB/Training", "Training"])
def test_every_training_folder_variant_loads_labels_boxes_and_tracks(tmp_path, fixtures, training_folder):
    fixtures.build_official_training(tmp_path / training_folder)
    assert_matches(read_training(tmp_path), fixtures.expected_training())


def test_track_ids_are_unique_across_classes(official):
    tracks = read_training(official).tracks
    assert 0 in tracks // 100_000 and 10 * 100_000 + 5 in tracks  # class 10, track 5
    assert len(set(tracks.tolist())) == 6  # tracks 0 of classes 0, 2 and 10 stay apart


def test_the_test_split_is_labelled_from_gt_final_test_csv(official, fixtures):
    assert_matches(find_test(open_trees(official)).read(False), fixtures.expected_test())


def test_the_test_images_own_unlabelled_csv_is_not_taken_for_the_gt(tmp_path, fixtures):
    fixtures.build_official_test(tmp_path / "GTSRB/Final_Test/Images", tmp_path / "elsewhere.csv")
    with pytest.warns(UserWarning, match="no GT-final_test.csv"):
        assert find_test(open_trees(tmp_path)) is None


def test_the_zips_give_the_same_arrays_as_the_folders(official, official_zips, cache_dir):
    from_folders = load_gtsrb(official, cache_dir=cache_dir / "a", progress=False)
    from_zips = load_gtsrb(official_zips, cache_dir=cache_dir / "b", progress=False)
    for split in ("train", "valid", "test"):
        for array in ("images", "labels", "boxes", "tracks"):
            assert np.array_equal(getattr(from_folders[split], array), getattr(from_zips[split], array))
    assert str(official_zips / "GTSRB_Final_Training_Images.zip") in from_zips["train"].source


def test_a_single_training_zip_can_be_passed_as_the_path(official_zips, fixtures, cache_dir):
    splits = load_gtsrb(official_zips / "GTSRB_Final_Training_Images.zip", cache_dir=cache_dir, progress=False)
    assert len(splits["train"]) + len(splits["valid"]) == len(fixtures.TRAINING) and "test" not in splits


def test_load_split_of_an_official_folder_gives_its_test_split(official, fixtures, cache_dir):
    data = load_split(official, cache_dir=cache_dir, progress=False)
    assert data.labels.tolist() == fixtures.expected_test().labels.tolist()


def test_a_csv_naming_a_missing_file_raises_naming_the_csv_and_the_file(official):
    (official / "GTSRB/Final_Training/Images/00002/00003_00001.ppm").unlink()
    with pytest.raises(DataError, match=r"GT-00002\.csv: lists .*00002/00003_00001\.ppm, which is missing"):
        read_training(official)


def test_a_csv_with_a_missing_column_raises_naming_the_csv(official):
    csv = official / "GTSRB/Final_Training/Images/00010/GT-00010.csv"
    csv.write_text(csv.read_text().replace("ClassId", "Class"))
    with pytest.raises(DataError, match=r"GT-00010\.csv: missing column\(s\) ClassId"):
        read_training(official)


def test_an_undecodable_image_raises_naming_the_file(official):
    (official / "GTSRB/Final_Training/Images/00000/00001_00000.ppm").write_bytes(b"P6 garbage")
    with pytest.raises(ImageError, match=r"00000/00001_00000\.ppm: cannot read image"):
        read_training(official)


def test_an_undecodable_image_in_a_zip_raises_naming_the_zip_and_member(tmp_path, official, fixtures):
    (official / "GTSRB/Final_Training/Images/00000/00001_00000.ppm").write_bytes(b"")
    archive = fixtures.zip_tree(official, tmp_path / "train.zip", only="GTSRB/Final_Training")
    shutil.rmtree(official)
    with pytest.raises(ImageError, match=r"train\.zip:GTSRB/Final_Training/Images/00000/00001_00000\.ppm: cannot read"):
        read_training(archive)


def test_a_gt_csv_naming_a_missing_test_image_raises_naming_the_csv_and_the_file(official):
    (official / "GTSRB/Final_Test/Images/00003.ppm").unlink()
    with pytest.raises(DataError, match=r"GT-final_test\.csv: lists .*Final_Test/Images/00003\.ppm, which is missing"):
        find_test(open_trees(official))
