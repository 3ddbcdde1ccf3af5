"""An unpickler that runs no code and builds no more than its file holds.

A pickle is a small program: its opcodes push values, call the globals it names and store results in
a memo it can reuse. ``SafeUnpickler`` runs that program under three bounds:

- **Globals.** Only the NumPy functions that rebuild arrays, dtypes and scalars are admitted
  (``ALLOWED_GLOBALS``); any other is refused before it runs.
- **Bytes built.** What the admitted calls build is charged to a ``Budget`` before it is built
  (``load_dict``: twice the file's size plus slack, as a protocol 2 array's bytes are charged twice
  for a moment: when the text codec makes them, and as the array's state until NumPy is seen to
  keep them). A memoized value can be passed to a call again and again for a few bytes each time,
  so each call is charged for what it makes, not for what it reads:

      _codecs.encode(text, 'latin1')             len(text) bytes (only as protocol 2 writes it)
      _reconstruct(ndarray, shape, dtype)        prod(shape) * itemsize
      ndarray(shape, dtype)                      prod(shape) * itemsize, unless it views a buffer
      array.__setstate__(state)  (BUILD)         prod(shape) * itemsize of the state, given back
                                                 when NumPy keeps the data rather than copying it
                                                 (it copies small, byte-swapped or unaligned data)
      scalar(dtype, data)                        itemsize (copied from data)
      _frombuffer(buffer, dtype, shape, order)   nothing: a view of the buffer

- **Opcodes.** A pickle of more than ``MAX_OPCODES`` opcodes is refused before it is run (counted
  by skipping over each opcode's data, not reading it). A list, tuple or dict gets at most one
  entry per opcode, so what the containers hold is bounded too (a file of 50 MB of ``None``
  opcodes would otherwise be a list of 400 MB). The seed's ``train.p`` holds 168.
"""
from __future__ import annotations

import codecs
import pickle
import pickletools

import numpy as np

# (module, name) pairs that rebuild arrays, dtypes and scalars; "numpy.core" before NumPy 2, "numpy._core" after.
ALLOWED_GLOBALS = {
    (package + module, name)
    for package in ("numpy.core", "numpy._core")
    for module, name in [
        (".multiarray", "_reconstruct"),
        (".multiarray", "scalar"),
        (".numeric", "_frombuffer"),  # protocol 5 arrays
    ]
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol 2 pickles store bytes as _codecs.encode(text, "latin1")
}

MAX_OPCODES = 100_000
LATIN1 = ("latin1", "latin-1")


class Refused(Exception):
    """A global (or a use of one) the pickle asked for and ``SafeUnpickler`` would not give."""


class TooLarge(Exception):
    """The pickle builds more than its budget, or holds more than ``MAX_OPCODES`` opcodes."""


class Budget:
    """Bytes a pickle may still build; ``charge`` raises TooLarge once they are spent."""

    def __init__(self, size: int):
        self.left = size

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise TooLarge()

    def refund(self, size: int) -> None:
        self.left += size


def nbytes(shape, dtype) -> int:
    """prod(shape) * itemsize, as exact integers (a negative dimension counts as 0: NumPy refuses it)."""
    count = 1
    for dimension in np.atleast_1d(np.asarray(shape, dtype=np.int64)):
        count *= max(int(dimension), 0)
    return count * np.dtype(dtype).itemsize


class ChargedArray(np.ndarray):
    """The ``numpy.ndarray`` a pickle gets: constructing it, or filling it by BUILD, is charged to
    the unpickler's ``budget`` first. ``SafeUnpickler`` makes one subclass per load holding its
    budget, and hands back plain ndarray views of what it built."""

    budget: Budget

    def __new__(cls, shape, dtype=float, buffer=None, offset=0, strides=None, order=None):
        if buffer is None:                              # allocated; with a buffer it is a view of it
            cls.budget.charge(nbytes(shape, dtype))
        return super().__new__(cls, shape, dtype, buffer, offset, strides, order)

    def __setstate__(self, state):
        """Charged before NumPy sets it; refunded when NumPy kept the data's own buffer (large,
        aligned, native byte order) rather than copying it."""
        size = 0
        if isinstance(state, tuple) and len(state) in (4, 5):     # ([version,] shape, dtype, fortran, data)
            size = nbytes(state[-4], state[-3])
        budget = type(self).budget
        budget.charge(size)
        super().__setstate__(state)
        if not self.flags.owndata:
            budget.refund(size)


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only NumPy arrays, dicts, lists and scalars, builds at most
    ``budget`` bytes through the admitted calls and runs at most ``MAX_OPCODES`` opcodes."""

    def __init__(self, file, budget: int):
        super().__init__(file)
        self.file = file
        self.budget = Budget(budget)
        self.array_type = type("ChargedArray", (ChargedArray,), {"budget": self.budget})

    def load(self):
        if self.file.seekable():
            start = self.file.tell()
            if count_opcodes(self.file, MAX_OPCODES) > MAX_OPCODES:
                raise TooLarge(f"holds more than {MAX_OPCODES:,} opcodes (a data pickle holds a few hundred)")
            self.file.seek(start)
        return plain(super().load())

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise Refused(f"{module}.{name}")
        found = super().find_class(module, name)
        if name == "encode":
            return self.encode
        if name == "ndarray":
            return self.array_type
        if name == "_reconstruct":
            return lambda subtype, shape, dtype: self.charged(nbytes(shape, dtype), found, subtype, shape, dtype)
        if name == "scalar":
            return lambda dtype, *data: self.charged(np.dtype(dtype).itemsize, found, dtype, *data)
        if name == "_frombuffer":
            return lambda *args: found(*args).view(self.array_type)     # BUILD on it is then charged
        return found

    def charged(self, size, call, *args):
        self.budget.charge(size)
        return call(*args)

    def encode(self, text, encoding="utf-8", errors="strict"):
        """_codecs.encode as protocol 2 writes it: one byte per character. Other codecs and error
        handlers make up to 10 bytes of one character ('unicode_escape', 'xmlcharrefreplace')."""
        if encoding not in LATIN1 or errors != "strict":
            raise Refused(f"_codecs.encode(..., {encoding!r}, {errors!r})")
        self.budget.charge(len(text))
        return codecs.encode(text, encoding, errors)


def plain(value):
    """``value`` with a ChargedArray, or one in a dict's values, viewed as a plain ndarray."""
    if isinstance(value, ChargedArray):
        return value.view(np.ndarray)
    if isinstance(value, dict):
        return {key: plain(item) if isinstance(item, ChargedArray) else item for key, item in value.items()}
    return value


# How an opcode's argument is laid out (pickletools' descriptors): a fixed size, a line, or a length first.
_LENGTH_PREFIX = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False), pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
                  pickletools.TAKEN_FROM_ARGUMENT4U: (4, False), pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}


def count_opcodes(file, limit: int) -> int:
    """The opcodes from ``file``'s position to STOP, counting stops once past ``limit``. Each
    opcode's data is skipped with a seek (a line argument is read in 64 KiB pieces), so nothing
    large is read. A pickle this cannot walk (an unknown opcode, the end of the file) counts as 0:
    the unpickler then says what is wrong with it."""
    count = 0
    while count <= limit:
        code = file.read(1)
        op = pickletools.code2op.get(code.decode("latin-1")) if code else None
        if op is None:
            return 0
        count += 1
        if op.name == "STOP":
            return count
        if op.arg is None or op.arg.n == 0:
            continue
        if op.arg.n > 0:
            file.seek(op.arg.n, 1)
        elif op.arg.n == pickletools.UP_TO_NEWLINE:       # GLOBAL and INST take two lines
            for _ in range(2 if op.arg is pickletools.stringnl_noescape_pair else 1):
                if not skip_line(file):
                    return 0
        else:
            width, signed = _LENGTH_PREFIX[op.arg.n]
            prefix = file.read(width)
            length = int.from_bytes(prefix, "little", signed=signed)
            if len(prefix) < width or length < 0:
                return 0
            file.seek(length, 1)
    return count


def skip_line(file) -> bool:
    """Read past the next newline, 64 KiB at a time; False at the end of the file."""
    while not (piece := file.readline(65536)).endswith(b"\n"):
        if not piece:
            return False
    return True
