"""Tiny GTSRB fixtures in every layout, built in ``tmp_path`` with Pillow, csv, pickle and zipfile.

Each image is one solid colour that encodes its row (``colour_of``), and a solid colour survives the
resize to 32x32 exactly, so a test can check that every image landed on the row its label says.
"""

from __future__ import annotations

import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# (class, track, frame, width, height): three classes, odd sizes, a 1x1 image, two tracks in class 2
TRAINING = [
    (0, 0, 0, 31, 35), (0, 0, 1, 40, 44), (0, 1, 0, 29, 30), (0, 1, 1, 50, 41),
    (2, 0, 0, 1, 1), (2, 0, 1, 64, 32), (2, 3, 0, 33, 33), (2, 3, 1, 27, 48),
    (10, 0, 0, 45, 40), (10, 0, 1, 36, 38), (10, 5, 0, 30, 31), (10, 5, 1, 52, 50),
]
# (class, width, height) of each test image 00000.ppm, 00001.ppm, ...
TEST = [(10, 40, 40), (0, 32, 32), (2, 60, 45), (10, 35, 30)]


def colour_of(row: int, split: str = "train") -> tuple[int, int, int]:
    """A distinct solid colour for each row of a split."""
    return (17 * row % 256, 200 if split == "train" else 100, 255 - 9 * row)


def box_of(width: int, height: int) -> tuple[int, int, int, int]:
    """An original-pixel sign box inside a width x height image."""
    return (width // 5, height // 6, width - 2, height - 3)


def scaled(width, height):
    x1, y1, x2, y2 = box_of(width, height)
    return [x1 * 32 / width, y1 * 32 / height, (x2 + 1) * 32 / width, (y2 + 1) * 32 / height]


@dataclass
class Expected:
    """What loading a fixture should give, row by row."""

    labels: np.ndarray
    boxes: np.ndarray
    tracks: np.ndarray
    colours: np.ndarray  # (N, 3): the colour of every pixel of image i


def expected_training(tracks_known: bool = True) -> Expected:
    return Expected(
        labels=np.array([c for c, *_ in TRAINING]),
        boxes=np.array([scaled(w, h) for *_, w, h in TRAINING], dtype=np.float32),
        tracks=np.array([c * 100_000 + t if tracks_known else -1 for c, t, *_ in TRAINING]),
        colours=np.array([colour_of(i) for i in range(len(TRAINING))]),
    )


def expected_test() -> Expected:
    return Expected(
        labels=np.array([c for c, _, _ in TEST]),
        boxes=np.array([scaled(w, h) for _, w, h in TEST], dtype=np.float32),
        tracks=np.full(len(TEST), -1),
        colours=np.array([colour_of(i, "test") for i in range(len(TEST))]),
    )


def write_csv(path: Path, header: list[str], rows: list[list], delimiter: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [delimiter.join(header)] + [delimiter.join(map(str, row)) for row in rows]
    path.write_text("\r\n".join(lines) + "\r\n")  # the official CSVs end lines with CRLF


def write_image(path: Path, size, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


OFFICIAL_HEADER = ["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"]


def build_official_training(folder: Path) -> Path:
    """``folder/000NN/GT-000NN.csv`` and ``TTTTT_FFFFF.ppm`` per class, as in the official release."""
    rows_by_class = {}
    for row, (c, track, frame, w, h) in enumerate(TRAINING):
        file = f"{track:05d}_{frame:05d}.ppm"
        write_image(folder / f"{c:05d}" / file, (w, h), colour_of(row))
        rows_by_class.setdefault(c, []).append([file, w, h, *box_of(w, h), c])
    for c, rows in rows_by_class.items():
        write_csv(folder / f"{c:05d}" / f"GT-{c:05d}.csv", OFFICIAL_HEADER, rows, ";")
    return folder


def build_official_test(images: Path, gt_csv: Path) -> None:
    """``images/NNNNN.ppm`` with the unlabeled ``GT-final_test.test.csv`` beside them, and the labelled GT."""
    rows = []
    for row, (c, w, h) in enumerate(TEST):
        write_image(images / f"{row:05d}.ppm", (w, h), colour_of(row, "test"))
        rows.append([f"{row:05d}.ppm", w, h, *box_of(w, h), c])
    write_csv(images / "GT-final_test.test.csv", OFFICIAL_HEADER[:-1], [r[:-1] for r in rows], ";")
    write_csv(gt_csv, OFFICIAL_HEADER, rows, ";")


def build_official(root: Path, training_folder: str = "GTSRB/Final_Training/Images") -> Path:
    """The official release unpacked: training folders, test images, and the GT csv at the top."""
    build_official_training(root / training_folder)
    build_official_test(root / "GTSRB/Final_Test/Images", root / "GT-final_test.csv")
    return root


def zip_tree(folder: Path, zip_path: Path, only: str = "") -> Path:
    """Zip the files under ``folder`` (only the file or folder ``only``), named relative to ``folder``."""
    target = folder / only
    with zipfile.ZipFile(zip_path, "w") as archive:
        for file in [target] if target.is_file() else sorted(target.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return zip_path


def build_official_zips(root: Path, unpacked: Path) -> Path:
    """The three official zips, made from an unpacked fixture, in a folder of their own."""
    root.mkdir(parents=True, exist_ok=True)
    zip_tree(unpacked, root / "GTSRB_Final_Training_Images.zip", only="GTSRB/Final_Training")
    zip_tree(unpacked, root / "GTSRB_Final_Test_Images.zip", only="GTSRB/Final_Test")
    zip_tree(unpacked, root / "GTSRB_Final_Test_GT.zip", only="GT-final_test.csv")
    return root


KAGGLE_HEADER = ["Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId", "Path"]


def build_kaggle(root: Path) -> Path:
    """``Train.csv``, ``Train/<id>/CCCCC_TTTTT_FFFFF.png``, ``Test.csv``, ``Test/NNNNN.png``."""
    rows = []
    for row, (c, track, frame, w, h) in enumerate(TRAINING):
        path = f"Train/{c}/{c:05d}_{track:05d}_{frame:05d}.png"
        write_image(root / path, (w, h), colour_of(row))
        rows.append([w, h, *box_of(w, h), c, path])
    write_csv(root / "Train.csv", KAGGLE_HEADER, rows, ",")
    rows = []
    for row, (c, w, h) in enumerate(TEST):
        path = f"Test/{row:05d}.png"
        write_image(root / path, (w, h), colour_of(row, "test"))
        rows.append([w, h, *box_of(w, h), c, path])
    write_csv(root / "Test.csv", KAGGLE_HEADER, rows, ",")
    return root


def pickle_dict(n: int = 6, seed: int = 0) -> dict:
    """A dict in the seed's pickle layout with ``n`` random images."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(25, 80, size=(n, 2)).astype(np.int32)
    coords = np.stack([sizes[:, 0] // 5, sizes[:, 1] // 6, sizes[:, 0] - 2, sizes[:, 1] - 3], axis=1)
    return {
        "features": rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
        "labels": rng.integers(0, 43, size=n).astype(np.uint8),
        "sizes": sizes,
        "coords": coords.astype(np.int32),
    }


def write_pickle(path: Path, content, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        pickle.dump(content, file, protocol=protocol)
    return path


@pytest.fixture
def official(tmp_path) -> Path:
    return build_official(tmp_path / "official")


@pytest.fixture
def official_zips(tmp_path, official) -> Path:
    return build_official_zips(tmp_path / "zips", official)


@pytest.fixture
def kaggle(tmp_path) -> Path:
    return build_kaggle(tmp_path / "kaggle")


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


THIS_MODULE = sys.modules[__name__]


@pytest.fixture
def fixtures():
    """This module, so a test can call its builders and read its expectations: ``fixtures.build_kaggle(...)``."""
    return THIS_MODULE
