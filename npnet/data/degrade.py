"""Camera degradations for training: sensor noise and JPEG compression, a batch at a time.

The official GTSRB test images come from other drives and cameras than the training tracks; these show
the net the two artefacts a cheaper camera or a stored photo adds, at random strengths, drawn from the
generator passed in (repeatable, like ``augment``):

    noisy = add_noise(images, rng, max_sigma=8.0)          # float (N, H, W, C) 0..255 -> float32
    compressed = jpeg(noisy, rng, fraction=0.5)            # some images saved as JPEG and read back
"""
import io

import numpy as np
from PIL import Image

#: JPEG qualities drawn for ``jpeg``: from a heavily compressed web thumbnail to a camera's default.
QUALITY_RANGE = (15, 90)


def add_noise(images, rng, max_sigma):
    """x' = clip(x + sigma_n z, 0, 255), z standard normal per pixel and channel, sigma_n uniform in
    [0, max_sigma] per image (pixel units). images: (N, H, W, C) -> float32, same shape."""
    N = images.shape[0]
    sigma = rng.uniform(0, max_sigma, N).astype(np.float32)[:, None, None, None]
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(np.asarray(images, dtype=np.float32) + sigma * noise, 0, 255)


def jpeg(images, rng, fraction, quality_range=QUALITY_RANGE):
    """A random ``fraction`` of the images saved as JPEG (Pillow, 4:2:0 chroma subsampling, the
    default) at a quality uniform in ``quality_range`` and decoded again; the others unchanged.
    Every image's quality is drawn whether chosen or not (repeatable streams).
    images: (N, H, W, 3) 0..255 -> float32, same shape."""
    N = images.shape[0]
    out = np.array(images, dtype=np.float32)
    chosen = rng.random(N) < fraction
    quality = rng.integers(quality_range[0], quality_range[1] + 1, N)
    for n in np.flatnonzero(chosen):
        out[n] = jpeg_round_trip(out[n], int(quality[n]))
    return out


def jpeg_round_trip(image, quality):
    """One (H, W, 3) image, 0..255, rounded to uint8, encoded at ``quality`` and decoded: float32."""
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8)).save(buffer, format="JPEG",
                                                                           quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32)
