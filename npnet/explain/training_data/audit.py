"""The label audit: which training labels the net's own out-of-sample beliefs contradict, and which
images are near copies of each other.

    1. out-of-sample probabilities for every training image (``cross_validation``: K folds by track)
    2. label issues: confident learning's ``find_label_issues`` on them (``confident_learning``),
       ranked by self-confidence p[given label], lowest first; suggested = the class the models believe
    3. suspect tracks: tracks where most frames are issues (a whole sign labelled wrong)
    4. near copies across labels, and held-out images whose nearest training image is a near copy
       (``duplicates``), in a fold model's ``dense_3`` features (cosine)

With ``inject_noise`` = f the labels are first flipped at random for a fraction f of the images
(``inject_label_noise``, seeded): the audit then reports the precision and recall with which it found
the flips, a check of the whole pipeline on GTSRB itself.
"""
from dataclasses import dataclass, field

import numpy as np

from ...data.dataset import Dataset
from ...data.preprocessing import preprocess
from ...data.splits import track_groups
from ...io.load import load_model
from .confident_learning import (find_label_issues, inject_label_noise, precision_recall, self_confidence,
                                 suggested_labels)
from .cross_validation import fold_folder, out_of_sample_probabilities
from .duplicates import COPY_THRESHOLD, LEAK_THRESHOLD, cross_label_copies, leaks
from .neighbours import layer_features

#: a track is suspect when at least this share of its frames are label issues
SUSPECT_TRACK_SHARE = 0.5


@dataclass
class Audit:
    labels: np.ndarray              # (N,) the labels audited (after any injected noise)
    pred_probs: np.ndarray          # (N, K) out-of-sample probabilities
    folds: np.ndarray               # (N,) each image's fold
    issues: np.ndarray              # indices, ranked
    tracks: np.ndarray              # (N,) track (or 30-frame block) of each image
    suspect_tracks: list = field(default_factory=list)     # [{'track', 'size', 'issues', 'given', 'suggested'}]
    copies: list = field(default_factory=list)             # [(i, j, similarity)] across labels
    leaks: dict = field(default_factory=dict)              # {split name: [(query, train image, similarity)]}
    injected: dict = None                                  # {'fraction', 'seed', 'flipped', 'precision', 'recall'}

    def issue_rows(self):
        """[{'index', 'given', 'suggested', 'self_confidence', 'track'}] in rank order."""
        suggested = suggested_labels(self.pred_probs)
        confidence = self_confidence(self.labels, self.pred_probs)
        return [{"index": int(i), "given": int(self.labels[i]), "suggested": int(suggested[i]),
                 "self_confidence": float(confidence[i]), "track": int(self.tracks[i])} for i in self.issues]


def suspect_tracks(issues, tracks, labels, suggested, share=SUSPECT_TRACK_SHARE):
    """Tracks at least ``share`` of whose frames are issues, most issues first."""
    flagged = np.zeros(len(tracks), dtype=bool)
    flagged[issues] = True
    found = []
    for track in np.unique(tracks[flagged]):
        rows = np.flatnonzero(tracks == track)
        count = int(flagged[rows].sum())
        if count >= share * len(rows):
            found.append({"track": int(track), "size": len(rows), "issues": count,
                          "given": int(np.bincount(labels[rows]).argmax()),
                          "suggested": int(np.bincount(suggested[rows[flagged[rows]]]).argmax())})
    return sorted(found, key=lambda t: (-t["issues"], t["track"]))


def run_audit(train, recipe, out, class_names, folds=5, seed=0, inject_noise=0.0, noise_seed=0,
              others=None, copy_threshold=COPY_THRESHOLD, leak_threshold=LEAK_THRESHOLD, progress=True,
              log=print):
    """Audit the training split ``train`` (a Dataset). ``others``: {name: Dataset} checked for leaks."""
    labels = train.labels
    if inject_noise:
        labels, flipped = inject_label_noise(train.labels, inject_noise, noise_seed, len(class_names))
        train = Dataset(train.images, labels, train.boxes, train.tracks, train.source)
    pred_probs, fold_of = out_of_sample_probabilities(train, recipe, out, class_names, folds, seed, progress, log)
    issues = find_label_issues(labels, pred_probs)
    tracks = track_groups(train)
    audit = Audit(labels, pred_probs, fold_of, issues, tracks,
                  suspect_tracks(issues, tracks, labels, suggested_labels(pred_probs)))
    if inject_noise:
        precision, recall = precision_recall(issues, flipped)
        audit.injected = {"fraction": inject_noise, "seed": noise_seed, "flipped": int(flipped.sum()),
                          "found": len(issues), "precision": precision, "recall": recall}
    model, metadata = load_model(f"{fold_folder(out, 0)}/last.h5")
    features = layer_features(model, preprocess(train.images, metadata["preprocessing"]))
    audit.copies = cross_label_copies(features, labels, copy_threshold, groups=tracks)
    for name, other in (others or {}).items():
        queries = layer_features(model, preprocess(other.images, metadata["preprocessing"]))
        audit.leaks[name] = list(zip(*leaks(queries, features, leak_threshold)))
    return audit
