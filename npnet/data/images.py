"""Turn any image file into the training form: uint8 (32, 32, 3) RGB.

Every tool (the loaders, ``explain.py`` on a photo, the tests) goes through ``to_model_image``, so an
image is prepared the same way wherever it comes from:

1. the first frame only (animated GIF, multi-page TIFF);
2. to RGB: transparency (RGBA, LA, palette with a transparent colour) is composited on white; 16-bit,
   32-bit and float grayscale are scaled to 0..255 (see ``_gray_to_8bit``); palette and CMYK are
   converted by Pillow;
3. resized to 32x32 with ``Image.resize((32, 32), Image.Resampling.BILINEAR)``, the resampling used
   to prepare the official release's full-size crops for training here.

A pixel limit guards against decompression bombs: the size in the file's header is checked before any
pixel is decoded. Only a regular file of at most ``MAX_FILE_BYTES`` is opened (``npnet.io.reading``),
and only in the formats photos and GTSRB come in (``FORMATS``): Pillow's other decoders (ICO, whose
header can name a small size for a huge embedded PNG; EPS, which calls Ghostscript; ...) are never
tried. Pillow's warnings on odd files are not printed; the file is read or refused in one line.
"""

from __future__ import annotations

import io
import warnings
import numpy as np
from PIL import Image

from npnet.io.errors import ImageError
from npnet.io.reading import MAX_FILE_BYTES, open_regular

MODEL_SIZE = (32, 32)
FORMATS = ("PNG", "JPEG", "PPM", "BMP", "GIF", "TIFF", "WEBP")
MAX_PIXELS = 50_000_000  # refuse larger images before decoding them (a 50 Mpx RGB image is 150 MB)
WHITE = (255, 255, 255)


def load_image(path, data: bytes | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read the image at ``path`` as uint8 (32, 32, 3) RGB.

    path       : the file; also the name used in error messages
    data       : the file's bytes, when it is not on disk (a member of a zip); ``path`` then only names it
    max_pixels : width * height above which the file is refused before decoding

    Raises ImageError "PATH: cannot read image (reason)" for a missing, empty, corrupt or too large file,
    and for one that is not a regular file (a FIFO, a device, a folder).
    """
    if data is not None:
        file = io.BytesIO(data)
    else:  # a regular file only (a FIFO would block for ever), of at most MAX_FILE_BYTES
        file = open_regular(path, MAX_FILE_BYTES, error=ImageError, doing="cannot read image")
    with file:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(file, formats=FORMATS)
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(
                        f"{path}: cannot read image ({width}x{height} is more than {max_pixels:,} pixels)"
                    )
                return to_model_image(image)
        except ImageError:
            raise
        except Exception as error:  # Pillow raises many types for a bad file: report them all as one line
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            if isinstance(error, Image.UnidentifiedImageError):
                reason = f"not an image in one of the formats read: {', '.join(FORMATS)}"
            raise ImageError(f"{path}: cannot read image ({reason})") from None


def to_model_image(image: Image.Image) -> np.ndarray:
    """A Pillow image of any size and mode as uint8 (32, 32, 3) RGB, C-contiguous."""
    image.seek(0)  # the first frame of an animation
    rgb = _to_rgb(image)
    small = rgb.resize(MODEL_SIZE, Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(small, dtype=np.uint8))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode as 8-bit RGB at the same size."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE + (255,)), rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        return _gray_to_8bit(image).convert("RGB")
    return image.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


def _gray_to_8bit(image: Image.Image) -> Image.Image:
    """Wide grayscale (I;16*, I, F) as 8-bit L, scaled by the range the values can come from.

    I;16 (16-bit PNG)       : 0..65535 -> 0..255
    I (32-bit integers)     : by the largest value: <= 255 kept, <= 65535 as 16-bit, else as 32-bit
    F (floats)              : 0..1 -> 0..255 when no value exceeds 1, else clipped to 0..255

    A float pixel that is NaN or infinite (a float TIFF can hold them) is no grey level: ValueError,
    which ``load_image`` reports as the file's one line.
    """
    values = np.asarray(image).astype(np.float64)
    bad = np.count_nonzero(~np.isfinite(values))
    if bad:
        raise ValueError(f"{bad:,} of its {values.size:,} pixels are NaN or infinite, not grey levels")
    top = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16"):
        scale = 255 / 65535
    elif image.mode == "F":
        scale = 255.0 if top <= 1.0 else 1.0
    elif top <= 255:
        scale = 1.0
    elif top <= 65535:
        scale = 255 / 65535
    else:
        scale = 255 / (2**32 - 1)
    gray = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(gray)  # 2-D uint8 is mode L
