"""``load_model(path)``: any model file npnet reads, told apart by its content, never by its name.

    a zip (PK\\x03\\x04) holding config.json                   -> a Keras .keras file   (``load_keras``)
    HDF5 with the attribute format = "npnet-checkpoint"        -> npnet's checkpoint    (``checkpoint.load``)
    HDF5 with a model_config attribute or model_weights group  -> a Keras legacy .h5    (``load_keras``)
    HDF5 with Keras weights only (layers/ or layer_names)      -> Keras weights of the seed net

Anything else goes to ``checkpoint.load``, whose one-line error says what an npnet file must be.
"""
import os

import h5py

from . import checkpoint
from .errors import CheckpointError
from .reading import open_regular
from ..convert.keras import ZIP_MAGIC, load_keras

NPNET, KERAS = "npnet", "keras"


def kind(path):
    """'keras' or 'npnet' (also for a file that is neither: ``checkpoint.load`` then says why)."""
    with open_regular(path, error=CheckpointError, doing="cannot read the checkpoint") as handle:
        if handle.read(4) == ZIP_MAGIC:
            return KERAS
        handle.seek(0)
        try:
            with h5py.File(handle, "r") as f:
                if f.attrs.get("format") == checkpoint.FORMAT_NAME:
                    return NPNET
                keras = "model_config" in f.attrs or "layer_names" in f.attrs or any(
                    name in f for name in ("model_weights", "layers"))
                return KERAS if keras else NPNET
        except (OSError, RuntimeError, ValueError, TypeError, KeyError):
            return NPNET


def load_model(path, input_shape=None, preprocessing=None):
    """(model, metadata) from an npnet checkpoint or a Keras file; ``input_shape`` as in
    ``checkpoint.load`` (e.g. ``checkpoint.IMAGE_INPUT``). ``preprocessing`` applies to Keras
    files only (npnet's checkpoints record their own); None assumes the seed's."""
    path = os.fspath(path)
    if not os.path.lexists(path) or kind(path) == NPNET:   # checkpoint.load says what is wrong, if anything
        if preprocessing is not None:
            raise CheckpointError(f"{path}: an npnet checkpoint records its own preprocessing; "
                                  "a preprocessing spec applies to Keras files only")
        return checkpoint.load(path, input_shape=input_shape)
    model, metadata = load_keras(path, preprocessing=preprocessing)
    model.preprocessing = metadata.get("preprocessing")
    if input_shape is not None and model.input_shape[1:] != tuple(input_shape):
        expected = "x".join(map(str, input_shape))
        raise CheckpointError(f"{path}: the network takes input of shape {model.input_shape[1:]}, "
                              f"not the {expected} images it would be given")
    return model, metadata
