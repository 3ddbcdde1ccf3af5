"""Writing a file so that a crash, a full disk or a planted symlink cannot do harm.

``write_atomic(path, write)`` has ``write(temporary_path)`` fill a new file, created exclusively
(O_EXCL, a unique name) in the target's own folder, flushes it to disk, then renames it over ``path``. A rename replaces
the directory entry itself: if ``path`` is a symlink, the link is replaced, and the file it pointed
to (perhaps outside the output folder) is never opened. Until the rename, an earlier file at
``path`` is untouched; if ``write`` fails, the temporary file is removed and ``path`` is as it was.
"""
import math
import os
import tempfile


def write_atomic(path, write):
    """Fill ``path`` through ``write(temporary_path)``; returns ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)[:64]}.", suffix=".tmp")
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())     # as open() would create it, not mkstemp's 0600
        write(temporary)
        with open(temporary, "rb+") as written:       # on disk before the rename makes it the file
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    return path


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def finite_json(value):
    """``value`` with every NaN or infinity (nested in dicts, lists, tuples) replaced by None, so
    that ``json.dumps(..., allow_nan=False)`` always gives valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def write_text_atomic(path, text):
    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
    return write_atomic(path, write)
