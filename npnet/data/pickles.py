"""The seed's pickle layout: ``train.p``, ``valid.p``, ``test.p``.

Each file is a dict of NumPy arrays:

    features : uint8 (N, 32, 32, 3)  RGB images
    labels   : integers (N,)         class ids 0..42
    sizes    : integers (N, 2)       original width, height
    coords   : integers (N, 4)       sign box x1, y1, x2, y2 in original pixels

A pickle can run any code while it loads, so these files are read with ``SafeUnpickler``, which admits only
the few NumPy functions an array needs to rebuild itself and refuses everything else before it runs.

A pickle can also declare more than it holds. Every byte of a real array comes from the file, so what
the reader builds is bounded by the file's size: what the admitted calls build (``npnet.data.unpickler``:
a memoized string or buffer passed to them again and again) is charged as it is built, and the arrays in
the dict (a view with zero strides declaring a million images over a few bytes) are summed before any
copy; a pickle that declares more is refused before anything that large is built or copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from npnet.data.annotations import scaled_boxes
from npnet.data.dataset import IMAGE_SHAPE, UNKNOWN_TRACK, Dataset
from npnet.io.errors import DataError
from npnet.io.reading import MAX_PICKLE_BYTES, open_regular
from npnet.data.unpickler import Refused, SafeUnpickler, TooLarge

KEYS = ("features", "labels", "sizes", "coords")
SLACK_BYTES = 64 * 1024     # what a pickle may build beyond its own size (headers, small arrays)


def read_pickle(path) -> Dataset:
    """The pickle file at ``path`` as a Dataset (tracks unknown: -1). Raises DataError naming the file."""
    path = Path(path)
    raw = load_dict(path)
    images, labels, sizes, coords = (_array(raw, key, path) for key in KEYS)
    _check_kind(images, "features", "u", path, expected="uint8")
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{path}: 'features' is {images.dtype} {images.shape}, expected uint8 (N, 32, 32, 3)")
    for key, array, columns in (("labels", labels, None), ("sizes", sizes, 2), ("coords", coords, 4)):
        _check_kind(array, key, "iu", path)
        expected = (len(images),) if columns is None else (len(images), columns)
        if array.shape != expected:
            raise DataError(f"{path}: '{key}' has shape {array.shape}, expected {expected} to match 'features'")
    x1, y1, x2, y2 = coords.T.astype(np.float64)
    boxes = scaled_boxes(x1, y1, x2, y2, sizes[:, 0], sizes[:, 1], where=str(path))
    return Dataset(
        images=np.ascontiguousarray(images),
        labels=labels.astype(np.int64),
        boxes=boxes,
        tracks=np.full(len(images), UNKNOWN_TRACK, dtype=np.int64),
        source=str(path),
    )


def load_dict(path) -> dict:
    """Unpickle ``path`` safely (``SafeUnpickler``): the raw dict, which must hold every key in ``KEYS``;
    DataError naming the file otherwise. ``read_pickle`` checks the arrays; ``hard_view`` reads ``sizes``."""
    path = Path(path)
    try:
        with open_regular(path, MAX_PICKLE_BYTES) as file:  # a regular file of at most MAX_PICKLE_BYTES
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                raise DataError(f"{path}: is empty (0 bytes), not a pickle")
            raw = SafeUnpickler(file, 2 * size + SLACK_BYTES).load()
    except TooLarge as error:
        reason = str(error) or f"declares more data than its {size:,} bytes hold"
        raise DataError(f"{path}: {reason}; refused") from None
    except Refused as refused:
        raise DataError(
            f"{path}: refuses to load pickle global '{refused}' "
            "(only NumPy arrays, dicts, lists and scalars are allowed)"
        ) from None
    except DataError:
        raise
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    except Exception as error:  # truncated or garbled: EOFError, UnpicklingError, ValueError, ...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: is truncated or not a pickle ({reason})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: holds a {type(raw).__name__}, expected a dict with keys {', '.join(KEYS)}")
    declared = sum(value.nbytes for value in raw.values() if isinstance(value, np.ndarray))
    if declared > size + SLACK_BYTES:       # e.g. a view with zero strides: refused before any copy
        raise DataError(f"{path}: its arrays declare {declared:,} bytes, more than its {size:,} bytes hold; refused")
    missing = [key for key in KEYS if key not in raw]
    if missing:
        present = ", ".join(" ".join(str(key).split())[:40] for key in list(raw)[:10])  # one short line
        raise DataError(f"{path}: missing key(s) {', '.join(missing)} (has: {present}{', ...' if len(raw) > 10 else ''})")
    return raw


def _array(raw: dict, key: str, path: Path) -> np.ndarray:
    value = raw[key]
    if not isinstance(value, np.ndarray):
        raise DataError(f"{path}: '{key}' is a {type(value).__name__}, expected a NumPy array")
    return value


def _check_kind(array: np.ndarray, key: str, kinds: str, path: Path, expected: str = "integers") -> None:
    """Refuse object arrays and any dtype whose kind (u: unsigned, i: signed integer) is not in ``kinds``."""
    if array.dtype.kind not in kinds:
        what = "an object array" if array.dtype.kind == "O" else f"of dtype {array.dtype}"
        raise DataError(f"{path}: '{key}' is {what}, expected {expected}")
