"""What a checkpoint's architecture and metadata must be before a model is built from them.

A checkpoint is data from a file, so its architecture is planned from shapes alone before any
weight is allocated: every layer is constructed (which allocates nothing) and its output shape
computed. ``plan`` refuses (``Refused``, one phrase) an architecture

- whose input shape is not 1 to 3 whole numbers of at least 1, or that has more than ``MAX_LAYERS`` layers;
- with a layer of zero (or fewer) units, filters, kernel or pool size, or any output dimension below 1;
- that does not end in class scores of shape (None, K);
- above ``MAX_PARAMETERS`` parameters (the seed net: 422,187);
- whose training step would need more than ``MAX_IMAGE_BYTES`` of activations for one image, by the
  estimate ``npnet.runtime.memory`` uses to refuse an impossible batch size (the seed net: 1.1 MiB).
- with a layer name longer than ``MAX_NAME_CHARS`` characters (figure titles and file names show it).

``class_names_problem`` and ``preprocessing.spec_problem`` check the rest of the metadata.
"""
from types import SimpleNamespace

from ..engine.layers import LAYER_TYPES, Layer
from ..runtime.memory import training_bytes_per_image

MAX_PARAMETERS = 100_000_000    # refuse an architecture above this before building it
MAX_IMAGE_BYTES = 256 * 2**20   # activations of one image in a training step (the seed net: 1.1 MiB)
MAX_LAYERS = 1000
#: the longest class or layer name accepted: figure titles wrap it and lines print it (GTSRB's longest
#: class name has 50 characters); a name of thousands would push a figure's axes to nothing
MAX_NAME_CHARS = 100


class Refused(Exception):
    """An architecture or metadata that is not acceptable; the message says why."""


def plan(config):
    """Check the architecture ``config`` (``Sequential.get_config()``) from its shapes alone.

    Returns its parameter count. Raises Refused for what the module docstring lists; any other
    exception (KeyError, TypeError, ValueError...) means the config cannot be built at all.
    """
    input_shape = config["input_shape"]
    if not (isinstance(input_shape, list) and 1 <= len(input_shape) <= 3
            and all(type(d) is int and d >= 1 for d in input_shape)):
        raise Refused(f"the input shape {_short(input_shape)} is not 1 to 3 whole numbers of at least 1")
    if len(config["layers"]) > MAX_LAYERS:
        raise Refused(f"the architecture has {len(config['layers']):,} layers, more than {MAX_LAYERS:,}")
    shape, count, layers = (None,) + tuple(input_shape), 0, []
    for spec in config["layers"]:
        name = spec["name"]
        if isinstance(name, str) and len(name) > MAX_NAME_CHARS:
            raise Refused(f"layer '{_short(name)}' has a name of {len(name):,} characters, more than {MAX_NAME_CHARS}")
        layer = LAYER_TYPES[spec["type"]](name=name, **spec["config"])
        _check_sizes(layer)
        if isinstance(getattr(layer, "kernel_size", None), tuple):   # Conv2D: kh * kw * C * filters + filters
            count += (layer.kernel_size[0] * layer.kernel_size[1] * shape[-1] + 1) * layer.filters
        elif hasattr(layer, "units"):                                 # Dense: D * units + units
            count += (shape[-1] + 1) * layer.units
        Layer.build(layer, shape, None)      # the base build: shapes only, no parameters
        shape = layer.output_shape
        if not all(type(d) is int and d >= 1 for d in shape[1:]):
            raise Refused(f"architecture cannot be built: layer '{_short(layer.name)}' has output shape "
                          f"{_short(shape)}; every dimension must be at least 1")
        layers.append(layer)
    if len(shape) != 2:
        raise Refused(f"the network's output has shape {_short(shape)}, expected class scores (None, K)")
    if count > MAX_PARAMETERS:
        raise Refused(f"the architecture has {count:,} parameters, more than {MAX_PARAMETERS:,}; "
                      "refused before allocating them")
    per_image = training_bytes_per_image(SimpleNamespace(layers=layers))
    if per_image > MAX_IMAGE_BYTES:
        raise Refused(f"one image needs about {per_image / 2**20:,.0f} MiB of activations in a training step, "
                      f"more than {MAX_IMAGE_BYTES // 2**20} MiB; refused before allocating anything")
    return count


def class_names_problem(names, num_classes):
    """What is wrong with a checkpoint's ``class_names`` for a network of ``num_classes`` outputs, or
    None. None itself is accepted (no names saved: the caller picks default names)."""
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return f"class_names is {_short(names)}, expected a list of strings"
    if len(names) != num_classes:
        return f"class_names has {len(names)} names, but the network has {num_classes} classes"
    return long_name_problem(names)


def long_name_problem(names):
    """'class name N has M characters, more than MAX_NAME_CHARS' for the first name over the
    limit, or None."""
    for index, name in enumerate(names):
        if len(name) > MAX_NAME_CHARS:
            return f"class name {index} has {len(name):,} characters, more than {MAX_NAME_CHARS}"
    return None


def _check_sizes(layer):
    """Refuse a zero or negative size before any shape is computed from it."""
    sizes = {key: getattr(layer, key) for key in ("units", "filters", "pool_size") if hasattr(layer, key)}
    if hasattr(layer, "kernel_size"):
        kernel = layer.kernel_size
        if not (len(kernel) == 2 and all(type(k) is int for k in kernel)):
            raise Refused(f"architecture cannot be built: layer '{_short(layer.name)}' has kernel size "
                          f"{_short(list(kernel))}, expected 2 whole numbers")
        sizes.update(kernel_height=kernel[0], kernel_width=kernel[1])
    for key, value in sizes.items():
        if value < 1:
            raise Refused(f"architecture cannot be built: layer '{_short(layer.name)}' has {key} {value}; "
                          "it must be at least 1")


def _short(value, limit=80):
    """``value`` as text on one line, at most ``limit`` characters (it comes from a file)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."
