"""On-the-fly data augmentation: small random affine warps and lighting changes, a batch at a time.

Everything is vectorized over the batch (no Python loop over images) and drawn from the generator
passed in, so a training run is repeatable. There are no flips: a mirrored "Keep left" is "Keep
right", and a mirrored "Dangerous curve to the left" is a sign that says the opposite.

    warped = augment(images, rng)    # uint8 or float (N, H, W, C) in 0..255 -> float32, same shape
    tilted = random_perspective(warped, rng, max_corner_shift=3.0)   # a sign seen from the side
    blurred = lower_resolution(tilted, rng, fraction=0.5)    # some images seen through fewer pixels
"""
import functools
from dataclasses import dataclass

import numpy as np

from .sampling import bilinear_sample
from .resize import area_matrix, interpolation_matrix

#: lower_resolution's smallest side, in pixels: half the input's. GTSRB's smallest crops are 25 px
#: (signs of about 16 px inside their margin), so this goes below any sign in the collection.
SMALLEST_SIDE = 16


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation: float = 12.0       # degrees, either way
    min_scale: float = 0.9
    max_scale: float = 1.1
    max_shift: float = 2.5           # pixels, along each axis
    max_contrast: float = 0.3        # contrast factor in [1 - max_contrast, 1 + max_contrast]
    max_brightness: float = 0.3      # brightness factor in [1 - max_brightness, 1 + max_brightness]

    def scaled(self, strength):
        """Every range times ``strength`` (0: no augmentation, 1: these defaults)."""
        return AugmentConfig(self.max_rotation * strength, 1 - (1 - self.min_scale) * strength,
                             1 + (self.max_scale - 1) * strength, self.max_shift * strength,
                             self.max_contrast * strength, self.max_brightness * strength)


def augment(images, rng, config=AugmentConfig()):
    """Random affine warp (rotation, scale, shift) then random contrast and brightness."""
    return adjust_lighting(random_affine(images, rng, config), rng, config)


def random_affine(images, rng, config=AugmentConfig()):
    """Warp each image by its own rotation theta, scale s and shift t about the image centre c.

    Each output pixel p takes the input at the inverse map q = R(-theta) (p - c - t) / s + c,
    read with bilinear interpolation; q outside the image is clamped to the border (GTSRB crops have
    a margin of background there, so repeating it looks natural).
    images: (N, H, W, C) -> float32 (N, H, W, C).
    """
    N, H, W, C = images.shape
    theta = np.deg2rad(rng.uniform(-config.max_rotation, config.max_rotation, N))
    scale = rng.uniform(config.min_scale, config.max_scale, N)
    shift_x, shift_y = rng.uniform(-config.max_shift, config.max_shift, (2, N))
    cos, sin = (np.cos(theta) / scale)[:, None, None], (np.sin(theta) / scale)[:, None, None]

    centre_y, centre_x = (H - 1) / 2, (W - 1) / 2
    rows, columns = np.mgrid[0:H, 0:W]
    dx = columns[None] - centre_x - shift_x[:, None, None]          # (N, H, W)
    dy = rows[None] - centre_y - shift_y[:, None, None]
    source_x = np.clip(cos * dx + sin * dy + centre_x, 0, W - 1)
    source_y = np.clip(-sin * dx + cos * dy + centre_y, 0, H - 1)
    return bilinear_sample(images, source_y, source_x)


def random_perspective(images, rng, max_corner_shift):
    """Warp each image by its own projective map: the sign as seen from a little to the side.

    Each of the four corners of the input that output corner k reads is the output corner moved by
    (dx_k, dy_k), each uniform in [-max_corner_shift, max_corner_shift] pixels. The 3x3 homography
    M with M (p_k, 1) ~ (q_k, 1) for the four pairs (output corner p_k, input point q_k) is solved per
    image (homography), and each output pixel p reads the input at q = (M_0 p~ / M_2 p~, M_1 p~ / M_2 p~),
    bilinear, clamped to the border like ``random_affine``. max_corner_shift = 0 returns the images.
    images: (N, H, W, C) -> float32 (N, H, W, C).
    """
    N, H, W, C = images.shape
    corners = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], dtype=np.float64)    # (x, y)
    moved = corners + rng.uniform(-max_corner_shift, max_corner_shift, (N, 4, 2))
    M = homography(np.broadcast_to(corners, (N, 4, 2)), moved)                     # (N, 3, 3)
    rows, columns = np.mgrid[0:H, 0:W]
    points = np.stack([columns.ravel(), rows.ravel(), np.ones(H * W)])           # (3, H W)
    mapped = M @ points                                                            # (N, 3, H W)
    source_x = np.clip(mapped[:, 0] / mapped[:, 2], 0, W - 1).reshape(N, H, W)
    source_y = np.clip(mapped[:, 1] / mapped[:, 2], 0, H - 1).reshape(N, H, W)
    return bilinear_sample(images, source_y, source_x)


def homography(points, targets):
    """The 3x3 matrices M (M[2, 2] = 1) taking each of 4 points (x, y) to its target (u, v):
    u = (a x + b y + c) / (g x + h y + 1), v = (d x + e y + f) / (g x + h y + 1), two linear equations
    per pair in (a..h). points, targets: (N, 4, 2) -> (N, 3, 3)."""
    N = points.shape[0]
    x, y = points[..., 0], points[..., 1]
    u, v = targets[..., 0], targets[..., 1]
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    rows_u = np.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], axis=-1)   # (N, 4, 8)
    rows_v = np.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], axis=-1)
    A = np.concatenate([rows_u, rows_v], axis=1)                                    # (N, 8, 8)
    b = np.concatenate([u, v], axis=1)[..., None]                                   # (N, 8, 1)
    solution = np.linalg.solve(A, b)[..., 0]
    return np.concatenate([solution, np.ones((N, 1))], axis=1).reshape(N, 3, 3)


def adjust_lighting(images, rng, config=AugmentConfig()):
    """x' = clip(((x - m) * contrast + m) * brightness, 0, 255), m the image's mean, one contrast
    and brightness factor per image. images: (N, H, W, C) float32 -> same."""
    N = images.shape[0]
    contrast = rng.uniform(1 - config.max_contrast, 1 + config.max_contrast, N).astype(np.float32)
    brightness = rng.uniform(1 - config.max_brightness, 1 + config.max_brightness, N).astype(np.float32)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    out = ((images - mean) * contrast[:, None, None, None] + mean) * brightness[:, None, None, None]
    return np.clip(out, 0, 255, out=out)


#: the order einsum's optimizer picks for lower_resolution's product (resize @ image first, then
#: @ resize.T), given so that it is not searched for again on every call: the same result
RESIZE_ORDER = ["einsum_path", (0, 1), (0, 1)]


@functools.lru_cache(maxsize=None)
def through_fewer_pixels(side, size):
    """U @ D, float32 (size, size): the area average to ``side`` pixels, then the bilinear enlargement
    back to ``size`` (``lower_resolution``). Kept per (side, size); read-only."""
    resize = (interpolation_matrix(side, size) @ area_matrix(size, side)).astype(np.float32)
    resize.flags.writeable = False
    return resize


def lower_resolution(images, rng, fraction, smallest=SMALLEST_SIDE):
    """A random ``fraction`` of the images, each as if photographed through fewer pixels, then enlarged.

    Image n (chosen with probability ``fraction``) gets a side s_n drawn uniformly from the whole
    numbers smallest..H-1 and becomes

        out[n] = U @ (D @ image[n] @ D.T) @ U.T     D = area_matrix(H, s_n)          (s_n, H)
                                                    U = interpolation_matrix(s_n, H)  (H, s_n)

    per channel (square images, H = W): the area average a sensor with s_n pixels would record, then
    the bilinear enlargement GTSRB applied to its crops smaller than 32 px. Digits and pictograms
    lose their detail as in the far frames of a track. The others are returned as they are.
    images: (N, H, H, C) float -> float32 (N, H, H, C).
    """
    N, H, W, _ = images.shape
    if H != W:
        raise ValueError(f"lower_resolution takes square images, got {H}x{W}")
    out = np.array(images, dtype=np.float32)
    chosen = rng.random(N) < fraction
    sides = rng.integers(smallest, H, N)                   # drawn for every image: repeatable streams
    for side in np.unique(sides[chosen]):
        index = np.flatnonzero(chosen & (sides == side))
        resize = through_fewer_pixels(int(side), H)
        out[index] = np.einsum("ab,nbcz,dc->nadz", resize, out[index], resize, optimize=RESIZE_ORDER)
    return out
