"""The annotation CSVs of the official release and the Kaggle mirror, and their sign boxes.

Both list, per image: its file, its original Width and Height, the sign's box Roi.X1, Roi.Y1, Roi.X2,
Roi.Y2 in original pixels, and its ClassId. Only the delimiter and the file column differ
(official: ``Filename`` and ``;``; Kaggle: ``Path`` and ``,``).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from npnet.data.dataset import IMAGE_SIZE
from npnet.io.errors import DataError

NUMBER_COLUMNS = ["Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"]
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only, and small enough for int64


def read_annotations(tree, name: str, file_column: str, delimiter: str) -> dict:
    """The CSV ``name`` in ``tree`` as columns: ``files`` (list of str) and int64 arrays per number column.

    Raises DataError naming the CSV for a missing column or a value that is not a whole number.
    """
    where = tree.label(name)
    try:
        text = tree.read(name).decode("utf-8-sig")  # a tree caps a .csv at MAX_CSV_BYTES
    except UnicodeDecodeError:
        raise DataError(f"{where}: is not a text CSV file") from None
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames or []
        wanted = [file_column] + NUMBER_COLUMNS
        missing = [column for column in wanted if column not in fieldnames]
        if missing:
            raise DataError(f"{where}: missing column(s) {', '.join(missing)} (has: {', '.join(fieldnames)})")
        columns = {column: [] for column in wanted}
        for line, row in enumerate(reader, start=2):
            cells = [v for k, v in row.items() if k is not None and v] + (row.get(None) or [])
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            for column in wanted:
                columns[column].append((row[column] or "").strip())
            for column in NUMBER_COLUMNS:
                if not WHOLE_NUMBER.fullmatch(columns[column][-1]):
                    raise DataError(f"{where}: line {line}: {column} is {columns[column][-1][:40]!r}, "
                                    "expected a whole number")
    except csv.Error as error:  # e.g. a field larger than the csv module's limit
        raise DataError(f"{where}: line {reader.line_num}: not a valid CSV ({error})") from None
    table = {"files": columns[file_column]}
    for column in NUMBER_COLUMNS:
        table[column] = np.array(columns[column], dtype=np.int64)
    return table


def scaled_boxes(x1, y1, x2, y2, width, height, where: str) -> np.ndarray:
    """Boxes in original pixels as float32 (N, 4) in the 32x32 image's pixels, edges as coordinates:
    x1 * 32 / width, y1 * 32 / height, (x2 + 1) * 32 / width, (y2 + 1) * 32 / height.

    GTSRB's x2, y2 (Roi.X2, Roi.Y2; the pickles' coords) are the last pixel inside the box, so the
    box's right and bottom edges are at x2 + 1 and y2 + 1 in original pixel units. A row of four
    zeros is how files without boxes fill the columns: it stays an empty box (0, 0, 0, 0)."""
    width = np.asarray(width, dtype=np.float64)
    height = np.asarray(height, dtype=np.float64)
    if np.any(width <= 0) or np.any(height <= 0):
        raise DataError(f"{where}: an image has a width or height of 0 or less")
    sx, sy = IMAGE_SIZE / width, IMAGE_SIZE / height
    boxes = np.stack([x1 * sx, y1 * sy, (np.asarray(x2) + 1) * sx, (np.asarray(y2) + 1) * sy], axis=1)
    no_box = (np.asarray(x1) == 0) & (np.asarray(y1) == 0) & (np.asarray(x2) == 0) & (np.asarray(y2) == 0)
    boxes[no_box] = 0
    return boxes.astype(np.float32)


def check_files_exist(tree, names: list[str], csv_label: str) -> None:
    """Raise DataError naming the CSV and the first file it lists that is not in ``tree`` (or is a broken symlink)."""
    present = set(tree.names)
    broken = getattr(tree, "broken", {})  # a folder's dangling or looping symlinks
    for name in names:
        if name not in present:
            raise DataError(f"{csv_label}: lists {tree.label(name)}, which is {broken.get(name, 'missing')}")
