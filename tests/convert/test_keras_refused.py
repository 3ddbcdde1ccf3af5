"""What npnet cannot represent is refused: one line naming the file, the layer and what npnet would
need, never a silently different network. The configs are written as Keras 3 .keras zips."""
import numpy as np
import pytest

from npnet.convert import KerasError, load_keras
from npnet.io.errors import CheckpointError

from .keras_files import keras_zip, layer, legacy_h5, sequential

CONV = dict(filters=2, kernel_size=[3, 3], strides=[1, 1], padding="valid", data_format="channels_last",
            dilation_rate=[1, 1], groups=1, activation="relu", use_bias=True)
POOL = dict(pool_size=[2, 2], strides=[2, 2], padding="valid", data_format="channels_last")
TAIL = [layer("Flatten", "flatten"), layer("Dense", "dense", units=3, activation="softmax")]


def conv(**changes):
    return layer("Conv2D", "conv2d", **{**CONV, **changes})


REFUSED = {
    "a strided convolution": ([conv(strides=[2, 2])], "layer 'conv2d' (Conv2D): strides [2, 2]", "stride 1"),
    "channels_first": ([conv(data_format="channels_first")], "'conv2d' (Conv2D): data_format channels_first",
                       "channels_last"),
    "a dilated convolution": ([conv(dilation_rate=[2, 2])], "dilation_rate", "dilated"),
    "a grouped convolution": ([conv(groups=2)], "groups=2", "grouped"),
    "causal padding": ([conv(padding="causal")], "padding causal", "'valid' or 'same'"),
    "a tanh activation": ([conv(activation="tanh")], "activation tanh", "relu or nothing"),
    "a softmax before the end": ([conv(activation="softmax")], "softmax before the last layer", "logits"),
    "a pool whose stride differs": ([conv(), layer("MaxPooling2D", "pool", **{**POOL, "strides": [1, 1]})],
                                    "'pool' (MaxPooling2D): strides [1, 1]", "stride = pool size"),
    "a rectangular pool": ([conv(), layer("MaxPooling2D", "pool", **{**POOL, "pool_size": [2, 1], "strides": None})],
                           "pool size [2, 1]", "square"),
    "a 'same' pool": ([conv(), layer("MaxPooling2D", "pool", **{**POOL, "padding": "same"})], "padding same", "'valid'"),
    "average pooling": ([conv(), layer("AveragePooling2D", "avg", pool_size=[2, 2])], "'avg' (AveragePooling2D)",
                        "no such layer"),
    "batch normalization": ([conv(), layer("BatchNormalization", "bn", axis=-1)], "'bn' (BatchNormalization)",
                            "BatchNormalization"),
    "a Lambda layer": ([layer("Lambda", "code", function="x * 2")], "'code' (Lambda)", "never runs code"),
    "a leaky ReLU": ([conv(), layer("ReLU", "leaky", negative_slope=0.1)], "'leaky' (ReLU)", "max(x, 0)"),
    "a capped ReLU": ([conv(), layer("ReLU", "relu6", max_value=6.0)], "'relu6' (ReLU)", "max(x, 0)"),
    "a nested model": ([layer("Sequential", "inner", layers=[])], "'inner' (Sequential)", "nested model"),
    "a sigmoid Activation": ([conv(), layer("Activation", "act", activation="sigmoid")], "'act' (Activation)",
                             "activation sigmoid"),
    "Rescaling": ([layer("Rescaling", "scale", scale=1 / 255)], "'scale' (Rescaling)", "preprocessing"),
    "a Dense on images": ([conv(), layer("Dense", "dense", units=3)], "cannot be built", "Flatten"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_an_unsupported_layer_is_one_line_naming_it(tmp_path, what):
    body, *fragments = REFUSED[what]
    layers = body if what == "a Dense on images" else body + TAIL
    path = keras_zip(tmp_path / "model.keras", sequential(layers), {})
    with pytest.raises(KerasError) as error:
        load_keras(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, message


def functional(layers, inbound, outputs):
    """A Keras 2 style functional config: ``inbound`` {layer: [names it is called on]}."""
    entries = []
    for entry in sequential(layers)["config"]["layers"]:
        name = entry["config"]["name"]
        entry = dict(entry, name=name, inbound_nodes=[[[source, 0, 0, {}] for source in inbound.get(name, [])]]
                     if name in inbound else [])
        entries.append(entry)
    return {"class_name": "Functional", "config": {"name": "model", "layers": entries,
                                                   "input_layers": [["input_layer", 0, 0]], "output_layers": outputs}}


def test_a_functional_chain_is_read_like_a_sequential(tmp_path):
    config = functional([conv(), *TAIL], {"conv2d": ["input_layer"], "flatten": ["conv2d"], "dense": ["flatten"]},
                        [["dense", 0, 0]])
    weights = {"conv2d": [np.ones((3, 3, 3, 2), np.float32), np.zeros(2, np.float32)],
               "dense": [np.ones((72, 3), np.float32), np.zeros(3, np.float32)]}
    model, _ = load_keras(legacy_h5(tmp_path / "chain.h5", config, weights))
    assert [layer.name for layer in model.layers] == ["conv2d", "flatten", "dense"]


@pytest.mark.parametrize("inbound, outputs, fragment", [
    ({"conv2d": ["input_layer"], "flatten": ["input_layer"], "dense": ["flatten"]}, [["dense", 0, 0]],
     "layer 'flatten' is not called once on 'conv2d' alone"),
    ({"conv2d": ["input_layer"], "flatten": ["conv2d"], "dense": ["flatten", "conv2d"]}, [["dense", 0, 0]],
     "layer 'dense' is not called once on 'flatten' alone"),
    ({"conv2d": ["input_layer"], "flatten": ["conv2d"], "dense": ["flatten"]}, [["dense", 0, 0], ["conv2d", 0, 0]],
     "output_layers are"),
], ids=["a branch", "a merge", "two outputs"])
def test_a_functional_model_that_is_not_a_chain_is_refused(tmp_path, inbound, outputs, fragment):
    path = keras_zip(tmp_path / "graph.keras", functional([conv(), *TAIL], inbound, outputs), {})
    with pytest.raises(KerasError, match=fragment):
        load_keras(path)


def test_a_subclassed_model_is_refused(tmp_path):
    config = sequential([conv(), *TAIL])
    config["class_name"] = "MyResNet"
    path = keras_zip(tmp_path / "model.keras", config, {})
    with pytest.raises(KerasError, match="the model is a MyResNet; npnet reads Keras Sequential models and "
                                         "functional models that are a single chain of layers"):
        load_keras(path)


def test_a_keras_error_is_a_checkpoint_error():
    """The command-line tools report it like a bad checkpoint: one line, exit status 2."""
    assert issubclass(KerasError, CheckpointError)
