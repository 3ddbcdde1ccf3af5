"""explain.py compare: every method side by side, one figure: a row per image and class, a column per
method, each map on its image, one colour scale per method."""
from pathlib import Path

import numpy as np

from ...io.errors import NpnetError
from ...explain import attribution, cam, resolve_class
from ...explain.method_plots import compare_grid, reduce_channels
from ...explain.plots import wrap
from ...explain.methods import ATTRIBUTION_METHODS, CAM_METHODS, METHODS, option_names
from ..boundary import whole_number
from .common import (Model, cache_folder, explanation_rows, load_labelled, out_dir, read_images, true_classes,
    wrote)

HELP = "every method side by side: a row per image and class, a column per method"
PARENTS = ("model",)
DEFAULT_METHODS = "gradcam,gradcam++,scorecam,saliency,guided_backprop,integrated_gradients,occlusion"


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files (or use --data with --index)")
    parser.add_argument("--data", help="a labelled split (a pickle, or a GTSRB folder with --split) to take "
                                       "images from, by --index; their labels are the true classes")
    parser.add_argument("--split", default="test", choices=("test", "valid", "train", "holdout"),
                        help="which split of a folder --data names (default test; holdout: the training "
                             "tracks the model's run held out)")
    parser.add_argument("--index", type=whole_number(0), action="extend", nargs="+", default=[], metavar="N",
                        help="positions of the images in --data (as `errors` numbers them, #N)")
    parser.add_argument("--cache-dir", help="where decoded images of a folder are cached (default OUT/cache)")
    parser.add_argument("--methods", default=DEFAULT_METHODS, metavar="A,B,...|all",
                        help=f"comma-separated methods, or all (default {DEFAULT_METHODS}); "
                             f"the methods: {', '.join(METHODS)}")
    parser.add_argument("--class", dest="classes", action="extend", nargs="+", default=[], metavar="ID_OR_NAME",
                        help="classes to explain besides the predicted one")
    parser.add_argument("--true", action="extend", nargs="+", default=[], metavar="ID_OR_NAME",
                        help="the true class: one for all images, or one per image")
    parser.add_argument("--layer", help="the layer the CAM methods read (default: the last Conv2D)")


def parse_methods(text):
    """'a,b,c' or 'all' -> method names, each one known, in the order given, each once."""
    names = list(METHODS) if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    unknown = [name for name in names if name not in METHODS]
    if unknown or not names:
        what = f"unknown method {unknown[0]!r}" if unknown else "no method given"
        raise NpnetError(f"--methods: {what}; choose from: {', '.join(METHODS)}, or all")
    return list(dict.fromkeys(names))


def method_map(net, x, method, classes, layer=None):
    """((R, H, W) >= 0 map, kind) of any method: a CAM as it is ('cam'), an attribution as the sum over
    channels of |a| ('attribution'). ``layer`` goes to every method that reads a layer."""
    if method in CAM_METHODS:
        return cam(net, x, method, classes=classes, layer=layer), "cam"
    reads_layer = layer is not None and "layer" in option_names(ATTRIBUTION_METHODS[method].function)
    options = {"layer": layer} if reads_layer else {}
    return reduce_channels(attribution(net, x, method, classes=classes, **options), "abs"), "attribution"


def images_from_data(args, model):
    """(uint8 images, names 'FILE#N', their labels) of the --index positions of the --data split."""
    data = load_labelled(args.data, args.split, cache_folder(args), model)
    outside = [i for i in args.index if i >= len(data)]
    if outside:
        raise NpnetError(f"{data.source}: --index {outside[0]} is outside the split's {len(data)} images")
    names = [f"{Path(data.source).name}#{i}" for i in args.index]
    return data.images[args.index], names, [int(data.labels[i]) for i in args.index]


def run(args):
    methods = parse_methods(args.methods)
    if bool(args.images) == bool(args.data) or bool(args.data) != bool(args.index):
        raise NpnetError("compare: give image files, or --data with --index (not both)")
    model = Model(args.model)
    asked = [resolve_class(c, model.names) for c in args.classes]
    if args.data:
        images, paths, labels = images_from_data(args, model)
        failed = 0
        trues = true_classes(args.true, len(paths), model.names) if args.true else labels
    else:
        images, paths, failed = read_images(args.images)
        trues = true_classes(args.true, len(paths), model.names)
    if not len(images):
        return 2
    x, probs, rows = explanation_rows(model, images, asked, trues)
    index = np.array([n for n, _, _ in rows])
    classes = np.array([c for _, c, _ in rows])
    columns = [(method, *method_map(model.net, x[index], method, classes, args.layer)) for method in methods]
    titles = [f"{Path(paths[n]).name}\n{role}: id {c}, p = {probs[n, c]:.1%}\n{wrap(model.names[c], 24)}"
              for n, c, role in rows]
    stem = f"{Path(args.data).stem}_{args.index[0]}" if args.data else Path(paths[0]).stem
    stem = stem if len(paths) == 1 else "compare"
    target = out_dir(args) / (f"{stem}_compare.png" if len(paths) == 1 else "compare.png")
    title = (f"{len(methods)} method{'s' * (len(methods) > 1)}, {len(rows)} row{'s' * (len(rows) > 1)} "
             f"(image x class); the classes of an image share one scale per method (its max in the corner)")
    wrote(compare_grid(images[index], titles, columns, target, title, groups=index))
    return 2 if failed else 0
