"""What every explain.py command shares: loading a checkpoint and images, the output folder, titles."""
import sys
from pathlib import Path

import numpy as np

from ...io import checkpoint
from ...io.load import load_model
from ...data import class_names as data_class_names, load_gtsrb, load_split
from ...io.errors import NpnetError
from ...io.provenance import training_split_note
from ...explain import model_class_names, plots, resolve_class
from ...data.images import load_image
from ...data.preprocessing import preprocess
from ...training.holdout import split_holdout
from ...training.recipes import Recipe
from ..boundary import check_cache_dir, one_line, prepare_out, whole_number

PROG = "explain.py"
NO_MODEL = "no trained model under runs/: run `make train` first"


class Model:
    """A checkpoint, ready to use: the network, its preprocessing and its class names."""

    def __init__(self, path, data_path=None):
        self.path = path
        self.net, metadata = load_model(path, input_shape=checkpoint.IMAGE_INPUT)   # npnet's or a Keras file
        self.metadata = metadata      # the recipe, the epoch, ... (``checkpoint.load``)
        self.spec = metadata.get("preprocessing")
        if not isinstance(self.spec, dict):
            raise NpnetError(f"{path}: the checkpoint records no preprocessing spec; cannot feed it images")
        names = metadata.get("class_names")
        if names is None and data_path is not None:
            names = data_class_names(data_path)
        self.names = model_class_names(self.net, names)

    def input(self, images):
        """uint8 images (N, 32, 32, 3) -> the model's float input. uint8 pixels are always finite, so
        a value that is not comes from the checkpoint's preprocessing statistics: the line says so."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            x = preprocess(images, self.spec)
        if not np.isfinite(x).all():
            raise NpnetError(f"{self.path}: the checkpoint's preprocessing {self.spec.get('name')!r} turns the "
                             "images into values that are not finite (its statistics overflow float32)")
        return x


def read_images(paths):
    """Load every file; a bad one is reported on stderr (one line) and skipped.
    Returns (images uint8 (M, 32, 32, 3), the M paths read, number of failures)."""
    images, read, failed = [], [], 0
    for path in paths:
        try:
            images.append(load_image(path))
            read.append(path)
        except NpnetError as error:
            print(f"{PROG}: {one_line(error)}", file=sys.stderr)
            failed += 1
    return np.array(images, dtype=np.uint8).reshape(-1, 32, 32, 3), read, failed


def out_dir(args):
    """The --out folder, created and checked writable (``npnet.cli.boundary.prepare_out``)."""
    return prepare_out(args.out)


def wrote(path, quiet=False):
    """Report a written file (on stderr when stdout carries JSON)."""
    print(f"wrote {one_line(path)}", file=sys.stderr if quiet else sys.stdout)


def titled(role, class_id, names, prob):
    return f"{role}: {plots.wrap(names[class_id], 22)}\n(id {class_id}) p = {prob:.1%}"


positive = whole_number(1)      # argparse type: a whole number >= 1


def cache_folder(args):
    """--cache-dir, or a folder inside --out: explain.py writes nowhere else. Refused in one line
    when it exists and is not a folder (``boundary.check_cache_dir``), before any data is read."""
    if getattr(args, "cache_dir", None) is not None:
        return check_cache_dir(args.cache_dir)
    return check_cache_dir(Path(args.out) / "cache", "the cache folder (OUT/cache; choose another with --cache-dir)")


def load_labelled(path, split, cache_dir=None, model=None):
    """The split to evaluate: a pickle file or a folder's test split, or --split train/valid, or
    --split holdout: the training tracks ``model``'s run held out (``train.py --holdout-tracks``);
    refused when it holds no image. ``cache_dir``: see ``cache_folder``."""
    if split == "holdout":
        return held_out_tracks(path, model, cache_dir)
    data = (load_split(path, cache_dir=cache_dir, progress=False) if split == "test"
            else load_gtsrb(path, cache_dir=cache_dir, progress=False)[split])
    if len(data) == 0:
        raise NpnetError(f"{data.source}: holds no images to evaluate")
    return data


def trained_on_note(model, data, split, quiet=False):
    """Print, in one line, that ``model`` trained on ``data`` (loaded as ``split``) when it did
    (``npnet.io.provenance``); on stderr when stdout carries JSON. Returns the line or None."""
    note = training_split_note(model.path, model.metadata, split, data.source)
    if note is not None:
        print(one_line(note), file=sys.stderr if quiet else sys.stdout)
    return note


def held_out_tracks(path, model, cache_dir=None):
    """The tracks of ``path``'s training split that ``model``'s run held out of training, rebuilt from
    the fraction its checkpoint records (``npnet.training.holdout``: the same fold on every run)."""
    recipe = model.metadata.get("recipe")
    try:
        fraction = Recipe.from_dict(recipe).holdout_tracks if isinstance(recipe, dict) else 0.0
    except (TypeError, ValueError) as error:       # the recipe's own checks, as train.py makes them
        raise NpnetError(f"{model.path}: records a recipe that is not valid ({error})") from None
    if fraction == 0:
        raise NpnetError(f"{model.path}: --split holdout needs a checkpoint trained with --holdout-tracks; "
                         f"this one records no held-out tracks")
    train = load_gtsrb(path, cache_dir=cache_dir, progress=False)["train"]
    _, held = split_holdout(train, fraction, Recipe.from_dict(recipe).holdout_fold)
    if held is None or len(held) == 0:
        raise NpnetError(f"{train.source}: holding out {fraction:g} of its tracks leaves none to evaluate")
    held.source = f"{train.source} (the tracks held out of training, {fraction:g})"
    return held


def explained_classes(predicted, asked, true=None):
    """[(class id, role)]: the predicted class, then the asked ones, then the true one, each once;
    role is 'predicted', 'true', 'predicted = true' or 'class'."""
    classes = list(dict.fromkeys([predicted, *asked] + ([true] if true is not None else [])))
    roles = [" = ".join(role for role, match in (("predicted", c == predicted), ("true", c == true)) if match)
             or "class" for c in classes]
    return list(zip(classes, roles))


def explanation_rows(model, images, asked, trues):
    """What a figure of several images explains: the model's input x, its probabilities (M, K), and
    the rows [(image n, class c, role)], for each image its predicted class, then ``asked``, then
    its true class (``trues[n]``, or None), each once (``explained_classes``)."""
    x = model.input(images)
    probs = model.net.predict_proba(x)
    rows = [(n, c, role) for n in range(len(images))
            for c, role in explained_classes(int(probs[n].argmax()), asked, trues[n])]
    return x, probs, rows


def true_classes(values, count, names):
    """--true given once (for every image) or once per image -> a list of ``count`` ids (or Nones)."""
    if not values:
        return [None] * count
    ids = [resolve_class(value, names) for value in values]
    if len(ids) == 1:
        return ids * count
    if len(ids) != count:
        raise NpnetError(f"--true: give one class for all images or one per image ({count}), got {len(ids)}")
    return ids


def method_options(pairs):
    """--option NAME=VALUE ... -> {NAME: int or float}; the method checks the names and ranges."""
    options = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise NpnetError(f"--option {pair!r}: write NAME=VALUE, e.g. steps=128")
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise NpnetError(f"--option {pair!r}: the value must be a number") from None
            if not np.isfinite(value):
                raise NpnetError(f"--option {pair!r}: the value must be a finite number")
        options[name.strip()] = value
    return options
