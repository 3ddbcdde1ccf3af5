"""Which labelled splits a checkpoint was trained on, and whether the split a command is given is one.

train.py records ``trained_on`` in every checkpoint: [{"split": "train", "source": "/abs/train.p"}], with
a second entry {"split": "valid", ...} for a final run (``train.py --final``), which trains on the
validation split too. Checkpoints written before that field record only ``train_source`` (their training
split's file): they trained on that split alone. A Keras file records neither: nothing is known.

A figure measured on images the model trained on is not a validation figure; the commands that measure a
split (evaluate, mistakes, report, faithfulness) print ``training_split_note`` when it applies.
"""
import os


def trained_splits(metadata):
    """[{"split": name, "source": file or None}]: the splits the checkpoint's run trained on ([] if unknown)."""
    recorded = metadata.get("trained_on")
    if isinstance(recorded, list):
        return [{"split": entry["split"], "source": entry.get("source") if isinstance(entry.get("source"), str)
                 else None}
                for entry in recorded if isinstance(entry, dict) and isinstance(entry.get("split"), str)]
    source = metadata.get("train_source")
    return [{"split": "train", "source": source}] if isinstance(source, str) else []


def trained_on(metadata, split, source):
    """The entry of ``trained_splits`` that the images of ``source`` (loaded as ``split``: train, valid,
    test or holdout) belong to, or None. The same file is a match whatever it was loaded as; the same split
    name matches when the file names agree too (the data moved, or was given as a folder). The held-out
    tracks never trained."""
    if split == "holdout":
        return None
    path = os.path.abspath(source)
    for entry in trained_splits(metadata):
        if entry["source"] == path:
            return entry
        if entry["split"] == split and (entry["source"] is None
                                        or os.path.basename(entry["source"]) == os.path.basename(path)):
            return entry
    return None


def training_split_note(model_path, metadata, split, source):
    """One line saying that ``model_path`` trained on these images, or None when it did not (or it is
    not known)."""
    entry = trained_on(metadata, split, source)
    if entry is None:
        return None
    recipe = metadata.get("recipe") if isinstance(metadata.get("recipe"), dict) else {}
    less = ", less the tracks it held out" if entry["split"] == "train" and recipe.get("holdout_tracks") else ""
    return (f"note: {model_path} was trained on these images (its {entry['split']} split{less}): "
            f"the figures below are not validation figures")
