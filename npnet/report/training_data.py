"""The report's training data: each mistake's proponents and opponents (TracIn), and the label audit.

A checkpoint in a run folder that ``train.py --checkpoint-every K`` filled has its run's checkpoints
beside it (``RUN/checkpoints/``). Each mistake is scored for its true label: its proponents taught
that label, its opponents argued against it (taught the mistake). The scores come from the run's
influence index when one was built from these checkpoints, else from the last layer (dense_4),
exactly: one forward of the training set per checkpoint.
"""
import json
import os

import numpy as np

from ..data import load_gtsrb, load_split
from ..data.dataset import NUM_CLASSES
from ..explain.training_data.gradient_index import INDEX_NAME, load_index, query_index
from ..explain.training_data.run import checkpoint_files, load_run, training_images
from ..explain.training_data.tracin import influence, top_and_bottom
from ..io.errors import NpnetError
from ..io.reading import read_regular, MAX_CSV_BYTES
from . import pictures

SHOWN = 3           # proponents and opponents per mistake
LAST_LAYER = ["dense_4"]


def run_folder_of(model_path):
    """The run folder holding ``model_path`` when it has checkpoints/epoch_NNN.h5, else None."""
    folder = os.path.dirname(os.path.abspath(model_path))
    try:
        checkpoint_files(folder)
    except NpnetError:
        return None
    return folder


def mistake_influence(model_path, images, labels, cache_dir=None):
    """(per mistake {'proponents': [...], 'opponents': [...]} or None for all, a sentence saying how
    the scores were computed). Each item: {'uri', 'index', 'name' (set later), 'label', 'score'}."""
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
    cards = []
    for q in range(len(images)):
        def items(order):
            return [{"uri": pictures.image_uri(split.images[rows[i]]), "index": int(rows[i]),
                     "label": int(split.labels[rows[i]]), "score": float(scores[i, q])} for i in order]
        cards.append({"proponents": items(proponents[q]), "opponents": items(opponents[q])})
    return cards, how + " for each mistake's true label."


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
