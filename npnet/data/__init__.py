"""GTSRB from whatever form a user has it in, as ``Dataset`` splits of uint8 (N, 32, 32, 3) images.

    load_gtsrb(path)   -> {"train": Dataset, "valid": Dataset, "test": Dataset (when present)}
    load_split(path)   -> one Dataset: a single pickle file, or the test split of a folder or zip
    class_names(path)  -> the 43 sign names

Layouts, tried in this order (the first found wins):

1. pickles: a folder with ``train.p`` (and ``valid.p``, ``test.p``);
2. the official release, folders or zips (``official.py``);
3. the Kaggle mirror (``kaggle.py``).

A layout without a validation split gets one from ``track_split`` (whole tracks held out). Full-size
images are decoded once and cached (``cache.py``).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from npnet.data import cache, kaggle, official
from npnet.data.dataset import IMAGE_SHAPE, NUM_CLASSES, UNKNOWN_TRACK, Dataset
from npnet.data.download import ACCEPTED_LAYOUTS, ARCHIVES, BASE_URL, download_gtsrb
from npnet.data.names import OFFICIAL_NAMES
from npnet.data.pickles import read_pickle
from npnet.data.splits import track_split
from npnet.data.tree import open_trees
from npnet.io.checkpoint_checks import long_name_problem
from npnet.io.errors import DataError
from npnet.io.reading import MAX_CSV_BYTES, outside, read_regular

__all__ = [
    "Dataset", "NUM_CLASSES", "IMAGE_SHAPE", "UNKNOWN_TRACK", "load_gtsrb", "load_split", "class_names",
    "track_split", "read_pickle", "download_gtsrb",
]
PICKLE_SUFFIXES = (".p", ".pkl", ".pickle")


def load_gtsrb(path, cache_dir=None, download: bool = False, progress: bool = True, *,
               base_url: str = BASE_URL, archives: dict = ARCHIVES) -> dict:
    """The splits of GTSRB found at ``path`` (a folder, or a zip of the official release or Kaggle mirror).

    path      : where the data is
    cache_dir : where decoded full-size images are cached (default ``data/cache``)
    download  : when nothing is found at ``path``, download the official release into it first
    progress  : show progress bars while decoding and downloading
    base_url, archives : where to download from, and each archive's name -> MD5 (see ``download.py``)

    Returns {"train": Dataset, "valid": Dataset} plus "test" when the layout has a test split.
    Raises DataError naming the path and listing the accepted layouts when nothing is found.
    """
    path = Path(path)
    splits = _find_splits(path, cache_dir, progress)
    if splits is None and download:
        download_gtsrb(path, base_url=base_url, archives=archives, progress=progress)
        splits = _find_splits(path, cache_dir, progress)
    if splits is None:
        what = "no such file or folder" if not path.exists() else "holds no GTSRB data I can read"
        raise DataError(f"{path}: {what}. Accepted layouts: {ACCEPTED_LAYOUTS}")
    if "valid" not in splits:
        splits["train"], splits["valid"] = track_split(splits["train"])
    return splits


def load_split(path, cache_dir=None, progress: bool = True) -> Dataset:
    """One Dataset: a pickle file (``test.p``), or the test split of the GTSRB folder or zip at ``path``."""
    path = Path(path)
    a_file = path.exists() and not path.is_dir()  # a FIFO too: read_pickle then says what it is
    if path.suffix.lower() in PICKLE_SUFFIXES or (a_file and path.suffix.lower() != ".zip"):
        return read_pickle(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if _present(path, "test.p"):
        return read_pickle(path / "test.p")
    trees = open_trees(path)
    for name, located in (("official-test", official.find_test(trees)),
                          ("kaggle-test", kaggle.find_split(trees, "Test"))):
        if located is not None:
            return cache.cached(located, name, cache_dir, progress)
    raise DataError(f"{path}: holds no test split (test.p, Final_Test/Images with GT-final_test.csv, or Test.csv)")


def class_names(path=None) -> list[str]:
    """The 43 sign names, from ``signnames.csv`` (ClassId,SignName) in the data folder ``path`` when there."""
    if path is not None:
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        if _present(folder, "signnames.csv"):
            return _read_names(folder / "signnames.csv")
    return list(OFFICIAL_NAMES)


def _find_splits(path: Path, cache_dir, progress: bool) -> dict | None:
    """The splits of the first layout found at ``path``, or None when there is none."""
    if not path.exists():
        return None
    if path.is_dir() and _present(path, "train.p"):
        return {split: read_pickle(path / f"{split}.p") for split in ("train", "valid", "test")
                if _present(path, f"{split}.p")}
    trees = open_trees(path)
    for layout, find_train, find_test in (
        ("official", official.find_training, official.find_test),
        ("kaggle", lambda t: kaggle.find_split(t, "Train"), lambda t: kaggle.find_split(t, "Test")),
    ):
        train = find_train(trees)
        if train is not None:
            splits = {"train": cache.cached(train, f"{layout}-train", cache_dir, progress)}
            test = find_test(trees)
            if test is not None:
                splits["test"] = cache.cached(test, f"{layout}-test", cache_dir, progress)
            return splits
    return None


def _present(folder: Path, name: str) -> bool:
    """Whether ``folder/name`` is there in any form (a FIFO or a broken symlink too: reading it then
    says what is wrong). DataError when it is a symlink leading out of ``folder``."""
    file = folder / name
    if not os.path.lexists(file):
        return False
    target = outside(folder, file)
    if target is not None:
        raise DataError(f"{file}: is a symlink to {target}, outside the data folder {folder}; refused")
    return True


def _read_names(file: Path) -> list[str]:
    """``ClassId,SignName`` rows as a list indexed by ClassId; DataError unless it names all 43 classes."""
    text = read_regular(file, MAX_CSV_BYTES, doing="cannot read the sign names")
    try:
        rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error).splitlines()[0]
        raise DataError(f"{file}: cannot read the sign names ({reason})") from None
    try:
        names = {int(row["ClassId"]): row["SignName"].strip() for row in rows}
    except (KeyError, ValueError, TypeError, AttributeError):
        raise DataError(f"{file}: expected columns ClassId,SignName with whole-number ClassIds") from None
    if sorted(names) != list(range(NUM_CLASSES)):
        raise DataError(f"{file}: names {len(names)} classes, expected ClassIds 0..{NUM_CLASSES - 1}")
    problem = long_name_problem(names[i] for i in range(NUM_CLASSES))
    if problem:
        raise DataError(f"{file}: {problem}")
    return [names[i] for i in range(NUM_CLASSES)]
