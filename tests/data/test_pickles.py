"""read_pickle: the seed's pickle layout, read with an unpickler that runs no code."""

import os

import numpy as np
import pytest

from npnet.data import read_pickle
from npnet.io.errors import DataError


def test_a_pickle_loads_with_its_images_labels_and_unknown_tracks(tmp_path, fixtures):
    content = fixtures.pickle_dict(n=6)
    data = read_pickle(fixtures.write_pickle(tmp_path / "train.p", content))
    assert np.array_equal(data.images, content["features"])
    assert data.labels.dtype == np.int64 and np.array_equal(data.labels, content["labels"])
    assert (data.tracks == -1).all() and data.source == str(tmp_path / "train.p")


def test_boxes_are_scaled_from_the_original_size_to_32x32(tmp_path, fixtures):
    content = fixtures.pickle_dict(n=1)
    content["sizes"][0] = (64, 128)
    content["coords"][0] = (8, 16, 55, 111)         # x2, y2: the last pixel inside the box
    data = read_pickle(fixtures.write_pickle(tmp_path / "train.p", content))
    assert data.boxes.dtype == np.float32 and data.boxes[0].tolist() == [4, 4, 28, 28]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickles_of_every_common_protocol_load(tmp_path, fixtures, protocol):
    content = fixtures.pickle_dict(n=3)
    data = read_pickle(fixtures.write_pickle(tmp_path / "train.p", content, protocol=protocol))
    assert np.array_equal(data.images, content["features"])


class RunsACommand:
    """A pickle payload that would run a shell command when loaded."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_an_os_system_payload_is_refused_and_runs_nothing(tmp_path, fixtures):
    marker = tmp_path / "pwned"
    content = fixtures.pickle_dict(n=2)
    content["labels"] = RunsACommand(f"touch {marker}")
    path = fixtures.write_pickle(tmp_path / "evil.p", content)
    with pytest.raises(DataError) as error:
        read_pickle(path)
    assert str(error.value) == (
        f"{path}: refuses to load pickle global '{os.system.__module__}.system' "
        "(only NumPy arrays, dicts, lists and scalars are allowed)"
    )
    assert not marker.exists()


@pytest.mark.parametrize("call", [eval, __import__("subprocess").call, getattr])
def test_other_dangerous_globals_are_refused(tmp_path, fixtures, call):
    class Payload:
        def __reduce__(self):
            return (call, ("1",))

    path = fixtures.write_pickle(tmp_path / "evil.p", {"features": Payload()})
    with pytest.raises(DataError, match=f"refuses to load pickle global '.*{call.__name__}'"):
        read_pickle(path)


def bad_cases(fixtures):
    good = fixtures.pickle_dict(n=4)
    return {
        "not a dict": ([good["features"]], "holds a list, expected a dict"),
        "missing keys": ({"features": good["features"]}, "missing key(s) labels, sizes, coords"),
        "a list, not an array": (good | {"labels": [1, 2, 3, 4]}, "'labels' is a list, expected a NumPy array"),
        "object array": (good | {"labels": np.array([1, 2, 3, "x"], dtype=object)}, "'labels' is an object array"),
        "float labels": (good | {"labels": np.ones(4, np.float32)}, "'labels' is of dtype float32"),
        "float images": (good | {"features": good["features"].astype(np.float32)}, "'features' is of dtype float32"),
        "wrong image shape": (good | {"features": good["features"][:, :28]}, "expected uint8 (N, 32, 32, 3)"),
        "mismatched lengths": (good | {"labels": good["labels"][:3]}, "'labels' has shape (3,), expected (4,)"),
        "coords of 3": (good | {"coords": good["coords"][:, :3]}, "'coords' has shape (4, 3), expected (4, 4)"),
        "label out of range": (good | {"labels": np.array([0, 1, 43, 2])}, "label 43 is outside 0..42"),
        "zero size": (good | {"sizes": np.zeros((4, 2), np.int32)}, "width or height of 0"),
    }


@pytest.mark.parametrize(
    "case",
    ["not a dict", "missing keys", "a list, not an array", "object array", "float labels", "float images",
     "wrong image shape", "mismatched lengths", "coords of 3", "label out of range", "zero size"],
)
def test_a_bad_pickle_raises_one_line_naming_the_file(tmp_path, fixtures, case):
    content, problem = bad_cases(fixtures)[case]
    path = fixtures.write_pickle(tmp_path / "bad.p", content)
    with pytest.raises(DataError) as error:
        read_pickle(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_an_empty_file_raises_data_error_naming_it(tmp_path):
    path = tmp_path / "empty.p"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=rf"^{path}: is empty \(0 bytes\), not a pickle$"):
        read_pickle(path)


def test_a_truncated_pickle_raises_data_error_naming_it(tmp_path, fixtures):
    path = fixtures.write_pickle(tmp_path / "cut.p", fixtures.pickle_dict(n=4))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=rf"^{path}: is truncated or not a pickle"):
        read_pickle(path)


def test_a_missing_file_raises_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="nothing.p: cannot read"):
        read_pickle(tmp_path / "nothing.p")


def test_a_text_file_raises_data_error_naming_it(tmp_path):
    path = tmp_path / "notes.p"
    path.write_text("features, labels\n")
    with pytest.raises(DataError, match=rf"^{path}: is truncated or not a pickle"):
        read_pickle(path)


def test_a_box_of_four_zeros_means_no_box(tmp_path, fixtures):
    content = fixtures.pickle_dict(n=2)
    content["coords"][0] = (0, 0, 0, 0)
    data = read_pickle(fixtures.write_pickle(tmp_path / "train.p", content))
    assert data.boxes[0].tolist() == [0, 0, 0, 0]
    assert data.boxes[1, 2] > data.boxes[1, 0]


def test_loaded_boxes_are_the_faithfulness_metrics_boxes(tmp_path, fixtures):
    from npnet.explain.faithfulness.metrics import boxes_to_32
    content = fixtures.pickle_dict(n=5)
    content["sizes"][:] = [(40, 50), (33, 29), (100, 64), (32, 32), (61, 45)]
    content["coords"][:] = [(5, 6, 34, 43), (2, 3, 30, 25), (10, 8, 90, 60), (0, 0, 31, 31), (7, 5, 55, 40)]
    data = read_pickle(fixtures.write_pickle(tmp_path / "train.p", content))
    np.testing.assert_allclose(data.boxes, boxes_to_32(content["coords"], content["sizes"]), rtol=1e-6)
