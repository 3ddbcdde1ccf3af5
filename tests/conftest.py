from npnet.runtime import process as runtime

runtime.quiet_thread_pools()  # before numpy: OpenBLAS reads the thread settings when it loads
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
