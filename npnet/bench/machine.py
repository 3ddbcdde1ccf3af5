"""What the benchmark reports about the machine: thread pools, OpenBLAS kernels, memory."""
import os
import resource

import numba

THREAD_ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _openblas_function(symbols):
    """The first of ``symbols`` found in the OpenBLAS numpy loaded, or None."""
    import ctypes
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in symbols:
            if hasattr(lib, symbol):
                return getattr(lib, symbol)
    return None


def blas_threads():
    """OpenBLAS's thread count (None if it cannot be asked)."""
    function = _openblas_function(("openblas_get_num_threads", "openblas_get_num_threads64_",
                                   "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"))
    return None if function is None else int(function())


def blas_core():
    """The OpenBLAS kernels in use ('Haswell', 'SkylakeX', ...): chosen from the CPU at load time
    unless OPENBLAS_CORETYPE names them (None if it cannot be asked)."""
    import ctypes
    function = _openblas_function(("openblas_get_corename", "openblas_get_corename64_",
                                   "scipy_openblas_get_corename64_", "scipy_openblas_get_corename"))
    if function is None:
        return None
    function.restype = ctypes.c_char_p
    return function().decode(errors="replace")


def thread_settings():
    """numba's and OpenBLAS's thread counts, the cores, and the thread environment variables."""
    try:
        layer = numba.threading_layer()
    except ValueError:                       # no parallel kernel has run yet
        layer = None
    return {"numba": numba.get_num_threads(), "numba_layer": layer, "blas": blas_threads(),
            "blas_core": blas_core(),
            "cpu_count": os.cpu_count(), "env": {key: os.environ.get(key) for key in THREAD_ENV}}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB
