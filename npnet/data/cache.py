"""Decode full-size images once, then read them back from an HDF5 file in seconds.

Each split read from the official release or the Kaggle mirror is stored as ``CACHE_DIR/<name>-<key>.h5``
holding the Dataset's four arrays. The key hashes ``CACHE_VERSION`` and the split's fingerprint (the
folder's path and the names, sizes and modification times of its files, or the zip's path, size and
modification time), so changing a file or the preprocessing makes a new entry instead of a stale hit.

Writes are atomic: the file is written beside its final name as ``*.tmp`` and moved into place with
``os.replace``, so a crash or an error never leaves a half-written cache entry. A cache that cannot be
written (read-only or full disk) only warns; a cache file that cannot be read is rebuilt, and so is one
that is not a plain regular HDF5 file of the four arrays (a symlink, a FIFO, links to other files).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

from npnet.data.dataset import IMAGE_SHAPE, Dataset
from npnet.data.tree import Located
from npnet.io.errors import DataError, NpnetWarning
from npnet.io.reading import MAX_SPLIT_IMAGES, open_regular

CACHE_DIR = Path("data/cache")
CACHE_VERSION = "2: Pillow BILINEAR to 32x32, transparency on white; boxes end at x2 + 1, y2 + 1"
ARRAYS = ("images", "labels", "boxes", "tracks")
ROWS = {"images": (np.uint8, IMAGE_SHAPE), "labels": (np.int64, ()), "boxes": (np.float32, (4,)),
        "tracks": (np.int64, ())}


def cached(located: Located, name: str, cache_dir=None, progress: bool = True) -> Dataset:
    """The split ``located``, from the cache when its files have not changed, else read and cached.

    name : a readable prefix for the cache file, e.g. ``official-train``
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    key = hashlib.sha256(f"{CACHE_VERSION}\0{name}\0{located.key}".encode()).hexdigest()[:20]
    path = cache_dir / f"{name}-{key}.h5"
    if os.path.lexists(path):
        hit = _read(path, located.source)
        if hit is not None:
            return hit
    dataset = located.read(progress)
    try:
        _write_atomically(path, dataset)
    except OSError as error:  # a read-only or full disk costs speed next time, not this load
        warnings.warn(f"{path}: cannot write the cache ({error.strerror or error}); the images will be "
                      "decoded again next time", NpnetWarning)
    return dataset


def _read(path: Path, source: str) -> Dataset | None:
    """The Dataset stored at ``path``, or None when the file cannot be read or is refused (it is then
    rebuilt). Only a regular file is opened (no symlink, no FIFO), through our own descriptor; each
    array must be a plain dataset of the file itself (no external or soft link, no virtual dataset,
    no external raw storage) of the expected dtype and row shape, all of one length of at most
    ``MAX_SPLIT_IMAGES``: checked before any of them is read, so nothing in the cache can make npnet
    read another file or allocate more than a split can hold."""
    try:
        handle = open_regular(path, follow=False)
    except DataError:
        return None
    try:
        with handle, h5py.File(handle, "r") as file:
            datasets = [_plain_dataset(file, name) for name in ARRAYS]
            if None in datasets or len({d.shape[0] for d in datasets}) != 1 or datasets[0].shape[0] > MAX_SPLIT_IMAGES:
                return None
            arrays = {name: np.ascontiguousarray(d[...]) for name, d in zip(ARRAYS, datasets)}
        return Dataset(**arrays, source=source)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, DataError):
        return None


def _plain_dataset(file, name: str):
    """``file[name]`` when it is a hard-linked dataset stored in ``file`` with the dtype and row shape of
    that array, else None. Nothing is read and no link is followed."""
    if not isinstance(file.get(name, getlink=True), h5py.HardLink):
        return None
    dataset = file[name]
    if not isinstance(dataset, h5py.Dataset) or dataset.is_virtual or dataset.external:
        return None
    dtype, row_shape = ROWS[name]
    if dataset.dtype != dtype or dataset.ndim != 1 + len(row_shape) or dataset.shape[1:] != row_shape:
        return None
    return dataset


def _write_atomically(path: Path, dataset: Dataset) -> None:
    """Write ``dataset`` to ``path`` through a temporary file beside it; nothing is left on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as file:
            for name in ARRAYS:
                file.create_dataset(name, data=getattr(dataset, name))
            file.attrs["source"] = dataset.source
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
