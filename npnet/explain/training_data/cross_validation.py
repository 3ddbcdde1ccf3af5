"""Out-of-sample probabilities for every training image: K-fold cross-validation grouped by track.

Confident learning needs, for each training image, the probabilities of a model that never saw it.
A track's ~30 frames are near copies of one physical sign, so the folds hold whole tracks
(``npnet.data.splits.track_folds``): a model that trained on a frame's neighbours would know the
frame, and its probabilities would leak.

    fold k:  train a short run of the recipe on every fold but k, then predict fold k

Each fold is a ``Trainer`` run in ``OUT/fold_K/`` (its model kept; resumable from its last.h5 like
any run) and writes ``fold_K/probabilities.npy`` when done; a fold with that file is not run again.
The probabilities are those of the run's final weights (their moving average when the recipe keeps
one), never ``best.h5``: choosing the epoch on fold k would let fold k's labels in.
"""
import os

import numpy as np
from tqdm import tqdm

from ...data.preprocessing import preprocess
from ...data.splits import track_folds
from ...io.errors import NpnetError
from ...io.files import write_atomic
from ...training import Trainer


def fold_folder(out, k):
    return os.path.join(out, f"fold_{k + 1}")


def probabilities_file(out, k):
    return os.path.join(fold_folder(out, k), "probabilities.npy")


def read_fold(path, rows, classes):
    """A finished fold's probabilities (rows, classes), or None when the fold has not finished."""
    if not os.path.exists(path):
        return None
    try:
        probs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise NpnetError(f"{path}: is not a readable probabilities file ({error}); delete it to run the fold again")
    if probs.shape != (rows, classes) or not np.isfinite(probs).all():
        raise NpnetError(f"{path}: holds {probs.shape} probabilities, expected ({rows}, {classes}) finite "
                         "ones; delete it to run the fold again")
    return probs


def out_of_sample_probabilities(dataset, recipe, out, class_names, folds=5, seed=0, progress=True, log=tqdm.write):
    """(N, K) float32: each image's probabilities from the fold model that did not train on it."""
    fold_of = track_folds(dataset, folds, seed)
    probs = np.zeros((len(dataset), len(class_names)), dtype=np.float32)
    for k in range(folds):
        held = fold_of == k
        done = read_fold(probabilities_file(out, k), int(held.sum()), len(class_names))
        if done is None:
            log(f"fold {k + 1}/{folds}: training on {int((~held).sum())} images, predicting {int(held.sum())}")
            done = train_fold(dataset.subset(~held), dataset.subset(held), recipe, fold_folder(out, k),
                              class_names, progress, log)
            save_array(probabilities_file(out, k), done)
        else:
            log(f"fold {k + 1}/{folds}: done before, read {probabilities_file(out, k)}")
        probs[held] = done
    return probs, fold_of


def save_array(path, array):
    """``np.save`` to ``path``, atomically."""
    def write(temporary):
        with open(temporary, "wb") as handle:
            np.save(handle, array)
    return write_atomic(path, write)


def train_fold(train, held, recipe, folder, class_names, progress, log):
    """Train (or resume) one fold's run; the held images' probabilities under its final weights."""
    if os.path.exists(os.path.join(folder, "last.h5")):
        trainer = Trainer.resume(folder, train, held, class_names, progress=progress, log=log)
    else:
        trainer = Trainer(recipe, train, held, folder, class_names, progress=progress, log=log)
    if trainer.run() == "interrupted":
        raise KeyboardInterrupt
    with trainer.validation_weights():
        return trainer.model.predict_proba(preprocess(held.images, trainer.spec)).astype(np.float32)
