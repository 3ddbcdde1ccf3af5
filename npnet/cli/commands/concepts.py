"""explain.py concepts: does the net use a concept (a shape, a colour, digits) for a class? TCAV.

    explain.py concepts --model M.h5 --data DIR --class "Speed limit (60km/h)" [--layers conv2d_3,dense_1]

For each concept of ``npnet.explain.concepts.CONCEPTS`` and each layer: a CAV (the direction from
random training images to the concept's) learned against each of --random-sets random sets, the
TCAV score of the class's images along it, and a t-test against random-vs-random (Bonferroni over the
concepts); Kim et al. 2018. The data: --data is a GTSRB folder (or zip). Its train split gives the
concept images (the classes that have the concept, the explained class left out; a set drawn afresh
for each random set) and the random sets; the class's images, whose sensitivities are counted, come
from --split (default valid: every layout has one, and TCAV explains the model rather than measures
it, so the test split stays untouched). Writes OUT/concepts_CC.json (what --json prints) and
OUT/concepts_CC.png, CC the class id. See docs/concepts.md.
"""
import argparse
import json
import math
import sys

import numpy as np

from ..boundary import one_line, whole_number
from ...data import load_gtsrb
from ...explain import resolve_class
from ...explain.concepts import CAV_METHODS, CONCEPTS, concept_classes, concept_set, random_sets, tcav, tcav_figure
from ...io.errors import NpnetError
from ...io.files import finite_json, write_text_atomic
from .common import Model, cache_folder, held_out_tracks, out_dir, wrote

HELP = "TCAV: does the net use a concept (shape, colour, digits, ...) for a class, and is it significant"
PARENTS = ("model",)
DEFAULT_LAYERS = "conv2d_3,dense_1"
MIN_CONCEPT_IMAGES = 10     # a concept with fewer training images outside the class is not tested


def number_in(low, high, what):
    """argparse type: a finite number in the open interval (low, high)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low < value < high):
            raise argparse.ArgumentTypeError(f"{what} must be a number in ({low:g}, {high:g}), got {text!r}")
        return value
    return parse


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="a GTSRB folder or zip: its train split gives the concept "
                                                       "and random images")
    parser.add_argument("--split", default="valid", choices=("valid", "test", "train", "holdout"),
                        help="the split whose images of the class are scored (default valid)")
    parser.add_argument("--cache-dir", help="where decoded full-size images of an image folder are cached "
                                            "(default: OUT/cache, inside --out)")
    parser.add_argument("--class", dest="class_name", required=True, metavar="ID_OR_NAME",
                        help="the class explained, e.g. 3 or 'Speed limit (60km/h)'")
    parser.add_argument("--layers", default=DEFAULT_LAYERS, help=f"comma-separated (default {DEFAULT_LAYERS})")
    parser.add_argument("--random-sets", type=whole_number(10, 500), default=10, metavar="R",
                        help="random sets, each a CAV's counterpart (default 10, at least 10)")
    parser.add_argument("--set-size", type=whole_number(10, 5000), default=100, metavar="N",
                        help="images per concept set and per random set (default 100)")
    parser.add_argument("--cav", choices=CAV_METHODS, default="logistic",
                        help="logistic regression (default) or fastcav (the difference of the means)")
    parser.add_argument("--l2", type=number_in(0, math.inf, "--l2"), default=0.01,
                        help="the logistic CAV's L2 penalty (default 0.01)")
    parser.add_argument("--alpha", type=number_in(0, 1, "--alpha"), default=0.05,
                        help="significance level before Bonferroni (default 0.05)")
    parser.add_argument("--seed", type=whole_number(0, 2**32 - 1), default=0,
                        help="seed of the concept and random sets (default 0)")
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")


def layer_names(text, net):
    """--layers a,b -> ['a', 'b']: layers of the net below its last (the logits)."""
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    allowed = [layer.name for layer in net.layers[:-1]]
    if not names:
        raise NpnetError("--layers: name at least one layer, e.g. conv2d_3,dense_1")
    for name in names:
        if name not in allowed:
            raise NpnetError(f"--layers: no layer {name!r} to explain at; choose from {', '.join(allowed)}")
    return names


def scored_split(args, splits, model):
    """The split whose images of the class are scored."""
    if args.split == "holdout":
        return held_out_tracks(args.data, model, cache_folder(args))
    if args.split not in splits:
        raise NpnetError(f"{args.data}: holds no {args.split} split (choose --split valid)")
    return splits[args.split]


def image_sets(train, class_id, set_size, count, seed):
    """({concept: [count index sets]}, {concept: why not tested}, [count random index sets]): per
    run a random set and, for each concept, a concept set drawn afresh (``concept_set``)."""
    if len(train) < 2 * set_size:
        raise NpnetError(f"{train.source}: {len(train)} training images are too few for random sets of "
                         f"{set_size} (at most half of them): give a smaller --set-size")
    randoms = random_sets(len(train), count, set_size, np.random.default_rng([seed, 0]))
    concept_rng = np.random.default_rng([seed, 1])
    chosen, skipped = {}, {}
    for name in CONCEPTS:
        pool = int(np.isin(train.labels, concept_classes(name, class_id)).sum())
        if pool >= MIN_CONCEPT_IMAGES:
            chosen[name] = [concept_set(train.labels, name, set_size, concept_rng, class_id) for _ in range(count)]
        else:
            skipped[name] = (f"{pool} training images of its classes outside the class "
                             f"(at least {MIN_CONCEPT_IMAGES} needed)")
    if not chosen:
        raise NpnetError(f"{train.source}: no concept has {MIN_CONCEPT_IMAGES} training images outside the class")
    return chosen, skipped, randoms


def summary(scores):
    """{'score': mean, 'std': sample std (ddof 1)} of a concept's R scores."""
    return {"score": float(np.mean(scores)), "std": float(np.std(scores, ddof=1))}


def record_of(result, class_name, class_id, chosen, skipped, train, args, scored, count):
    tests = len(chosen)
    return {
        "class": class_name,
        "layers": {layer: {name: {**summary(row.scores), "p_value": float(row.p_value),
                                  "significant": bool(row.significant)}
                           for name, row in at.concepts.items()} for layer, at in result.items()},
        "class_id": class_id, "split": args.split, "images": count, "source": str(scored.source),
        "random": {layer: summary(at.random.scores) for layer, at in result.items()},
        "magnitude": {layer: {name: summary(row.magnitudes) for name, row in at.concepts.items()}
                      for layer, at in result.items()},
        "concepts": {name: {"kind": CONCEPTS[name].kind, "classes": concept_classes(name, class_id),
                            "images_per_set": len(sets[0]),
                            "pool": int(np.isin(train.labels, concept_classes(name, class_id)).sum())}
                     for name, sets in chosen.items()},
        "not_tested": skipped,
        "random_sets": args.random_sets, "set_size": args.set_size, "cav": args.cav, "l2": args.l2,
        "alpha": args.alpha, "tests": tests, "bonferroni_level": args.alpha / tests, "seed": args.seed,
        "train_source": str(train.source),
    }


def print_table(record):
    print(f"TCAV of {one_line(record['class'])!r} (id {record['class_id']}): {record['images']} images of "
          f"the {record['split']} split; {record['random_sets']} random sets of {record['set_size']} images; "
          f"{record['cav']} CAVs")
    print(f"significant: p < {record['alpha']:g} / {record['tests']} (two-sided t-test against random vs "
          f"random, Bonferroni)")
    for layer, concepts in record["layers"].items():
        null = record["random"][layer]
        print(f"{layer}   (random vs random {null['score']:.2f} \u00b1 {null['std']:.2f})")
        for name, row in concepts.items():
            if row["significant"]:
                print(f"  {name:14s} {row['score']:.2f} \u00b1 {row['std']:.2f}   p = {row['p_value']:.2g}")
            else:
                print(f"  {name:14s} not significant (p = {row['p_value']:.2g})")
    for name, why in record["not_tested"].items():
        print(f"  not tested: {name}: {why}")


def run(args):
    model = Model(args.model, args.data)
    class_id = resolve_class(args.class_name, model.names)
    layers = layer_names(args.layers, model.net)
    splits = load_gtsrb(args.data, cache_dir=cache_folder(args), progress=False)
    train, scored = splits["train"], scored_split(args, splits, model)
    class_images = scored.images[scored.labels == class_id]
    if len(class_images) == 0:
        raise NpnetError(f"{scored.source}: holds no image of class {class_id} ({model.names[class_id]})")
    chosen, skipped, randoms = image_sets(train, class_id, args.set_size, args.random_sets, args.seed)
    out = out_dir(args)
    print(f"TCAV of {len(class_images)} images at {', '.join(layers)}: {len(chosen)} concepts, "
          f"{args.random_sets} random sets", file=sys.stderr)
    concept_x = {name: [model.input(train.images[indices]) for indices in sets] for name, sets in chosen.items()}
    random_x = [model.input(train.images[indices]) for indices in randoms]
    result = tcav(model.net, model.input(class_images), class_id, concept_x, random_x, layers,
                  method=args.cav, l2=args.l2, alpha=args.alpha)
    record = record_of(result, model.names[class_id], class_id, chosen, skipped, train, args, scored,
                       len(class_images))
    text = json.dumps(finite_json(record), allow_nan=False)
    title = (f"TCAV of '{model.names[class_id]}' (id {class_id}): {len(class_images)} images of the "
             f"{args.split} split, {args.cav} CAVs")
    wrote(tcav_figure(record, out / f"concepts_{class_id:02d}.png", title), args.json)
    wrote(write_text_atomic(out / f"concepts_{class_id:02d}.json", text + "\n"), args.json)
    if args.json:
        print(text)
    else:
        print_table(record)
    return 0
