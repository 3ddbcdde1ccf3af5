"""Reading a file that may come from anywhere: only regular files, never blocking, never unbounded.

    open_regular(path, limit)    -> a binary file object (the caller closes it)
    read_regular(path, limit)    -> the file's bytes
    outside(root, path)          -> where ``path`` really leads when that is outside the folder ``root``

A FIFO (named pipe) opened for reading waits for a writer, for ever, and ``/dev/zero`` never ends, so
a path is checked with ``os.stat`` before it is opened (a FIFO, a device, a folder or a socket is
refused), then opened with ``O_NONBLOCK`` and checked again with ``fstat`` on the descriptor actually
opened: a file swapped for a FIFO between the two checks is refused too, and never waited on. The
size ``fstat`` gives is compared with ``limit`` before a byte is read, and a file that grows while it
is read stops at ``limit + 1`` bytes and is refused.

Every problem is one ``error`` (a ``DataError`` unless told) with the message
``<label>: <doing> (<problem>)``, e.g. ``data/Train.csv: cannot read (a FIFO, not a regular file)``.

The caps, chosen at about ten times what GTSRB needs (its largest file, ``train.p``, is 108 MB; its
CSVs are under 3 MB; it has 51,839 images):
"""
import errno
import lzma
import os
import stat
import zipfile
import zlib

from .errors import DataError

MAX_FILE_BYTES = 256 * 2**20     # one image file or zip member (GTSRB's are under 1 MB)
MAX_CSV_BYTES = 16 * 2**20       # one annotation CSV or signnames.csv
MAX_PICKLE_BYTES = 2**30         # one pickle (train.p, valid.p, test.p)
MAX_TREE_BYTES = 4 * 2**30       # everything read from one folder or zip, all splits together
MAX_SPLIT_IMAGES = 1_000_000     # images in one split (1,000,000 x 32 x 32 x 3 bytes = 3 GB)

#: what reading a zip member can raise when the archive is damaged: a bad directory or header
#: (BadZipFile), a corrupt deflate, LZMA or bzip2 stream (zlib.error, LZMAError, OSError), a stream
#: that ends early (EOFError), an encrypted member (RuntimeError), an unknown method (NotImplementedError)
ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, RuntimeError,
                  NotImplementedError, ValueError, KeyError)

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def open_regular(path, limit=None, error=DataError, doing="cannot read", label=None, follow=True):
    """``path`` opened for binary reading, once it is known to be a regular file of at most ``limit``
    bytes (no limit when None). ``follow=False`` refuses a symlink instead of following it."""
    name = os.fspath(path)
    label = name if label is None else label

    def refuse(problem):
        return error(f"{label}: {doing} ({problem})")

    try:
        _check_kind(os.stat(name) if follow else os.lstat(name))
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
        descriptor = os.open(name, flags)
    except _NotRegular as problem:
        raise refuse(problem) from None
    except OSError as problem:
        raise refuse(_os_problem(name, problem, follow)) from None
    try:
        status = os.fstat(descriptor)           # the file actually opened, whatever the name means now
        _check_kind(status)
        if limit is not None and status.st_size > limit:
            raise refuse(f"{status.st_size:,} bytes, more than the {limit:,} allowed; refused before reading")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException as problem:
        os.close(descriptor)
        if isinstance(problem, _NotRegular):
            raise refuse(problem) from None
        raise


def read_regular(path, limit, error=DataError, doing="cannot read", label=None, follow=True):
    """The bytes of the regular file ``path``, refused when there are more than ``limit`` of them."""
    with open_regular(path, limit, error, doing, label, follow) as file:
        try:
            data = file.read(limit + 1)
        except OSError as problem:
            raise error(f"{label or os.fspath(path)}: {doing} ({_os_problem(os.fspath(path), problem)})") from None
    if len(data) > limit:
        raise error(f"{label or os.fspath(path)}: {doing} (it grew past the {limit:,} bytes allowed while read)")
    return data


def outside(root, path):
    """Where the symlink chain at ``path`` ends, when that is outside the folder ``root``; else None
    (also None for a path that does not resolve: opening it then says what is wrong)."""
    try:
        target = os.path.realpath(path, strict=True)
    except (OSError, RuntimeError):
        return None
    top = os.path.realpath(root)
    return None if os.path.commonpath([top, target]) == top else target


def broken_link(path):
    """'a dangling symlink' or 'a symlink loop' when ``path`` is one, else None."""
    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
    except OSError as problem:
        return "a symlink loop" if problem.errno == errno.ELOOP else "a dangling symlink"
    return None


class _NotRegular(Exception):
    """The path exists but is not a regular file (the message says what it is)."""


def _check_kind(status):
    if stat.S_ISREG(status.st_mode):
        return
    if stat.S_ISLNK(status.st_mode):
        raise _NotRegular("a symlink; not followed here")
    kind = next((name for test, name in KINDS if test(status.st_mode)), "not a regular file")
    raise _NotRegular(f"{kind}, not a regular file" if kind != "not a regular file" else kind)


def _os_problem(name, problem, follow=True):
    """An OSError as a short phrase: a broken symlink is named as one."""
    if problem.errno == errno.ELOOP:
        return "a symlink; not followed here" if not follow and os.path.islink(name) else "a symlink loop"
    return broken_link(name) or problem.strerror or str(problem)
