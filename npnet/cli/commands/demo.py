"""explain.py demo: what `make explain` runs: evaluate the newest run's model (final.h5, else best.h5) on
the validation split, draw its confusion matrix, its most confident mistakes and the Grad-CAM of the worst
one."""
import argparse
from pathlib import Path

import numpy as np

from ...data import load_gtsrb
from ...io.errors import NpnetError
from ...explain import classify, grad_cam, plots
from ..boundary import one_line
from .common import NO_MODEL, Model, cache_folder, out_dir, positive, titled, trained_on_note, wrote
from .mistakes import write_errors
from .evaluate import report

HELP = "evaluate the newest run's final.h5 or best.h5 and explain it"
PARENTS = ()


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="a GTSRB folder or zip (its validation split is used)")
    parser.add_argument("--model", help="a checkpoint (default: the newest run's final.h5, else its best.h5)")
    parser.add_argument("--runs", default="runs", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=positive, default=24)


def newest_model(runs="runs"):
    """The newest run's model: its final.h5 (``train.py --final``, what `make train-best` writes) when it
    has one, else its best.h5."""
    found = sorted([*Path(runs).glob("*/final.h5"), *Path(runs).glob("*/best.h5")], key=lambda p: p.stat().st_mtime)
    if not found:
        raise NpnetError(NO_MODEL)
    newest = found[-1]
    return newest.parent / "final.h5" if (newest.parent / "final.h5").is_file() else newest


def run(args):
    path = args.model or newest_model(args.runs)
    print(f"model {one_line(path)}")
    model = Model(path, args.data)
    data = load_gtsrb(args.data, cache_dir=cache_folder(args), progress=False)["valid"]
    if len(data) == 0:
        raise NpnetError(f"{data.source}: the validation split holds no images")
    trained_on_note(model, data, "valid")
    x = model.input(data.images)
    evaluation = classify(model.net, x, data.labels)
    out = out_dir(args)
    report(model, data, evaluation, out)
    chosen = write_errors(model, data, x, evaluation, out, args.limit)
    if len(chosen):
        n = chosen[0]
        t, p = evaluation.labels[n], evaluation.predicted[n]
        cams = grad_cam(model.net, x[[n, n]], classes=np.array([p, t]))
        titles = [titled(role, c, model.names, evaluation.probs[n, c]) for role, c in (("predicted", p), ("true", t))]
        suptitle = f"most confident mistake: validation image #{n}, Grad-CAM on one shared scale"
        wrote(plots.gradcam_comparison(data.images[n], list(cams), titles, out / "gradcam_top_mistake.png", suptitle))
    return 0
