"""Hostile pickles run nothing. (The malformed-content cases — 0 bytes, truncated, missing keys,
mismatched lengths, wrong dtypes and shapes, object arrays, labels out of range — are in
tests/data/test_pickles.py.) Each payload here would create a marker file if any code ran."""
import os
import pickle
import subprocess

import numpy as np
import pytest

from npnet.data import read_pickle
from npnet.io.errors import DataError

from .conftest import assert_one_line, pickle_dict, write_pickle


class Payload:
    """Pickles as ``call(*args)``: whatever unpickles it calls ``call``."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def refused(path):
    with pytest.raises(DataError) as error:
        read_pickle(path)
    return str(error.value)


def test_a_subprocess_payload_is_refused_and_creates_nothing(tmp_path):
    marker = tmp_path / "ran"
    content = pickle_dict() | {"labels": Payload(subprocess.call, ["touch", str(marker)])}
    message = refused(write_pickle(tmp_path / "evil.p", content))
    assert_one_line(message, "evil.p", "refuses to load pickle global 'subprocess.call'")
    assert not marker.exists()


def test_a_builtins_eval_payload_is_refused_and_creates_nothing(tmp_path):
    marker = tmp_path / "ran"
    content = pickle_dict() | {"sizes": Payload(eval, f"open({str(marker)!r}, 'w')")}
    message = refused(write_pickle(tmp_path / "evil.p", content))
    assert_one_line(message, "evil.p", "refuses to load pickle global 'builtins.eval'")
    assert not marker.exists()


def test_a_handwritten_protocol_0_os_system_payload_is_refused_and_creates_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.p"
    path.write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    assert_one_line(refused(path), "evil.p", "refuses to load pickle global 'os.system'")
    assert not marker.exists()


def test_a_payload_hidden_inside_an_object_array_is_refused_and_creates_nothing(tmp_path):
    marker = tmp_path / "ran"
    hidden = np.empty(2, dtype=object)
    hidden[:] = [1, Payload(os.system, f"touch {marker}")]
    message = refused(write_pickle(tmp_path / "evil.p", pickle_dict() | {"labels": hidden}))
    assert_one_line(message, "evil.p", "refuses to load pickle global")
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_the_refusal_holds_for_every_pickle_protocol(tmp_path, protocol):
    marker = tmp_path / "ran"
    content = pickle_dict() | {"coords": Payload(os.system, f"touch {marker}")}
    refused(write_pickle(tmp_path / "evil.p", content, protocol=protocol))
    assert not marker.exists()


def test_a_key_holding_a_newline_still_gives_a_one_line_message(tmp_path):
    content = {"features\nlabels": 1, "x" * 500: 2}
    message = refused(write_pickle(tmp_path / "odd.p", content))
    assert_one_line(message, "odd.p", "missing key(s) features, labels, sizes, coords")
    assert len(message) < 300
