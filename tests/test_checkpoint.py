"""Checkpoints round-trip bit for bit, save atomically, and refuse broken files with one line."""
import os

import h5py
import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.io.errors import CheckpointError
from npnet.engine.seed_net import seed_net
from npnet.engine.optimizers import Adam


@pytest.fixture
def saved(tmp_path):
    model = seed_net(seed=3)
    path = tmp_path / "model.h5"
    checkpoint.save(model, path, class_names=[f"class {i}" for i in range(43)],
                    preprocessing={"name": "seed"}, epoch=7)
    return model, path


def test_round_trip_is_bit_exact(saved):
    model, path = saved
    loaded, _ = checkpoint.load(path)
    original, restored = model.params(), loaded.params()
    assert list(original) == list(restored)
    for key in original:
        assert restored[key].dtype == np.float32
        np.testing.assert_array_equal(restored[key], original[key])


def test_round_trip_keeps_metadata_class_names_and_preprocessing(saved):
    _, path = saved
    _, metadata = checkpoint.load(path)
    assert metadata["epoch"] == 7
    assert metadata["class_names"][42] == "class 42"
    assert metadata["preprocessing"] == {"name": "seed"}


def test_layout_is_one_group_per_weighted_layer(saved):
    _, path = saved
    with h5py.File(path) as f:
        assert sorted(f.keys()) == ["conv2d_1", "conv2d_2", "conv2d_3", "dense_1", "dense_2", "dense_3", "dense_4"]
        assert f["conv2d_2/kernel"].shape == (2, 2, 32, 128)
        assert f.attrs["format"] == "npnet-checkpoint" and f.attrs["format_version"] == 1


def test_optimizer_state_round_trips(tmp_path):
    model = seed_net()
    adam = Adam(lr=0.005)
    grads = {key: np.ones_like(value) for key, value in model.params().items()}
    adam.step(model.params(), grads)
    checkpoint.save(model, tmp_path / "last.h5", optimizer=adam)
    restored = checkpoint.load_optimizer(tmp_path / "last.h5", model)
    assert restored.iterations == 1 and restored.lr == 0.005
    np.testing.assert_array_equal(restored.v["dense_1/kernel"], adam.v["dense_1/kernel"])


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporary_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def broken_dataset(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(h5py.Group, "create_dataset", broken_dataset)
    with pytest.raises(CheckpointError, match="model.h5: could not save .*No space left"):
        checkpoint.save(seed_net(seed=9), path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.h5"]


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    path = tmp_path / "noise.h5"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="noise.h5: not a readable HDF5"):
        checkpoint.load(path)


def test_a_truncated_file_is_refused(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.h5"):
        checkpoint.load(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.h5: no such checkpoint"):
        checkpoint.load(tmp_path / "nothing.h5")


def test_a_missing_layer_is_named(saved):
    _, path = saved
    with h5py.File(path, "a") as f:
        del f["dense_2"]
    with pytest.raises(CheckpointError, match="'dense_2/kernel' is missing"):
        checkpoint.load(path)


def test_an_extra_layer_is_named(saved):
    _, path = saved
    with h5py.File(path, "a") as f:
        f.create_dataset("dense_9/kernel", data=np.zeros(3, dtype=np.float32))
    with pytest.raises(CheckpointError, match="unexpected group 'dense_9'"):
        checkpoint.load(path)


def test_a_wrong_shape_is_named_with_both_shapes(saved):
    _, path = saved
    with h5py.File(path, "a") as f:
        del f["dense_1/bias"]
        f.create_dataset("dense_1/bias", data=np.zeros(255, dtype=np.float32))
    with pytest.raises(CheckpointError, match=r"'dense_1/bias' has shape \(255,\), the architecture needs \(256,\)"):
        checkpoint.load(path)


def test_nan_weights_are_refused(saved):
    _, path = saved
    with h5py.File(path, "a") as f:
        f["dense_3/kernel"][0, 0] = np.nan
    with pytest.raises(CheckpointError, match="'dense_3/kernel' holds NaN"):
        checkpoint.load(path)


def test_an_external_link_is_not_followed(saved, tmp_path):
    _, path = saved
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("kernel", data=np.zeros((64, 43), dtype=np.float32))
    with h5py.File(path, "a") as f:
        del f["dense_4/kernel"]
        f["dense_4/kernel"] = h5py.ExternalLink(str(other), "kernel")
    with pytest.raises(CheckpointError, match="'dense_4/kernel' is a link"):
        checkpoint.load(path)


def test_a_plain_hdf5_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=[1, 2, 3])
    with pytest.raises(CheckpointError, match="plain.h5: not an npnet checkpoint"):
        checkpoint.load(path)
