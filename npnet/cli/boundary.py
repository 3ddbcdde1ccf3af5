"""The boundary of the command-line tools (train.py, explain.py): every failure a user can cause
becomes one line ``tool: <what is wrong>`` on stderr and exit status 2; ``--debug`` re-raises it.

Expected failures are ``NpnetError`` (a bad file, value or class), ``OSError`` (a folder that cannot
be written, a name too long, a full disk) and ``MemoryError``. Anything else is a bug and keeps its
traceback. The line is escaped (``one_line``): a path holding a newline or a terminal escape
sequence cannot split the line or drive the terminal.

Everything a tool prints while ``run`` runs goes through ``Escaped``: a control character (ESC, BEL,
a backspace, a Unicode line separator or direction override) that a file name, a class name or a
layer name smuggles into any line is written as its escape; newlines, carriage returns (progress
bars) and tabs the tool writes itself pass. A user string printed inside a line also goes through
``one_line``, so that its own newlines cannot forge a line either.

The library's own notices (``NpnetWarning``: a cache that cannot be written) are printed as one line
``tool: warning: ...``; any other warning keeps Python's format, as it would be a bug to fix at its source.
"""
import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

from ..io.errors import NpnetError, NpnetWarning
from ..io.text import escaped

EXPECTED = (NpnetError, OSError, MemoryError)


def one_line(text):
    """``text`` with every unprintable character (newline, tab, ESC, ...) written as its escape."""
    return escaped(text)


def describe(error):
    """The one-line message of an expected failure."""
    if isinstance(error, MemoryError):
        return "out of memory" + (f" ({error})" if str(error) else "")
    if isinstance(error, OSError) and not isinstance(error, NpnetError):
        where = f"{error.filename}: " if error.filename is not None else ""
        return f"{where}{error.strerror or error}"
    return str(error)


class Escaped:
    """A text stream that writes ``escaped`` text to ``stream``; everything else is the stream's."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        self.stream.write(escaped(text, keep="\n\r\t"))     # the tool's own line breaks and bars pass
        return len(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def run(prog, main, argv=None, debug=None):
    """main(argv) -> exit status, with every expected failure turned into one line and status 2.
    ``debug`` (default: '--debug' in argv) re-raises instead. stdout and stderr are ``Escaped``
    meanwhile."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv if debug is None else debug
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Escaped(stdout), Escaped(stderr)
    try:
        with warnings.catch_warnings():         # restores showwarning afterwards
            warnings.showwarning = one_line_notices(prog, warnings.showwarning)
            return main(argv)
    except EXPECTED as error:
        if debug:
            raise
        print(f"{prog}: {one_line(describe(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: stopped", file=sys.stderr)
        return 130
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def one_line_notices(prog, show):
    """A ``warnings.showwarning`` that prints an ``NpnetWarning`` as ``prog: warning: <message>`` (one
    line, escaped) and hands every other warning to ``show``."""
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, NpnetWarning):
            print(f"{prog}: warning: {one_line(str(message))}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)
    return showwarning


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (``prog command: error: ...; see --help``), exit 2."""

    def error(self, message):
        self.exit(2, f"{one_line(self.prog)}: error: {one_line(message)} (see {self.prog} --help)\n")


def whole_number(low, high=None):
    """argparse type: an integer >= ``low`` (and <= ``high`` when given), in ASCII digits."""
    def parse(text):
        stripped = text.strip()
        digits = stripped[1:] if stripped[:1] in "+-" else stripped
        if not (digits.isascii() and digits.isdigit()):
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
        value = int(stripped)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}, got {value:,}")
        return value
    parse.__name__ = f"whole number >= {low}" if high is None else f"whole number from {low} to {high}"
    return parse


def check_cache_dir(path, option="--cache-dir"):
    """``path`` as a Path, once it is a folder or could be made one: NpnetError naming it (and
    ``option``, the flag that chose it) when it, or a folder on the way to it, exists and is not a
    folder. Checked before any data is read; nothing is created (a cache may never be needed)."""
    path = Path(path)
    for part in (path, *path.parents):
        if os.path.lexists(part):
            if part.is_dir():
                return path
            what = "exists and is not a folder" if part == path else f"cannot be made: {part} is not a folder"
            raise NpnetError(f"{path}: {option} {what}")
    return path


def prepare_out(path):
    """Create the output folder ``path`` (and its parents) and prove it writable by creating and
    removing a file in it, before any work starts. Raises NpnetError naming it otherwise."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise NpnetError(f"{out}: --out exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=out, prefix=".npnet-write-test-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise NpnetError(f"{out}: cannot write to the output folder ({error.strerror or error})") from None
    return out
