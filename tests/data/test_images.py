"""load_image / to_model_image: any image file becomes uint8 (32, 32, 3) RGB."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from npnet.io.errors import ImageError
from npnet.data.images import load_image, to_model_image


def saved(tmp_path, image, name, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def assert_training_form(array):
    assert array.dtype == np.uint8 and array.shape == (32, 32, 3) and array.flags.c_contiguous


@pytest.mark.parametrize(
    "mode, size, name",
    [
        ("RGB", (500, 300), "wide.png"),
        ("RGB", (1, 1), "dot.png"),
        ("RGB", (45, 40), "sign.ppm"),
        ("RGB", (64, 48), "photo.jpg"),
        ("L", (40, 41), "gray.png"),
        ("1", (40, 41), "bits.png"),
        ("P", (33, 35), "palette.png"),
        ("LA", (33, 35), "gray_alpha.png"),
        ("CMYK", (50, 40), "print.jpg"),
    ],
)
def test_every_mode_and_size_becomes_uint8_32x32_rgb(tmp_path, mode, size, name):
    assert_training_form(load_image(saved(tmp_path, Image.new(mode, size), name)))


def test_rgba_is_composited_on_white_where_transparent(tmp_path):
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[:, :20] = (200, 0, 0, 255)  # left half opaque red, right half fully transparent black
    out = load_image(saved(tmp_path, Image.fromarray(pixels), "half.png"))
    assert (out[:, :14] == (200, 0, 0)).all()
    assert (out[:, 18:] == 255).all()


def test_palette_with_a_transparent_colour_is_composited_on_white(tmp_path):
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0] * 256)
    out = load_image(saved(tmp_path, image, "clear.png", transparency=0))
    assert (out == 255).all()


def test_16_bit_grayscale_is_scaled_to_0_255(tmp_path):
    ramp = np.full((30, 30), 65535, np.uint16)
    ramp[:, :15] = 32896  # half of 65535 -> 128
    path = saved(tmp_path, Image.fromarray(ramp), "deep.png")
    assert Image.open(path).mode.startswith("I")
    out = load_image(path)
    assert out[:, 0].tolist() == [[128] * 3] * 32 and (out[:, -1] == 255).all()


def test_float_grayscale_in_0_1_is_scaled_to_0_255():
    out = to_model_image(Image.fromarray(np.full((10, 10), 0.5, np.float32)))
    assert (out == 128).all()


def test_cmyk_jpeg_comes_out_in_rgb_colours(tmp_path):
    path = saved(tmp_path, Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "red.jpg", quality=95)
    red, green, blue = load_image(path)[16, 16].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (30, 30), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "blink.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = load_image(path)
    assert out[..., 0].min() > 200 and out[..., 2].max() < 60


def test_load_image_reads_bytes_given_instead_of_the_file(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (40, 40), (1, 2, 3)), "sign.png")
    out = load_image("archive.zip:sign.png", data=path.read_bytes())
    assert (out == (1, 2, 3)).all()


@pytest.mark.parametrize("content", [b"", b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_an_empty_or_garbage_file_raises_image_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=rf"^{path}: cannot read image \(.+\)$"):
        load_image(path)


def test_a_truncated_image_raises_image_error_naming_it(tmp_path):
    path = saved(tmp_path, Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 60, 3), np.uint8)), "cut.png")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageError, match="cut.png: cannot read image"):
        load_image(path)


def test_a_missing_file_raises_image_error_naming_it(tmp_path):
    with pytest.raises(ImageError, match="nothing.png: cannot read image"):
        load_image(tmp_path / "nothing.png")


def png_claiming_size(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims ``width`` x ``height``: decoding it would need a huge buffer."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_claiming_size(10_000, 6_000))
    with pytest.raises(ImageError, match=r"big.png: cannot read image \(10000x6000 is more than 50,000,000 pixels\)"):
        load_image(path)


def test_a_decompression_bomb_that_pillow_refuses_raises_image_error_naming_it(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming_size(20_000, 20_000))
    with pytest.raises(ImageError, match=r"bomb.png: cannot read image \(.*decompression bomb"):
        load_image(path)


def test_the_pixel_limit_can_be_lowered(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (20, 20)), "small.png")
    with pytest.raises(ImageError, match="more than 100 pixels"):
        load_image(path, max_pixels=100)
