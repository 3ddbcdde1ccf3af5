"""Symlinks inside a data folder: one that leaves the folder is refused (read, or taken into the cache's
fingerprint), a dangling or looping one is ignored unless a CSV lists it (then it is named), and one
that stays inside the folder is followed."""
import os

import numpy as np
import pytest
from PIL import Image

from npnet.data import class_names, load_gtsrb
from npnet.io.errors import DataError

from .conftest import assert_one_line, pickle_dict, write_dataset, write_pickle
from .readers import finishes, image_path, kaggle_folder, list_in_csv

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


def load(tmp_path, data):
    return finishes(lambda: load_gtsrb(data, cache_dir=tmp_path / "cache", progress=False))


def refused(tmp_path, data):
    with pytest.raises(DataError) as error:
        load(tmp_path, data)
    return str(error.value)


def secret_image(tmp_path):
    """A valid PNG outside the data folder (that a symlink inside it could reach)."""
    path = tmp_path / "elsewhere" / "secret.png"
    path.parent.mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    return path


def test_a_listed_image_that_is_a_symlink_out_of_the_data_folder_is_refused(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    image_path(data).unlink()
    image_path(data).symlink_to(secret_image(tmp_path))
    message = refused(tmp_path, data)
    assert_one_line(message, "00000_00000_00000.png: is a symlink to", "secret.png, outside the data folder")


def test_an_unlisted_symlink_out_of_the_folder_beside_the_split_is_refused(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train/0/extra.png").symlink_to(secret_image(tmp_path))   # in the split's folder: fingerprinted
    assert_one_line(refused(tmp_path, data), "extra.png: is a symlink to", "outside the data folder")


def test_a_csv_that_is_a_symlink_to_dev_zero_is_refused_before_reading(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train.csv").unlink()
    (data / "Train.csv").symlink_to("/dev/zero")
    assert_one_line(refused(tmp_path, data), "Train.csv: is a symlink to /dev/zero, outside the data folder")


def test_a_symlink_that_stays_inside_the_folder_is_followed(tmp_path):
    data = kaggle_folder(tmp_path / "data", n=1)
    (data / "Train/0/00000_00001_00000.png").symlink_to("00000_00000_00000.png")
    list_in_csv(data, "Train/0/00000_00001_00000.png")
    splits = load(tmp_path, data)
    images = np.concatenate([splits["train"].images, splits["valid"].images])
    assert len(images) == 2 and (images == images[0]).all()


def test_an_unlisted_dangling_symlink_is_ignored(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train/0/gone.png").symlink_to(tmp_path / "nothing-here.png")
    assert sum(len(split) for split in load(tmp_path, data).values()) == 2


def test_an_unlisted_symlink_loop_is_ignored(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train/0/a.png").symlink_to("b.png")
    (data / "Train/0/b.png").symlink_to("a.png")
    assert sum(len(split) for split in load(tmp_path, data).values()) == 2


def test_a_listed_dangling_symlink_is_named(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train/0/00000_00009_00000.png").symlink_to(tmp_path / "nothing-here.png")
    list_in_csv(data, "Train/0/00000_00009_00000.png")
    assert_one_line(refused(tmp_path, data), "Train.csv: lists", "00000_00009_00000.png, which is a dangling symlink")


def test_a_listed_symlink_loop_is_named(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train/0/00000_00009_00000.png").symlink_to("00000_00009_00000.png")
    list_in_csv(data, "Train/0/00000_00009_00000.png")
    assert_one_line(refused(tmp_path, data), "00000_00009_00000.png, which is a symlink loop")


def test_a_pickle_that_is_a_symlink_out_of_the_data_folder_is_refused(tmp_path):
    data = write_dataset(tmp_path / "data")
    outside = write_pickle(tmp_path / "elsewhere" / "valid.p", pickle_dict(4))
    (data / "valid.p").unlink()
    (data / "valid.p").symlink_to(outside)
    assert_one_line(refused(tmp_path, data), "valid.p: is a symlink to", "outside the data folder")


def test_a_dangling_valid_p_is_named_not_skipped(tmp_path):
    data = write_dataset(tmp_path / "data")
    (data / "valid.p").unlink()
    (data / "valid.p").symlink_to(tmp_path / "nothing-here.p")
    assert_one_line(refused(tmp_path, data), "valid.p: cannot read (a dangling symlink)")


def test_a_signnames_csv_that_is_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "signnames.csv").symlink_to("/etc/passwd")
    with pytest.raises(DataError) as error:
        class_names(tmp_path / "data")
    assert_one_line(str(error.value), "signnames.csv: is a symlink to /etc/passwd, outside the data folder")


def test_a_zip_that_is_a_symlink_out_of_the_data_folder_is_refused(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (tmp_path / "elsewhere.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)   # an empty zip
    (data / "GTSRB_Final_Test_Images.zip").symlink_to(tmp_path / "elsewhere.zip")
    assert_one_line(refused(tmp_path, data), "GTSRB_Final_Test_Images.zip: is a symlink to", "outside the data folder")


def test_a_file_swapped_for_a_symlink_after_the_folder_was_listed_is_not_followed(tmp_path):
    from npnet.data.tree import FolderTree
    data = kaggle_folder(tmp_path / "data")
    tree = FolderTree(data)
    image_path(data).unlink()
    image_path(data).symlink_to(secret_image(tmp_path))
    with pytest.raises(DataError) as error:
        tree.read("Train/0/00000_00000_00000.png")
    assert_one_line(str(error.value), "00000_00000_00000.png: cannot read (a symlink; not followed here)")
