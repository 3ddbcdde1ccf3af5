"""Predictions with names: the k most probable classes of each image, and reading class names.

    p = softmax(logits)                  (N, K)
    top-k of image n = the k classes with the largest p[n], most probable first
"""
from collections import namedtuple

import numpy as np

from ..data.names import OFFICIAL_NAMES
from ..io.errors import NpnetError
from ..data.preprocessing import preprocess
from ..data.tta import predict_proba_tta
from .inputs import check_images, check_top

Prediction = namedtuple("Prediction", "class_id name prob")


def model_class_names(model, class_names=None):
    """The names of the model's K classes: ``class_names`` when given (a checkpoint's), else the
    official GTSRB names for a 43-class model, else 'class 0', 'class 1', ..."""
    K = model.output_shape[-1]
    if class_names is not None and len(class_names) == K:
        return list(class_names)
    if K == len(OFFICIAL_NAMES):
        return list(OFFICIAL_NAMES)
    return [f"class {k}" for k in range(K)]


def top_k(probs, top=5, class_names=None):
    """Per image, a list of ``Prediction(class_id, name, prob)``, most probable first.
    probs: (N, K) -> N lists of min(top, K) predictions."""
    K = probs.shape[1]
    names = class_names if class_names is not None else [f"class {k}" for k in range(K)]
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top]
    return [[Prediction(int(k), names[k], float(p[k])) for k in row] for p, row in zip(probs, order)]


def predict(model, images, top=5, class_names=None, preprocessing=None, tta=None):
    """Top-``top`` predictions of each image: N lists of Prediction(class_id, name, prob).

    images        : model input (N, 32, 32, 3); uint8 when ``preprocessing`` (the spec) is given
    class_names   : names for the K classes (default: see ``model_class_names``)
    tta           : a number of test-time views 1..9 (``npnet.data.tta``; needs uint8 images and
                    ``preprocessing``): prob is then the mean over the views
    """
    top = check_top(top)
    if tta is not None:
        if preprocessing is None:
            raise ValueError("test-time augmentation works on uint8 images: give preprocessing=spec")
        probs = predict_proba_tta(model, check_images(model, images), preprocessing, tta)
        return top_k(probs, top, model_class_names(model, class_names))
    if preprocessing is not None:
        images = preprocess(images, preprocessing)
    probs = model.predict_proba(check_images(model, images))
    return top_k(probs, top, model_class_names(model, class_names))


def resolve_class(value, class_names):
    """A class given by the user, as an id: '14', 14 or a name ('stop', any case).
    Anything else raises NpnetError listing the valid ids and names."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and int(text) < len(class_names):
        return int(text)
    for class_id, name in enumerate(class_names):
        if name.casefold() == text.casefold():
            return class_id
    listing = "; ".join(f"{k} {name}" for k, name in enumerate(class_names))
    raise NpnetError(f"unknown class {text!r}: give an id 0..{len(class_names) - 1} or a name: {listing}")
