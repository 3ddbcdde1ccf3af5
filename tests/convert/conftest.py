"""What the export tests share: images to compare logits on (real GTSRB when NPNET_DATA is set, else
random pixels) and a seed net with random weights, biases included."""
import os
from pathlib import Path

import numpy as np
import pytest

from npnet.data import load_split
from npnet.engine.seed_net import seed_net

from .keras_files import random_weights


@pytest.fixture(scope="session")
def images():
    """64 uint8 images (64, 32, 32, 3): the first of valid.p where NPNET_DATA points, else random."""
    folder = os.environ.get("NPNET_DATA")
    if folder and (Path(folder) / "valid.p").exists():
        return load_split(Path(folder) / "valid.p", progress=False).images[:64]
    return np.random.default_rng(7).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def net():
    return random_weights(seed_net(seed=5), seed=6)


def relative_difference(actual, expected):
    """max |actual - expected| / max |expected|: the issue's measure of a round trip (< 1e-5 in float32)."""
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.abs(np.asarray(actual, dtype=np.float64) - expected).max() / np.abs(expected).max())
