"""A Keras functional model that npnet can read: a Sequential in disguise (``check_chain``).

npnet's model is a stack of layers, so a functional model ("Functional", or "Model" in Keras 2) is read
only when each layer is called once, on the one output of the layer before it, from the single input
layer to the single output layer. Branches, merges, shared layers and several inputs or outputs are
``Unsupported``.
"""


class Unsupported(Exception):
    """The config asks for something npnet cannot represent; the message says what and what npnet would need."""


def check_chain(body, layers):
    """A functional model is accepted when it is a Sequential in disguise: one input layer first, each
    later layer called once on the one output of the layer before it, the last layer the one output.
    Inbound nodes: Keras 2 [[["conv2d", 0, 0, {}]]]; Keras 3 [{"args": [{"class_name": "__keras_tensor__",
    "config": {"keras_history": ["conv2d", 0, 0], ...}}], "kwargs": {...}}]."""
    for index, entry in enumerate(layers):          # every entry's type first, then walk the structure
        if not isinstance(entry, dict):
            raise Unsupported(f"layer {index} of the config is not a Keras layer entry")
    names = [entry.get("name") for entry in layers]
    if not layers or not isinstance(layers[0], dict) or layers[0].get("class_name") != "InputLayer":
        raise Unsupported("the functional model does not start with its InputLayer; npnet needs a single chain")
    for ends, name in (("input_layers", names[0]), ("output_layers", names[-1])):
        value = body.get(ends)
        while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
            value = value[0]
        if not (isinstance(value, list) and value[:1] == [name]):
            raise Unsupported(f"the functional model's {ends} are {_short(value)}, not the single chain from "
                              f"'{_short(names[0])}' to '{_short(names[-1])}' npnet can represent")
    for previous, entry, name in zip(names, layers[1:], names[1:]):
        if _inbound(entry.get("inbound_nodes")) != [previous]:
            raise Unsupported(f"layer '{_short(name)}' is not called once on '{_short(previous)}' alone; npnet "
                              "represents a single chain of layers, not branches, merges or shared layers")


def _inbound(nodes):
    """The names of the layers feeding a layer's inbound nodes, in order (None where unreadable)."""
    if not isinstance(nodes, list) or len(nodes) != 1:
        return None
    node = nodes[0]
    if isinstance(node, dict):                                   # Keras 3
        tensors = node.get("args")
        configs = [t.get("config") if isinstance(t, dict) else None
                   for t in (tensors if isinstance(tensors, list) else [None])]
        histories = [c.get("keras_history") if isinstance(c, dict) else None for c in configs]
    else:                                                        # Keras 2
        histories = node if isinstance(node, list) else [None]
    names = [history[0] if isinstance(history, list) and history else None for history in histories]
    return names


def _short(value, limit=80):
    """``value`` as text on one line, at most ``limit`` characters (it comes from a file)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[:limit] + "..."
