"""An impossible batch size is refused up front, with the estimate."""
import pytest

from npnet.io.errors import NpnetError
from npnet.runtime.memory import check_batch_fits, training_bytes_per_image
from npnet.engine.seed_net import seed_net


def test_the_estimate_covers_every_activation_and_patch_buffer_of_the_seed_net():
    # conv2d_1 alone keeps 30*30*32 outputs and 30*30*27 patch values per image
    assert training_bytes_per_image(seed_net()) > 4 * (30 * 30 * 32 + 30 * 30 * 27)


def test_a_batch_that_fits_returns_its_estimate():
    model = seed_net()
    assert check_batch_fits(model, 64, available=2**40) == 64 * training_bytes_per_image(model)


def test_a_batch_too_large_for_memory_is_refused_with_the_estimate():
    with pytest.raises(NpnetError, match=r"batch size 100000 needs about \d+\.\d GiB .* only 8.0 GiB is available"):
        check_batch_fits(seed_net(), 100_000, available=8 * 2**30)
