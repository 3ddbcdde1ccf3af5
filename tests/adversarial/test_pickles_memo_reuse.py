"""A pickle that passes one memoized value to an admitted call again and again is refused before it
builds more than its budget (twice the file's size plus 64 KiB, ``npnet.data.unpickler``).

Each payload holds one buffer or string once and a few dozen bytes of opcodes per copy: without the
charges, a 1 MB file builds a gigabyte (a thousand copies), and a 64-byte one allocates 1.6 GB.
"""
import pickle
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npnet.data.pickles import read_pickle
from npnet.data.unpickler import MAX_OPCODES
from npnet.io.errors import DataError

from .conftest import ROOT
from .test_pickles_declaring_more import op_global, op_int, op_str, op_tuple, valid_except

MB = 2**20


def op_bytes(data):
    return b"B" + len(data).to_bytes(4, "little") + data


def op_dtype(code):
    return op_global("numpy", "dtype") + op_tuple(op_str(code), b"I00\nI01\n") + b"R"


def memoized(value_ops, index):
    """Push a value, store it as memo ``index``, pop it."""
    return value_ops + b"q" + bytes([index]) + b"0"


def get(index):
    return b"h" + bytes([index])


def scalar_copies(copies, size=MB):
    """A list of ``copies`` numpy.void scalars, each scalar(dtype V<size>, one memoized buffer)."""
    ops = memoized(op_bytes(b"x" * size), 1) + memoized(op_dtype(f"V{size}"), 2) + b"("
    ops += (op_global("numpy.core.multiarray", "scalar") + b"(" + get(2) + get(1) + b"tR") * copies
    return ops + b"l"


def swapped_states(copies, size=MB):
    """A list of ``copies`` arrays, each an empty array given by BUILD the state (big-endian uint16,
    one memoized buffer): NumPy copies and byte-swaps the buffer for each."""
    ops = memoized(op_bytes(b"x" * size), 1) + memoized(op_dtype(">u2"), 2) + b"("
    empty = op_global("numpy.core.multiarray", "_reconstruct") + op_tuple(
        op_global("numpy", "ndarray"), op_tuple(op_int(0)), b"C\x01B") + b"R"
    state = op_tuple(op_int(1), op_tuple(op_int(size // 2)), get(2), b"\x89", get(1))
    return ops + (empty + state + b"b") * copies + b"l"


def object_array(count):
    """numpy.ndarray((count,), dtype('O')): NumPy fills it with None, touching every page."""
    return op_global("numpy", "ndarray") + op_tuple(op_tuple(op_int(count)), op_dtype("O")) + b"R"


def refusal(tmp_path, ops, key="extra"):
    path = tmp_path / "train.p"
    path.write_bytes(valid_except(key, ops))
    with pytest.raises(DataError) as error:
        read_pickle(path)
    return path, str(error.value)


def test_one_buffer_copied_into_a_thousand_scalars_is_refused(tmp_path):
    path, message = refusal(tmp_path, scalar_copies(1000))
    assert message == f"{path}: declares more data than its {path.stat().st_size:,} bytes hold; refused"


def test_one_buffer_set_as_a_thousand_arrays_states_is_refused(tmp_path):
    path, message = refusal(tmp_path, swapped_states(1000))
    assert message.endswith("bytes hold; refused")


def test_an_array_the_ndarray_constructor_would_allocate_is_refused_before_it_is(tmp_path):
    ops = object_array(200_000_000)                     # 1.6 GB of None pointers, in 64 bytes
    tracemalloc.start()
    try:
        _, message = refusal(tmp_path, ops)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(ops) < 100 and message.endswith("bytes hold; refused")
    assert peak < 10 * MB, peak


@pytest.mark.parametrize("encoding, errors", [("unicode_escape", "strict"), ("utf-32", "strict"),
                                              ("latin1", "xmlcharrefreplace")])
def test_a_text_codec_other_than_protocol_2s_is_refused(tmp_path, encoding, errors):
    call = op_global("_codecs", "encode") + op_tuple(op_str("\U0010ffff" * 10), op_str(encoding), op_str(errors))
    _, message = refusal(tmp_path, call + b"R")
    assert "refuses to load pickle global '_codecs.encode(" in message and repr(encoding) in message


def test_a_pickle_of_more_opcodes_than_a_data_pickle_holds_is_refused(tmp_path):
    path, message = refusal(tmp_path, b"(" + b"N" * (MAX_OPCODES + 1) + b"l")     # a list of None
    assert message == f"{path}: holds more than {MAX_OPCODES:,} opcodes (a data pickle holds a few hundred); refused"


def test_a_big_endian_fortran_pickle_of_every_protocol_still_loads(tmp_path):
    from .conftest import pickle_dict
    content = pickle_dict(40)
    content["coords"] = content["coords"].astype(">i4")
    content["sizes"] = content["sizes"].T.copy().T              # Fortran order
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"p{protocol}.p"
        path.write_bytes(pickle.dumps(content, protocol=protocol))
        data = read_pickle(path)
        assert (data.images == content["features"]).all() and len(data) == 40


def test_the_refusal_of_a_1_mb_pickle_building_3_gb_is_quick_and_small():
    """In a fresh process: a 1 MB pickle whose 3,000 scalars would copy 3 GB is refused in one line,
    the process's peak memory grown by far less than the copies would take."""
    script = f"""
import resource, sys, tempfile, time
sys.path.insert(0, {str(ROOT)!r})
from tests.adversarial.test_pickles_memo_reuse import scalar_copies
from tests.adversarial.test_pickles_declaring_more import valid_except
from npnet.data.pickles import read_pickle
from npnet.io.errors import DataError
with tempfile.NamedTemporaryFile(suffix=".p") as file:
    file.write(valid_except("extra", scalar_copies(3000))); file.flush()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    started = time.perf_counter()
    try:
        read_pickle(file.name)
    except DataError as error:
        print(error)
    print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - before)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    refused, measures = result.stdout.splitlines()
    growth_mb = int(measures.split()[1])
    assert refused.endswith("bytes hold; refused") and result.stderr == ""
    assert growth_mb < 256, growth_mb                                # 3 GB if each copy were made


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(kind=st.sampled_from(["scalar", "state"]), kib=st.integers(1, 256), copies=st.integers(1, 120))
def test_what_memo_reuse_builds_stays_within_twice_the_file(tmp_path_factory, kind, kib, copies):
    """Whatever the buffer's size and the number of copies, loading allocates (traced by
    tracemalloc) at most the budget, twice the file's size plus 64 KiB, beyond the file's own
    bytes, and refuses exactly when the copies would need more."""
    size = kib * 1024
    ops = scalar_copies(copies, size) if kind == "scalar" else swapped_states(copies, size)
    path = tmp_path_factory.mktemp("memo") / "train.p"
    path.write_bytes(valid_except("extra", ops))
    budget = 2 * path.stat().st_size + 64 * 1024
    tracemalloc.start()
    try:
        read_pickle(path)
        refused = False
    except DataError as error:
        assert str(error).endswith("bytes hold; refused")
        refused = True
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < path.stat().st_size + budget + MB
    if copies * size > budget:
        assert refused
    if copies * size + 8 * 1024 <= budget:          # the valid arrays beside them take under 8 KiB
        assert not refused
