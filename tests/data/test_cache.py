"""The HDF5 cache: full-size images are decoded once; a changed source makes a new entry."""

import os

import h5py
import numpy as np
import pytest

import npnet.data.images
from npnet.data import load_gtsrb
from npnet.data.cache import cached
from npnet.data.official import find_training
from npnet.data.tree import open_trees


def refuse_to_decode(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("decoded an image although the cache should have been used")

    monkeypatch.setattr(npnet.data.images, "load_image", fail)


def test_a_cache_hit_returns_identical_arrays_without_decoding(official, cache_dir, monkeypatch):
    first = load_gtsrb(official, cache_dir=cache_dir, progress=False)
    refuse_to_decode(monkeypatch)
    second = load_gtsrb(official, cache_dir=cache_dir, progress=False)
    for split in first:
        for array in ("images", "labels", "boxes", "tracks"):
            assert np.array_equal(getattr(first[split], array), getattr(second[split], array))
        assert first[split].source == second[split].source


def test_one_cache_file_per_split_and_no_temporary_files_remain(official, cache_dir):
    load_gtsrb(official, cache_dir=cache_dir, progress=False)
    names = sorted(p.name for p in cache_dir.iterdir())
    assert [n.split("-")[:2] for n in names] == [["official", "test"], ["official", "train"]]
    assert all(n.endswith(".h5") for n in names)


def test_a_changed_file_makes_a_new_cache_entry(official, cache_dir):
    located = find_training(open_trees(official))
    cached(located, "official-train", cache_dir, progress=False)
    image = official / "GTSRB/Final_Training/Images/00000/00000_00000.ppm"
    os.utime(image, ns=(0, 0))
    cached(find_training(open_trees(official)), "official-train", cache_dir, progress=False)
    assert len(list(cache_dir.glob("official-train-*.h5"))) == 2


def test_a_failed_read_leaves_nothing_in_the_cache_dir(official, cache_dir):
    (official / "GTSRB/Final_Training/Images/00002/00000_00000.ppm").write_bytes(b"broken")
    with pytest.raises(Exception):
        load_gtsrb(official, cache_dir=cache_dir, progress=False)
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []


def test_a_failed_write_warns_returns_the_data_and_leaves_no_temporary_file(official, cache_dir, monkeypatch, fixtures):
    def broken_create(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", broken_create)
    with pytest.warns(UserWarning, match="cannot write the cache .*disk full"):
        data = cached(find_training(open_trees(official)), "official-train", cache_dir, progress=False)
    assert len(data) == len(fixtures.TRAINING) and list(cache_dir.iterdir()) == []


def test_an_unreadable_cache_file_is_rebuilt(official, cache_dir):
    located = find_training(open_trees(official))
    first = cached(located, "official-train", cache_dir, progress=False)
    [entry] = cache_dir.iterdir()
    entry.write_bytes(b"not hdf5")
    again = cached(located, "official-train", cache_dir, progress=False)
    assert np.array_equal(first.images, again.images)
