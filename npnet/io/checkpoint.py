"""Checkpoints: a model's weights, architecture and everything needed to use or resume it, in HDF5.

Layout (any HDF5 tool can read it; documented in the README):

    /                      attrs: format = "npnet-checkpoint", format_version = 1,
                                  architecture (JSON: Sequential.get_config()),
                                  class_names (JSON list), preprocessing (JSON), metadata (JSON)
    /conv2d_1/kernel       float32 (3, 3, 3, 32)   one group per layer with weights, named as in
    /conv2d_1/bias         float32 (32,)           the summary
    ...
    /dense_4/kernel        float32 (64, 43)
    /optimizer             optional, to resume training: attrs state (JSON: config, iterations),
        /m/conv2d_1/kernel ...                     one dataset per slot and parameter

Saving writes a temporary file beside ``path`` and renames it over ``path`` (atomic on POSIX), so
an interrupted save leaves the previous checkpoint whole. Loading checks every group, link, shape and
dtype against the architecture before reading any weights, and refuses NaN or infinite weights, so a
broken or hostile file gives a one-line ``CheckpointError`` and nothing else.
"""
import contextlib
import json
import os

import h5py
import numpy as np

from .checkpoint_checks import MAX_IMAGE_BYTES, MAX_PARAMETERS, Refused, class_names_problem, plan
from .errors import CheckpointError
from .files import write_atomic
from ..engine.model import Sequential
from ..engine.optimizers import OPTIMIZERS
from ..data.preprocessing import spec_problem
from .reading import open_regular

FORMAT_NAME = "npnet-checkpoint"
FORMAT_VERSION = 1
IMAGE_INPUT = (32, 32, 3)     # what the command-line tools feed a network: load(path, input_shape=IMAGE_INPUT)
__all__ = ["save", "load", "load_optimizer", "IMAGE_INPUT", "MAX_PARAMETERS", "MAX_IMAGE_BYTES"]


# -- saving ---------------------------------------------------------------------------------------
def save(model, path, class_names=None, preprocessing=None, optimizer=None, **metadata):
    """Write ``model`` (and, to resume training, ``optimizer``) to ``path`` atomically."""
    path = os.fspath(path)

    def write(temporary):
        with h5py.File(temporary, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["architecture"] = json.dumps(model.get_config())
            f.attrs["class_names"] = json.dumps(list(class_names) if class_names is not None else None)
            f.attrs["preprocessing"] = json.dumps(preprocessing)
            f.attrs["metadata"] = json.dumps(metadata)
            for layer in model.layers:
                for key, value in layer.params.items():
                    f.create_dataset(f"{layer.name}/{key}", data=value.astype(np.float32, copy=False))
            if optimizer is not None:
                _save_optimizer(f, optimizer)

    try:
        write_atomic(path, write)
    except OSError as error:
        raise CheckpointError(f"{path}: could not save checkpoint ({error.strerror or error}); "
                              "the previous file is unchanged") from error


def _save_optimizer(f, optimizer):
    state = optimizer.state()
    group = f.create_group("optimizer")
    group.attrs["state"] = json.dumps({"type": type(optimizer).__name__, "config": state["config"],
                                       "iterations": state["iterations"]})
    for slot, arrays in state["slots"].items():
        for key, value in arrays.items():
            group.create_dataset(f"{slot}/{key}", data=value)


# -- loading --------------------------------------------------------------------------------------
def load(path, input_shape=None):
    """Read a checkpoint: returns (model, metadata). metadata holds the saved keyword arguments plus
    'class_names' and 'preprocessing' (also kept as ``model.preprocessing``). Any problem raises
    CheckpointError naming the file.

    Checked before any weight is read: the architecture (``checkpoint_checks.plan``: sizes, parameter
    count, activation memory of one image), and, when ``input_shape`` is given (e.g. ``IMAGE_INPUT``),
    that the network takes exactly that input. Checked after: 'class_names' is None or a list of one
    string per output class, 'preprocessing' is None or a spec ``fit_preprocessing`` makes.
    """
    with _reading(path) as f:
        model = _build_model(path, f)
        if input_shape is not None and model.input_shape[1:] != tuple(input_shape):
            expected = "x".join(map(str, input_shape))
            raise CheckpointError(f"{path}: the network takes input of shape {model.input_shape[1:]}, "
                                  f"not the {expected} images it would be given")
        expected = {layer.name: layer for layer in model.layers if layer.params}
        extra = sorted(set(f.keys()) - set(expected) - {"optimizer"})
        if extra:
            raise CheckpointError(f"{path}: unexpected group '{extra[0]}' (not a layer of the architecture)")
        for name, layer in expected.items():
            for key, value in layer.params.items():
                layer.params[key] = _read_array(path, f, f"{name}/{key}", value.shape)
        metadata = {key: _json_attr(path, f, key) for key in ("class_names", "preprocessing")}
        problem = class_names_problem(metadata["class_names"], model.output_shape[-1])
        if problem:
            raise CheckpointError(f"{path}: {problem}")
        if metadata["preprocessing"] is not None:
            problem = spec_problem(metadata["preprocessing"], channels=model.input_shape[-1])
            if problem:
                raise CheckpointError(f"{path}: the preprocessing spec {problem}")
        saved = _json_attr(path, f, "metadata")
        if not isinstance(saved, (dict, type(None))):
            raise CheckpointError(f"{path}: attribute 'metadata' is a {type(saved).__name__}, expected a JSON object")
        clash = sorted(set(saved or {}) & set(metadata))
        if clash:
            raise CheckpointError(f"{path}: attribute 'metadata' holds '{clash[0]}', which has an attribute of its own")
        metadata.update(saved or {})
    model.preprocessing = metadata["preprocessing"]
    return model, metadata


def load_optimizer(path, model):
    """The optimizer saved with the checkpoint (moments and step count), or None if there is none."""
    with _reading(path) as f:
        if "optimizer" not in f:
            return None
        group = _hard_link(path, f, "optimizer", h5py.Group)
        state = _json_attr(path, group, "state")
        if not isinstance(state, dict) or state.get("type") not in OPTIMIZERS:
            raise CheckpointError(f"{path}: optimizer state is missing or of an unknown type")
        try:
            optimizer = OPTIMIZERS[state["type"]](**state["config"])
            iterations = int(state["iterations"])
            if iterations < 0:
                raise ValueError(f"a negative step count, {iterations}")
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise CheckpointError(f"{path}: optimizer state is not valid ({_one_line(error)})") from None
        slot_names = list(optimizer.state()["slots"])
        slots = {slot: {key: _read_array(path, f, f"optimizer/{slot}/{key}", value.shape)
                        for key, value in model.params().items()} for slot in slot_names}
        optimizer.load_state({"config": state["config"], "iterations": iterations, "slots": slots})
        return optimizer


@contextlib.contextmanager
def _reading(path):
    """The open file; an error HDF5 raises on a corrupt structure inside it (RuntimeError, KeyError,
    ValueError... depending on where the damage is) becomes one CheckpointError naming the file."""
    opened = _open(path)
    try:
        with opened as f:
            yield f
    except CheckpointError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{os.fspath(path)}: the file is corrupt ({_one_line(error)})") from None


def _open(path):
    """The HDF5 file, read through our own descriptor: a regular file only (a FIFO or a device is
    refused, never waited on), and the name cannot be swapped between the check and the open."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    handle = open_regular(path, error=CheckpointError, doing="cannot read the checkpoint")
    try:
        return _Closing(h5py.File(handle, "r"), handle)
    except (OSError, RuntimeError, ValueError) as error:
        handle.close()
        raise CheckpointError(f"{path}: not a readable HDF5 checkpoint (truncated or not HDF5: "
                              f"{str(error).splitlines()[0]})") from None


class _Closing:
    """An h5py.File read from ``handle``; leaving the ``with`` closes both."""

    def __init__(self, file, handle):
        self.file, self.handle = file, handle

    def __enter__(self):
        return self.file

    def __exit__(self, *exc_info):
        try:
            self.file.close()
        finally:
            self.handle.close()


def _json_attr(path, node, key):
    try:
        raw = node.attrs[key]
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (KeyError, TypeError, ValueError, OSError, RecursionError):
        raise CheckpointError(f"{path}: attribute '{key}' is missing or not valid JSON") from None


def _build_model(path, f):
    try:
        name, version = f.attrs.get("format"), f.attrs.get("format_version")
    except (OSError, TypeError, ValueError):
        name = version = None
    if not (isinstance(name, str) and name == FORMAT_NAME):
        raise CheckpointError(f"{path}: not an npnet checkpoint (no format attribute '{FORMAT_NAME}')")
    if not (isinstance(version, (int, np.integer)) and version == FORMAT_VERSION):
        raise CheckpointError(f"{path}: checkpoint format version {_one_line(version)} is not supported "
                              f"(this npnet reads version {FORMAT_VERSION})")
    config = _json_attr(path, f, "architecture")
    try:
        plan(config)                  # sizes, parameters and activation memory, from shapes alone
        return Sequential.from_config(config)
    except Refused as refused:
        raise CheckpointError(f"{path}: {refused}") from None
    except Exception as error:  # the architecture is data from the file: any failure to build it is its fault
        raise CheckpointError(f"{path}: architecture cannot be built "
                              f"({type(error).__name__}: {_one_line(error)})") from None


def _one_line(value, limit=200):
    """``value`` as text on one line, at most ``limit`` characters (it may come from a hostile file)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _hard_link(path, f, name, kind):
    """The object at ``name``, provided it is a plain object of this file (no external or soft
    link, which could point at another file) of the right kind."""
    parts = name.split("/")
    node = f
    for depth, part in enumerate(parts):
        if part not in node:
            raise CheckpointError(f"{path}: '{name}' is missing")
        if not isinstance(node.get(part, getlink=True), h5py.HardLink):
            raise CheckpointError(f"{path}: '{'/'.join(parts[:depth + 1])}' is a link; links are not followed")
        node = node[part]
    if not isinstance(node, kind):
        raise CheckpointError(f"{path}: '{name}' is not a {'dataset' if kind is h5py.Dataset else 'group'}")
    return node


def _read_array(path, f, name, shape):
    """Read one float32 array after checking, before any allocation, that it is what we expect."""
    dataset = _hard_link(path, f, name, h5py.Dataset)
    if dataset.is_virtual or dataset.external:
        raise CheckpointError(f"{path}: '{name}' stores its data in another file; refused")
    if dataset.shape != tuple(shape):
        raise CheckpointError(f"{path}: '{name}' has shape {dataset.shape}, the architecture needs {tuple(shape)}")
    if dataset.dtype != np.float32:
        raise CheckpointError(f"{path}: '{name}' has dtype {dataset.dtype}, expected float32")
    try:
        value = dataset[()]
    except OSError as error:
        raise CheckpointError(f"{path}: '{name}' cannot be read ({str(error).splitlines()[0]})") from None
    if not np.all(np.isfinite(value)):
        raise CheckpointError(f"{path}: '{name}' holds NaN or infinite values; refused")
    return value
