"""``load_keras(path)``: a Keras model file -> (npnet Sequential, metadata), with h5py and json only.

Three kinds of file, told apart by their content (``detect.kind``):

    .keras (Keras 3)      a zip: config.json (the architecture), metadata.json (versions),
                          model.weights.h5 (weights in the 'vars' layout, ``keras_weights``)
    legacy .h5            HDF5, attrs model_config (the architecture, JSON), keras_version, backend;
                          /model_weights in the 'legacy' layout (Keras 2 and Keras 3 write it)
    weights only          HDF5 weights without an architecture (Keras 3 ``*.weights.h5``, Keras 2
                          ``save_weights('x.h5')``): the architecture is given (default: the seed net)

The preprocessing is not in a Keras file: the seed's (x / 255 - 0.5) is assumed unless told, and
``metadata['preprocessing_assumed']`` says so. A final softmax is left out of the logits and
recorded in ``metadata['final_softmax']``.

A .keras zip is read member by member through ``zipfile`` without extracting anything to disk:
at most ``MAX_MEMBERS`` members, config.json at most ``MAX_CONFIG_BYTES`` (as is a legacy file's
``model_config``), the weights file at most ``MAX_WEIGHTS_BYTES`` (uncompressed).
"""
import json
import os
import zipfile

import h5py
import numpy as np

from ..io.checkpoint_checks import MAX_PARAMETERS, Refused, plan
from ..engine.model import Sequential
from ..data.preprocessing import fit_preprocessing, spec_problem
from ..io.reading import ARCHIVE_ERRORS, open_regular
from ..engine.seed_net import seed_net
from . import keras_weights
from .keras_config import Unsupported, translate, vars_key
from .keras_weights import KerasError

MAX_FILE_BYTES = 8 * MAX_PARAMETERS * 4     # weights, plus optimizer state a .keras file may carry
MAX_WEIGHTS_BYTES = MAX_FILE_BYTES
MAX_CONFIG_BYTES = 4 * 2**20                # the seed net's config.json: about 6 KB
MAX_MEMBERS = 100
ZIP_MAGIC = b"PK\x03\x04"


def load_keras(path, preprocessing=None, architecture=None):
    """Read the Keras file ``path``: returns (model, metadata), raises KerasError (one line naming the file).

    preprocessing: an npnet spec (``fit_preprocessing(...)`` or its name, e.g. 'image_standardize');
    default the seed's {'name': 'seed'}. architecture: for a weights-only file, the npnet model
    whose weights it holds (default: ``seed_net`` with as many classes as the file's last layer).
    metadata: class_names (None: Keras does not store them), preprocessing, preprocessing_assumed,
    final_softmax, keras_format, keras_version, backend, left_out (Keras layers that compute
    nothing here: linear activations, the final softmax).
    """
    path = os.fspath(path)
    spec, assumed = _spec(path, preprocessing)
    with open_regular(path, MAX_FILE_BYTES, error=KerasError, doing="cannot read the Keras file") as handle:
        head = handle.read(8)
        handle.seek(0)
        try:
            if head.startswith(ZIP_MAGIC):
                model, metadata = _read_zip(path, handle)
            else:
                with _h5(path, handle) as f:
                    model, metadata = _read_h5(path, f, architecture)
        except KerasError:
            raise
        except ARCHIVE_ERRORS + (TypeError,) as error:      # a damaged zip member or HDF5 file
            raise KerasError(f"{path}: the file is corrupt ({_one_line(error)})") from None
    metadata.update(class_names=None, preprocessing=spec, preprocessing_assumed=assumed)
    return model, metadata


def _spec(path, preprocessing):
    if preprocessing is None:
        return {"name": "seed"}, True
    if isinstance(preprocessing, str):
        if preprocessing == "standardize":
            raise KerasError(f"{path}: preprocessing 'standardize' needs the training set's mean and std: "
                             "give the whole spec, e.g. {\"name\": \"standardize\", \"mean\": [...], \"std\": [...]}")
        try:
            return fit_preprocessing(preprocessing), False
        except ValueError as error:
            raise KerasError(f"{path}: {error}") from None
    problem = spec_problem(preprocessing)
    if problem:
        raise KerasError(f"{path}: the preprocessing spec {problem}")
    return dict(preprocessing), False


# -- .keras zip -----------------------------------------------------------------------------------
def _read_zip(path, handle):
    with zipfile.ZipFile(handle) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise KerasError(f"{path}: the zip holds {len(members):,} members, more than a .keras file's "
                             f"{MAX_MEMBERS}; refused")
        names = {member.filename: member for member in members}
        if "config.json" not in names:
            raise KerasError(f"{path}: a zip without config.json, not a .keras model file")
        config = _json(path, "config.json", _member_bytes(path, archive, names["config.json"], MAX_CONFIG_BYTES))
        info = (_json(path, "metadata.json", _member_bytes(path, archive, names["metadata.json"], MAX_CONFIG_BYTES))
                if "metadata.json" in names else {})
        model, metadata = _build(path, config)
        if "model.weights.h5" not in names:
            other = sorted(n for n in names if "weights" in n)
            raise KerasError(f"{path}: no model.weights.h5 in the zip"
                             + (f" (it holds {_one_line(other[0])}; npnet reads HDF5 weights only)" if other else ""))
        member = names["model.weights.h5"]
        if member.file_size > MAX_WEIGHTS_BYTES:
            raise KerasError(f"{path}: model.weights.h5 is {member.file_size:,} bytes, more than the "
                             f"{MAX_WEIGHTS_BYTES:,} allowed; refused before reading")
        with archive.open(member) as weights, _h5(path, weights, "model.weights.h5") as f:
            groups, _ = keras_weights.layer_groups(f"{path}: model.weights.h5", f)
            keras_weights.assign(f"{path}: model.weights.h5", model, groups, metadata.pop("weights"),
                                 names=metadata.pop("vars_keys"))
    metadata.update(keras_format="Keras .keras zip",
                    keras_version=_text(info.get("keras_version")) if isinstance(info, dict) else None,
                    backend=None)
    return model, metadata


def _member_bytes(path, archive, member, limit):
    if member.file_size > limit:
        raise KerasError(f"{path}: {_one_line(member.filename)} is {member.file_size:,} bytes, more than the "
                         f"{limit:,} allowed; refused before reading")
    with archive.open(member) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise KerasError(f"{path}: {_one_line(member.filename)} is more than the {limit:,} bytes allowed; refused")
    return data


# -- HDF5: a whole model or its weights -----------------------------------------------------------
def _read_h5(path, f, architecture):
    if "model_config" in f.attrs:
        model, metadata = _build(path, _json(path, "model_config", _attribute_bytes(path, f, "model_config")))
        groups, layout = keras_weights.layer_groups(path, f)
        names = metadata.pop("vars_keys")
        keras_weights.assign(path, model, groups, metadata.pop("weights"), names=names if layout == "vars" else None)
        metadata["keras_format"] = "Keras HDF5 (model.save('x.h5'))"
    else:
        groups, layout = keras_weights.layer_groups(path, f)
        model = architecture if architecture is not None else _seed_for(path, groups)
        weighted = [layer for layer in model.layers if layer.params]
        if len(weighted) != len(groups):
            raise KerasError(f"{path}: the file holds weights for {len(groups)} layers, the architecture has "
                             f"{len(weighted)} layers with weights")
        wanted = {layer.name: list(layer.params) for layer in weighted}
        if layout == "vars":      # Keras 3 names the groups by class and position (keras_config.vars_key)
            counts = {}
            names = {layer.name: vars_key(type(layer).__name__, counts) for layer in weighted}
        else:                     # legacy: the file's layer_names are in the model's order
            names = dict(zip(wanted, groups))
        keras_weights.assign(path, model, groups, wanted, names=names)
        metadata = {"final_softmax": None, "left_out": [], "model_name": None,
                    "keras_format": "Keras weights only, architecture: "
                                    + ("given" if architecture is not None else "the seed net (assumed)")}
    metadata.update(keras_version=_text(f.attrs.get("keras_version")), backend=_text(f.attrs.get("backend")))
    return model, metadata


def _seed_for(path, groups):
    """The seed net with as many classes as the last layer's bias has values."""
    if not groups:
        raise KerasError(f"{path}: holds no weights")
    last = list(groups.values())[-1][-1]
    classes = last.shape[0] if len(last.shape) == 1 else 0
    if not 1 <= classes <= 100_000:
        raise KerasError(f"{path}: the last weights have shape {last.shape}, not the bias of a layer of class "
                         "scores: the file is not the seed net's weights")
    return seed_net(num_classes=classes)


def _attribute_bytes(path, f, key):
    """The attribute's text, at most MAX_CONFIG_BYTES. A fixed-size attribute is measured before it is
    read; a variable-length string (what h5py writes) has no size HDF5 tells before reading it, so it
    is bounded by the file's own size cap, and refused after reading when it is too long."""
    attribute = f.attrs.get_id(key)
    if not (attribute.get_type().get_class() == h5py.h5t.STRING and attribute.get_type().is_variable_str()):
        size = attribute.get_storage_size()
        if size > MAX_CONFIG_BYTES:
            raise KerasError(f"{path}: attribute '{key}' is {size:,} bytes, more than the "
                             f"{MAX_CONFIG_BYTES:,} allowed; refused before reading")
    value = f.attrs[key]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    data = value if isinstance(value, bytes) else str(value).encode() if isinstance(value, str) else None
    if data is None:
        raise KerasError(f"{path}: attribute '{key}' is not text")
    if len(data) > MAX_CONFIG_BYTES:
        raise KerasError(f"{path}: attribute '{key}' is {len(data):,} bytes, more than the {MAX_CONFIG_BYTES:,} allowed")
    return data


def _h5(path, handle, member=None):
    try:
        return h5py.File(handle, "r")
    except (OSError, RuntimeError, ValueError) as error:
        where = f"{path}: {member}" if member else path
        raise KerasError(f"{where}: not a readable HDF5 file (truncated or not HDF5: "
                         f"{str(error).splitlines()[0]})") from None


# -- the architecture -----------------------------------------------------------------------------
def _build(path, config):
    """Keras config -> the npnet model (weights not read yet) and the notes of ``translate``."""
    try:
        npnet_config, notes = translate(config)
        plan(npnet_config)
        model = Sequential.from_config(npnet_config)
    except Unsupported as problem:
        raise KerasError(f"{path}: {problem}") from None
    except Refused as refused:
        raise KerasError(f"{path}: {refused}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise KerasError(f"{path}: the architecture cannot be built ({_one_line(error)})") from None
    return model, notes


def _json(path, what, data):
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise KerasError(f"{path}: {what} is not valid JSON ({_one_line(error)})") from None


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _one_line(value, 40) if isinstance(value, str) else None


def _one_line(value, limit=200):
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[:limit] + "..."
