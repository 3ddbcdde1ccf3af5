"""What the report shows, computed: plain dicts of numbers, names and picture URIs, no HTML.

    model_part(model)                       summary, parameters, preprocessing, recipe, learning curves
    accuracy_part(model, data, evaluation)  overall and per-class accuracy, confusion matrix, confused pairs
    panels(model, images, x, probs, ...)    one card per image: top-5, heatmaps of every method, feature maps

A panel explains two classes of an image (a mistake: its true and its predicted class; one of the
user's images: its predicted class and the runner-up). For each method the two maps share one colour
scale, 0 .. the larger of their maxima, so a weak map looks weak beside a strong one; the maps are the
methods' raw maps (an attribution becomes sum_c |a|, as the faithfulness metrics read it,
``metrics.attribution_maps``), never normalized one by one.
"""
import json
from pathlib import Path

import numpy as np

from ..io.errors import NpnetError
from ..explain import feature_maps, feature_map_layers, most_confused, per_class, plots
from ..explain.faithfulness.metrics import method_maps
from ..engine.layers import Conv2D
from ..io.reading import read_regular
from ..training.curves import curves_figure
from . import pictures

HISTORY_BYTES = 4 << 20           # history.json beside a checkpoint: a few KB per hundred epochs
TOP = 5                           # probabilities shown per image
EXAMPLES_PER_PAIR = 3             # images shown under each confused pair


# -- the model --------------------------------------------------------------------------------------
def model_part(model):
    """{layers, parameters, preprocessing, recipe, curves, epoch, history_note, source (a Keras file's format),
    preprocessing_assumed}: what was trained and
    how. The learning curves come from ``history.json`` beside the checkpoint, when it is there."""
    layers = [(layer.name, layer.keras_type or type(layer).__name__, str(layer.output_shape), layer.count_params())
              for layer in model.net.layers]
    part = {"layers": layers, "parameters": model.net.count_params(),
            "preprocessing": json.dumps(model.spec), "recipe": model.metadata.get("recipe"),
            "epoch": model.metadata.get("epoch"), "curves": None, "history_note": None,
            "source": model.metadata.get("keras_format"), "source_version": model.metadata.get("keras_version"),
            "preprocessing_assumed": bool(model.metadata.get("preprocessing_assumed"))}
    history, note = read_history(Path(model.path).parent / "history.json")
    part["history_note"] = note
    if history:
        part["curves"] = pictures.figure_uri(curves_figure(history), dpi=80)
    return part


def read_history(path):
    """(the per-epoch rows of a train.py history.json, None) or (None, why they are not shown)."""
    if not path.is_file():
        return None, f"no {path.name} beside the checkpoint: no learning curves"
    try:
        rows = json.loads(read_regular(path, HISTORY_BYTES, error=NpnetError, doing="cannot read"))
    except (NpnetError, ValueError, RecursionError) as error:
        return None, f"{path.name} beside the checkpoint is not readable ({str(error)[:120]}): no learning curves"
    needed = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
    if not (isinstance(rows, list) and rows and all(isinstance(row, dict) and all(
            isinstance(row.get(key), (int, float)) and np.isfinite(row[key]) for key in needed) for row in rows)):
        return None, f"{path.name} beside the checkpoint is not a train.py history: no learning curves"
    return rows, None


# -- accuracy ---------------------------------------------------------------------------------------
def accuracy_part(model, data, evaluation):
    """Overall and per-class accuracy, the confusion matrix and the most confused pairs with examples."""
    confusion, probs = evaluation.confusion, evaluation.probs
    rows = per_class(confusion, model.names)
    off = confusion - np.diag(np.diag(confusion))
    for row in rows:
        k = row["class_id"]
        members = np.flatnonzero(evaluation.labels == k)
        row["correct"] = int(confusion[k, k])
        row["image"] = pictures.image_uri(data.images[members[np.argmax(probs[members, k])]]) if len(members) else None
        worst = int(np.argmax(off[k]))
        row["confused_with"] = (worst, int(off[k, worst])) if off[k, worst] > 0 else None
    pairs = []
    for true, predicted, count in most_confused(confusion, 10):
        members = np.flatnonzero((evaluation.labels == true) & (evaluation.predicted == predicted))
        members = members[np.argsort(-probs[members, predicted], kind="stable")][:EXAMPLES_PER_PAIR]
        pairs.append({"true": true, "predicted": predicted, "count": count,
                      "examples": [(int(n), pictures.image_uri(data.images[n]), float(probs[n, predicted]))
                                   for n in members]})
    title = f"confusion matrix ({len(evaluation.labels):,} images, accuracy {evaluation.accuracy:.2%})"
    figure = plots.confusion_figure(confusion, title)
    figure.set_size_inches(8.0, 7.4)          # drawn at its own size in the page: 800 x 740 pixels
    return {"accuracy": evaluation.accuracy, "images": len(evaluation.labels),
            "mistakes": int((evaluation.predicted != evaluation.labels).sum()), "per_class": rows,
            "confusion": pictures.figure_uri(figure, dpi=100), "pairs": pairs}


# -- panels: one image, two classes, every method ----------------------------------------------------
def panels(model, images, x, probs, explained, methods, titles, trues=None, batch_size=256, step=None):
    """One card per image.

    images     : uint8 (M, 32, 32, 3), what the page shows
    x          : (M, 32, 32, 3) the model's input for them
    probs      : (M, K) their probabilities
    explained  : M pairs ((role, class id), (role, class id)): the two classes each card explains
    methods    : method names (``npnet.explain.METHODS``)
    titles     : M strings, e.g. '#3700' or the file name
    trues      : M true class ids or Nones
    step       : called with each method's name once its maps are computed (a progress bar)
    Returns a list of dicts: title, image, alt, top (k rows), true, maps (two dicts: role, class_id,
    name, prob, by_method {method: uri}), scales {method: colour-scale top}, features [layer dicts].
    """
    M = len(images)
    trues = [None] * M if trues is None else list(trues)
    classes = np.array([pair[0][1] for pair in explained] + [pair[1][1] for pair in explained], dtype=np.int64)
    doubled = np.concatenate([x, x]) if M else x
    heatmaps = {}
    for method in methods:
        heatmaps[method] = chunked_maps(model.net, doubled, method, classes, batch_size)
        if step is not None:
            step(method)
    layers = feature_map_layers(model.net, kinds=(Conv2D,))
    activations = feature_maps(model.net, x, layers) if M else {}
    cards = []
    for m in range(M):
        order = np.argsort(-probs[m], kind="stable")[:TOP]
        top = [{"class_id": int(k), "name": model.names[k], "prob": float(probs[m, k]),
                "true": trues[m] is not None and int(k) == trues[m]} for k in order]
        scales = {method: float(max(heatmaps[method][m].max(), heatmaps[method][M + m].max(), 0.0))
                  for method in methods}
        maps = []
        for side, (role, class_id) in enumerate(explained[m]):
            row = side * M + m
            maps.append({"role": role, "class_id": int(class_id), "name": model.names[class_id],
                         "prob": float(probs[m, class_id]),
                         "by_method": {method: pictures.heatmap_uri(heatmaps[method][row], scales[method])
                                       for method in methods}})
        features = []
        for layer in layers:
            uri, columns, scale = pictures.mosaic_uri(activations[layer][m])
            h, w, channels = activations[layer][m].shape
            features.append({"layer": layer, "uri": uri, "scale": scale, "shape": (h, w, channels),
                             "columns": columns})
        best = top[0]
        alt = (f"{titles[m]}: predicted {best['name']} ({best['prob']:.1%})"
               + (f", true class {model.names[trues[m]]}" if trues[m] is not None else ""))
        cards.append({"title": titles[m], "image": pictures.image_uri(images[m]), "alt": alt, "top": top,
                      "true": trues[m], "maps": maps, "scales": scales, "features": features})
    return cards


def chunked_maps(net, x, method, classes, batch_size):
    """(N, H, W) float64 maps of ``method`` for x and classes, ``batch_size`` rows at a time."""
    if not len(x):
        return np.zeros((0,) + x.shape[1:3])
    return np.concatenate([method_maps(net, x[i:i + batch_size], method, classes[i:i + batch_size])
                           for i in range(0, len(x), batch_size)])


def mistake_pairs(evaluation, chosen):
    """((true role, true class), (predicted role, predicted class)) for each chosen mistake."""
    return [(("true", int(evaluation.labels[n])), ("predicted", int(evaluation.predicted[n]))) for n in chosen]


def runner_up_pairs(probs):
    """((predicted), (second most probable)) for each of the user's images."""
    order = np.argsort(-probs, axis=1, kind="stable")
    return [(("predicted", int(row[0])), ("runner-up", int(row[min(1, len(row) - 1)]))) for row in order]
