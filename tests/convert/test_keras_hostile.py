"""Hostile Keras files are refused cleanly (one line naming the file, nothing allocated for a lie):
a huge config.json, a million layers, wrong shapes, NaN, links to other files, code in the file."""
import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from npnet.convert import KerasError, load_keras
from npnet.convert.keras import MAX_CONFIG_BYTES
from npnet.engine.seed_net import seed_net

from .keras_files import config_of, keras_zip, layer, legacy_h5, sequential, vars_h5, weights_of

TINY = sequential([layer("Flatten", "flatten"), layer("Dense", "dense", units=3)], input_shape=(2, 2, 1))
TINY_WEIGHTS = {"dense": [np.ones((4, 3), np.float32), np.zeros(3, np.float32)]}


def refused(path, *fragments, **options):
    with pytest.raises(KerasError) as error:
        load_keras(path, **options)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_huge_config_json_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:   # 64 MB of spaces, deflated
        archive.writestr("config.json", b" " * (16 * MAX_CONFIG_BYTES))
    refused(path, "config.json is 67,108,864 bytes", "refused before reading")


def test_a_config_json_lying_about_its_size_is_cut_at_the_cap(tmp_path):
    path = tmp_path / "liar.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"[" + b" " * (MAX_CONFIG_BYTES + 10) + b"]")
    data = bytearray(path.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):     # the sizes in both headers claim 2 bytes
        at = data.find(header)
        offset = at + (22 if header == b"PK\x03\x04" else 24)
        data[offset:offset + 4] = (2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    refused(path)


def test_a_config_naming_a_million_layers_is_refused(tmp_path):
    config = b'{"class_name": "Sequential", "config": {"layers": [' + b",".join([b"{}"] * 1_000_000) + b"]}}"
    path = tmp_path / "million.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", config)
    refused(path, "the model has 1,000,000 layers, more than the 1,000 npnet accepts")


def test_a_config_of_two_thousand_layers_is_refused_by_count(tmp_path):
    layers = [layer("Flatten", f"f{i}") for i in range(2000)]
    path = keras_zip(tmp_path / "many.keras", sequential(layers), {})
    refused(path, "2,001 layers, more than the 1,000")


def test_a_huge_model_config_attribute_is_refused(tmp_path):
    path = legacy_h5(tmp_path / "huge.h5", TINY, TINY_WEIGHTS)
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = " " * (MAX_CONFIG_BYTES + 1)
    refused(path, "attribute 'model_config' is 4,194,305 bytes")


@pytest.mark.parametrize("write", ["zip", "legacy"])
def test_weights_of_the_wrong_shape_are_refused(tmp_path, write):
    weights = {"dense": [np.ones((5, 3), np.float32), np.zeros(3, np.float32)]}
    path = (keras_zip(tmp_path / "m.keras", TINY, weights) if write == "zip"
            else legacy_h5(tmp_path / "m.h5", TINY, weights))
    refused(path, "has shape (5, 3), the architecture needs (4, 3)")


def test_a_huge_weight_is_refused_by_its_shape_alone(tmp_path):
    path = legacy_h5(tmp_path / "m.h5", TINY, TINY_WEIGHTS)
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f.create_dataset("model_weights/dense/dense/kernel:0", shape=(4, 3, 10**6), dtype=np.float32)  # never written
    refused(path, "has shape (4, 3, 1000000)")


def test_nan_weights_are_refused(tmp_path):
    path = legacy_h5(tmp_path / "m.h5", TINY, {"dense": [np.full((4, 3), np.nan, np.float32), np.zeros(3, np.float32)]})
    refused(path, "holds NaN or infinite values")


def test_a_missing_layer_group_is_refused(tmp_path):
    path = legacy_h5(tmp_path / "m.h5", TINY, {})
    refused(path, "no weights for layer 'dense'")


def test_an_external_link_is_not_followed(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["kernel"] = np.ones((4, 3), np.float32)
    path = legacy_h5(tmp_path / "m.h5", TINY, TINY_WEIGHTS)
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.ExternalLink(str(other), "kernel")
    refused(path, "is a link; links are not followed")


def test_data_stored_in_another_file_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones((4, 3), np.float32).tobytes())
    path = legacy_h5(tmp_path / "m.h5", TINY, TINY_WEIGHTS)
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f.create_dataset("model_weights/dense/dense/kernel:0", shape=(4, 3), dtype=np.float32,
                         external=[(str(raw), 0, 48)])
    refused(path, "stores its data in another file")


def test_a_weight_name_escaping_its_group_is_refused(tmp_path):
    path = legacy_h5(tmp_path / "m.h5", TINY, TINY_WEIGHTS)
    with h5py.File(path, "a") as f:
        f["model_weights/dense"].attrs["weight_names"] = [b"../dense/dense/kernel:0", b"dense/bias:0"]
    refused(path, "is missing")


def test_random_bytes_are_not_a_keras_file(tmp_path):
    path = tmp_path / "noise.h5"
    path.write_bytes(os.urandom(4096))
    refused(path, "not a readable HDF5 file")


def test_a_truncated_keras_zip_is_refused(tmp_path):
    source = seed_net()
    whole = keras_zip(tmp_path / "whole.keras", config_of(source), weights_of(source)).read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(whole[:len(whole) // 2])
    refused(path)


def test_a_zip_without_config_is_not_a_keras_file(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    refused(path, "a zip without config.json")


def test_npz_weights_are_not_loaded(tmp_path):
    """Only HDF5 weights are read: an .npz may hold pickles, and npnet never unpickles a model file."""
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(TINY))
        archive.writestr("model.weights.npz", b"whatever")
    refused(path, "no model.weights.h5", "HDF5 weights only")


def test_a_zip_of_many_members_is_refused(tmp_path):
    path = tmp_path / "many.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(200):
            archive.writestr(f"m{i}", b"")
    refused(path, "200 members")


def test_a_config_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"{'class_name': 'Sequential'")
    refused(path, "config.json is not valid JSON")


def test_a_deeply_nested_config_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"[" * 100_000 + b"]" * 100_000)
    refused(path, "config.json is not valid JSON")


def test_a_fifo_is_never_waited_on(tmp_path):
    path = tmp_path / "model.keras"
    os.mkfifo(path)
    refused(path, "a FIFO, not a regular file")


def test_weights_only_of_another_architecture_are_refused(tmp_path):
    source = seed_net(num_classes=7)
    weights = weights_of(source)
    del weights["dense_2"]
    path = tmp_path / "w.weights.h5"
    vars_h5(path, config_of(source), weights)
    refused(path, "holds weights for 6 layers, the architecture has 7")


def test_a_weights_file_whose_vars_are_not_numbered_is_refused(tmp_path):
    path = tmp_path / "w.weights.h5"
    with h5py.File(path, "w") as f:
        f["layers/dense/vars/kernel"] = np.ones((4, 3), np.float32)
    refused(path, "expected 0, 1, ...")


def test_an_unknown_preprocessing_is_refused(tmp_path):
    path = keras_zip(tmp_path / "m.keras", TINY, TINY_WEIGHTS)
    refused(path, "unknown preprocessing 'fancy'", preprocessing="fancy")
    refused(path, "needs the training set's mean and std", preprocessing="standardize")
