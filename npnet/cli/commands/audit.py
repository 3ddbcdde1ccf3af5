"""explain.py audit: training labels the net's out-of-sample beliefs contradict, and near-copy images.

    explain.py audit --data DIR [--folds 5] [--epochs 10] [--json] [--inject-noise 0.02 --seed S]

Trains --folds short runs of the recipe, each on all but one fold of the training split's tracks,
for out-of-sample probabilities of every training image; finds label issues by confident learning
(``npnet.explain.training_data.audit``); lists near copies across labels and the validation (and
test) images whose nearest training image is a near copy. Writes to --out: pred_probs.npy (N, 43),
label_issues.csv, audit.json (what --json prints) and suspects.png; the fold runs under
audit_folds/ (resumable: run the same command again after a stop).
With --inject-noise F, F of the training labels are flipped first and the audit reports how many of
them it found (precision and recall).
"""
import argparse
import csv
import io
import json
import os
import sys

import numpy as np

from ...data import class_names as data_class_names, load_gtsrb, load_split
from ...explain.training_data.audit import run_audit
from ...explain.training_data.cross_validation import save_array
from ...explain.training_data.figures import suspects_figure
from ...io.errors import NpnetError
from ...io.files import finite_json, write_text_atomic
from ...training.recipes import RECIPES
from ..boundary import one_line, whole_number
from .common import cache_folder, out_dir, wrote

HELP = "label audit: suspect labels and near copies (confident learning, K folds by track)"
PARENTS = ()


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 0.5], got {text!r}")
    return value


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="a GTSRB folder (its train split is audited), or train.p")
    parser.add_argument("--folds", type=whole_number(2, 20), default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--epochs", type=whole_number(1, 1000), default=10, help="epochs per fold (default 10)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="best", help="the folds' recipe (default best)")
    parser.add_argument("--seed", type=whole_number(0, 2**32 - 1), default=0,
                        help="the folds' and the injected noise's seed (default 0)")
    parser.add_argument("--inject-noise", type=fraction, metavar="F",
                        help="flip this fraction of the training labels first, and report finding them")
    parser.add_argument("--limit", type=whole_number(1, 1000), default=48, help="suspects drawn (default 48)")
    parser.add_argument("--json", action="store_true", help="print audit.json")


def folds_folder(out, args):
    noise = f"_noise{args.inject_noise:g}" if args.inject_noise else ""
    return os.path.join(out, "audit_folds", f"{args.recipe}_{args.folds}x{args.epochs}_seed{args.seed}{noise}")


def read_data(path, cache_dir):
    """(the training split, {other split name: Dataset} to check for leaks); an image folder's decoded
    images are cached in ``cache_dir`` (inside --out)."""
    if os.path.isdir(path) or str(path).lower().endswith(".zip"):
        splits = load_gtsrb(path, cache_dir=cache_dir, progress=False)
        return splits["train"], {name: splits[name] for name in ("valid", "test") if len(splits.get(name, ()))}
    return load_split(path, progress=False), {}


def run(args):
    train, others = read_data(args.data, cache_folder(args))
    if len(train) < 10 * args.folds:
        raise NpnetError(f"{args.data}: {len(train)} training images are too few for {args.folds} folds")
    names = data_class_names(args.data)
    out = out_dir(args)
    recipe = RECIPES[args.recipe].with_options(epochs=args.epochs, checkpoint_every=0, holdout_tracks=0.0)
    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    audit = run_audit(train, recipe, folds_folder(str(out), args), names, args.folds, args.seed,
                      args.inject_noise or 0.0, args.seed, others, progress=not args.json and sys.stderr.isatty(),
                      log=log)
    probs_path = save_array(out / "pred_probs.npy", audit.pred_probs)
    rows = audit.issue_rows()
    report = {"issues": rows, "pred_probs_file": str(probs_path), "data": os.path.abspath(args.data),
              "train_images": len(train),
              "folds": args.folds, "epochs": args.epochs, "recipe": args.recipe, "seed": args.seed,
              "suspect_tracks": audit.suspect_tracks,
              "copies_across_labels": [{"a": int(i), "b": int(j), "similarity": float(s)} for i, j, s in audit.copies],
              "leaks": {name: [{"index": int(q), "train_index": int(t), "similarity": float(s)}
                               for q, t, s in found] for name, found in audit.leaks.items()}}
    if audit.injected is not None:
        report["injected_noise"] = audit.injected
    text = json.dumps(finite_json(report), allow_nan=False)
    wrote(write_text_atomic(out / "audit.json", text), quiet=args.json)
    wrote(write_text_atomic(out / "label_issues.csv", issues_csv(rows, names)), quiet=args.json)
    wrote(suspects_figure(suspect_items(rows, audit, train, args.limit), names, out / "suspects.png",
                          f"label audit of {one_line(train.source)}: {len(rows)} suspect labels "
                          f"({args.folds} folds x {args.epochs} epochs)"), quiet=args.json)
    if args.json:
        print(text)
    else:
        print_summary(report, names)
    return 0


def suspect_items(rows, audit, train, limit):
    """The figure's tiles: issues in rank order, a suspect track's issues as one tile (its first)."""
    suspect = {t["track"]: t for t in audit.suspect_tracks}
    items, shown_tracks = [], set()
    for row in rows:
        if row["track"] in suspect:
            if row["track"] in shown_tracks:
                continue
            shown_tracks.add(row["track"])
            t = suspect[row["track"]]
            row = {**row, "track": f"{row['track']} ({t['issues']}/{t['size']} frames)"}
        items.append({**row, "image": train.images[row["index"]]})
        if len(items) == limit:
            break
    return items


def issues_csv(rows, names):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["rank", "index", "given", "given_name", "suggested", "suggested_name", "self_confidence", "track"])
    for rank, row in enumerate(rows, 1):
        writer.writerow([rank, row["index"], row["given"], names[row["given"]], row["suggested"],
                         names[row["suggested"]], f"{row['self_confidence']:.6f}", row["track"]])
    return text.getvalue()


def print_summary(report, names):
    print(f"{len(report['issues'])} suspect labels of {report['train_images']} training images; "
          f"{len(report['suspect_tracks'])} whole tracks suspect; "
          f"{len(report['copies_across_labels'])} near copies across labels")
    for row in report["issues"][:10]:
        print(f"  #{row['index']}: given {row['given']} {one_line(names[row['given']])}, models believe "
              f"{row['suggested']} {one_line(names[row['suggested']])} (p(given) = {row['self_confidence']:.3f})")
    for name, found in report["leaks"].items():
        print(f"{name}: {len(found)} images whose nearest training image is a near copy")
    if "injected_noise" in report:
        noise = report["injected_noise"]
        print(f"injected noise: {noise['flipped']} labels flipped, {noise['found']} suspects; "
              f"precision {noise['precision']:.3f}, recall {noise['recall']:.3f}")
