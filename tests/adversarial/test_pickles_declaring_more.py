"""A pickle that declares more than it holds is refused before the reader builds it.

Each case is a few hundred bytes written opcode by opcode with only the globals the safe unpickler
admits; without the bound each would build or copy gigabytes.
"""
import pickle
import resource

import numpy as np
import pytest

from npnet.data.pickles import read_pickle
from npnet.io.errors import DataError

from .conftest import pickle_dict


def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_int(value):
    return b"I" + str(value).encode() + b"\n"


def op_str(text):
    return b"X" + len(text.encode()).to_bytes(4, "little") + text.encode()


def op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def valid_except(key, value_ops):
    """A protocol-0/2 style pickle: a dict whose ``key`` is built by ``value_ops``, the rest valid."""
    others = {k: v for k, v in pickle_dict(2).items() if k != key}
    body = pickle.dumps(others, protocol=2)
    assert body.startswith(b"\x80\x02") and body.endswith(b".")
    # reopen the dict: drop the STOP, push the key and value, SETITEM, STOP
    return body[:-1] + op_str(key) + value_ops + b"s."


def zero_stride_images(count):
    """numpy.ndarray(shape=(count, 32, 32, 3), dtype=uint8, buffer=b'x', offset=0, strides=(0, 0, 0, 0))."""
    dtype = op_global("numpy", "dtype") + op_tuple(op_str("u1"), b"I00\nI01\n") + b"R"
    return (op_global("numpy", "ndarray")
            + op_tuple(op_tuple(op_int(count), op_int(32), op_int(32), op_int(3)), dtype,
                       b"C\x01x", op_int(0), op_tuple(op_int(0), op_int(0), op_int(0), op_int(0)))
            + b"R")


def reconstructed(count):
    """numpy.core.multiarray._reconstruct(ndarray, (count, 32, 32, 3), b'B'): an array allocated at
    the declared size, its pixels never in the file."""
    return (op_global("numpy.core.multiarray", "_reconstruct")
            + op_tuple(op_global("numpy", "ndarray"),
                       op_tuple(op_int(count), op_int(32), op_int(32), op_int(3)), b"C\x01B")
            + b"R")


def repeated_encodes(copies):
    """A list of ``copies`` bytes objects, each _codecs.encode of one memoized 1 MB string."""
    text = "a" * 2**20
    ops = op_str(text) + b"q\x00" + b"0" + b"("   # the string, memoized as 0 and popped
    for _ in range(copies):
        ops += op_global("_codecs", "encode") + b"(" + b"h\x00" + op_str("latin1") + b"tR"
    return ops + b"l"


def memory_peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name, key, ops", [
    ("zero strides", "features", zero_stride_images(1_500_000)),
    ("allocated, never held", "features", reconstructed(1_200_000)),
    ("one string encoded 3,000 times", "extra", repeated_encodes(3_000)),
])
def test_a_pickle_declaring_more_than_it_holds_is_refused(tmp_path, name, key, ops):
    path = tmp_path / "train.p"
    path.write_bytes(valid_except(key, ops))
    before = memory_peak_mb()
    with pytest.raises(DataError, match=r"train\.p: .*(declare|declares) .*bytes.* hold; refused"):
        read_pickle(path)
    assert memory_peak_mb() - before < 500       # nothing near the declared gigabytes was touched


def test_a_real_pickle_of_either_protocol_still_loads(tmp_path):
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.p"
        path.write_bytes(pickle.dumps(pickle_dict(50), protocol=protocol))
        assert len(read_pickle(path)) == 50
