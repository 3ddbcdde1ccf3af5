"""The official GTSRB release, unpacked or straight from its zips.

Training images (no validation split: ``load_gtsrb`` holds out whole tracks with ``track_split``):

    GTSRB/Final_Training/Images/000NN/GT-000NN.csv    GTSRB_Final_Training_Images.zip
    GTSRB/Training/000NN/GT-000NN.csv                 GTSRB-Training_fixed.zip
    Training/000NN/GT-000NN.csv                       (or any folder holding the 000NN class folders)

each beside its ``TTTTT_FFFFF.ppm`` images (track TTTTT, frame FFFFF). Test images:

    GTSRB/Final_Test/Images/NNNNN.ppm                 GTSRB_Final_Test_Images.zip
    GT-final_test.csv (with ClassId)                  GTSRB_Final_Test_GT.zip unpacks it at its top

The CSVs are ``;``-separated: Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId. Labels come from
ClassId; the sign boxes are scaled from Width x Height to 32x32.
"""

from __future__ import annotations

import re
import warnings
from pathlib import PurePosixPath

import numpy as np

from npnet.data.annotations import check_files_exist, read_annotations, scaled_boxes
from npnet.data.dataset import UNKNOWN_TRACK, Dataset
from npnet.data.tree import Located, read_images
from npnet.io.errors import DataError, NpnetWarning

CLASS_CSV = re.compile(r"^(?P<root>(?:.*/)?)(?P<id>\d{5})/GT-(?P=id)\.csv$")
TRAINING_FILE = re.compile(r"^(?P<track>\d{5})_(?P<frame>\d{5})\.ppm$")
TEST_CSV = "GT-final_test.csv"
TRACKS_PER_CLASS = 100_000  # track id = class * 100000 + track: unique across classes


def find_training(trees) -> Located | None:
    """The training images in the first tree that has ``000NN/GT-000NN.csv`` files, or None.

    When one tree holds several roots (both releases unpacked), the fixed one (``.../Training/``) wins.
    """
    for tree in trees:
        roots = {}
        for name in tree.names:
            match = CLASS_CSV.match(name)
            if match:
                roots.setdefault(match["root"], []).append(name)
        if roots:
            root = min(roots, key=lambda r: (not r.rstrip("/").endswith("Training"), r))
            csvs = sorted(roots[root])
            in_root = [name for name in tree.names if name.startswith(root)]
            return Located(
                source=tree.label(root.rstrip("/")),
                key=tree.fingerprint(in_root),
                read=lambda progress: _read_training(tree, root, csvs, progress),
            )
    return None


def find_test(trees) -> Located | None:
    """The test images and the ``GT-final_test.csv`` that labels them, or None when either is missing."""
    for csv_tree in trees:
        csv_names = [n for n in csv_tree.names if PurePosixPath(n).name == TEST_CSV]
        if csv_names:
            csv_name = csv_names[0]
            break
    else:
        if any(n.endswith("Final_Test/Images/00000.ppm") for tree in trees for n in tree.names):
            warnings.warn(f"found the official test images but no {TEST_CSV} with their ClassIds: no test split",
                          NpnetWarning)
        return None
    table = read_annotations(csv_tree, csv_name, file_column="Filename", delimiter=";")
    if not table["files"]:
        return None
    image_tree, folder = _find_image_folder(trees, table["files"][0], csv_tree, csv_name)
    names = [folder + file for file in table["files"]]
    check_files_exist(image_tree, names, csv_label=csv_tree.label(csv_name))
    source = image_tree.label(folder.rstrip("/"))
    return Located(
        source=source,
        key=csv_tree.fingerprint([csv_name]) + image_tree.fingerprint(names),
        read=lambda progress: _read_test(table, csv_tree.label(csv_name), image_tree, names, source, progress),
    )


def _read_training(tree, root: str, csvs: list[str], progress: bool) -> Dataset:
    """Read every class folder's CSV and images under ``root`` in ``tree``."""
    files, labels, boxes, tracks = [], [], [], []
    for csv_name in csvs:
        class_folder = csv_name.rsplit("/", 1)[0] + "/"
        class_number = int(class_folder[-6:-1])
        table = read_annotations(tree, csv_name, file_column="Filename", delimiter=";")
        names = [class_folder + file for file in table["files"]]
        check_files_exist(tree, names, csv_label=tree.label(csv_name))
        files += names
        labels.append(table["ClassId"])
        boxes.append(_boxes(table, tree.label(csv_name)))
        tracks.append([_track_id(class_number, file) for file in table["files"]])
    return Dataset(
        images=read_images(tree, files, progress, description="decoding training images"),
        labels=np.concatenate(labels).astype(np.int64),
        boxes=np.concatenate(boxes).astype(np.float32),
        tracks=np.concatenate(tracks).astype(np.int64),
        source=tree.label(root.rstrip("/")),
    )


def _read_test(table: dict, csv_label: str, image_tree, names: list[str], source: str, progress: bool) -> Dataset:
    """Read the test images ``names`` labelled by the CSV ``table``."""
    return Dataset(
        images=read_images(image_tree, names, progress, description="decoding test images"),
        labels=table["ClassId"],
        boxes=_boxes(table, csv_label),
        tracks=np.full(len(names), UNKNOWN_TRACK, dtype=np.int64),
        source=source,
    )


def _find_image_folder(trees, first_file: str, csv_tree, csv_name: str):
    """The (tree, folder prefix) holding the test images, found by the CSV's first file name.

    Prefers a folder ending in ``Final_Test/Images/``; a ``DataError`` names the CSV when none has it.
    """
    candidates = []
    for order, tree in enumerate(trees):
        for name in tree.names:
            if name == first_file or name.endswith("/" + first_file):
                folder = name[: len(name) - len(first_file)]
                candidates.append((not folder.endswith("Final_Test/Images/"), order, folder, tree))
    if not candidates:
        raise DataError(f"{csv_tree.label(csv_name)}: lists {first_file}, which is missing")
    _, _, folder, tree = min(candidates, key=lambda c: c[:3])
    return tree, folder


def _boxes(table: dict, where: str) -> np.ndarray:
    return scaled_boxes(
        table["Roi.X1"], table["Roi.Y1"], table["Roi.X2"], table["Roi.Y2"], table["Width"], table["Height"], where
    )


def _track_id(class_number: int, file: str) -> int:
    """``TTTTT_FFFFF.ppm`` in class NN -> NN * 100000 + TTTTT; -1 when the name has another form."""
    match = TRAINING_FILE.match(file)
    return class_number * TRACKS_PER_CLASS + int(match["track"]) if match else UNKNOWN_TRACK
