"""explain.py robustness: the accuracy of a split under attack (FGSM, PGD-K) at several radii, the
curve, and per class the mean margin: how large a change of the pixels flips its images' predictions.

Every attack is untargeted (away from the true label), linf, eps in grey levels (pixel units:
eps 8 is 8/255 of the range); PGD takes steps of eps / 4 from a seeded random start
(``npnet.explain.attacks.robustness``). The margin of an image is its minimal flip radius
(``attacks.minimal_flip``: PGD-10, bisection on [0, 16] to 0.5 grey levels); an image not flipped
within 16 counts as 16 in its class's mean."""
import json
import sys

import numpy as np

from ..boundary import one_line
from ...explain.attacks import minimal_flip, robust_accuracy
from ...explain.attacks.figures import margins_figure, robustness_figure
from ...explain.attacks.robustness import eps_key, parse_attack
from ...io.errors import NpnetError
from ...io.files import finite_json, write_text_atomic
from .common import Model, cache_folder, load_labelled, out_dir, positive, wrote

HELP = "accuracy under FGSM / PGD attacks, and which classes are fragile"
PARENTS = ("model", "data")
MARGIN = {"high": 16.0, "tolerance": 0.5, "steps": 10}


def radii(text, top=255.0):
    """--eps 1,2,4,8 -> [1.0, 2.0, 4.0, 8.0]: numbers in (0, top] (255: the largest linf change)."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise NpnetError(f"--eps {text!r}: expected numbers separated by commas, e.g. 1,2,4,8") from None
        if not np.isfinite(value) or not 0 < value <= top:
            raise NpnetError(f"--eps {text!r}: each radius must be in (0, {top:g}] grey levels, got {part}")
        values.append(value)
    return values


def attack_names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise NpnetError("--attack: name at least one attack (fgsm, pgd10, pgd20, ...)")
    for name in names:
        parse_attack(name)
    return list(dict.fromkeys(names))


def add_arguments(parser):
    parser.add_argument("--eps", default="1,2,4,8", help="radii in grey levels, comma-separated (default 1,2,4,8)")
    parser.add_argument("--attack", default="fgsm,pgd10,pgd20",
                        help="fgsm and/or pgdK (K steps), comma-separated (default fgsm,pgd10,pgd20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of PGD's random start (default 0)")
    parser.add_argument("--limit", type=positive, metavar="N", help="attack only the first N images of the split")
    parser.add_argument("--no-margins", action="store_true", help="skip the per-class margins (the slowest part)")
    parser.add_argument("--json", action="store_true", help="print one JSON object: images, clean, attacks (and margins)")


def class_margins(radius, labels, names, high):
    """[{'class_id', 'name', 'n', 'mean_margin', 'flipped'}] per class present; an unflipped image counts as ``high``."""
    capped = np.where(np.isfinite(radius), radius, high)
    rows = []
    for c in np.unique(labels):
        mine = labels == c
        rows.append({"class_id": int(c), "name": names[c], "n": int(mine.sum()),
                     "mean_margin": float(capped[mine].mean()), "flipped": int(np.isfinite(radius[mine]).sum())})
    return rows


def run(args):
    eps, attacks = radii(args.eps), attack_names(args.attack)
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split, cache_folder(args), model)
    images, labels = data.images, data.labels
    if args.limit is not None:
        images, labels = images[:args.limit], labels[:args.limit]
    out = out_dir(args)

    def progress(name, radius):
        print(f"{name} at eps {radius:g} on {len(images):,} images", file=sys.stderr)

    table = robust_accuracy(model.net, images, labels, eps=eps, attacks=attacks, seed=args.seed,
                            preprocessing=model.spec, progress=progress)
    record = dict(table)
    if not args.no_margins:
        print(f"minimal flip radius of {len(images):,} images (PGD-{MARGIN['steps']}, bisection)", file=sys.stderr)
        flip = minimal_flip(model.net, images, norm="linf", preprocessing=model.spec, **MARGIN)
        record["margins"] = {"norm": "linf", "high": MARGIN["high"], "tolerance": MARGIN["tolerance"],
                             "steps": MARGIN["steps"], "median": float(np.median(np.where(np.isfinite(flip.radius),
                                                                                        flip.radius, MARGIN["high"]))),
                             "per_class": class_margins(flip.radius, labels, model.names, MARGIN["high"])}
    title = f"robust accuracy of {one_line(model.path)} on {len(images):,} images of {one_line(data.source)}"
    wrote(robustness_figure(table, out / "robustness.png", title), args.json)
    if "margins" in record:
        wrote(margins_figure(record["margins"]["per_class"], out / "margins.png"), args.json)
    text = json.dumps(finite_json(record), allow_nan=False)
    wrote(write_text_atomic(out / "robustness.json", text + "\n"), args.json)
    if args.json:
        print(text)
        return 0
    print(f"clean accuracy {table['clean']:.2%} on {table['images']:,} images")
    print("attack   " + "".join(f"  eps {eps_key(r):>5}" for r in eps))
    for name, row in table["attacks"].items():
        print(f"{name:8s} " + "".join(f"  {value:9.2%}" for value in row.values()))
    if "margins" in record:
        fragile = sorted(record["margins"]["per_class"], key=lambda row: row["mean_margin"])[:5]
        print("most fragile classes (mean minimal flip radius, grey levels):")
        for row in fragile:
            print(f"  {row['mean_margin']:5.2f}  {row['class_id']:2d} {one_line(row['name'])} ({row['n']} images)")
    return 0
