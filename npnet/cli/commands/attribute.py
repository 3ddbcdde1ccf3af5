"""explain.py attribute: input-space attributions (saliency, integrated gradients, occlusion, ...) of
each image, a row per class: the map alone and over the image."""
from pathlib import Path

import numpy as np

from ...explain import attribution, resolve_class
from ...explain.method_plots import SIGNS, attribution_figure, display_name, reduce_channels
from ...explain.methods import ATTRIBUTION_METHODS, lookup
from .common import Model, explanation_rows, method_options, out_dir, read_images, titled, true_classes, wrote

HELP = "input-space attributions (saliency, integrated gradients, occlusion, ...)"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--method", required=True, metavar="NAME",
                        help=f"the attribution method: {', '.join(ATTRIBUTION_METHODS)}")
    parser.add_argument("--class", dest="classes", action="extend", nargs="+", default=[], metavar="ID_OR_NAME",
                        help="classes to explain besides the predicted one")
    parser.add_argument("--true", action="extend", nargs="+", default=[], metavar="ID_OR_NAME",
                        help="the true class: one for all images, or one per image")
    parser.add_argument("--sign", choices=SIGNS, default="abs",
                        help="abs: sum of |a| over channels (default); positive: sum of max(a, 0); "
                             "all: the signed sum, diverging colours")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the method, e.g. steps=128 for integrated_gradients (repeatable)")


def run(args):
    lookup(args.method, ATTRIBUTION_METHODS, "attribution")
    model = Model(args.model)
    options = method_options(args.option)
    asked = [resolve_class(c, model.names) for c in args.classes]
    images, paths, failed = read_images(args.images)
    trues = true_classes(args.true, len(paths), model.names)
    if not len(images):
        return 2
    x, probs, rows = explanation_rows(model, images, asked, trues)
    index = np.array([n for n, _, _ in rows])
    attributions = attribution(model.net, x[index], args.method, classes=[c for _, c, _ in rows], **options)
    maps = reduce_channels(attributions, args.sign)
    out = out_dir(args)
    name = display_name(args.method)
    for n, path in enumerate(paths):
        mine = index == n
        titles = [titled(role, c, model.names, probs[n, c]) for m, c, role in rows if m == n]
        title = f"{name} for {Path(path).name}"
        target = out / f"{Path(path).stem}_{args.method}.png"
        wrote(attribution_figure(images[n], maps[mine], titles, args.sign, title, target))
    return 2 if failed else 0
