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
import warnings

from .text import escaped


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


def render_png(figure, target, dpi):
    """Draw a matplotlib ``figure`` as a PNG into ``target`` (a path or a binary file), every text as
    written: a class name, file name or layer name holding ``$...$`` or a backslash is drawn as those
    characters, never parsed as mathtext (which would fail on it, or draw something else). The texts
    that exist are set so, and the rc setting covers those matplotlib creates while drawing (ticks).
    A control character in a text is drawn as its escape (``\\x1b``), and a glyph the font lacks
    (a tick label's control character, a script the font does not cover) is drawn as a box without a
    warning line on stderr."""
    import matplotlib
    plain_log_ticks(figure)
    for text in figure.findobj(lambda artist: hasattr(artist, "set_parse_math")):
        text.set_parse_math(False)
        value = text.get_text()
        if escaped(value, keep="\n") != value:
            text.set_text(escaped(value, keep="\n"))
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        figure.savefig(target, dpi=dpi, format="png")


def plain_log_ticks(figure):
    """Log axes label their ticks in mathtext (``$\\mathdefault{10^{0}}$``), which ``render_png`` does not
    parse: give them matplotlib's plain-text log labels instead (1, 0.1, 2e+03)."""
    from matplotlib.ticker import LogFormatter, LogFormatterMathtext
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, set_ in ((axis.get_major_formatter, axis.set_major_formatter),
                              (axis.get_minor_formatter, axis.set_minor_formatter)):
                formatter = get()
                if isinstance(formatter, LogFormatterMathtext):
                    set_(LogFormatter(base=formatter._base, labelOnlyBase=formatter.labelOnlyBase,
                                      minor_thresholds=formatter.minor_thresholds, linthresh=formatter._linthresh))


def write_png(path, figure, dpi):
    """``render_png`` into ``path``, atomically (``write_atomic``); returns ``path``."""
    return write_atomic(path, lambda temporary: render_png(figure, temporary, dpi))


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
