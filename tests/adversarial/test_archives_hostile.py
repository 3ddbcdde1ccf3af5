"""Hostile zips (the official release and the Kaggle mirror are read straight from their zips):
a corrupt, encrypted or oversized member is one DataError naming it."""
import struct
import zipfile

import pytest

from npnet.data.tree import MAX_MEMBER_BYTES, ZipTree
from npnet.io.errors import DataError

from .conftest import assert_one_line


def zip_with(tmp_path, text=b"Filename;ClassId\n" * 50):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Train.csv", text)
    return path, bytearray(path.read_bytes())


def refused(path, name="Train.csv"):
    with pytest.raises(DataError) as error:
        ZipTree(path).read(name)
    return str(error.value)


def test_a_corrupt_deflate_stream_is_one_line(tmp_path):
    path, raw = zip_with(tmp_path)
    start = raw.index(b"Train.csv") + len("Train.csv")  # the compressed data follows the local header's name
    raw[start:start + 8] = b"\xff" * 8
    path.write_bytes(raw)
    assert_one_line(refused(path), "data.zip:Train.csv: cannot read from zip")


def test_an_encrypted_member_is_one_line(tmp_path):
    path, raw = zip_with(tmp_path)
    raw[6] |= 1                                           # local header: general-purpose flag bit 0
    raw[raw.rindex(b"PK\x01\x02") + 8] |= 1               # central directory: the same flag
    path.write_bytes(raw)
    assert_one_line(refused(path), "data.zip:Train.csv: cannot read from zip", "encrypted")


def test_a_member_declaring_more_than_the_limit_is_refused_before_decompressing(tmp_path):
    path, raw = zip_with(tmp_path)
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24:central + 28] = struct.pack("<I", MAX_MEMBER_BYTES + 1)  # uncompressed size
    path.write_bytes(raw)
    assert_one_line(refused(path), "data.zip:Train.csv", f"more than {MAX_MEMBER_BYTES:,}")
