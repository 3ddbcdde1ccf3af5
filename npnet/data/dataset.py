"""``Dataset``: one split of GTSRB as four aligned arrays.

Every loader (pickles, the official release, the Kaggle mirror, the cache) returns this one type, so the
rest of npnet never needs to know where the images came from. Row ``i`` of each array describes image ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npnet.io.errors import DataError

NUM_CLASSES = 43
IMAGE_SIZE = 32
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
UNKNOWN_TRACK = -1


@dataclass
class Dataset:
    """One split of GTSRB, validated on construction.

    images : uint8 (N, 32, 32, 3)  RGB, C-contiguous
    labels : int64 (N,)            class ids, 0 .. 42
    boxes  : float32 (N, 4)        the sign's box x1, y1, x2, y2 in the 32x32 image's pixel coordinates
                                   (edges: a pixel's centre inside them is in the box)
    tracks : int64 (N,)            physical-sign track id, unique within the dataset; -1 where unknown
    source : str                   the file or folder the split came from (named in every error)
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    tracks: np.ndarray
    source: str

    def __post_init__(self):
        problem = _find_problem(self)
        if problem:
            raise DataError(f"{self.source}: {problem}")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> Dataset:
        """The rows picked by ``index`` (a slice, an integer array or a boolean mask of length N)."""
        rows = np.atleast_1d(np.arange(len(self))[index])
        return Dataset(
            images=np.ascontiguousarray(self.images[rows]),
            labels=self.labels[rows],
            boxes=self.boxes[rows],
            tracks=self.tracks[rows],
            source=self.source,
        )

    def __repr__(self) -> str:
        return f"Dataset({len(self)} images from {self.source!r})"


def join(parts, source: str) -> Dataset:
    """The rows of every dataset in ``parts``, in order, as one Dataset named ``source``.

    Track ids stay unique: each part's known ids are shifted past the largest id of the parts before
    it (unknown tracks stay -1), so a track of one part never shares an id with another part's."""
    tracks, offset = [], 0
    for part in parts:
        known = part.tracks != UNKNOWN_TRACK
        tracks.append(np.where(known, part.tracks + offset, UNKNOWN_TRACK))
        if known.any():
            offset = int(tracks[-1][known].max()) + 1
    return Dataset(
        images=np.ascontiguousarray(np.concatenate([part.images for part in parts])),
        labels=np.concatenate([part.labels for part in parts]),
        boxes=np.concatenate([part.boxes for part in parts]),
        tracks=np.concatenate(tracks).astype(np.int64),
        source=source,
    )


def _find_problem(data: Dataset) -> str | None:
    """The first thing wrong with ``data`` as one short phrase, or None when it is valid."""
    expected = {
        "images": (np.uint8, IMAGE_SHAPE),
        "labels": (np.int64, ()),
        "boxes": (np.float32, (4,)),
        "tracks": (np.int64, ()),
    }
    for name, (dtype, row_shape) in expected.items():
        array = getattr(data, name)
        if not isinstance(array, np.ndarray):
            return f"{name} is a {type(array).__name__}, expected a NumPy array"
        if array.dtype != dtype:
            return f"{name} has dtype {array.dtype}, expected {np.dtype(dtype)}"
        if array.shape[1:] != row_shape or array.ndim != 1 + len(row_shape):
            want = ("N",) + row_shape
            return f"{name} has shape {array.shape}, expected ({', '.join(map(str, want))})"
    if not data.images.flags.c_contiguous:
        return "images are not C-contiguous"
    lengths = {name: len(getattr(data, name)) for name in expected}
    if len(set(lengths.values())) > 1:
        return "arrays disagree in length: " + ", ".join(f"{k} {v}" for k, v in lengths.items())
    if len(data.labels) and (data.labels.min() < 0 or data.labels.max() >= NUM_CLASSES):
        bad = data.labels[(data.labels < 0) | (data.labels >= NUM_CLASSES)][0]
        return f"label {bad} is outside 0..{NUM_CLASSES - 1}"
    return None
