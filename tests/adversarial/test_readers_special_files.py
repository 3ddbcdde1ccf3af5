"""Readers open only regular files, never wait on a FIFO, and refuse a file over its size cap before
reading it, each file and every file of a folder or zip in total (npnet/io/reading.py). Each call that
could hang runs through ``finishes``, which fails the test after a time limit instead of hanging."""
import os
import pickle
import zipfile

import pytest

import npnet.data.pickles
import npnet.data.tree
import npnet.data.images
import npnet.io.reading
from npnet.io import checkpoint
from npnet.data import class_names, load_gtsrb, read_pickle
from npnet.data.tree import FolderTree, ZipTree
from npnet.io.errors import CheckpointError, DataError, ImageError
from npnet.data.images import load_image

from .conftest import assert_one_line, pickle_dict, write_pickle
from .readers import finishes, image_path, kaggle_folder

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


def refused(error_type, call, *fifos):
    with pytest.raises(error_type) as error:
        finishes(call, *fifos)
    return str(error.value)


# -- FIFOs and devices ------------------------------------------------------------------------------
def test_a_csv_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    (data / "Train.csv").unlink()
    os.mkfifo(data / "Train.csv")
    message = refused(DataError, lambda: load_gtsrb(data, cache_dir=tmp_path / "cache", progress=False),
                      data / "Train.csv")
    assert_one_line(message, "Train.csv: cannot read (a FIFO, not a regular file)")


def test_an_image_listed_in_a_csv_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    data = kaggle_folder(tmp_path / "data")
    image_path(data).unlink()
    os.mkfifo(image_path(data))
    message = refused(DataError, lambda: load_gtsrb(data, cache_dir=tmp_path / "cache", progress=False),
                      image_path(data))
    assert_one_line(message, "00000_00000_00000.png: cannot read (a FIFO, not a regular file)")


def test_a_pickle_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "train.p")
    message = refused(DataError, lambda: read_pickle(tmp_path / "train.p"), tmp_path / "train.p")
    assert_one_line(message, "train.p: cannot read (a FIFO, not a regular file)")


def test_a_train_p_fifo_in_a_data_folder_is_named_not_skipped(tmp_path):
    os.mkfifo(tmp_path / "train.p")
    message = refused(DataError, lambda: load_gtsrb(tmp_path, progress=False), tmp_path / "train.p")
    assert_one_line(message, "train.p: cannot read (a FIFO")


def test_a_signnames_csv_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "signnames.csv")
    message = refused(DataError, lambda: class_names(tmp_path), tmp_path / "signnames.csv")
    assert_one_line(message, "signnames.csv: cannot read the sign names (a FIFO, not a regular file)")


def test_an_image_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "photo.png")
    message = refused(ImageError, lambda: load_image(tmp_path / "photo.png"), tmp_path / "photo.png")
    assert_one_line(message, "photo.png: cannot read image (a FIFO, not a regular file)")


def test_a_checkpoint_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "model.h5")
    message = refused(CheckpointError, lambda: checkpoint.load(tmp_path / "model.h5"), tmp_path / "model.h5")
    assert_one_line(message, "model.h5: cannot read the checkpoint (a FIFO, not a regular file)")


def test_a_zip_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "GTSRB.zip")
    message = refused(DataError, lambda: load_gtsrb(tmp_path / "GTSRB.zip", progress=False), tmp_path / "GTSRB.zip")
    assert_one_line(message, "GTSRB.zip: cannot read (a FIFO, not a regular file)")


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_by_fstat_without_waiting(tmp_path, monkeypatch):
    regular, fifo = tmp_path / "regular.p", tmp_path / "swapped.p"
    write_pickle(regular, pickle_dict(2))
    os.mkfifo(fifo)
    real_stat = os.stat
    # the race: os.stat still sees the regular file that the name held a moment before
    monkeypatch.setattr(npnet.io.reading.os, "stat",
                        lambda path, *a, **k: real_stat(regular if os.fspath(path) == str(fifo) else path, *a, **k))
    message = refused(DataError, lambda: read_pickle(fifo), fifo)
    assert_one_line(message, "swapped.p: cannot read (a FIFO, not a regular file)")


def test_a_device_is_refused_before_reading(tmp_path):
    message = refused(DataError, lambda: read_pickle("/dev/zero"))
    assert_one_line(message, "/dev/zero: cannot read (a character device, not a regular file)")


def test_a_folder_named_like_an_image_is_refused(tmp_path):
    (tmp_path / "photo.png").mkdir()
    message = refused(ImageError, lambda: load_image(tmp_path / "photo.png"))
    assert_one_line(message, "photo.png: cannot read image (a folder")


# -- size caps, each file -------------------------------------------------------------------------
def test_a_csv_over_its_cap_is_refused_before_reading(tmp_path, monkeypatch):
    data = kaggle_folder(tmp_path / "data")
    monkeypatch.setattr(npnet.data.tree, "MAX_CSV_BYTES", 100)
    message = refused(DataError, lambda: load_gtsrb(data, cache_dir=tmp_path / "cache", progress=False))
    assert_one_line(message, "Train.csv: cannot read (", "bytes, more than the 100 allowed; refused before reading")


def test_a_pickle_over_its_cap_is_refused_before_unpickling(tmp_path, monkeypatch):
    path = write_pickle(tmp_path / "train.p", pickle_dict(4))
    monkeypatch.setattr(npnet.data.pickles, "MAX_PICKLE_BYTES", 1000)
    monkeypatch.setattr(npnet.data.pickles.SafeUnpickler, "load", lambda self: pytest.fail("unpickled"))
    message = refused(DataError, lambda: read_pickle(path))
    assert_one_line(message, "train.p: cannot read (", "more than the 1,000 allowed")


def test_an_image_file_over_its_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    data = kaggle_folder(tmp_path / "data", n=1)
    monkeypatch.setattr(npnet.data.images, "MAX_FILE_BYTES", 10)
    message = refused(ImageError, lambda: load_image(image_path(data)))
    assert_one_line(message, "00000_00000_00000.png: cannot read image (", "more than the 10 allowed")


def test_a_file_that_grows_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * 10)
    real_open = npnet.io.reading.open_regular

    def grown(*args, **kwargs):  # the size fstat saw was small; the file is bigger by the time it is read
        file = real_open(*args, **kwargs)
        path.write_bytes(b"x" * 1000)
        return file
    monkeypatch.setattr(npnet.io.reading, "open_regular", grown)
    message = refused(DataError, lambda: npnet.io.reading.read_regular(path, 100))
    assert_one_line(message, "growing.csv: cannot read (it grew past the 100 bytes allowed while read)")


# -- size caps, in total --------------------------------------------------------------------------
def test_zip_members_are_capped_in_total_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("a.png", "b.png", "c.png"):
            archive.writestr(name, b"\0" * 600)   # each under the per-member cap, 1,800 bytes together
    monkeypatch.setattr(npnet.data.tree, "MAX_TREE_BYTES", 1000)
    tree = ZipTree(path)
    tree.read("a.png")
    monkeypatch.setattr(tree.zip, "read", lambda name: pytest.fail("decompressed"))
    assert_one_line(refused(DataError, lambda: tree.read("b.png")), "data.zip:b.png: cannot read from zip",
                    "more than 1,000 bytes in all")


def test_the_files_of_a_folder_are_capped_in_total(tmp_path, monkeypatch):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"\0" * 600)
    monkeypatch.setattr(npnet.data.tree, "MAX_TREE_BYTES", 1000)
    tree = FolderTree(tmp_path)
    tree.read("a.png")
    message = refused(DataError, lambda: tree.read("b.png"))
    assert_one_line(message, "more than 1,000 bytes read from this folder in all")


def test_a_split_of_more_images_than_the_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    data = kaggle_folder(tmp_path / "data", n=3)
    monkeypatch.setattr(npnet.data.tree, "MAX_SPLIT_IMAGES", 2)
    monkeypatch.setattr(npnet.data.images, "load_image", lambda *a, **k: pytest.fail("decoded"))
    message = refused(DataError, lambda: load_gtsrb(data, cache_dir=tmp_path / "cache", progress=False))
    assert_one_line(message, "lists 3 images for one split, more than 2; refused")


def test_a_valid_pickle_still_loads(tmp_path):
    path = write_pickle(tmp_path / "train.p", pickle_dict(3), protocol=pickle.HIGHEST_PROTOCOL)
    assert len(finishes(lambda: read_pickle(path))) == 3
