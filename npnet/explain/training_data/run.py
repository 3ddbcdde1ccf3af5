"""A training run as influence reads it: its checkpoints, and the training images they learned from.

``train.py --checkpoint-every K`` keeps ``RUN/checkpoints/epoch_NNN.h5``, each with the epoch's
``learning_rate`` and where its training images came from (``train_data``: the path given to
train.py; ``train_source``: the split's file). Influence scores the images the run trained on: the
training split in its file's order, less any tracks the recipe held out (``holdout_tracks``), and
names them by their position in the whole split (``rows``).
"""
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data import load_gtsrb, load_split
from ...data.dataset import join
from ...io.errors import NpnetError
from ...io.load import load_model
from ...training.holdout import held_out_mask
from ...training.recipes import Recipe
from .tracin import Checkpoint

CHECKPOINT_NAME = re.compile(r"epoch_(\d{3,})\.h5")


@dataclass
class TrainingRun:
    folder: Path
    checkpoints: list          # [Checkpoint], in epoch order
    preprocessing: dict
    class_names: list
    metadata: dict             # the last checkpoint's

    @property
    def final(self):
        return self.checkpoints[-1]


def checkpoint_files(folder):
    """RUN/checkpoints/epoch_NNN.h5, in epoch order; NpnetError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NpnetError(f"{folder}: no such run folder")
    found = sorted((int(match.group(1)), path) for path in (folder / "checkpoints").glob("epoch_*.h5")
                   if (match := CHECKPOINT_NAME.fullmatch(path.name)))
    if not found:
        raise NpnetError(f"{folder}: holds no checkpoints/epoch_NNN.h5 (train with --checkpoint-every K)")
    return [path for _, path in found]


def load_run(folder):
    """The run's checkpoints with their learning rates. Every file must be a checkpoint of one
    architecture with one preprocessing and a finite positive learning rate; NpnetError names the
    first that is not."""
    checkpoints, first = [], None
    for path in checkpoint_files(folder):
        model, metadata = load_model(path)
        rate = metadata.get("learning_rate")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):
            raise NpnetError(f"{path}: records no learning rate (a positive number), got {rate!r}")
        shapes = {key: value.shape for key, value in model.params().items()}
        if first is None:
            first = (shapes, metadata.get("preprocessing"), path)
        elif shapes != first[0] or metadata.get("preprocessing") != first[1]:
            raise NpnetError(f"{path}: is not the same network or preprocessing as {first[2]}")
        checkpoints.append(Checkpoint(model, float(rate), path.name))
    if not isinstance(first[1], dict):
        raise NpnetError(f"{first[2]}: records no preprocessing spec; cannot feed it images")
    return TrainingRun(Path(folder), checkpoints, first[1], list(metadata.get("class_names") or []), metadata)


def training_images(run, data=None, cache_dir=None):
    """(the training split, the rows of it the run trained on): from ``data`` (a path) or else the
    path the checkpoints record. The count must be the one the run trained on. An image folder's
    decoded images are cached in ``cache_dir`` (``load_gtsrb``)."""
    path = data or run.metadata.get("train_data") or run.metadata.get("train_source")
    if not isinstance(path, str) or not path:
        raise NpnetError(f"{run.folder}: its checkpoints do not say where their training images are; "
                         "give --train-data")
    if not os.path.exists(path):
        raise NpnetError(f"{path}: the run's training data is not there (give --train-data)")
    try:
        recipe = Recipe.from_dict(run.metadata.get("recipe") or {})
    except (TypeError, ValueError) as error:
        raise NpnetError(f"{run.folder}: its checkpoints record a recipe that is not valid ({error})") from None
    if recipe.final:            # train.py --final trained on the training and validation splits together
        if not os.path.isdir(path):
            raise NpnetError(f"{path}: a final run trained on a folder's train and valid splits; give that folder")
        splits = load_gtsrb(path, cache_dir=cache_dir, progress=False)
        split = join([splits["train"], splits["valid"]], f"{splits['train'].source} + {splits['valid'].source}")
    else:
        split = (load_gtsrb(path, cache_dir=cache_dir, progress=False)["train"] if os.path.isdir(path)
                 else load_split(path, progress=False))
    fraction = recipe.holdout_tracks
    rows = np.flatnonzero(~held_out_mask(split, fraction, recipe.holdout_fold))
    expected = run.metadata.get("train_size")
    if isinstance(expected, int) and expected != len(rows):
        raise NpnetError(f"{path}: leaves {len(rows)} training images, but the run trained on {expected}")
    return split, rows
