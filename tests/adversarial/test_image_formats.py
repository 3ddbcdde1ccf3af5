"""Images are read only in the formats users have; Pillow's other decoders are never tried."""
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from npnet.data.images import FORMATS, load_image
from npnet.io.errors import ImageError


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


SIGN = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_read_gives_the_sign(fmt):
    image = load_image(f"sign.{fmt.lower()}", data=encoded(SIGN, fmt))
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("fmt", ["ICO", "TGA", "PCX", "SGI"])
def test_a_format_outside_the_list_is_refused_before_decoding(fmt):
    with pytest.raises(ImageError, match="not an image in one of the formats read: PNG"):
        load_image(f"sign.{fmt.lower()}", data=encoded(SIGN, fmt))


def test_an_eps_file_never_reaches_ghostscript():
    data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageError, match="sign.eps: cannot read image"):
        load_image("sign.eps", data=data)


def test_an_odd_file_is_read_without_a_warning():
    values = np.full((8, 8), 0.5, dtype=np.float32)
    values[0, 0] = 1e30
    data = encoded(Image.fromarray(values, mode="F"), "TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = load_image("float.tif", data=data)
    assert image.shape == (32, 32, 3)


def test_an_odd_file_of_nan_pixels_is_refused_without_a_warning():
    values = np.full((8, 8), np.nan, dtype=np.float32)
    values[0, 0] = 1e30
    data = encoded(Image.fromarray(values, mode="F"), "TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match=r"^float\.tif: cannot read image \(63 of its 64 pixels are NaN"):
            load_image("float.tif", data=data)
