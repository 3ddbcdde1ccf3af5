"""Hostile images: a real decompression bomb is refused from its header without decoding a pixel;
every odd format still comes out as uint8 (32, 32, 3). (Random text, zero bytes, 1x1, 16-bit, CMYK
JPEG, palette transparency, an animated GIF and a fake 60 Mpx header are in tests/data/test_images.py.)"""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from npnet.io.errors import ImageError
from npnet.data.images import MAX_PIXELS, load_image

from .conftest import assert_one_line


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width, height):
    """A valid 1-bit black PNG: a few kB on disk, ``width * height`` pixels (3 bytes each) once decoded."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if Pillow decodes any pixel data."""
    def load(self):
        raise AssertionError(f"{self.size} pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_real_decompression_bomb_is_refused_by_the_pixel_limit_before_decoding(tmp_path, no_decoding):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(12_000, 6_000))  # 72 Mpx: under Pillow's own limit, over ours
    assert path.stat().st_size < 100_000
    with pytest.raises(ImageError) as error:
        load_image(path)
    assert_one_line(str(error.value), "bomb.png: cannot read image (12000x6000 is more than 50,000,000 pixels)")


def test_the_bomb_itself_is_a_valid_image_that_would_decode(tmp_path):
    path = tmp_path / "small_bomb.png"
    path.write_bytes(png_bomb(300, 200))
    assert (load_image(path, max_pixels=MAX_PIXELS) == 0).all()


@pytest.mark.parametrize("name", ["sign.jpg", "sign.gif", "sign.ppm", "sign.bmp", "sign.tif", "sign.webp"])
def test_random_bytes_under_any_image_extension_are_one_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(7).bytes(3000))
    with pytest.raises(ImageError) as error:
        load_image(path)
    assert_one_line(str(error.value), f"{name}: cannot read image (")


def test_a_gif_whose_later_frame_is_larger_gives_the_first_frame(tmp_path):
    first = Image.new("RGB", (20, 20), (0, 200, 0))
    later = Image.new("RGB", (40, 40), (200, 0, 0))
    path = tmp_path / "grow.gif"
    first.save(path, save_all=True, append_images=[later], duration=50)
    out = load_image(path)
    assert out.shape == (32, 32, 3) and out[..., 1].min() > 150 and out[..., 0].max() < 60


def test_a_palette_image_with_per_entry_alpha_is_composited_on_white(tmp_path):
    image = Image.new("P", (16, 16), 1)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    path = tmp_path / "alpha.png"
    image.save(path, transparency=bytes([255, 0]))  # entry 0 opaque red, entry 1 (every pixel) clear
    assert (load_image(path) == 255).all()


def test_a_16_bit_rgb_tiff_is_read(tmp_path):
    path = tmp_path / "deep.tif"
    Image.new("I;16", (20, 10), 40_000).save(path)
    out = load_image(path)
    assert out.shape == (32, 32, 3) and (out == round(40_000 * 255 / 65535)).all()
