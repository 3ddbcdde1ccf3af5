"""What the benchmark reports about the machine: the CPU, thread pools, OpenBLAS kernels, memory."""
import os
import platform
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


#: the CPU flags that decide which vector kernels OpenBLAS, numba's LLVM, oneDNN and MLAS can use
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd", "avx512bw",
                "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_description(cpuinfo=None):
    """{'model': the CPU's model name, 'vector_flags': those of ``VECTOR_FLAGS`` it has, in that order},
    from the text of /proc/cpuinfo (read when ``cpuinfo`` is None); where there is no such file, the
    model is ``platform.processor()`` and the flags are None (unknown)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as file:
                cpuinfo = file.read()
        except OSError:
            return {"model": platform.processor() or None, "vector_flags": None}
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())       # the first CPU's; the others' are the same
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name") or platform.processor() or None,
            "vector_flags": [flag for flag in VECTOR_FLAGS if flag in flags]}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB
