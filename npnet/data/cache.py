"""Decode full-size images once, then read them back from an HDF5 file in seconds.

Each split read from the official release or the Kaggle mirror is stored as ``CACHE_DIR/<name>-<key>.h5``
holding the Dataset's four arrays. The key hashes ``CACHE_VERSION`` and the split's fingerprint (the
folder's path and the names, sizes and modification times of its files, or the zip's path, size and
modification time), so changing a file or the preprocessing makes a new entry instead of a stale hit.

Writes are atomic: the file is written beside its final name as ``*.tmp`` and moved into place with
``os.replace``, so a crash or an error never leaves a half-written cache entry. A cache that cannot be
written (read-only or full disk) only warns; a cache file that cannot be read is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

from npnet.data.dataset import Dataset
from npnet.data.tree import Located

CACHE_DIR = Path("data/cache")
CACHE_VERSION = "1: Pillow BILINEAR to 32x32, transparency on white"
ARRAYS = ("images", "labels", "boxes", "tracks")


def cached(located: Located, name: str, cache_dir=None, progress: bool = True) -> Dataset:
    """The split ``located``, from the cache when its files have not changed, else read and cached.

    name : a readable prefix for the cache file, e.g. ``official-train``
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    key = hashlib.sha256(f"{CACHE_VERSION}\0{name}\0{located.key}".encode()).hexdigest()[:20]
    path = cache_dir / f"{name}-{key}.h5"
    if path.exists():
        hit = _read(path, located.source)
        if hit is not None:
            return hit
    dataset = located.read(progress)
    try:
        _write_atomically(path, dataset)
    except OSError as error:  # a read-only or full disk costs speed next time, not this load
        warnings.warn(f"{path}: cannot write the cache ({error}); the images will be decoded again next time")
    return dataset


def _read(path: Path, source: str) -> Dataset | None:
    """The Dataset stored at ``path``, or None when the file cannot be read (it is then rebuilt)."""
    try:
        with h5py.File(path, "r") as file:
            arrays = {name: np.ascontiguousarray(file[name][...]) for name in ARRAYS}
    except (OSError, KeyError):
        return None
    return Dataset(**arrays, source=source)


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
