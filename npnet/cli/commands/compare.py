"""explain.py compare: every method side by side, one figure: a row per image and class, a column per
method, each map on its image, one colour scale per method.

An image whose prediction p is not its true class t (--true, or the label of --data) gets one more
row, 'pred vs true': each method's map of why p and not t (``npnet.explain.contrastive``: Grad-CAM
and the attributions signed, the other CAMs after their ReLU), each on its own diverging scale."""
from pathlib import Path

import numpy as np

from ...io.errors import NpnetError
from ...explain import attribution, cam, resolve_class
from ...explain.contrastive import contrastive_map
from ...explain.method_plots import compare_grid, reduce_channels
from ...explain.plots import wrap
from ...explain.methods import ATTRIBUTION_METHODS, CAM_METHODS, METHODS, option_names
from ..boundary import whole_number
from .common import (Model, cache_folder, explanation_rows, load_labelled, out_dir, read_images, true_classes,
    wrote)

HELP = "every method side by side: a row per image and class, a column per method"
PARENTS = ("model",)
CONTRAST = "pred vs true"
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


def method_map(net, x, method, classes, layer=None, contrast=None, trues=None):
    """((R, H, W) map, kind) of any method: a CAM as it is ('cam'), an attribution as the sum over
    channels of |a| ('attribution'). ``layer`` goes to every method that reads a layer. The rows
    where ``contrast`` is True hold instead why ``classes[r]`` and not ``trues[r]``
    (``contrastive_map``: signed for Grad-CAM and the attributions; NaN for Eigen-CAM, which reads no class)."""
    R = len(x)
    contrast = np.zeros(R, dtype=bool) if contrast is None else np.asarray(contrast, dtype=bool)
    plain = np.flatnonzero(~contrast)
    maps = np.zeros((R,) + x.shape[1:3], dtype=np.float32)
    kind = "cam" if method in CAM_METHODS else "attribution"
    if method in CAM_METHODS:
        maps[plain] = cam(net, x[plain], method, classes=classes[plain], layer=layer)
    else:
        reads_layer = layer is not None and "layer" in option_names(ATTRIBUTION_METHODS[method].function)
        options = {"layer": layer} if reads_layer else {}
        maps[plain] = reduce_channels(attribution(net, x[plain], method, classes=classes[plain], **options), "abs")
    rows = np.flatnonzero(contrast)
    if len(rows):
        against = np.array([trues[r] for r in rows], dtype=np.int64)
        found = contrastive_map(net, x[rows], method, classes[rows], against, layer)[0]
        maps[rows] = np.nan if found is None else found          # NaN: the method reads no class
    return maps, kind


def with_contrast_rows(rows, predicted, trues):
    """``rows`` [(image n, class c, role)] with one (n, predicted class, CONTRAST) after the rows of each
    image whose prediction is not its true class (``trues[n]``; None: not known, no row)."""
    out = []
    for k, (n, c, role) in enumerate(rows):
        out.append((n, c, role))
        last = k + 1 == len(rows) or rows[k + 1][0] != n
        if last and trues[n] is not None and trues[n] != predicted[n]:
            out.append((n, int(predicted[n]), CONTRAST))
    return out


def row_title(path, c, role, probs, true, names):
    """A row's title: the image, the role, the class; a contrastive row names both classes."""
    if role == CONTRAST:
        return f"{Path(path).name}\n{role}: why id {c}, not {true}\nred: for id {c}, blue: for id {true}"
    return f"{Path(path).name}\n{role}: id {c}, p = {probs[c]:.1%}\n{wrap(names[c], 24)}"


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
    rows = with_contrast_rows(rows, probs.argmax(axis=1), trues)
    index = np.array([n for n, _, _ in rows])
    classes = np.array([c for _, c, _ in rows])
    contrast = np.array([role == CONTRAST for _, _, role in rows])
    columns = [(method, *method_map(model.net, x[index], method, classes, args.layer, contrast,
                                    [trues[n] for n in index])) for method in methods]
    titles = [row_title(paths[n], c, role, probs[n], trues[n], model.names) for n, c, role in rows]
    stem = f"{Path(args.data).stem}_{args.index[0]}" if args.data else Path(paths[0]).stem
    stem = stem if len(paths) == 1 else "compare"
    target = out_dir(args) / (f"{stem}_compare.png" if len(paths) == 1 else "compare.png")
    contrasts = int(contrast.sum())
    plain = len(rows) - contrasts
    title = (f"{len(methods)} method{'s' * (len(methods) > 1)}, {plain} row{'s' * (plain > 1)} "
             f"(image x class); the classes of an image share one scale per method (its max in the corner)")
    if contrasts:
        title += (f"\n+ {contrasts} pred-vs-true row{'s' * (contrasts > 1)}: why the predicted class and not "
                  f"the true one, each map on its own diverging scale (±m in the corner)")
    wrote(compare_grid(images[index], titles, columns, target, title, groups=index, contrast=contrast))
    return 2 if failed else 0
