"""The HDF5 cache of decoded images is read like a checkpoint: no external or soft link, virtual
dataset or external raw storage is followed, nothing is read before its shape and dtype are
checked, and only a regular file is opened. A refused entry is rebuilt from the images; the cache
goes where ``cache_dir`` says, never to ``data/cache`` in the working folder when one is given."""
import os

import h5py
import numpy as np
import pytest

from npnet.data import load_gtsrb, load_split

from .readers import finishes, kaggle_folder


@pytest.fixture
def entry(tmp_path):
    """(data folder, cache folder, the cache entry of its train split, the images as decoded)."""
    data, cache = kaggle_folder(tmp_path / "data"), tmp_path / "cache"
    splits = load_gtsrb(data, cache_dir=cache, progress=False)
    [path] = cache.glob("kaggle-train-*.h5")
    decoded = np.concatenate([splits["train"].images, splits["valid"].images])
    return data, cache, path, decoded


def reload(data, cache):
    splits = finishes(lambda: load_gtsrb(data, cache_dir=cache, progress=False))
    return np.concatenate([splits["train"].images, splits["valid"].images])


def other_file(tmp_path, decoded):
    """An HDF5 file holding other images (all 7) of the same shape: what a followed link would read."""
    path = tmp_path / "elsewhere.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.full_like(decoded, 7))
    return path


def replace_images(path, **create):
    with h5py.File(path, "a") as f:
        del f["images"]
        f.create_dataset("images", **create)


def test_an_external_link_in_a_cache_entry_is_not_followed(entry, tmp_path):
    data, cache, path, decoded = entry
    other = other_file(tmp_path, decoded)
    with h5py.File(path, "a") as f:
        del f["images"]
        f["images"] = h5py.ExternalLink(str(other), "/images")
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_a_soft_link_in_a_cache_entry_is_not_followed(entry):
    data, cache, path, decoded = entry
    with h5py.File(path, "a") as f:
        f.create_dataset("planted", data=np.full_like(decoded, 7))
        del f["images"]
        f["images"] = h5py.SoftLink("/planted")
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_a_virtual_dataset_in_a_cache_entry_is_not_followed(entry, tmp_path):
    data, cache, path, decoded = entry
    other = other_file(tmp_path, decoded)
    layout = h5py.VirtualLayout(shape=decoded.shape, dtype=np.uint8)
    layout[...] = h5py.VirtualSource(str(other), "images", shape=decoded.shape)
    with h5py.File(path, "a") as f:
        del f["images"]
        f.create_virtual_dataset("images", layout)
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_external_raw_storage_in_a_cache_entry_is_not_read(entry, tmp_path):
    data, cache, path, decoded = entry
    raw = tmp_path / "elsewhere.bin"
    raw.write_bytes(np.full_like(decoded, 7).tobytes())
    replace_images(path, shape=decoded.shape, dtype=np.uint8, external=[(str(raw), 0, decoded.nbytes)])
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_a_cache_entry_of_absurd_length_is_rebuilt_without_reading_it(entry, monkeypatch):
    data, cache, path, decoded = entry
    n = 10**7                                    # 30 GB of images if read; stored sparsely, never written
    with h5py.File(path, "a") as f:
        for name in ("images", "labels", "boxes", "tracks"):
            shape, dtype = (n,) + f[name].shape[1:], f[name].dtype
            del f[name]
            f.create_dataset(name, shape=shape, dtype=dtype, chunks=(1,) + shape[1:])
    read = h5py.Dataset.__getitem__

    def guarded(self, *args, **kwargs):
        assert self.shape[0] < n, f"{self.name} ({self.shape}) was read"
        return read(self, *args, **kwargs)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
    monkeypatch.setattr("npnet.data.cache.MAX_SPLIT_IMAGES", n - 1)
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_a_cache_entry_that_is_a_fifo_is_rebuilt_without_waiting(entry):
    data, cache, path, decoded = entry
    path.unlink()
    os.mkfifo(path)
    splits = finishes(lambda: load_gtsrb(data, cache_dir=cache, progress=False), path)
    np.testing.assert_array_equal(np.concatenate([splits["train"].images, splits["valid"].images]), decoded)


def test_a_cache_entry_that_is_a_symlink_is_not_followed(entry, tmp_path):
    data, cache, path, decoded = entry
    planted = tmp_path / "planted.h5"
    os.replace(path, planted)
    with h5py.File(planted, "a") as f:
        f["images"][...] = 7
    path.symlink_to(planted)
    np.testing.assert_array_equal(reload(data, cache), decoded)


def test_the_cache_goes_where_cache_dir_says_and_nowhere_else(tmp_path, monkeypatch):
    data = kaggle_folder(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    load_gtsrb(data, cache_dir=tmp_path / "mine", progress=False)
    (data / "Test").mkdir()
    os.replace(data / "Train.csv", data / "Test.csv")
    load_split(data, cache_dir=tmp_path / "mine", progress=False)
    assert sorted(p.name.split("-")[1] for p in (tmp_path / "mine").iterdir()) == ["test", "train"]
    assert not (tmp_path / "data" / "cache").exists() and not os.path.exists("data/cache")
