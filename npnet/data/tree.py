"""A folder or a zip, seen the same way: a list of file names and a way to read each.

The official release and the Kaggle mirror can be read unpacked or straight from their zips. Both kinds
of tree name files by their path inside the tree with ``/`` separators (``GTSRB/Training/00000/GT-00000.csv``),
so a layout is found by looking at names, whichever kind of tree holds them.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from npnet import images
from npnet.data.dataset import Dataset
from npnet.errors import DataError

MAX_DEPTH = 6  # data/GTSRB/Final_Training/Images/00000/x.ppm is 5 deep; never walk a whole disk
MAX_MEMBER_BYTES = 256 * 2**20  # a zip member larger than this is refused before decompressing (GTSRB's are < 1 MB)


class FolderTree:
    """The files under a folder (up to ``MAX_DEPTH`` levels down)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.names = sorted(_walk(self.root))

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def label(self, name: str) -> str:
        """How to name a file in a message: its path (the folder itself for "")."""
        return str(self.root / name) if name else str(self.root)

    def fingerprint(self, names) -> str:
        """A hash that changes when any of ``names`` is added, removed, resized or touched."""
        digest = hashlib.sha256(str(self.root.resolve()).encode())
        for name in sorted(names):
            stat = (self.root / name).stat()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"FolderTree({str(self.root)!r})"


class ZipTree:
    """The files inside a zip archive, read without extracting it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise DataError(f"{self.path}: cannot open zip ({_reason(error)})") from None
        self.names = sorted(info.filename for info in self.zip.infolist() if not info.is_dir())

    def read(self, name: str) -> bytes:
        """The member's bytes. zipfile stops at the size the archive declares, so checking that size
        first bounds the memory a zip bomb can take."""
        try:
            size = self.zip.getinfo(name).file_size
            if size > MAX_MEMBER_BYTES:
                raise DataError(f"{self.label(name)}: cannot read from zip ({size:,} bytes uncompressed, "
                                f"more than {MAX_MEMBER_BYTES:,})")
            return self.zip.read(name)
        except DataError:
            raise
        # corrupt (BadZipFile, zlib.error, EOFError), encrypted (RuntimeError), unknown method (NotImplementedError)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError,
                KeyError, ValueError) as error:
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


def _reason(error: Exception) -> str:
    """An exception as one line of text."""
    return " ".join(str(error).split()) or type(error).__name__


def open_trees(path: Path) -> list:
    """The trees to search at ``path``: a zip alone, or a folder followed by each zip directly inside it."""
    path = Path(path)
    if path.is_file():
        return [ZipTree(path)] if zipfile.is_zipfile(path) else []
    trees = [FolderTree(path)]
    for child in sorted(path.iterdir()):
        if child.suffix.lower() == ".zip" and child.is_file() and zipfile.is_zipfile(child):
            trees.append(ZipTree(child))
    return trees


def read_images(tree, names: list[str], progress: bool, description: str):
    """Decode ``names`` from ``tree`` into uint8 (N, 32, 32, 3), with a progress bar."""
    out = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    for i, name in enumerate(tqdm(names, desc=description, unit="img", disable=not progress, leave=False)):
        if isinstance(tree, FolderTree):
            out[i] = images.load_image(tree.root / name)
        else:
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
