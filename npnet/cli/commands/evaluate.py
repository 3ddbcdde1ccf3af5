"""explain.py evaluate: accuracy, per-class accuracy, the most confused pairs and the confusion matrix;
the hard view's figures beside them (``npnet.data.hard_view``), and with --tta N the same figures for the
probabilities averaged over N fixed views of each image (``npnet.data.tta``), reported apart, never mixed in."""
import argparse
import json
from pathlib import Path

from ..boundary import one_line, whole_number
from ...data import hard_view
from ...io.files import finite_json
from ...explain import classify, most_confused, per_class, plots
from ...explain.mistakes import evaluation_of
from ...data.tta import MAX_VIEWS, predict_proba_tta
from .common import Model, cache_folder, load_labelled, out_dir, trained_on_note, wrote

HELP = "accuracy and confusion matrix"
PARENTS = ("model", "data")


def views(text):
    """argparse type of --tta: a whole number of test-time views, 1..MAX_VIEWS."""
    count = whole_number(1)(text)
    if count > MAX_VIEWS:
        raise argparse.ArgumentTypeError(f"at most {MAX_VIEWS} views, got {count}")
    return count


views.__name__ = f"number of views 1..{MAX_VIEWS}"


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print accuracy and per-class accuracy as JSON")
    parser.add_argument("--tta", type=views, metavar="N",
                        help=f"also report test-time augmentation: probabilities averaged over the first N "
                             f"(1..{MAX_VIEWS}) of a fixed list of shifts and scales (npnet/data/tta.py)")


def report(model, data, evaluation, out, quiet=False, top_pairs=10):
    """Print accuracy, per-class accuracy and the most confused pairs; draw the confusion matrix."""
    rows = per_class(evaluation.confusion, model.names)
    if not quiet:
        print(f"accuracy {evaluation.accuracy:.2%} on {len(evaluation.labels)} images of {one_line(data.source)}")
        print("per class:   id     n  accuracy  name")
        for row in rows:
            accuracy = "      -" if row["accuracy"] is None else f"{row['accuracy']:8.2%}"
            print(f"            {row['class_id']:3d} {row['n']:5d}  {accuracy}  {one_line(row['name'])}")
        print("most confused (true -> predicted):")
        for i, j, count in most_confused(evaluation.confusion, top_pairs):
            print(f"  {count:4d} x  {i:2d} {one_line(model.names[i])}  ->  {j:2d} {one_line(model.names[j])}")
    title = f"confusion matrix: {Path(model.path).name} on {Path(data.source).name} (accuracy {evaluation.accuracy:.2%})"
    wrote(plots.confusion_plot(evaluation.confusion, out / "confusion_matrix.png", title), quiet)
    return rows


def view_of(data):
    """The hard view of ``data``'s split, or None when the split keeps no original sizes (not a pickle)."""
    sizes = hard_view.read_sizes(data.source, len(data))
    return None if sizes is None else hard_view.hard_view(sizes, data.labels)


def hard_view_figures(view, labels, predicted, names):
    """The hard view's summary (``hard_view.summary``, per-class rows named), or None without a view."""
    if view is None:
        return None
    figures = hard_view.summary(view, labels, predicted, len(names))
    for row in figures["per_class"]:
        row["name"] = names[row["class_id"]]
    return figures


def hard_view_line(figures, what=""):
    if figures is None:
        return f"hard view{what}: not available (it needs a whole pickle split's original sizes)"
    if figures["images"] == 0:
        return f"hard view{what}: empty (no image of this split was upsampled from under 32 pixels)"
    return (f"hard view{what}: weighted accuracy {figures['weighted_accuracy']:.2%} on {figures['images']} "
            f"upsampled images of {figures['classes']} classes, classes weighted as in train.p "
            f"(unweighted {figures['accuracy']:.2%})")


def run(args):
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split, cache_folder(args), model)
    evaluation = classify(model.net, model.input(data.images), data.labels)
    note = trained_on_note(model, data, args.split, quiet=args.json)
    rows = report(model, data, evaluation, out_dir(args), quiet=args.json)
    view = None if args.split == "holdout" else view_of(data)   # a subset: its rows are not the pickle's
    hard = hard_view_figures(view, data.labels, evaluation.predicted, model.names)
    record = {"accuracy": evaluation.accuracy, "n": len(evaluation.labels), "per_class": rows, "hard_view": hard,
              "trained_on_split": note is not None}
    if not args.json:
        print(hard_view_line(hard))
    if args.tta is not None:
        tta = evaluation_of(predict_proba_tta(model.net, data.images, model.spec, args.tta), evaluation.labels)
        tta_hard = hard_view_figures(view, data.labels, tta.predicted, model.names)
        record["tta"] = {"views": args.tta, "accuracy": tta.accuracy, "n": len(tta.labels),
                         "per_class": per_class(tta.confusion, model.names), "hard_view": tta_hard}
        if not args.json:
            print(f"test-time augmentation, {args.tta} views: accuracy {tta.accuracy:.2%} on {len(tta.labels)} "
                  f"images (single pass {evaluation.accuracy:.2%})")
            print(hard_view_line(tta_hard, f", {args.tta} views"))
    if args.json:
        print(json.dumps(finite_json(record), allow_nan=False))
    return 0
