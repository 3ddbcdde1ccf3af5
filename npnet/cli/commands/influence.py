"""explain.py influence: which training images taught the run its answer for an image (TracInCP).

    explain.py influence --run RUN --data test.p --index 17 204 [--top 8] [--layers dense_4] [--exact] [--json]
    explain.py influence --run RUN sign.png [--true 3] [--layer dense_2]

Scores every image the run trained on for each query image (``npnet.explain.training_data.tracin``),
summed over the checkpoints ``train.py --checkpoint-every K`` kept in RUN/checkpoints/. A query from
--data is scored for its label; an image file for --true, else for the class the run predicts.
Without --exact the scores come from RUN/influence_index.npz when one was built from these
checkpoints (``explain.py influence-index``), else they are computed exactly. Beside them, each
query's --top nearest training images in the features of --layer (dense_3 by default), by cosine,
in the last checkpoint's model (``npnet.explain.training_data.neighbours``). One figure per query
in --out; --json prints one JSON object instead of the summary lines.
"""
import json
import sys

import numpy as np

from ...data import load_split
from ...data.preprocessing import preprocess
from ...data.splits import track_groups
from ...explain import model_class_names, resolve_class
from ...explain.plots import wrap
from ...explain.training_data.figures import influence_figure
from ...explain.training_data.gradient_index import INDEX_NAME, load_index, query_index
from ...explain.training_data.neighbours import image_features, layer_features, nearest
from ...explain.training_data.per_example import layers_with_weights
from ...explain.training_data.run import load_run, training_images
from ...explain.training_data.tracin import influence, top_and_bottom
from ...io.errors import NpnetError
from ...io.files import finite_json
from ..boundary import one_line, whole_number
from .common import cache_folder, out_dir, positive, read_images, wrote

HELP = "the training images that taught the run its answer (TracIn), and those nearest in its features"
PARENTS = ()


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files to explain (or --data and --index)")
    parser.add_argument("--run", dest="run_dir", metavar="RUN", required=True, help="a train.py run folder with checkpoints/epoch_NNN.h5")
    parser.add_argument("--data", help="a labelled split (a pickle such as test.p, or a GTSRB folder's test split)")
    parser.add_argument("--index", type=index_number, nargs="+", default=[], metavar="N",
                        help="positions of the query images in --data")
    parser.add_argument("--true", help="the class an image file is scored for (default: the predicted class)")
    parser.add_argument("--top", type=positive, default=8,
                        help="proponents, opponents and neighbours per query (default 8)")
    parser.add_argument("--layers", help="comma-separated layers whose weights count (default all)")
    parser.add_argument("--layer", default="dense_3", help="the layer whose features (after its activation) "
                        "pick each query's nearest training images, by cosine, in the last checkpoint's model "
                        "(default dense_3)")
    parser.add_argument("--normalize", action="store_true", help="cosine scores: unit gradients per checkpoint")
    parser.add_argument("--exact", action="store_true", help="compute exactly, without the index")
    parser.add_argument("--train-data", help="where the run's training images are (default: the path its "
                                             "checkpoints record)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (figures still written)")


index_number = whole_number(0)       # argparse type: a position, 0 or more
FEATURE_BYTES = 2 ** 30              # the most the training set's --layer features may take (float32)


def chosen_layers(model, text):
    """--layers 'a,b' (or None: all) -> the model's layers with weights, checked; NpnetError otherwise."""
    try:
        return layers_with_weights(model, None if text is None else
                                   [name.strip() for name in text.split(",") if name.strip()])
    except ValueError as error:
        raise NpnetError(f"--layers: {error}") from None


def neighbour_layer(model, name):
    """--layer NAME -> the model's layer of that name; NpnetError listing the layers otherwise."""
    try:
        return model.layer(name).name
    except KeyError:
        raise NpnetError(f"--layer: no layer named {name}; the model's layers: "
                         f"{', '.join(layer.name for layer in model.layers)}") from None


def check_feature_size(model, layer, count):
    """Refuse (NpnetError) a layer whose features for ``count`` training images exceed FEATURE_BYTES."""
    size = 4 * count * int(np.prod(model.layer(layer).output_shape[1:]))
    if size > FEATURE_BYTES:
        raise NpnetError(f"--layer {layer}: its features for {count:,} training images take {size / 2 ** 30:.1f} GiB "
                         f"(the limit is {FEATURE_BYTES / 2 ** 30:.0f} GiB); choose a later layer")


def neighbours_of(run, layer, train_images, x, k):
    """(indices (Q, k) into ``train_images``, cosines (Q, k)): each query's k nearest training images
    in ``layer``'s features of the model the queries are predicted with. ``x``: the queries' input."""
    model = predictor(run)
    return nearest(layer_features(model, x, layer), image_features(model, train_images, run.preprocessing, layer),
                   min(k, len(train_images)))


def queries(args, run, names):
    """(images uint8 (Q, 32, 32, 3), their indices or paths, labels scored for)."""
    if bool(args.images) == bool(args.data):
        raise NpnetError("give image files, or --data SPLIT with --index N ... (not both)")
    if args.data:
        if not args.index:
            raise NpnetError("--data needs --index N ...: the positions of the images to explain")
        split = load_split(args.data, progress=False)
        bad = [n for n in args.index if n >= len(split)]
        if bad:
            raise NpnetError(f"{args.data}: holds {len(split)} images; --index {bad[0]} is past its end")
        rows = np.array(args.index)
        return split.images[rows], list(args.index), split.labels[rows]
    if args.index:
        raise NpnetError("--index needs --data")
    images, paths, failed = read_images(args.images)
    if failed:
        raise NpnetError(f"{failed} of {len(args.images)} images could not be read (see above)")
    probs = predictor(run).predict_proba(run_input(run, images))
    labels = (np.full(len(images), resolve_class(args.true, names)) if args.true is not None
              else probs.argmax(axis=1))
    return images, [str(p) for p in paths], labels


def predictor(run):
    """The model whose predictions a query is shown with: the last checkpoint."""
    return run.final.model


def run_input(run, images):
    return preprocess(images, run.preprocessing)


def scores_for(args, run, layers, train_images, train_labels, images, labels):
    """(scores (N_train, Q), exact?) from the index when it fits the request, else computed."""
    if not args.exact:
        index = load_index(run.folder / INDEX_NAME, run)
        if index is not None and [str(n) for n in index["layers"]] == layers:
            return query_index(index, run, images, labels, args.normalize), False
        print(f"{one_line(run.folder / INDEX_NAME)}: " + ("no index built from these checkpoints for these layers"
              if index is not None or (run.folder / INDEX_NAME).exists() else "no index")
              + "; computing exactly", file=sys.stderr)
    result = influence(run.checkpoints, train_images, train_labels, images, labels, layers=layers,
                       normalize=args.normalize, top=args.top, preprocessing=run.preprocessing,
                       progress=not args.json and sys.stderr.isatty())
    return result.scores, True


def run(args):
    training_run = load_run(args.run_dir)
    model = training_run.final.model
    names = model_class_names(model, training_run.class_names or None)
    layers = chosen_layers(model, args.layers)
    layer = neighbour_layer(predictor(training_run), args.layer)
    images, keys, labels = queries(args, training_run, names)
    split, rows = training_images(training_run, args.train_data, cache_folder(args))
    check_feature_size(predictor(training_run), layer, len(rows))
    out = out_dir(args)
    scores, exact = scores_for(args, training_run, layers, split.images[rows], split.labels[rows], images, labels)
    proponents, opponents = top_and_bottom(scores, args.top)
    x = run_input(training_run, images)
    predicted = predictor(training_run).predict_proba(x).argmax(axis=1)
    near, similarity = neighbours_of(training_run, layer, split.images[rows], x, args.top)
    tracks = track_groups(split)
    report = {"train_images": int(len(rows)), "checkpoints": len(training_run.checkpoints), "layers": layers,
              "exact": exact, "normalized": bool(args.normalize), "neighbour_layer": layer, "queries": []}
    for q, key in enumerate(keys):
        def listed(order):
            return [{"index": int(rows[i]), "label": int(split.labels[rows[i]]), "score": float(scores[i, q]),
                     "track": int(tracks[rows[i]])} for i in order]
        entry = {"index" if isinstance(key, int) else "file": key, "label": int(labels[q]),
                 "predicted": int(predicted[q]), "proponents": listed(proponents[q]),
                 "opponents": listed(opponents[q]),
                 "neighbours": [{"index": int(rows[i]), "label": int(split.labels[rows[i]]),
                                 "similarity": float(s), "track": int(tracks[rows[i]])}
                                for i, s in zip(near[q], similarity[q])]}
        report["queries"].append(entry)
        figure = influence_figure(
            images[q], f"{'#' + str(key) if isinstance(key, int) else one_line(key)[-28:]}\n"
                       f"label: {wrap(names[labels[q]], 24)}\npredicted: {wrap(names[predicted[q]], 24)}",
            [{**item, "image": split.images[item["index"]]} for item in entry["proponents"]],
            [{**item, "image": split.images[item["index"]]} for item in entry["opponents"]], names,
            out / f"influence_{q:03d}.png",
            f"TracIn over {len(training_run.checkpoints)} checkpoints, layers: "
            f"{'all' if args.layers is None else ', '.join(layers)}"
            f"{', cosine' if args.normalize else ''} ({'exact' if exact else 'index'})",
            [{**item, "image": split.images[item["index"]]} for item in entry["neighbours"]], layer)
        wrote(figure, quiet=args.json)
        if not args.json:
            print_summary(entry, names, key, layer)
    if args.json:
        print(json.dumps(finite_json(report), allow_nan=False))
    return 0


def print_summary(entry, names, key, layer):
    print(f"{one_line(key)}: label {entry['label']} {one_line(names[entry['label']])}, "
          f"predicted {entry['predicted']} {one_line(names[entry['predicted']])}")
    for side in ("proponents", "opponents"):
        print(f"  {side}: " + ", ".join(f"#{item['index']} ({item['label']}, {item['score']:.3g})"
                                        for item in entry[side]))
    print(f"  neighbours in {layer}: " + ", ".join(
        f"#{item['index']} ({item['label']}, cosine {item['similarity']:.4f})" for item in entry["neighbours"]))
