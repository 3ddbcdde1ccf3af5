"""OpenBLAS's thread count, read and set while the process runs (what threadpoolctl does, in 30 lines).

NumPy's matrix products run on OpenBLAS's own thread pool, sized once from OPENBLAS_NUM_THREADS when
numpy loads. The inference path (``npnet.engine.inference``) runs its slices on several Python threads at
once, each wanting single-threaded products; ``single_threaded()`` gives them that for the duration
of a ``with`` block and restores the count after. The setting is process-wide (this OpenBLAS has no
per-thread count), so a product another Python thread runs meanwhile also gets one thread.
"""
import ctypes
import threading
from contextlib import contextmanager

_GET = ("openblas_get_num_threads", "openblas_get_num_threads64_", "scipy_openblas_get_num_threads64_",
        "scipy_openblas_get_num_threads")
_SET = ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads")
_lock = threading.Lock()
_functions = None


def openblas_functions():
    """(get, set) of the OpenBLAS numpy loaded, found in the process's mapped libraries; (None, None)
    when numpy uses another BLAS or the library cannot be asked."""
    global _functions
    if _functions is None:
        import numpy  # noqa: F401  (loads OpenBLAS, if numpy uses it)
        found = (None, None)
        try:
            with open("/proc/self/maps") as maps:
                paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
        except OSError:
            paths = []
        for path in paths:
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            get = next((getattr(library, name) for name in _GET if hasattr(library, name)), None)
            set_ = next((getattr(library, name) for name in _SET if hasattr(library, name)), None)
            if get is not None and set_ is not None:
                set_.argtypes = [ctypes.c_int]
                found = (get, set_)
                break
        _functions = found
    return _functions


def available():
    """True when OpenBLAS's thread count can be set here."""
    return openblas_functions()[1] is not None


@contextmanager
def single_threaded():
    """OpenBLAS on one thread inside the block (nothing changes where it cannot be set). One block at a
    time in the process: a second caller waits, so the count is always restored to the original."""
    get, set_ = openblas_functions()
    if set_ is None:
        yield
        return
    with _lock:
        before = int(get())
        set_(1)
        try:
            yield
        finally:
            set_(before)
