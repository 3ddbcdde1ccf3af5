"""explain.py evaluate: accuracy, per-class accuracy, the most confused pairs and the confusion matrix."""
import json
from pathlib import Path

from ..files import finite_json
from ..explain import evaluate, most_confused, per_class, plots
from .common import Model, cache_folder, load_labelled, out_dir, wrote

HELP = "accuracy and confusion matrix"
PARENTS = ("model", "data")


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print accuracy and per-class accuracy as JSON")


def report(model, data, evaluation, out, quiet=False, top_pairs=10):
    """Print accuracy, per-class accuracy and the most confused pairs; draw the confusion matrix."""
    rows = per_class(evaluation.confusion, model.names)
    if not quiet:
        print(f"accuracy {evaluation.accuracy:.2%} on {len(evaluation.labels)} images of {data.source}")
        print("per class:   id     n  accuracy  name")
        for row in rows:
            accuracy = "      -" if row["accuracy"] is None else f"{row['accuracy']:8.2%}"
            print(f"            {row['class_id']:3d} {row['n']:5d}  {accuracy}  {row['name']}")
        print("most confused (true -> predicted):")
        for i, j, count in most_confused(evaluation.confusion, top_pairs):
            print(f"  {count:4d} x  {i:2d} {model.names[i]}  ->  {j:2d} {model.names[j]}")
    title = f"confusion matrix: {Path(model.path).name} on {Path(data.source).name} (accuracy {evaluation.accuracy:.2%})"
    wrote(plots.confusion_plot(evaluation.confusion, out / "confusion_matrix.png", title), quiet)
    return rows


def run(args):
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split, cache_folder(args))
    evaluation = evaluate(model.net, model.input(data.images), data.labels)
    rows = report(model, data, evaluation, out_dir(args), quiet=args.json)
    if args.json:
        record = {"accuracy": evaluation.accuracy, "n": len(evaluation.labels), "per_class": rows}
        print(json.dumps(finite_json(record), allow_nan=False))
    return 0
