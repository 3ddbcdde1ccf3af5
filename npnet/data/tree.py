"""A folder or a zip, seen the same way: a list of file names and a way to read each.

The official release and the Kaggle mirror can be read unpacked or straight from their zips. Both kinds
of tree name files by their path inside the tree with ``/`` separators (``GTSRB/Training/00000/GT-00000.csv``),
so a layout is found by looking at names, whichever kind of tree holds them.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from npnet.data import images
from npnet.data.dataset import Dataset
from npnet.io.errors import DataError
from npnet.io.reading import (ARCHIVE_ERRORS, MAX_CSV_BYTES, MAX_FILE_BYTES, MAX_SPLIT_IMAGES, MAX_TREE_BYTES,
    broken_link, open_regular, outside, read_regular)

MAX_DEPTH = 6  # data/GTSRB/Final_Training/Images/00000/x.ppm is 5 deep; never walk a whole disk
MAX_MEMBER_BYTES = MAX_FILE_BYTES  # a zip member larger than this is refused before decompressing (GTSRB's are < 1 MB)


class FolderTree:
    """The files under a folder (up to ``MAX_DEPTH`` levels down).

    names  : every file found, FIFOs and other special files included (reading one says what it is)
    broken : {name: 'a dangling symlink' | 'a symlink loop'}: not in ``names``, named if a CSV lists one
    links  : the names that are symlinks (whose targets exist)
    A file symlink that leads out of the folder stays in ``names`` but is refused when read or
    fingerprinted; symlinked subfolders are not entered (as before: ``os.walk`` does not follow them).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.names, self.broken, self.links = [], {}, set()
        for name in sorted(_walk(self.root)):
            if os.path.islink(self.root / name):
                problem = broken_link(self.root / name)
                if problem:
                    self.broken[name] = problem
                    continue
                self.links.add(name)
            self.names.append(name)
        self.bytes_read = 0

    def read(self, name: str) -> bytes:
        """The file's bytes: a regular file inside the folder, of at most ``size_limit(name)`` bytes
        (and at most ``MAX_TREE_BYTES`` read from this tree in all)."""
        self._refuse_outside(name)
        data = read_regular(self.root / name, size_limit(name), label=self.label(name), follow=name in self.links)
        self.bytes_read += len(data)
        if self.bytes_read > MAX_TREE_BYTES:
            raise DataError(f"{self.label('')}: more than {MAX_TREE_BYTES:,} bytes read from this folder in all; "
                            "refused")
        return data

    def label(self, name: str) -> str:
        """How to name a file in a message: its path (the folder itself for "")."""
        return str(self.root / name) if name else str(self.root)

    def fingerprint(self, names) -> str:
        """A hash that changes when any of ``names`` is added, removed, resized or touched."""
        digest = hashlib.sha256(str(self.root.resolve()).encode())
        for name in sorted(names):
            self._refuse_outside(name)
            try:
                stat = (self.root / name).stat()
            except OSError as error:  # removed or replaced since the folder was listed
                problem = broken_link(self.root / name) or error.strerror
                raise DataError(f"{self.label(name)}: cannot read ({problem})") from None
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def _refuse_outside(self, name: str) -> None:
        """DataError when ``name`` is a symlink leading out of the folder. A name that was no symlink
        when the folder was listed is read without following one (``O_NOFOLLOW``)."""
        target = outside(self.root, self.root / name) if name in self.links else None
        if target is not None:
            raise DataError(f"{self.label(name)}: is a symlink to {target}, outside the data folder "
                            f"{self.root}; refused")

    def __repr__(self) -> str:
        return f"FolderTree({str(self.root)!r})"


class ZipTree:
    """The files inside a zip archive, read without extracting it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        file = open_regular(self.path, doing="cannot open zip")
        try:
            self.zip = zipfile.ZipFile(file)
        except ARCHIVE_ERRORS as error:
            file.close()
            raise DataError(f"{self.path}: cannot open zip ({_reason(error)})") from None
        self.names = sorted(info.filename for info in self.zip.infolist() if not info.is_dir())
        self.bytes_read = 0

    def read(self, name: str) -> bytes:
        """The member's bytes. zipfile stops at the size the archive declares, so checking that size
        first (each member against ``size_limit(name)``, all members read so far against
        ``MAX_TREE_BYTES``) bounds the memory and the time a zip bomb can take."""
        try:
            size = self.zip.getinfo(name).file_size
            limit = MAX_MEMBER_BYTES if size > MAX_MEMBER_BYTES else size_limit(name)  # the widest cap broken
            if size > limit:
                raise DataError(f"{self.label(name)}: cannot read from zip ({size:,} bytes uncompressed, "
                                f"more than {limit:,})")
            if self.bytes_read + size > MAX_TREE_BYTES:
                raise DataError(f"{self.label(name)}: cannot read from zip (the members read would uncompress "
                                f"to more than {MAX_TREE_BYTES:,} bytes in all)")
            self.bytes_read += size
            return self.zip.read(name)
        except DataError:
            raise
        except ARCHIVE_ERRORS as error:       # a damaged member, of any compression method
            raise DataError(f"{self.label(name)}: cannot read from zip ({_reason(error)})") from None

    def label(self, name: str) -> str:
        """How to name a member in a message: ``ZIP:NAME`` (the zip itself for "")."""
        return f"{self.path}:{name}" if name else str(self.path)

    def fingerprint(self, names) -> str:
        """A hash of the zip's resolved path, size and modification time."""
        stat = self.path.stat()
        return hashlib.sha256(f"{self.path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"ZipTree({str(self.path)!r})"


def size_limit(name: str) -> int:
    """The most bytes one file may have: ``MAX_CSV_BYTES`` for a CSV, else ``MAX_FILE_BYTES``."""
    return MAX_CSV_BYTES if name.lower().endswith(".csv") else MAX_MEMBER_BYTES


def _reason(error: Exception) -> str:
    """An exception as one line of text."""
    return " ".join(str(error).split()) or type(error).__name__


def open_trees(path: Path) -> list:
    """The trees to search at ``path``: a zip alone, or a folder followed by each zip directly inside it."""
    path = Path(path)
    if not path.is_dir():
        return [ZipTree(path)] if _is_zip(path) else []
    trees = [FolderTree(path)]
    for child in sorted(path.iterdir()):
        if child.suffix.lower() == ".zip" and child.is_file():
            target = outside(path, child)
            if target is not None:
                raise DataError(f"{child}: is a symlink to {target}, outside the data folder {path}; refused")
            if _is_zip(child):
                trees.append(ZipTree(child))
    return trees


def _is_zip(path: Path) -> bool:
    """Whether the regular file ``path`` is a zip (DataError for a FIFO, a device, ...)."""
    with open_regular(path) as file:
        return zipfile.is_zipfile(file)


def read_images(tree, names: list[str], progress: bool, description: str):
    """Decode ``names`` from ``tree`` into uint8 (N, 32, 32, 3), with a progress bar."""
    if len(names) > MAX_SPLIT_IMAGES:
        raise DataError(f"{tree.label('')}: lists {len(names):,} images for one split, more than "
                        f"{MAX_SPLIT_IMAGES:,}; refused")
    out = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    first = {}            # a file listed again (a CSV naming one large image 400 times) is decoded once
    for i, name in enumerate(tqdm(names, desc=description, unit="img", disable=not progress, leave=False)):
        if name in first:
            out[i] = out[first[name]]
            continue
        first[name] = i
        out[i] = images.load_image(tree.label(name), data=tree.read(name))
    return out


def _walk(root: Path):
    """Relative posix names of the files under ``root``, at most ``MAX_DEPTH`` folders down."""
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        depth = len(relative.parts)
        if depth >= MAX_DEPTH:
            subfolders.clear()
        subfolders[:] = [s for s in subfolders if not s.startswith(".")]
        for file in files:
            yield (relative / file).as_posix()


@dataclass
class Located:
    """One split found in a tree, not yet read.

    source : where it is, named in messages and kept as ``Dataset.source``
    key    : a fingerprint that changes whenever a file the split is read from changes (the cache's key)
    read   : ``read(progress) -> Dataset`` decodes it
    """

    source: str
    key: str
    read: Callable[[bool], Dataset]
