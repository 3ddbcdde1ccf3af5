"""explain.py mistakes (also: errors): a gallery of the most confident mistakes, Grad-CAM for the true and the predicted class."""
from pathlib import Path

import numpy as np

from ...explain import classify, grad_cam, plots, ranked_mistakes
from .common import Model, cache_folder, load_labelled, out_dir, positive, titled, trained_on_note, wrote

HELP = "gallery of the mistakes"
PARENTS = ("model", "data")


def add_arguments(parser):
    parser.add_argument("--limit", type=positive, default=24)
    parser.add_argument("--layer", help="layer to explain (default: the last Conv2D)")


def mistake_maps(model, x, evaluation, chosen, layer=None):
    """Grad-CAM of the chosen mistakes for their true and their predicted class, in one pass."""
    labels, predicted = evaluation.labels[chosen], evaluation.predicted[chosen]
    cams = grad_cam(model.net, np.concatenate([x[chosen], x[chosen]]),
                    classes=np.concatenate([labels, predicted]), layer=layer)
    return cams[:len(chosen)], cams[len(chosen):]


def write_errors(model, data, x, evaluation, out, limit, layer=None):
    """The gallery of the ``limit`` most confident mistakes; returns their indices."""
    chosen = ranked_mistakes(evaluation)[:limit]
    if len(chosen) == 0:
        print("no misclassified images: nothing to draw")
        return chosen
    cams_true, cams_predicted = mistake_maps(model, x, evaluation, chosen, layer)
    captions = []
    for n in chosen:
        t, p = evaluation.labels[n], evaluation.predicted[n]
        captions.append((f"#{n}", titled("true", t, model.names, evaluation.probs[n, t]),
                         titled("predicted", p, model.names, evaluation.probs[n, p])))
    title = (f"{len(chosen)} most confident mistakes of {len(ranked_mistakes(evaluation))} "
             f"({Path(data.source).name}); Grad-CAM for the true and the predicted class")
    wrote(plots.errors_gallery(data.images[chosen], cams_true, cams_predicted, captions, out / "errors.png", title))
    return chosen


def run(args):
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split, cache_folder(args), model)
    x = model.input(data.images)
    evaluation = classify(model.net, x, data.labels)
    trained_on_note(model, data, args.split)
    print(f"{len(ranked_mistakes(evaluation))} of {len(data.labels)} images misclassified")
    write_errors(model, data, x, evaluation, out_dir(args), args.limit, args.layer)
    return 0
