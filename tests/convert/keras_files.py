"""Keras-layout files written with h5py and zipfile, for tests that need a file Keras never wrote: a
seed net of 32x32 input, a hostile config, a broken weight. The layouts are the ones the committed
fixtures show (fixtures/make_fixtures.py writes those with real Keras):

    keras_zip(path, config, weights)      .keras: config.json, metadata.json, model.weights.h5 with
                                          layers/<vars key>/vars/0, 1 (Keras 3)
    legacy_h5(path, config, weights)      .h5: attrs model_config, keras_version; model_weights/<layer>
                                          with weight_names ['<layer>/kernel:0', ...] (Keras 2)
    weights: {Keras layer name: [kernel, bias]} in the model's order.
"""
import io
import json
import zipfile

import h5py
import numpy as np

from npnet.convert.keras_config import vars_key

KERAS_TYPES = {"Conv2D": "Conv2D", "MaxPool2D": "MaxPooling2D", "Flatten": "Flatten", "Dropout": "Dropout",
               "Dense": "Dense", "ReLU": "ReLU"}


def layer(class_name, name, **config):
    return {"module": "keras.layers", "class_name": class_name, "config": {"name": name, **config},
            "registered_name": None}


def sequential(layers, input_shape=(8, 8, 3)):
    entry = layer("InputLayer", "input_layer", batch_shape=[None, *input_shape], dtype="float32")
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [entry, *layers]}}


def config_of(model, softmax=True):
    """The Keras 3 config of an npnet Sequential (its layers keep their names), a final softmax added."""
    entries = []
    for index, npnet_layer in enumerate(model.layers):
        kind, cfg = type(npnet_layer).__name__, dict(npnet_layer.get_config())
        if kind == "Conv2D":
            cfg = {"filters": cfg["filters"], "kernel_size": cfg["kernel_size"], "strides": [1, 1],
                   "padding": cfg["padding"], "data_format": "channels_last", "dilation_rate": [1, 1],
                   "groups": 1, "activation": cfg["activation"] or "linear", "use_bias": True}
        elif kind == "MaxPool2D":
            size = cfg["pool_size"]
            cfg = {"pool_size": [size, size], "strides": [size, size], "padding": "valid",
                   "data_format": "channels_last"}
        elif kind == "Dense":
            last = index == len(model.layers) - 1
            cfg = {"units": cfg["units"], "activation": "softmax" if last and softmax else cfg["activation"] or "linear",
                   "use_bias": True}
        elif kind == "Dropout":
            cfg = {"rate": cfg["rate"], "seed": None, "noise_shape": None}
        entries.append(layer(KERAS_TYPES[kind], npnet_layer.name, **cfg))
    return sequential(entries, model.input_shape[1:])


def weights_of(model):
    return {layer.name: [layer.params["kernel"], layer.params["bias"]] for layer in model.layers if layer.params}


def vars_h5(target, config, weights):
    """Keras 3's weights file (model.weights.h5 / *.weights.h5) into ``target`` (path or file object)."""
    classes = {entry["config"]["name"]: entry["class_name"] for entry in config["config"]["layers"]}
    counts = {}
    keys = {name: vars_key(kind, counts) for name, kind in classes.items() if kind != "InputLayer"}
    with h5py.File(target, "w") as f:
        for name, arrays in weights.items():
            group = f.create_group(f"layers/{keys[name]}/vars")
            group.attrs["name"] = name
            for i, array in enumerate(arrays):
                group.create_dataset(str(i), data=array)
        f.create_group("vars")


def keras_zip(path, config, weights, extra=None, weights_bytes=None):
    """A .keras file; ``extra`` {member: bytes} adds members; ``weights_bytes`` replaces model.weights.h5."""
    if weights_bytes is None:
        buffer = io.BytesIO()
        vars_h5(buffer, config, weights)
        weights_bytes = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights_bytes)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def legacy_h5(path, config, weights, keras_version="2.15.0"):
    """A legacy whole-model .h5 in Keras 2's layout."""
    body = config["config"]
    entries = body["layers"] if isinstance(body, dict) else body          # Keras 2.0-2.1: the list itself
    names = [entry["config"]["name"] for entry in entries if entry["class_name"] != "InputLayer"]
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = [name.encode() for name in names]
        for name in names:
            group = root.create_group(name)
            arrays = weights.get(name, [])
            group.attrs["weight_names"] = [f"{name}/{key}:0".encode() for key in ("kernel", "bias")[:len(arrays)]]
            for key, array in zip(("kernel", "bias"), arrays):
                group.create_dataset(f"{name}/{key}:0", data=array)
    return path


def random_weights(model, seed=0):
    """The model with every bias random too (npnet starts them at 0, which would hide a bias not read)."""
    rng = np.random.default_rng(seed)
    for npnet_layer in model.layers:
        if npnet_layer.params:
            npnet_layer.params["bias"] = rng.normal(0, 0.1, npnet_layer.params["bias"].shape).astype(np.float32)
    return model
