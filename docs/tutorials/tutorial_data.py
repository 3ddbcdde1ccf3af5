"""The images the tutorials run on, and the few lines that train a small net on them.

    train, valid, source = load_signs(train_per_class=80, valid_count=1000)
    losses = quick_train(model, train)          # 5 epochs of Adam: about 30 s on 2 busy cores

With ``NPNET_DATA`` pointing at a folder holding the seed's pickles (``train.p``, ``valid.p``), these
are real GTSRB images: up to
``train_per_class`` training images of each of the 43 classes, and ``valid_count`` validation images
drawn at random (whole tracks the training images never show). Without it, they are a synthetic sample
of seven sign classes drawn here (``synthetic_signs``), with the GTSRB class ids, so a fresh clone with
no data runs every notebook; nothing is ever downloaded. Both are ``npnet.data.Dataset`` splits:
uint8 images (N, 32, 32, 3), int64 labels, and the sign's box (x1, y1, x2, y2) in the 32x32 image.
"""
import os
from pathlib import Path

import numpy as np

from npnet.data import Dataset, read_pickle
from npnet.data.names import OFFICIAL_NAMES as CLASS_NAMES
from npnet.data.preprocessing import preprocess
from npnet.training import train_step

ROAD_WORK = 25
#: the classes of the synthetic sample: GTSRB ids, drawn as (shape, colours, glyph)
SYNTHETIC_CLASSES = (1, 12, 13, 14, 18, 25, 38)
#: what every tutorial feeds its net: the best recipe's centre standardization (``npnet.data.preprocessing``)
SPEC = {"name": "center_standardize"}


def data_folder():
    """The folder ``NPNET_DATA`` names when it holds train.p and valid.p, else None."""
    folder = os.environ.get("NPNET_DATA")
    if folder and (Path(folder) / "train.p").is_file() and (Path(folder) / "valid.p").is_file():
        return Path(folder)
    return None


def load_signs(train_per_class=80, valid_count=1000, seed=0):
    """(train, valid, source): Dataset splits, and where they came from ('GTSRB at ...' or 'synthetic')."""
    rng = np.random.default_rng(seed)
    folder = data_folder()
    if folder is None:
        train = synthetic_signs(train_per_class * len(SYNTHETIC_CLASSES), seed=seed)
        valid = synthetic_signs(valid_count, seed=seed + 1)
        return train, valid, "synthetic sample (NPNET_DATA not set)"
    train, valid = read_pickle(folder / "train.p"), read_pickle(folder / "valid.p")
    rows = np.concatenate([rng.permutation(np.flatnonzero(train.labels == c))[:train_per_class]
                           for c in range(len(CLASS_NAMES))])
    picked = rng.choice(len(valid), size=min(valid_count, len(valid)), replace=False)
    return train.subset(rng.permutation(rows)), valid.subset(np.sort(picked)), f"GTSRB at {folder}"


def quick_train(model, train, epochs=5, batch_size=64, lr=0.003, seed=0):
    """Train ``model`` in place with Adam on ``train`` (preprocessed with SPEC); returns each epoch's mean loss.

    The loop every trainer runs, without the schedule, augmentation or checkpoints: shuffle, then
    ``train_step`` (forward, loss, backward, update) on each batch.
    """
    from npnet.engine.optimizers import Adam
    rng = np.random.default_rng(seed)
    x = preprocess(train.images, SPEC)
    optimizer = Adam(lr=lr)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        batch_losses = [train_step(model, optimizer, x[rows], train.labels[rows])[0]
                        for rows in np.array_split(order, max(1, len(x) // batch_size))]
        losses.append(float(np.mean(batch_losses)))
    return losses


# -- the synthetic sample -------------------------------------------------------------------------
def synthetic_signs(count, seed=0, size=32):
    """``count`` synthetic signs of ``SYNTHETIC_CLASSES`` as a Dataset (tracks unknown).

    Each image: a smooth random background, one sign of radius 6-12 px near the centre, clutter beside it half
    of the time, an exposure between dark and bright, and pixel noise. Road work (25) and General caution (18) are both white
    triangles with a red border and differ only in the glyph, so a small net confuses them.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    boxes = np.empty((count, 4), dtype=np.float32)
    labels = rng.choice(SYNTHETIC_CLASSES, size=count).astype(np.int64)
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    for n, label in enumerate(labels):
        cy, cx = size / 2 + rng.uniform(-2.5, 2.5, size=2)
        r = rng.uniform(6, 12)
        top, bottom = rng.uniform(40, 200, size=(2, 3))
        image = top + (bottom - top) * (rows / size)[..., None]            # sky to ground
        if rng.random() < 0.5:                                             # clutter: a pole, a building
            x0, y0 = rng.integers(0, size, size=2)
            image[y0:y0 + rng.integers(4, 16), x0:x0 + rng.integers(2, 10)] = rng.uniform(0, 255, size=3)
        sign = draw_sign(image, label, (rows - cy) / r, (cols - cx) / r)
        image = image * rng.uniform(0.3, 1.15) + rng.normal(0, 16, image.shape)
        images[n] = np.clip(image, 0, 255).astype(np.uint8)
        ys, xs = np.nonzero(sign)
        boxes[n] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]     # the far edges of the last pixels
    return Dataset(images=images, labels=labels, boxes=boxes,
                   tracks=np.full(count, -1, dtype=np.int64), source="synthetic")


RED, WHITE, BLACK = np.array([200, 30, 30]), np.array([235, 235, 235]), np.array([25, 25, 25])
BLUE, YELLOW = np.array([30, 70, 190]), np.array([240, 200, 20])


def draw_sign(image, label, y, x):
    """Paint sign ``label`` on ``image`` (H, W, 3) in place; y, x are pixel offsets from its centre in
    radii. Returns the (H, W) mask of the sign's pixels."""
    disc = x ** 2 + y ** 2
    up = (y <= 0.8) & (y >= 1.7 * np.abs(x) - 0.9)                    # an upright triangle
    down = (y >= -0.8) & (-y >= 1.7 * np.abs(x) - 0.9)                # pointing down
    inner_up = (y <= 0.55) & (y >= 1.7 * np.abs(x) - 0.45)
    inner_down = (y >= -0.55) & (-y >= 1.7 * np.abs(x) - 0.45)
    layers = {
        1: [(disc <= 1, RED), (disc <= 0.55, WHITE), ((np.abs(y) < 0.35) & (np.abs(np.abs(x) - 0.25) < 0.12), BLACK)],
        12: [(np.abs(x) + np.abs(y) <= 1, WHITE), (np.abs(x) + np.abs(y) <= 0.75, YELLOW)],
        13: [(down, RED), (inner_down, WHITE)],
        14: [(np.maximum(np.abs(x), np.abs(y)) + 0.4 * np.minimum(np.abs(x), np.abs(y)) <= 1, RED),
             ((np.abs(y) < 0.15) & (np.abs(x) < 0.6), WHITE)],
        18: [(up, RED), (inner_up, WHITE), ((np.abs(x) < 0.08) & (y > -0.1) & (y < 0.35), BLACK)],
        25: [(up, RED), (inner_up, WHITE), ((x + 0.05) ** 2 + (y - 0.2) ** 2 < 0.05, BLACK),
             ((np.abs(y - 0.38) < 0.06) & (np.abs(x) < 0.3), BLACK)],
        38: [(disc <= 1, BLUE), ((np.abs(x - y) < 0.15) & (disc < 0.45), WHITE)],
    }
    for mask, colour in layers[int(label)]:
        image[mask] = colour
    return layers[int(label)][0][0]             # the first layer is the sign's outline
