"""Shared helpers for the hostile-input tests: tiny datasets, checkpoints and CLI runs.

Every helper builds its files in ``tmp_path``; nothing here touches the real data or runs/.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def pickle_dict(n: int = 8, seed: int = 0) -> dict:
    """A valid dict in the seed's pickle layout: ``n`` random 32x32 images of classes 0..42."""
    rng = np.random.default_rng(seed)
    return {
        "features": rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
        "labels": rng.integers(0, 43, size=n).astype(np.uint8),
        "sizes": np.full((n, 2), 40, np.int32),
        "coords": np.tile(np.array([4, 4, 36, 36], np.int32), (n, 1)),
    }


def write_pickle(path: Path, content, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    return path


def write_dataset(folder: Path, n_train: int = 16, n_valid: int = 8) -> Path:
    """``folder/train.p`` and ``folder/valid.p``: the smallest data train.py accepts."""
    write_pickle(folder / "train.p", pickle_dict(n_train, seed=1))
    write_pickle(folder / "valid.p", pickle_dict(n_valid, seed=2))
    return folder


def run_script(script: str, *args, cwd=ROOT, env=None, timeout=120) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` from the repository, as a user would run it."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, prog: str, *fragments: str) -> str:
    """Exit status 2, no traceback, and exactly one stderr line ``PROG: ...`` holding every fragment."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_one_line(message: str, *fragments: str) -> None:
    assert "\n" not in message and message.strip() == message and message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture
def checkpoint_file(tmp_path) -> Path:
    """A valid checkpoint of the seed net (seed 3) with a preprocessing spec, as train.py writes."""
    from npnet.io import checkpoint
    from npnet.data.names import OFFICIAL_NAMES
    from npnet.engine.seed_net import seed_net

    path = tmp_path / "model.h5"
    checkpoint.save(seed_net(seed=3), path, class_names=list(OFFICIAL_NAMES), preprocessing={"name": "seed"})
    return path
