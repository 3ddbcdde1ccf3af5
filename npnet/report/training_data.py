"""The report's training data: each mistake's proponents and opponents (TracIn), its nearest training
images in dense_3, and the label audit.

A checkpoint in a run folder that ``train.py --checkpoint-every K`` filled has its run's checkpoints
beside it (``RUN/checkpoints/``). Each mistake is scored for its true label: its proponents taught
that label, its opponents argued against it (taught the mistake). The scores come from the run's
influence index when one was built from these checkpoints, else from the last layer (dense_4),
exactly: one forward of the training set per checkpoint. Its neighbours are the training images
whose dense_3 features (after the ReLU) are nearest by cosine in the report's own model, the one
whose mistakes these are: one more forward of the training set.
"""
import json
import os

import numpy as np

from ..data import load_gtsrb, load_split
from ..data.dataset import NUM_CLASSES
from ..explain.training_data.gradient_index import INDEX_NAME, load_index, query_index
from ..explain.training_data.neighbours import image_features, nearest
from ..explain.training_data.run import checkpoint_files, load_run, training_images
from ..explain.training_data.tracin import influence, top_and_bottom
from ..io.errors import NpnetError
from ..io.reading import read_regular, MAX_CSV_BYTES
from . import pictures

SHOWN = 3           # proponents, opponents and neighbours per mistake
LAST_LAYER = ["dense_4"]
NEIGHBOUR_LAYER = "dense_3"


def run_folder_of(model_path):
    """The run folder holding ``model_path`` when it has checkpoints/epoch_NNN.h5, else None."""
    folder = os.path.dirname(os.path.abspath(model_path))
    try:
        checkpoint_files(folder)
    except NpnetError:
        return None
    return folder


def mistake_influence(model_path, images, labels, cache_dir=None, net=None, preprocessing=None):
    """(per mistake {'proponents': [...], 'opponents': [...], 'neighbours': [...]} or None for all, a
    sentence saying how they were found). Each item: {'uri', 'index', 'name' (set later), 'label',
    'score'}, a neighbour's 'similarity' instead of 'score'.

    net, preprocessing: the model whose mistakes these are and its spec; the neighbours are nearest
    in its NEIGHBOUR_LAYER features. Left out (no 'neighbours' key) without a net or when it has no
    layer of that name."""
    folder = run_folder_of(model_path)
    if folder is None or not len(images):
        return None, ("No training checkpoints beside this model: train with --checkpoint-every K to see the "
                      "training images behind each mistake.")
    run = load_run(folder)
    split, rows = training_images(run, cache_dir=cache_dir)
    index = load_index(os.path.join(folder, INDEX_NAME), run)
    if index is not None:
        scores = query_index(index, run, images, labels, normalized=False)
        how = (f"TracIn over {len(run.checkpoints)} checkpoints, every layer, from the run's index "
               f"({index['raw'].shape[1]} projected numbers per image)")
    else:
        scores = influence(run.checkpoints, split.images[rows], split.labels[rows], images, labels,
                           layers=LAST_LAYER, preprocessing=run.preprocessing).scores
        how = f"TracIn over {len(run.checkpoints)} checkpoints, last layer (dense_4), exact"
    proponents, opponents = top_and_bottom(scores, SHOWN)
    near = None
    if net is not None and NEIGHBOUR_LAYER in [layer.name for layer in net.layers]:
        near = nearest(image_features(net, images, preprocessing, NEIGHBOUR_LAYER),
                       image_features(net, split.images[rows], preprocessing, NEIGHBOUR_LAYER), min(SHOWN, len(rows)))
    cards = []
    for q in range(len(images)):
        def items(order, key, values):
            return [{"uri": pictures.image_uri(split.images[rows[i]]), "index": int(rows[i]),
                     "label": int(split.labels[rows[i]]), key: float(value)} for i, value in zip(order, values)]
        card = {"proponents": items(proponents[q], "score", scores[proponents[q], q]),
                "opponents": items(opponents[q], "score", scores[opponents[q], q])}
        if near is not None:
            card["neighbours"] = items(near[0][q], "similarity", near[1][q])
        cards.append(card)
    how += " for each mistake's true label."
    if near is not None:
        how += (f" Neighbours: the {near[0].shape[1]} training images nearest to the mistake in this model's "
                f"{NEIGHBOUR_LAYER} features (after its ReLU), by cosine similarity.")
    return cards, how


def read_audit(path):
    """The JSON ``explain.py audit --json`` wrote, checked: its issues and where its images are."""
    try:
        audit = json.loads(read_regular(path, MAX_CSV_BYTES * 4).decode("utf-8"))
        issues = audit["issues"]
        data = audit["data"]
        for row in issues:
            for key in ("index", "given", "suggested"):
                if not isinstance(row[key], int) or isinstance(row[key], bool) or row[key] < 0:
                    raise ValueError(f"issue {key} {row[key]!r} is not a whole number")
            if not isinstance(row["self_confidence"], (int, float)):
                raise ValueError("a self-confidence is not a number")
        if not isinstance(data, str):
            raise ValueError("'data' is not a path")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise NpnetError(f"{path}: is not an audit written by explain.py audit --json ({error})") from None
    return audit


def audit_part(path, limit=24):
    """{'suspects': [{'uri', 'index', 'given', 'suggested', 'self_confidence'}], 'total', 'injected', ...}."""
    audit = read_audit(path)
    data = audit["data"]
    train = load_gtsrb(data, progress=False)["train"] if os.path.isdir(data) else load_split(data, progress=False)
    shown = []
    for row in audit["issues"][:limit]:
        if row["index"] >= len(train) or max(row["given"], row["suggested"]) >= NUM_CLASSES:
            raise NpnetError(f"{path}: issue #{row['index']} does not fit {data} ({len(train)} images)")
        shown.append({**row, "uri": pictures.image_uri(train.images[row["index"]])})
    return {"suspects": shown, "total": len(audit["issues"]), "injected": audit.get("injected_noise"),
            "suspect_tracks": audit.get("suspect_tracks", []), "copies": len(audit.get("copies_across_labels", [])),
            "folds": audit.get("folds"), "epochs": audit.get("epochs")}
