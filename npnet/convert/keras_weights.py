"""Where Keras keeps a layer's weights in HDF5, and reading them as carefully as npnet's own checkpoints.

Two layouts (h5py paths; each layer's weights in Keras' order: kernel, then bias):

    legacy ("h5"), Keras 2 and 3     <root>/attrs layer_names = [b"conv2d", b"max_pooling2d", ...]
                                     <root>/conv2d/attrs weight_names = [b"conv2d/kernel:0", b"conv2d/bias:0"]
                                     <root>/conv2d/conv2d/kernel:0      (Keras 2; Keras 3 names differ)
        <root> is /model_weights in a whole-model .h5, / in a Keras 2 weights-only file.
    Keras 3 ("vars")                 /layers/conv2d/vars/0 (kernel), /layers/conv2d/vars/1 (bias)
        model.weights.h5 inside a .keras zip, and a Keras 3 ``*.weights.h5``.

Shapes: Conv2D kernel (kh, kw, C_in, F) and Dense kernel (D, U), as npnet's; biases (F,), (U,).

Every object is reached through hard links only (an external or soft link could point at another
file), a dataset must keep its data in this file, and its shape is checked against the
architecture before a byte of it is read. Weights are any float type (Keras may save float16 or
float64), read as float32; NaN or infinity is refused.
"""
import re

import h5py
import numpy as np

from ..io.errors import CheckpointError

MAX_WEIGHTS_PER_LAYER = 16          # Conv2D and Dense have 2; a list of thousands is a hostile file
MAX_NAME_BYTES = 1000


class KerasError(CheckpointError):
    """A Keras file npnet cannot read, or a layer it cannot represent (one line, naming the file)."""


def layer_groups(path, f):
    """{Keras layer name: [h5py.Dataset, ...] in Keras order} for every layer of the file with
    weights, plus the layout's name: ('legacy', root) or ('vars', root). Layers without weights
    (pooling, flatten...) are left out."""
    if "model_weights" in f:
        return _legacy(path, hard(path, f, "model_weights", h5py.Group), "model_weights/"), "legacy"
    if "layer_names" in f.attrs:
        return _legacy(path, f, ""), "legacy"
    if "layers" in f:
        return _vars(path, hard(path, f, "layers", h5py.Group), "layers/"), "vars"
    raise KerasError(f"{path}: holds no Keras weights (no 'model_weights' or 'layers' group, "
                     "no 'layer_names' attribute)")


def _legacy(path, root, prefix):
    names = string_list(path, root, "layer_names", limit=100_000)
    groups = {}
    for name in names:
        group = hard(path, root, name, h5py.Group, prefix)
        weight_names = string_list(path, group, "weight_names", limit=MAX_WEIGHTS_PER_LAYER)
        if weight_names:
            groups[name] = [hard(path, group, weight, h5py.Dataset, f"{prefix}{name}/") for weight in weight_names]
    return groups


def _vars(path, root, prefix):
    if len(root) > 100_000:
        raise KerasError(f"{path}: '{prefix}' holds {len(root):,} layers; refused")
    groups = {}
    for name in sorted(root, key=natural):
        layer = hard(path, root, name, h5py.Group, prefix)
        if "vars" not in layer:
            continue
        variables = hard(path, layer, "vars", h5py.Group, f"{prefix}{name}/")
        if len(variables) > MAX_WEIGHTS_PER_LAYER:
            raise KerasError(f"{path}: '{prefix}{name}/vars' holds {len(variables):,} arrays; refused")
        keys = sorted(variables, key=natural)
        if keys != [str(i) for i in range(len(keys))]:
            raise KerasError(f"{path}: '{prefix}{name}/vars' holds {keys[:4]}, expected 0, 1, ...")
        if keys:
            groups[name] = [hard(path, variables, key, h5py.Dataset, f"{prefix}{name}/vars/") for key in keys]
    return groups


def assign(path, model, groups, wanted, names=None):
    """Fill ``model``'s weights from ``groups`` (``layer_groups``). ``wanted``: {npnet layer name:
    ["kernel", "bias"] or ["kernel"]}, what the file holds for each layer, in order; a layer
    without bias keeps npnet's zero bias. ``names``: {npnet name: file name}, when they differ.
    Every shape is checked before any array is read."""
    names = names or {name: name for name in wanted}
    missing = [names[name] for name in wanted if names[name] not in groups]
    if missing:
        raise KerasError(f"{path}: no weights for layer '{missing[0]}'")
    extra = sorted(set(groups) - set(names.values()), key=natural)
    if extra:
        raise KerasError(f"{path}: weights for '{extra[0]}', which is not a layer of the architecture with weights")
    plan = []
    for name, keys in wanted.items():
        layer, datasets = model.layer(name), groups[names[name]]
        if len(datasets) != len(keys):
            raise KerasError(f"{path}: layer '{names[name]}' holds {len(datasets)} arrays, expected "
                             f"{len(keys)} ({', '.join(keys)})")
        for key, dataset in zip(keys, datasets):
            expected = layer.params[key].shape
            if dataset.shape != expected:
                raise KerasError(f"{path}: '{dataset.name}' ({names[name]} {key}) has shape {dataset.shape}, "
                                 f"the architecture needs {expected}")
            if dataset.dtype.kind != "f" or dataset.dtype.itemsize > 8:
                raise KerasError(f"{path}: '{dataset.name}' has dtype {dataset.dtype}, expected floating point")
            plan.append((layer, key, dataset))
    for layer, key, dataset in plan:
        try:
            value = np.asarray(dataset[()], dtype=np.float32)
        except OSError as error:
            raise KerasError(f"{path}: '{dataset.name}' cannot be read ({str(error).splitlines()[0]})") from None
        if not np.all(np.isfinite(value)):
            raise KerasError(f"{path}: '{dataset.name}' holds NaN or infinite values (or values too large "
                             "for float32); refused")
        layer.params[key] = value


# -- careful access -------------------------------------------------------------------------------
def hard(path, node, name, kind, where=""):
    """``node[name]`` reached through hard links only, of the right kind, its data inside this file.
    ``name`` may hold '/' (Keras 2's weight names do: 'conv2d/kernel:0')."""
    if not name or len(name) > MAX_NAME_BYTES or name.startswith("/"):
        raise KerasError(f"{path}: the name {_short(name)} under '{where}' is not a relative path")
    parts = name.split("/")
    for depth, part in enumerate(parts):
        shown = where + "/".join(parts[:depth + 1])
        if part in ("", ".", "..") or not isinstance(node, h5py.Group) or part not in node:
            raise KerasError(f"{path}: '{_short(shown)}' is missing")
        if not isinstance(node.get(part, getlink=True), h5py.HardLink):
            raise KerasError(f"{path}: '{_short(shown)}' is a link; links are not followed")
        node = node[part]
    if not isinstance(node, kind):
        raise KerasError(f"{path}: '{_short(where + name)}' is not a {'dataset' if kind is h5py.Dataset else 'group'}")
    if kind is h5py.Dataset and (node.is_virtual or node.external):
        raise KerasError(f"{path}: '{_short(where + name)}' stores its data in another file; refused")
    return node


def string_list(path, node, key, limit):
    """An attribute holding a list of strings (Keras writes them as bytes), at most ``limit`` of them.
    Keras splits a list too long for one HDF5 object header into key0, key1, ... (read as one)."""
    keys = [key] if key in node.attrs else []
    while not keys or (keys[-1] != key and f"{key}{len(keys)}" in node.attrs):
        if f"{key}{len(keys)}" not in node.attrs:
            raise KerasError(f"{path}: attribute '{key}' of '{node.name}' is missing")
        keys.append(f"{key}{len(keys)}")
        if len(keys) > limit:
            break
    names = []
    for part in keys:
        attribute = node.attrs.get_id(part)
        count = attribute.shape[0] if len(attribute.shape) == 1 else -1
        if count < 0 or len(names) + count > limit:
            raise KerasError(f"{path}: attribute '{key}' of '{node.name}' is not a list of at most {limit:,} names")
        for value in node.attrs[part] if count else ():
            if not isinstance(value, (bytes, str)) or len(value) > MAX_NAME_BYTES:
                raise KerasError(f"{path}: attribute '{key}' of '{node.name}' holds {_short(value)}, not a name")
            try:
                names.append(value.decode("utf-8") if isinstance(value, bytes) else value)
            except UnicodeDecodeError:
                raise KerasError(f"{path}: attribute '{key}' of '{node.name}' holds a name that is not UTF-8") from None
    return names


def natural(name):
    """Sort key in Keras' numbering: conv2d, conv2d_1, conv2d_2, ..., conv2d_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _short(value, limit=80):
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[:limit] + "..."
