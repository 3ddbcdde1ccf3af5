"""Hostile checkpoints: links and other files are never followed, absurd sizes are refused before
anything is allocated, non-finite weights and broken attributes are refused. (Random bytes, a
truncated file, an external link, a missing/extra layer, a wrong shape and NaN weights are in
tests/test_checkpoint.py.)"""
import json

import h5py
import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.io.errors import CheckpointError
from npnet.engine.seed_net import seed_net
from npnet.engine.optimizers import Adam

from .conftest import assert_one_line


def refused(path, load=checkpoint.load):
    with pytest.raises(CheckpointError) as error:
        load(path)
    return str(error.value)


def replace_dataset(path, name, **create):
    with h5py.File(path, "a") as f:
        del f[name]
        f.create_dataset(name, **create)


def never_read_huge(monkeypatch):
    """Make reading a dataset of more than 10**8 values fail the test: its refusal must come from
    its shape alone, before any buffer is allocated for it."""
    read = h5py.Dataset.__getitem__

    def guarded(self, *args, **kwargs):
        assert self.size <= 10**8, f"{self.name} ({self.size:,} values) was read"
        return read(self, *args, **kwargs)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)


def test_a_virtual_dataset_pointing_at_another_file_is_refused(checkpoint_file, tmp_path):
    other = tmp_path / "secret.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("kernel", data=np.ones((64, 43), np.float32))
    layout = h5py.VirtualLayout(shape=(64, 43), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "kernel", shape=(64, 43))
    with h5py.File(checkpoint_file, "a") as f:
        del f["dense_4/kernel"]
        f.create_virtual_dataset("dense_4/kernel", layout)
    assert_one_line(refused(checkpoint_file), "model.h5", "'dense_4/kernel' stores its data in another file")


def test_a_dataset_stored_in_an_external_raw_file_is_refused(checkpoint_file, tmp_path):
    raw = tmp_path / "weights.bin"
    raw.write_bytes(np.ones(43, np.float32).tobytes())
    replace_dataset(checkpoint_file, "dense_4/bias", shape=(43,), dtype="f4", external=[(str(raw), 0, 43 * 4)])
    assert_one_line(refused(checkpoint_file), "'dense_4/bias' stores its data in another file")


def test_a_soft_link_is_not_followed(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        del f["dense_3/bias"]
        f["dense_3/bias"] = h5py.SoftLink("/dense_2/bias")
    assert_one_line(refused(checkpoint_file), "'dense_3/bias' is a link; links are not followed")


def test_an_external_link_on_a_whole_layer_group_is_not_followed(checkpoint_file, tmp_path):
    other = tmp_path / "other.h5"
    checkpoint.save(seed_net(seed=5), other)
    with h5py.File(checkpoint_file, "a") as f:
        del f["conv2d_1"]
        f["conv2d_1"] = h5py.ExternalLink(str(other), "/conv2d_1")
    assert_one_line(refused(checkpoint_file), "'conv2d_1' is a link")


def test_a_dataset_of_absurd_shape_is_refused_before_reading_it(checkpoint_file, monkeypatch):
    # 2**40 floats: 4 TiB if read. Stored sparsely (never written), so the file itself stays small.
    replace_dataset(checkpoint_file, "dense_1/kernel", shape=(2**20, 2**20), dtype="f4", chunks=(1, 1024))
    never_read_huge(monkeypatch)
    assert_one_line(refused(checkpoint_file), "'dense_1/kernel' has shape (1048576, 1048576)", "(1152, 256)")


def test_an_architecture_of_absurd_size_is_refused_before_building_it(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        architecture = json.loads(f.attrs["architecture"])
        architecture["layers"][-1]["config"]["units"] = 10**12  # 64e12 weights: 256 TB
        f.attrs["architecture"] = json.dumps(architecture)
    assert_one_line(refused(checkpoint_file), "parameters, more than 100,000,000", "before allocating")


def test_an_architecture_that_cannot_be_built_is_one_line(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        architecture = json.loads(f.attrs["architecture"])
        architecture["layers"][1]["config"]["pool_size"] = 0
        f.attrs["architecture"] = json.dumps(architecture)
    assert_one_line(refused(checkpoint_file), "model.h5: architecture cannot be built")


def test_weights_that_do_not_fit_the_architecture_are_refused(checkpoint_file, tmp_path):
    wider = seed_net(num_classes=10)
    with h5py.File(checkpoint_file, "a") as f:
        f.attrs["architecture"] = json.dumps(wider.get_config())
    assert_one_line(refused(checkpoint_file), "'dense_4/kernel' has shape (64, 43), the architecture needs (64, 10)")


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_weights_are_refused(checkpoint_file, value):
    with h5py.File(checkpoint_file, "a") as f:
        f["conv2d_2/bias"][3] = value
    assert_one_line(refused(checkpoint_file), "'conv2d_2/bias' holds NaN or infinite values")


def test_weights_of_another_dtype_are_refused(checkpoint_file):
    replace_dataset(checkpoint_file, "dense_4/bias", data=np.zeros(43, np.float64))
    assert_one_line(refused(checkpoint_file), "'dense_4/bias' has dtype float64, expected float32")


def test_a_format_attribute_that_is_an_array_is_not_a_checkpoint(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        f.attrs["format"] = np.array([b"npnet-checkpoint", b"x"])
    assert_one_line(refused(checkpoint_file), "not an npnet checkpoint")


def test_a_format_version_that_is_an_array_is_refused(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        f.attrs["format_version"] = np.ones(3, np.int64)
    assert_one_line(refused(checkpoint_file), "checkpoint format version [1 1 1] is not supported")


def test_metadata_that_is_not_a_json_object_is_refused(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        f.attrs["metadata"] = "[1, 2]"
    assert_one_line(refused(checkpoint_file), "'metadata' is a list, expected a JSON object")


def test_deeply_nested_json_is_refused(checkpoint_file):
    with h5py.File(checkpoint_file, "a") as f:
        f.attrs["metadata"] = "[" * 100_000 + "]" * 100_000
    assert_one_line(refused(checkpoint_file), "'metadata' is missing or not valid JSON")


def test_a_malformed_optimizer_state_is_refused(tmp_path):
    model, path = seed_net(), tmp_path / "last.h5"
    checkpoint.save(model, path, optimizer=Adam())
    with h5py.File(path, "a") as f:
        f["optimizer"].attrs["state"] = json.dumps({"type": "Adam", "config": {"lr": 1, "evil": 2}})
    message = refused(path, load=lambda p: checkpoint.load_optimizer(p, model))
    assert_one_line(message, "last.h5: optimizer state is not valid")
