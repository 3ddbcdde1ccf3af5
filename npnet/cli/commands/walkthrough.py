"""explain.py walkthrough: one image walked forward and backward through the net, as one offline web page.

The net as columns, left to right (the input, each layer's output as its channels, the logits and
probabilities), and below them the backward: dL/dz = p - y at the logits, each layer's dL/dA, down to
dL/dx. The loss is the cross-entropy of one class: the image's true label when the split has one, else
the predicted class, or --class. Click a unit for its arithmetic with the real numbers, forward and
back; each layer carries its gradient check on this image; a toggle shows one Adam step. One HTML file,
everything inline, nothing fetched (``npnet.walkthrough``)."""
import argparse
import time
from pathlib import Path

import numpy as np

from ...data import class_names, read_pickle
from ...data.images import load_image
from ...engine.seed_net import seed_net
from ...engine.model import Sequential
from ...explain import model_class_names, resolve_class
from ...io.errors import NpnetError
from ...io.files import write_text_atomic
from ... import walkthrough
from ..boundary import one_line, whole_number
from .common import Model, cache_folder, load_labelled, out_dir
from .demo import newest_model

HELP = "one offline web page: a real image walked forward and backward through the net, every unit clickable"
PARENTS = ()
SEED_SPEC = {"name": "seed"}       # the seed's preprocessing, for --untrained without --model
DEFAULT_LR = 0.001                 # Adam's default, when the checkpoint records no recipe


def add_arguments(parser):
    parser.add_argument("image", nargs="?", metavar="IMAGE", help="an image file (or --data with --index)")
    parser.add_argument("--model", help="a checkpoint (default: the newest run's final.h5, else its best.h5)")
    parser.add_argument("--data", help="a labelled split (a pickle, or a GTSRB folder with --split) to take "
                                       "the image from, by --index; its label is the loss's class")
    parser.add_argument("--split", default="test", choices=("test", "valid", "train", "holdout"),
                        help="which split of a folder --data names (default test)")
    parser.add_argument("--index", type=whole_number(0), metavar="N", help="the image's position in --data")
    parser.add_argument("--cache-dir", help="where decoded images of a folder are cached (default OUT/cache)")
    parser.add_argument("--class", dest="target", metavar="ID_OR_NAME", help="the class whose loss is walked "
                        "back (default: the true label, else the predicted class)")
    parser.add_argument("--untrained", action="store_true", help="a fresh random net instead (the architecture "
                        "and preprocessing of --model, or the seed net's), to compare with the trained one")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="the seed of --untrained's weights")
    parser.add_argument("--runs", default="runs", help=argparse.SUPPRESS)


class Untrained:
    """A fresh random net with a model's architecture, preprocessing and class names (``Model``'s fields)."""

    def __init__(self, model, seed, data_path=None):
        if model is None:
            self.net, self.spec, self.path = seed_net(seed=seed), SEED_SPEC, None
            self.names = model_class_names(self.net, class_names(data_path))
        else:
            self.net = Sequential.from_config(dict(model.net.get_config(), seed=seed))
            self.spec, self.path, self.names = model.spec, model.path, model.names
        self.metadata = {}

    input = Model.input


def load_data_image(args, model):
    """(uint8 image, label, 'FILE#N') of --index in --data; a folder's pickle split is read alone."""
    folder = Path(args.data)
    pickle = folder / f"{args.split}.p"
    if args.split in ("train", "valid") and folder.is_dir() and pickle.is_file():
        data = read_pickle(pickle)
    else:
        data = load_labelled(args.data, args.split, cache_folder(args), model)
    if args.index >= len(data):
        raise NpnetError(f"{data.source}: --index {args.index} is outside the split's {len(data):,} images")
    return data.images[args.index], int(data.labels[args.index]), f"{Path(data.source).name}#{args.index}"


def file_stem(args):
    """The page's name: the image's stem, or the split's and the index ('valid_2545', 'gtsrb_valid_2545')."""
    if args.image:
        return Path(args.image).stem
    data = Path(args.data)
    return f"{data.name}_{args.split}_{args.index}" if data.is_dir() else f"{data.stem}_{args.index}"


def run(args):
    began = time.perf_counter()
    if bool(args.image) == (args.data is not None) or (args.data is None) != (args.index is None):
        raise NpnetError("walkthrough: give an image file, or --data with --index (not both)")
    if args.untrained:
        model = Untrained(Model(args.model, args.data) if args.model else None, args.seed, args.data)
    else:
        model = Model(args.model or newest_model(args.runs), args.data)
    if args.image:
        image, label, source = load_image(args.image), None, args.image
    else:
        image, label, source = load_data_image(args, model)
    x = model.input(image[None])
    classes = len(model.names)
    if label is not None and not 0 <= label < classes:
        raise NpnetError(f"{source}: its label {label} is not a class of the model (0..{classes - 1})")
    probs = model.net.predict_proba(x)[0]
    predicted = int(probs.argmax())
    if args.target is not None:
        target, why = resolve_class(args.target, model.names), "chosen with --class"
    elif label is not None:
        target, why = label, "the true label"
    else:
        target, why = predicted, "the predicted class: the image has no label"
    out = out_dir(args)                     # every input checked: now the folder may be made

    recipe = model.metadata.get("recipe") if isinstance(model.metadata.get("recipe"), dict) else {}
    lr = float(recipe.get("lr", DEFAULT_LR))
    network = "a fresh random net" + (f" shaped like {model.path}" if model.path else " (the seed net)") \
        if args.untrained else str(model.path)
    name = model.names[target]
    meta = {"title": f"See backprop happen: {Path(str(source)).name} through the net",
            "subtitle": (f"{network} · the loss: cross-entropy of class {target}, {name} ({why}) · predicted: "
                         f"{model.names[predicted]} (p = {probs[predicted]:.1%})"),
            "model": str(model.path) if model.path else None, "untrained": bool(args.untrained),
            "source": str(source), "label": label, "predicted": predicted, "why": why,
            "names": list(model.names), "preprocessing": str(model.spec.get("name")),
            "lr": lr, "lr_source": ", the checkpoint's recipe" if "lr" in recipe else ", Adam's default",
            "image_alt": f"the image, {Path(str(source)).name}" + (f": {model.names[label]}" if label is not None else "")}
    html, data = walkthrough.build(model.net, image, x, target, meta)
    path = out / f"walkthrough_{file_stem(args)}{'_untrained' if args.untrained else ''}.html"
    write_text_atomic(path, html)
    checked = sum(len(r["entries"]) for block in data["layers"] for r in block["gradient_check"].values())
    print(f"{len(html.encode()) / 1e6:.1f} MB, built in {time.perf_counter() - began:.1f} s "
          f"(gradient checks: {checked:,} entries, {data['checked_entries']} per tensor)")
    print(one_line(path))                 # the page's path, alone on the last line
    return 0
