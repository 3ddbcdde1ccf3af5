"""Float images (a 32-bit float TIFF): a NaN or infinite pixel is no grey level, and the file is refused
in one line naming it and how many; a finite one, however large, loads without a warning line."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from npnet.data.images import load_image
from npnet.io.errors import ImageError

from .conftest import assert_one_line_error, run_script


def float_tiff(path, values):
    Image.fromarray(np.asarray(values, dtype=np.float32), mode="F").save(path)
    return path


def with_nan_block(size=40):
    values = np.random.default_rng(0).uniform(0, 1, (size, size)).astype(np.float32)
    values[3:9, 3:9] = np.nan
    return values


@pytest.mark.parametrize("command", ["predict", "gradcam"])
def test_a_float_tiff_with_nan_pixels_is_one_line_naming_it(tmp_path, checkpoint_file, command):
    image = float_tiff(tmp_path / "nan.tif", with_nan_block())
    result = run_script("explain.py", command, "--model", checkpoint_file, image, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", "nan.tif: cannot read image (36 of its 1,600 pixels are NaN or infinite")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("fill", [np.inf, -np.inf, np.nan])
def test_a_float_tiff_of_non_finite_pixels_is_refused_by_the_loader(tmp_path, fill):
    image = float_tiff(tmp_path / "flat.tif", np.full((8, 8), fill))
    with pytest.raises(ImageError, match=r"flat\.tif: cannot read image \(64 of its 64 pixels are NaN or infinite"):
        load_image(image)


def test_a_float_tiff_of_huge_finite_values_loads_without_a_warning_line(tmp_path, checkpoint_file):
    image = float_tiff(tmp_path / "huge.tif", np.full((40, 40), 3e38))
    result = run_script("explain.py", "predict", "--model", checkpoint_file, image, "--out", tmp_path / "out")
    assert result.returncode == 0 and result.stderr == ""


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(values=st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=16, max_size=16))
def test_a_float_image_loads_exactly_when_every_pixel_is_finite(tmp_path_factory, values):
    image = float_tiff(tmp_path_factory.mktemp("float") / "f.tif", np.reshape(values, (4, 4)))
    finite = bool(np.isfinite(values).all())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # a warning anywhere fails the property
        try:
            loaded = load_image(image)
        except ImageError as error:
            assert not finite and "\n" not in str(error) and str(error).startswith(f"{image}: ")
        else:
            assert finite and loaded.dtype == np.uint8 and loaded.shape == (32, 32, 3)
