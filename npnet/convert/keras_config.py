"""A Keras model's architecture (its JSON config) -> npnet's ``Sequential.get_config()``, or one error.

Keras stores the architecture as JSON: ``config.json`` in a ``.keras`` zip, the ``model_config``
attribute of a legacy ``.h5``. Keras 3 and Keras 2 (tf.keras) write nearly the same thing:

    {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 32, 32, 3], ...}},
        {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3],
            "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
            "dilation_rate": [1, 1], "activation": "relu", "use_bias": true, ...}},
        {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "pool_size": [2, 2], ...}},
        ...
        {"class_name": "Dense", "config": {"name": "dense_3", "units": 43, "activation": "softmax", ...}}]}}

Keras 2 says ``batch_input_shape`` (on the InputLayer, or on the first layer when there is none);
Keras 2.0-2.1 wrote the list of layers as "config" itself. A functional model ("Functional", "Model")
is read when it is a Sequential in disguise: each layer called once on the previous one's output. Each Keras layer becomes at most one
npnet layer, keeping its Keras name (the summary, Grad-CAM's --layer and the checkpoint use it):

    Conv2D        -> Conv2D (stride 1, no dilation, one group, 'valid' or 'same', relu or linear)
    MaxPooling2D  -> MaxPool2D (a square pool whose stride is the pool size, 'valid' padding)
    Flatten, Dropout, Dense (relu or linear), ReLU (plain) -> the same
    Activation    'relu' -> ReLU; 'linear' -> nothing; 'softmax' as the last layer -> nothing
    InputLayer    -> the input shape

A softmax at the end (a layer's or a separate Activation) is recorded, not applied: npnet's model
gives logits, and the loss and ``predict_proba`` apply the softmax. Anything else is ``Unsupported``,
naming the layer and what npnet would need; Lambda layers (Python code inside the file) are never run.
"""
import re

from ..io.checkpoint_checks import MAX_LAYERS
from .keras_functional import Unsupported, check_chain

WEIGHTED = {"Conv2D": ("kernel", "bias"), "Dense": ("kernel", "bias")}
MAX_NAME = 100


def translate(config):
    """Keras model config -> (npnet Sequential config, notes).

    notes: {"final_softmax": bool, "left_out": [names of layers that compute nothing at inference
    beside npnet's: linear activations, the final softmax], "weights": {layer name: ["kernel", "bias"]
    or ["kernel"] (use_bias=False: npnet's bias stays 0)}, "vars_keys": {layer name: its group in
    Keras 3's weights file (``vars_key``)}, "model_name": the Keras model's name}.
    """
    if not isinstance(config, dict):
        raise Unsupported(f"the model config is a {type(config).__name__}, expected a JSON object")
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional", "Model"):
        raise Unsupported(f"the model is a {_short(kind)}; npnet reads Keras Sequential models and functional "
                          "models that are a single chain of layers")
    body = config.get("config")
    layers = body if isinstance(body, list) else body.get("layers") if isinstance(body, dict) else None
    if not isinstance(layers, list):
        raise Unsupported(f"the {kind} config holds no list of layers")
    if len(layers) > MAX_LAYERS:
        raise Unsupported(f"the model has {len(layers):,} layers, more than the {MAX_LAYERS:,} npnet accepts")
    if kind != "Sequential":
        check_chain(body, layers)
    input_shape = _input_shape(layers, body)
    npnet_layers, counts = [], {}
    notes = {"final_softmax": False, "left_out": [], "weights": {}, "vars_keys": {},
                               "model_name": body.get("name") if isinstance(body, dict) else None}
    for index, layer in enumerate(layers):
        last = index == len(layers) - 1
        kind, name, cfg = _parts(layer, index)
        handler = HANDLERS.get(kind)
        if handler is None:
            raise Unsupported(f"layer '{name}' ({kind}): {_refusal(kind)}")
        spec = handler(name, cfg, last, notes)
        if spec is not None:
            npnet_layers.append({"type": spec[0], "name": name, "config": spec[1]})
            if kind in WEIGHTED:
                notes["weights"][name] = list(WEIGHTED[kind]) if cfg.get("use_bias", True) else ["kernel"]
        if kind != "InputLayer":
            key = vars_key(kind, counts)
            if kind in WEIGHTED:
                notes["vars_keys"][name] = key
    if input_shape is None:
        raise Unsupported("the config gives no input shape (no InputLayer, no batch_input_shape); "
                          "npnet needs it to build the network")
    return {"input_shape": input_shape, "seed": 0, "layers": npnet_layers}, notes


def vars_key(kind, counts):
    """The group Keras 3 saves a layer's weights under (``layers/<key>/vars``): not the layer's name but
    its class in snake case, numbered per class in the model's order (conv2d, conv2d_1, ...; Keras'
    ``saving_lib``). ``counts`` ({snake name: times seen}) is updated."""
    snake = re.sub(r"\W+", "", kind)
    snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", snake)
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", snake).lower()
    seen = counts.get(snake, -1) + 1
    counts[snake] = seen
    return snake if seen == 0 else f"{snake}_{seen}"


# -- the parts of a layer entry -------------------------------------------------------------------
def _parts(layer, index):
    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        raise Unsupported(f"layer {index} of the config is not a Keras layer entry")
    kind, cfg = layer.get("class_name"), layer["config"]
    name = cfg.get("name", layer.get("name"))
    if layer.get("name", name) != name:
        raise Unsupported(f"layer {index} is named both {_short(layer.get('name'))} and {_short(name)}")
    if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME and name.isprintable() and "/" not in name):
        raise Unsupported(f"layer {index} has the name {_short(name)}; npnet needs 1 to {MAX_NAME} printable "
                          "characters without '/'")
    if not isinstance(kind, str):
        raise Unsupported(f"layer '{name}' has no class name")
    return _short(kind, 60), name, cfg


def _input_shape(layers, body):
    """(H, W, C) from the InputLayer's batch_shape / batch_input_shape, else from the first layer's."""
    for layer in layers[:1]:
        cfg = layer.get("config") if isinstance(layer, dict) else None
        if isinstance(cfg, dict):
            for key in ("batch_shape", "batch_input_shape"):
                if key in cfg:
                    shape = cfg[key]
                    if not (isinstance(shape, list) and len(shape) >= 2 and
                            all(type(d) is int and d >= 1 for d in shape[1:])):
                        raise Unsupported(f"the input shape {_short(shape)} is not a batch of fixed-size "
                                          "arrays (npnet needs every dimension but the batch)")
                    return list(shape[1:])
    build = body.get("build_input_shape") if isinstance(body, dict) else None
    if isinstance(build, list) and len(build) >= 2 and all(type(d) is int and d >= 1 for d in build[1:]):
        return list(build[1:])
    return None


# -- one function per Keras layer type: (name, config, is last, notes) -> (npnet type, config) or None
def _input_layer(name, cfg, last, notes):
    return None


def _conv2d(name, cfg, last, notes):
    where = f"layer '{name}' (Conv2D)"
    _channels_last(where, cfg)
    _all_ones(where, cfg, "strides", "stride 1 (a strided convolution)")
    _all_ones(where, cfg, "dilation_rate", "a dilated convolution")
    if cfg.get("groups", 1) != 1:
        raise Unsupported(f"{where}: groups={_short(cfg.get('groups'))}; npnet would need a grouped convolution")
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise Unsupported(f"{where}: padding {_short(padding)}; npnet's Conv2D pads 'valid' or 'same'")
    return "Conv2D", {"filters": _whole(where, cfg, "filters"), "kernel_size": _pair(where, cfg, "kernel_size"),
                      "activation": _activation(where, cfg, last, notes), "padding": padding}


def _maxpool2d(name, cfg, last, notes):
    where = f"layer '{name}' (MaxPooling2D)"
    _channels_last(where, cfg)
    pool = _pair(where, cfg, "pool_size")
    strides = cfg.get("strides")
    if strides is not None and _pair(where, cfg, "strides") != pool:
        raise Unsupported(f"{where}: strides {_short(strides)} differ from the pool size {pool}; "
                          "npnet's MaxPool2D has stride = pool size")
    if pool[0] != pool[1]:
        raise Unsupported(f"{where}: pool size {pool}; npnet's MaxPool2D pools square windows")
    if cfg.get("padding", "valid") != "valid":
        raise Unsupported(f"{where}: padding {_short(cfg.get('padding'))}; npnet's MaxPool2D pools 'valid' only")
    return "MaxPool2D", {"pool_size": pool[0]}


def _flatten(name, cfg, last, notes):
    _channels_last(f"layer '{name}' (Flatten)", cfg)
    return "Flatten", {}


def _dropout(name, cfg, last, notes):
    rate = cfg.get("rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise Unsupported(f"layer '{name}' (Dropout): rate {_short(rate)} is not a number in [0, 1)")
    if cfg.get("noise_shape") is not None:
        raise Unsupported(f"layer '{name}' (Dropout): a noise_shape; npnet's Dropout drops single values")
    return "Dropout", {"rate": float(rate), "seed": 0}


def _dense(name, cfg, last, notes):
    where = f"layer '{name}' (Dense)"
    return "Dense", {"units": _whole(where, cfg, "units"), "activation": _activation(where, cfg, last, notes)}


def _relu(name, cfg, last, notes):
    plain = cfg.get("max_value") is None and all(
        type(cfg.get(key, 0)) in (int, float) and cfg.get(key, 0) == 0 for key in ("negative_slope", "threshold"))
    if not plain:
        raise Unsupported(f"layer '{name}' (ReLU): max_value {_short(cfg.get('max_value'))}, negative_slope "
                          f"{_short(cfg.get('negative_slope', 0))}, threshold {_short(cfg.get('threshold', 0))}; "
                          "npnet's ReLU is max(x, 0)")
    return "ReLU", {}


def _activation_layer(name, cfg, last, notes):
    kind = _activation(f"layer '{name}' (Activation)", cfg, last, notes)
    if kind == "relu":
        return "ReLU", {}
    notes["left_out"].append(name)     # linear, or the final softmax
    return None


HANDLERS = {"InputLayer": _input_layer, "Conv2D": _conv2d, "Convolution2D": _conv2d,
            "MaxPooling2D": _maxpool2d, "MaxPool2D": _maxpool2d, "Flatten": _flatten, "Dropout": _dropout,
            "Dense": _dense, "ReLU": _relu, "Activation": _activation_layer}

WHAT_IT_NEEDS = {
    "Lambda": "a Lambda layer holds Python code; npnet never runs code from a model file",
    "Sequential": "a nested model; npnet would need it flattened into one Sequential",
    "Functional": "a nested model; npnet would need it flattened into one Sequential",
    "Model": "a nested model; npnet would need it flattened into one Sequential",
    "BatchNormalization": "npnet has no BatchNormalization layer (fold it into the convolution before import)",
    "Rescaling": "npnet keeps input scaling in its preprocessing spec, not in a layer (--preprocessing)",
}


def _refusal(kind):
    return WHAT_IT_NEEDS.get(kind, "npnet has no such layer (it reads InputLayer, Conv2D, MaxPooling2D, "
                                   "Flatten, Dropout, Dense, ReLU and Activation)")


# -- checks on single options ---------------------------------------------------------------------
def _activation(where, cfg, last, notes):
    """'relu' or None for npnet; a softmax is accepted on the last layer only (and recorded)."""
    value = cfg.get("activation", "linear")
    if isinstance(value, dict) and value.get("class_name") == "function":   # Keras 3's serialized built-in
        value = value.get("config")
    if value in (None, "linear"):
        return None
    if value == "relu":
        return "relu"
    if value == "softmax" and last:
        notes["final_softmax"] = True
        return None
    if value == "softmax":
        raise Unsupported(f"{where}: a softmax before the last layer; npnet applies softmax only to the logits")
    raise Unsupported(f"{where}: activation {_short(value)}; npnet's layers apply relu or nothing "
                      "(and a final softmax)")


def _channels_last(where, cfg):
    if cfg.get("data_format") not in (None, "channels_last"):
        raise Unsupported(f"{where}: data_format {_short(cfg.get('data_format'))}; npnet computes "
                          "channels_last (N, H, W, C) only")


def _whole(where, cfg, key):
    value = cfg.get(key)
    if type(value) is not int or value < 1:
        raise Unsupported(f"{where}: {key} {_short(value)} is not a whole number of at least 1")
    return value


def _pair(where, cfg, key):
    value = cfg.get(key)
    pair = [value, value] if type(value) is int else value
    if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int and v >= 1 for v in pair)):
        raise Unsupported(f"{where}: {key} {_short(value)} is not 1 or 2 whole numbers of at least 1")
    return pair


def _all_ones(where, cfg, key, what):
    value = cfg.get(key, 1)
    if value not in (1, [1, 1]):
        raise Unsupported(f"{where}: {key} {_short(value)}; npnet would need {what}")


def _short(value, limit=80):
    """``value`` as text on one line, at most ``limit`` characters (it comes from a file)."""
    text = "".join(c if c.isprintable() else " " for c in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
