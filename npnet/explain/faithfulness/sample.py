"""The report's faithfulness table: ``explain.py faithfulness`` on a sample of the data, or a whole run's
JSON (``explain.py faithfulness --json > f.json``, then ``report --faithfulness f.json``).

The sample: ``count`` images evenly spaced over the split (positions round(i * (N - 1) / (count - 1))),
so that every part of a file sorted by class or track is in it; scored by the same code as the command
(``npnet.explain.faithfulness.scoring.score_methods``), the true class explained, beside the same two baselines.
"""
import json
import math

import numpy as np

from ...io.errors import NpnetError
from . import scoring
from ...io.reading import read_regular

JSON_BYTES = 1 << 20
NUMBERS = ("energy_in_box", "pointing_game", "deletion_auc", "insertion_auc", "road_morf", "road_lerf",
           "randomization", "seconds_per_image")


def sample_positions(total, count):
    """``count`` (at most ``total``) distinct positions spread evenly over 0 .. total - 1."""
    if count >= total:
        return np.arange(total)
    return np.unique(np.round(np.linspace(0, total - 1, count)).astype(np.int64))


def scored_sample(model, data, x, methods, count, seed=0, steps=32, batch_size=512, step=None):
    """{"images", "sample", "methods": {name: row}, "baselines": {...}} or {"skipped": why} for a split
    without sign boxes. ``step(name)`` is called after each method and baseline (a progress bar)."""
    boxes = data.boxes.astype(np.float64)
    empty = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    if empty.any():
        return {"skipped": f"{empty.sum()} of {len(data)} images of {data.source} have no sign box: "
                           "faithfulness needs GTSRB's boxes"}
    rows = sample_positions(len(data), count)

    def progress(name, done, chunks):     # the report's bar counts methods, not chunks
        if step is not None and done == chunks:
            step(f"faithfulness: {name}")
    scored, _, _ = scoring.score_methods(model.net, x[rows], boxes[rows], data.labels[rows], methods, seed,
                                         steps, batch_size, progress)
    return {"images": len(rows), "sample": f"{len(rows)} of {len(data):,} images, evenly spaced",
            "methods": {k: v for k, v in scored.items() if k not in scoring.BASELINES},
            "baselines": {k: v for k, v in scored.items() if k in scoring.BASELINES}}


def read_scores(path):
    """A faithfulness JSON (``explain.py faithfulness --json``), checked; NpnetError naming the file."""
    raw = read_regular(path, JSON_BYTES, error=NpnetError, doing="cannot read the faithfulness JSON")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise NpnetError(f"{path}: not valid JSON ({str(error)[:100]})") from None
    if not (isinstance(document, dict) and isinstance(document.get("images"), int)
            and isinstance(document.get("methods"), dict) and isinstance(document.get("baselines"), dict)):
        raise NpnetError(f"{path}: not the JSON of `explain.py faithfulness --json` "
                         "(needs 'images', 'methods' and 'baselines')")
    for group in ("methods", "baselines"):
        for name, row in document[group].items():
            if not isinstance(row, dict):
                raise NpnetError(f"{path}: {group}.{name} is not an object")
            for key in NUMBERS:
                value = row.get(key)
                if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                              and math.isfinite(value)):
                    raise NpnetError(f"{path}: {group}.{name}.{key} is not a number")
    document["sample"] = f"all {document['images']:,} images, from {path}"
    return document
