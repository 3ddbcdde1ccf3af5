import npnet  # noqa: F401  (before numpy: OpenBLAS reads npnet's thread settings when it loads)
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
