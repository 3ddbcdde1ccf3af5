"""Shared fixtures: an untrained seed net saved as a checkpoint, and the CLI loaded from explain.py."""
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from npnet.io import checkpoint
from npnet.data import class_names
from npnet.engine.seed_net import seed_net

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    """explain.py as a module (loaded by path: 'explain' is also this test package's name)."""
    spec = importlib.util.spec_from_file_location("explain_cli", ROOT / "explain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """An untrained seed net, saved as train.py would save a checkpoint."""
    path = tmp_path_factory.mktemp("model") / "untrained.h5"
    checkpoint.save(seed_net(), path, class_names=class_names(), preprocessing={"name": "seed"})
    return path


def write_pickle(path, n, seed=0):
    """A split in the seed's pickle layout with ``n`` random images."""
    rng = np.random.default_rng(seed)
    data = {"features": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
            "labels": rng.integers(0, 43, n).astype(np.uint8),
            "sizes": np.full((n, 2), 32, dtype=np.int32),
            "coords": np.tile(np.array([2, 2, 30, 30], dtype=np.int32), (n, 1))}
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    return path


@pytest.fixture(scope="session")
def data_folder(tmp_path_factory):
    """A tiny GTSRB folder: train.p, valid.p and test.p of random images."""
    folder = tmp_path_factory.mktemp("gtsrb")
    for seed, split in enumerate(("train", "valid", "test")):
        write_pickle(folder / f"{split}.p", 40, seed)
    return folder


@pytest.fixture(scope="session")
def odd_images(tmp_path_factory):
    """Image files of awkward sizes and modes, all readable."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    files = {
        "rgba.png": Image.fromarray(rng.integers(0, 256, (40, 50, 4), dtype=np.uint8), "RGBA"),
        "gray.jpg": Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8), "L"),
        "pixel.png": Image.new("RGB", (1, 1), (200, 30, 30)),
        "wide.png": Image.fromarray(rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)),
    }
    paths = []
    for name, image in files.items():
        image.save(folder / name)
        paths.append(folder / name)
    return paths


@pytest.fixture
def corrupt_image(tmp_path):
    path = tmp_path / "corrupt.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a PNG")
    return path
