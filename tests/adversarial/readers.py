"""Helpers for the reader tests: a tiny Kaggle-layout folder, and a run that cannot hang.

A reader that opens a FIFO for reading waits for a writer for ever, so every call that meets one
goes through ``finishes``: it runs in a thread, and when it is still running after the time limit
the FIFOs are opened for writing and closed (the blocked reader then sees end-of-file and returns)
and the test fails instead of hanging CI.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

KAGGLE_HEADER = "Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path"
TIME_LIMIT = 10.0  # seconds; every call here takes well under one


def kaggle_folder(root: Path, n: int = 2) -> Path:
    """``root/Train.csv`` listing ``n`` solid 8x8 PNGs ``Train/0/00000_0000i_00000.png`` (one track each)."""
    rows = []
    for i in range(n):
        name = f"Train/0/00000_{i:05d}_00000.png"
        image_path(root, name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (30 * i, 20, 200)).save(root / name)
        rows.append(f"8,8,1,1,6,6,0,{name}")
    (root / "Train.csv").write_text("\n".join([KAGGLE_HEADER, *rows]) + "\n")
    return root


def image_path(root: Path, name: str = "Train/0/00000_00000_00000.png") -> Path:
    return root / name


def list_in_csv(root: Path, name: str) -> None:
    """Add a row for ``name`` to ``root/Train.csv``."""
    with open(root / "Train.csv", "a") as csv:
        csv.write(f"8,8,1,1,6,6,0,{name}\n")


def finishes(call, *fifos, limit: float = TIME_LIMIT):
    """``call()``'s result (or its exception, raised here), failing the test if it takes over ``limit`` s."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        for fifo in fifos:  # unblock the reader: a writer that opens and closes gives it end-of-file
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(5)
        pytest.fail(f"still running after {limit} s: it waited on a FIFO")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
