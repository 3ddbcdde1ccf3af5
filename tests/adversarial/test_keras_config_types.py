"""A Keras config whose parts have the wrong JSON type is refused in one line, never walked blindly.

Any value of a valid config (a layer entry, a tensor's config, a node, a name, a shape) replaced by a
value of another type: ``load_keras`` reads the model or raises ``KerasError`` naming the file.
"""
import copy
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npnet.convert import KerasError, load_keras

FIXTURES = Path(__file__).resolve().parents[1] / "convert" / "fixtures"
FILES = ["keras3.keras", "keras2.keras", "keras3_functional.keras"]
OTHER_TYPES = st.sampled_from(["x", "$", 3, -1, 1e308, None, True, [], {}, ["a"], [1, 2], {"a": 1}])


def members(name):
    with zipfile.ZipFile(FIXTURES / name) as archive:
        return {member: archive.read(member) for member in archive.namelist()}


def places(value, path=()):
    """Every path to a value inside a JSON structure."""
    if path:
        yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from places(item, path + (key,))


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(FILES), choice=st.integers(0, 10**6), replacement=OTHER_TYPES)
def test_a_config_value_of_another_type_is_read_or_refused_in_one_line(tmp_path_factory, name, choice,
                                                                      replacement):
    files = members(name)
    config = json.loads(files["config.json"])
    paths = list(places(config))
    path = paths[choice % len(paths)]
    changed = copy.deepcopy(config)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement
    files["config.json"] = json.dumps(changed).encode()
    out = tmp_path_factory.mktemp("keras") / "model.keras"
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    try:
        model, _ = load_keras(out)
    except KerasError as error:
        assert str(error).startswith(str(out)) and "\n" not in str(error)
    else:
        assert model.count_params() > 0


def write_functional(tmp_path, change):
    files = members("keras3_functional.keras")
    config = json.loads(files["config.json"])
    change(config["config"]["layers"])
    files["config.json"] = json.dumps(config).encode()
    out = tmp_path / "functional.keras"
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return out


def test_a_layer_entry_that_is_a_string_is_refused(tmp_path):
    def change(layers):
        layers[1] = "conv2d"
    with pytest.raises(KerasError, match="layer 1 of the config is not a Keras layer entry"):
        load_keras(write_functional(tmp_path, change))


def test_a_tensor_config_that_is_a_string_is_refused(tmp_path):
    def change(layers):
        layers[2]["inbound_nodes"][0]["args"][0]["config"] = "keras_history"
    with pytest.raises(KerasError, match="is not called once on"):
        load_keras(write_functional(tmp_path, change))
