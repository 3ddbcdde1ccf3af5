"""The common Kaggle mirror of GTSRB ("GTSRB - German Traffic Sign Recognition Benchmark"):

    Train.csv    Train/<ClassId>/<class>_<track>_<frame>.png
    Test.csv     Test/NNNNN.png

The CSVs are comma-separated: Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path (Path relative to the
CSV's folder). Labels come from the ClassId column, never from the order of the class folders, which sort
as text ("10" before "2"). There is no validation split: ``load_gtsrb`` holds out whole tracks.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np

from npnet.data.annotations import check_files_exist, read_annotations, scaled_boxes
from npnet.data.dataset import UNKNOWN_TRACK, Dataset
from npnet.data.tree import Located, read_images

TRACKED_FILE = re.compile(r"^(?P<cls>\d+)_(?P<track>\d+)_(?P<frame>\d+)\.png$", re.IGNORECASE)
TRACKS_PER_CLASS = 100_000  # track id = class * 100000 + track: unique across classes


def find_split(trees, split: str) -> Located | None:
    """The split ``"Train"`` or ``"Test"``: the first ``<split>.csv`` in any tree, or None."""
    for tree in trees:
        for name in tree.names:
            if PurePosixPath(name).name == f"{split}.csv":
                folder = name[: -len(f"{split}.csv")]
                in_folder = [n for n in tree.names if n.startswith(folder + split + "/")] + [name]
                return Located(
                    source=tree.label(name),
                    key=tree.fingerprint(in_folder),
                    read=lambda progress, tree=tree, name=name, folder=folder: _read(tree, name, folder, progress),
                )
    return None


def _read(tree, csv_name: str, folder: str, progress: bool) -> Dataset:
    """Read the CSV ``csv_name`` and the images it lists (paths relative to ``folder``)."""
    table = read_annotations(tree, csv_name, file_column="Path", delimiter=",")
    names = [folder + path.replace("\\", "/") for path in table["files"]]
    check_files_exist(tree, names, csv_label=tree.label(csv_name))
    boxes = scaled_boxes(
        table["Roi.X1"], table["Roi.Y1"], table["Roi.X2"], table["Roi.Y2"],
        table["Width"], table["Height"], where=tree.label(csv_name),
    )
    return Dataset(
        images=read_images(tree, names, progress, description=f"decoding {csv_name}"),
        labels=table["ClassId"],
        boxes=boxes,
        tracks=np.array([_track_id(name) for name in names], dtype=np.int64),
        source=tree.label(csv_name),
    )


def _track_id(name: str) -> int:
    """``CCCCC_TTTTT_FFFFF.png`` -> class * 100000 + track; -1 when the name has another form."""
    match = TRACKED_FILE.match(PurePosixPath(name).name)
    if not match:
        return UNKNOWN_TRACK
    return int(match["cls"]) * TRACKS_PER_CLASS + int(match["track"])
