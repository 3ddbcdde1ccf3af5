"""Property: whatever bytes or small arrays a loader is given, it returns a valid result or raises
the project's own error (an NpnetError subclass) with a one-line message; never another exception.

Hypothesis runs derandomized with a modest number of examples, so CI sees the same cases every time.
"""
import io
import itertools
import pickle
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from npnet.io import checkpoint
from npnet.data import Dataset, class_names, kaggle, official, read_pickle
from npnet.data.annotations import read_annotations
from npnet.io.errors import NpnetError
from npnet.data.images import load_image
from npnet.engine.layers import Dense, Flatten
from npnet.engine.model import Sequential

from .conftest import pickle_dict

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def outcome(load, *args, **kwargs):
    """Call the loader: its result, or None after an NpnetError whose message is one line."""
    try:
        return load(*args, **kwargs)
    except NpnetError as error:
        message = str(error)
        assert message and "\n" not in message and "Traceback" not in message, repr(message)
        return None


SCRATCH = tempfile.TemporaryDirectory(prefix="npnet-fuzz-")  # removed at exit; tmp_path is per test, not per example
NUMBERS = itertools.count()


def in_file(suffix, data: bytes) -> Path:
    """``data`` in a new file of its own folder."""
    folder = Path(SCRATCH.name) / str(next(NUMBERS))
    folder.mkdir()
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


# -- pickles --------------------------------------------------------------------------------------
PICKLE_PREFIXES = [b"", b"\x80\x02", b"\x80\x04\x95", b"\x80\x05\x95", b"(dp0\n", b"cnumpy\n"]


@FUZZ
@given(prefix=st.sampled_from(PICKLE_PREFIXES), data=st.binary(max_size=400))
def test_read_pickle_on_random_bytes_raises_only_data_error(prefix, data):
    result = outcome(read_pickle, in_file(".p", prefix + data))
    assert result is None or isinstance(result, Dataset)


small_arrays = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int8, np.int32, np.uint64, np.float32, np.float64, np.bool_,
                           np.complex64, np.dtype("U3"), np.dtype([("a", np.uint8)]), np.dtype("M8[s]")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
)


@FUZZ
@given(replaced=st.dictionaries(st.sampled_from(["features", "labels", "sizes", "coords"]),
                                small_arrays | st.integers() | st.none() | st.text(max_size=3), max_size=4),
       protocol=st.sampled_from([2, 4, 5]))
def test_read_pickle_on_random_small_arrays_gives_a_dataset_or_data_error(replaced, protocol):
    content = pickle_dict(n=4) | replaced
    result = outcome(read_pickle, in_file(".p", pickle.dumps(content, protocol=protocol)))
    assert result is None or isinstance(result, Dataset)


# -- checkpoints ----------------------------------------------------------------------------------
def small_checkpoint() -> bytes:
    """A valid checkpoint of a tiny net, so random edits often hit HDF5's structure, not the weights."""
    path = in_file(".h5", b"")
    checkpoint.save(Sequential([Flatten(), Dense(4)], input_shape=(2, 2, 1)), path,
                    class_names=list("abcd"), preprocessing={"name": "seed"})
    return path.read_bytes()


SMALL_CHECKPOINT = small_checkpoint()


@FUZZ
@given(data=st.binary(max_size=600), keep=st.integers(0, len(SMALL_CHECKPOINT)))
def test_checkpoint_load_on_random_bytes_and_prefixes_raises_only_checkpoint_error(data, keep):
    assert outcome(checkpoint.load, in_file(".h5", data)) is None
    outcome(checkpoint.load, in_file(".h5", SMALL_CHECKPOINT[:keep] + data))


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(SMALL_CHECKPOINT) - 1), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_checkpoint_load_on_a_corrupted_file_gives_a_model_or_checkpoint_error(edits):
    data = bytearray(SMALL_CHECKPOINT)
    for offset, value in edits:
        data[offset] = value
    outcome(checkpoint.load, in_file(".h5", bytes(data)))


@FUZZ
@given(kernel=hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int32, np.uint8]),
                         shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)))
def test_checkpoint_load_with_a_random_weight_array_gives_a_model_or_checkpoint_error(kernel):
    path = in_file(".h5", SMALL_CHECKPOINT)
    with h5py.File(path, "a") as f:
        del f["dense_1/kernel"]
        f.create_dataset("dense_1/kernel", data=kernel)
    result = outcome(checkpoint.load, path)
    assert result is None or result[0].params()["dense_1/kernel"].shape == (4, 4)


# -- images ---------------------------------------------------------------------------------------
IMAGE_MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"P6\n", b"BM", b"II*\x00", b"RIFF"]


# Pillow warns (and goes on) about the corrupt EXIF blocks random TIFF-like bytes contain: expected here
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@FUZZ
@given(magic=st.sampled_from(IMAGE_MAGIC), data=st.binary(max_size=400),
       suffix=st.sampled_from([".png", ".jpg", ".gif", ".ppm"]))
def test_load_image_on_random_bytes_raises_only_image_error(magic, data, suffix):
    result = outcome(load_image, in_file(suffix, magic + data))
    assert result is None or (result.dtype == np.uint8 and result.shape == (32, 32, 3))


@FUZZ
@given(pixels=hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 2, 3, 4]))),
       mode_format=st.sampled_from([("png", None), ("gif", "P"), ("jpeg", "RGB"), ("tiff", None), ("bmp", None),
                                    ("jpeg", "CMYK"), ("png", "I;16"), ("tiff", "F"), ("png", "1")]))
def test_load_image_on_random_small_images_gives_uint8_32x32_rgb(pixels, mode_format):
    form, mode = mode_format
    channels = pixels.shape[2]
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels[..., :channels] if channels != 2
                            else pixels[..., 0])
    if mode is not None:
        image = image.convert(mode)
    elif form == "bmp" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=form)
    out = load_image("fuzz." + form, data=buffer.getvalue())
    assert out.dtype == np.uint8 and out.shape == (32, 32, 3)


# -- CSV readers ----------------------------------------------------------------------------------
class MemoryTree:
    """A tree (see npnet/data/tree.py) held in memory: file name -> bytes."""

    def __init__(self, files):
        self.files = files
        self.names = sorted(files)

    def read(self, name):
        return self.files[name]

    def label(self, name):
        return f"mem:{name}"

    def fingerprint(self, names):
        return "x"


def png(colour=(10, 20, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), colour).save(buffer, format="png")
    return buffer.getvalue()


OFFICIAL_HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"
KAGGLE_HEADER = "Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path"
cell = st.one_of(st.integers(-3, 50).map(str), st.sampled_from(["", " ", "00000_00000.ppm", "Train/0/a.png", "²",
                                                               "1e3", '"', "\x00", "٣", "9" * 25]),
                 st.text(max_size=4))
rows = st.lists(st.lists(cell, min_size=0, max_size=10), max_size=5)


@FUZZ
@given(rows=rows, delimiter=st.sampled_from([";", ","]), raw=st.binary(max_size=60))
def test_official_training_reader_on_random_csv_rows_gives_a_dataset_or_data_error(rows, delimiter, raw):
    text = "\r\n".join([OFFICIAL_HEADER] + [delimiter.join(row) for row in rows]).encode() + raw
    tree = MemoryTree({"00000/GT-00000.csv": text, "00000/00000_00000.ppm": png()})
    located = official.find_training([tree])
    result = outcome(located.read, False)
    assert result is None or isinstance(result, Dataset)


@FUZZ
@given(rows=rows, raw=st.binary(max_size=60))
def test_kaggle_reader_on_random_csv_rows_gives_a_dataset_or_data_error(rows, raw):
    text = "\n".join([KAGGLE_HEADER] + [",".join(row) for row in rows]).encode() + raw
    tree = MemoryTree({"Train.csv": text, "Train/0/a.png": png(), "Train/0/bad.png": b"not an image"})
    result = outcome(kaggle.find_split([tree], "Train").read, False)
    assert result is None or isinstance(result, Dataset)


@FUZZ
@given(data=st.binary(max_size=300), file_column=st.sampled_from(["Filename", "Path"]),
       delimiter=st.sampled_from([";", ","]))
def test_read_annotations_on_random_bytes_raises_only_data_error(data, file_column, delimiter):
    outcome(read_annotations, MemoryTree({"a.csv": data}), "a.csv", file_column, delimiter)


@FUZZ
@given(data=st.binary(max_size=300))
def test_class_names_on_a_random_signnames_csv_gives_43_names_or_data_error(data):
    path = in_file(".csv", b"")
    (path.parent / "signnames.csv").write_bytes(data)
    result = outcome(class_names, path.parent)
    assert result is None or len(result) == 43
