"""A zip whose compressed member is damaged is refused in one line, whatever its compression method.

Every archive reader (a GTSRB zip, a Keras .keras file) catches ``npnet.io.reading.ARCHIVE_ERRORS``:
a corrupt deflate, bzip2 or LZMA stream (zlib.error, OSError, LZMAError) is an ``NpnetError`` naming
the file, never a traceback.
"""
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npnet.convert import load_keras
from npnet.data.tree import ZipTree
from npnet.io.errors import NpnetError

FIXTURES = Path(__file__).resolve().parents[1] / "convert" / "fixtures"
METHODS = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2, "lzma": zipfile.ZIP_LZMA}


def rezip(members, path, method):
    """``members`` {name: bytes} written to the zip ``path`` with compression ``method``."""
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def data_span(path, name):
    """(start, length) of the member's compressed bytes inside the zip file."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = Path(path).read_bytes()
    header = info.header_offset
    name_length = int.from_bytes(raw[header + 26:header + 28], "little")
    extra_length = int.from_bytes(raw[header + 28:header + 30], "little")
    return header + 30 + name_length + extra_length, info.compress_size


def damage(path, name, position, value, length):
    """Overwrite ``length`` bytes of the member's compressed data at ``position`` (a fraction)."""
    raw = bytearray(Path(path).read_bytes())
    start, size = data_span(path, name)
    at = start + min(int(position * size), size - 1)
    raw[at:at + length] = bytes([value]) * len(raw[at:at + length])
    Path(path).write_bytes(bytes(raw))


def ppm(seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    return b"P6\n40 40\n255\n" + pixels.tobytes()


def keras_members():
    with zipfile.ZipFile(FIXTURES / "keras3.keras") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


DAMAGE = dict(position=st.floats(0, 1), value=st.integers(0, 255), length=st.integers(1, 64))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(**DAMAGE)
def test_a_damaged_member_of_a_data_zip_is_refused_or_read(tmp_path_factory, method, position, value, length):
    path = rezip({"Images/00000/00000_00000.ppm": ppm(0)}, tmp_path_factory.mktemp("zip") / "GTSRB.zip",
                 METHODS[method])
    damage(path, "Images/00000/00000_00000.ppm", position, value, length)
    try:
        tree = ZipTree(path)
        data = tree.read("Images/00000/00000_00000.ppm")
    except NpnetError as error:
        assert "GTSRB.zip" in str(error) and "\n" not in str(error)
    else:
        assert isinstance(data, bytes)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=15, deadline=None)
@given(member=st.sampled_from(["config.json", "model.weights.h5"]), **DAMAGE)
def test_a_damaged_member_of_a_keras_file_is_refused_or_read(tmp_path_factory, method, member, position, value,
                                                              length):
    path = rezip(keras_members(), tmp_path_factory.mktemp("keras") / "model.keras", METHODS[method])
    damage(path, member, position, value, length)
    try:
        model, _ = load_keras(path)
    except NpnetError as error:
        assert "model.keras" in str(error) and "\n" not in str(error)
    else:
        assert model.count_params() > 0


@pytest.mark.parametrize("method", METHODS)
def test_a_truncated_compressed_stream_is_refused(tmp_path, method):
    path = rezip({"a.ppm": ppm(1)}, tmp_path / "signs.zip", METHODS[method])
    start, size = data_span(path, "a.ppm")
    raw = bytearray(path.read_bytes())
    raw[start + size // 3:start + size] = bytes(size - size // 3)      # the stream's end zeroed
    path.write_bytes(bytes(raw))
    with pytest.raises(NpnetError, match="signs.zip"):
        ZipTree(path).read("a.ppm")
