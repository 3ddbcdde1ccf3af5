"""Process-wide settings that make the engine fast on a small CPU, applied in one place.

Threads. Two thread pools share the cores: OpenBLAS's (every matrix product) and numba's OpenMP pool
(every ``prange`` kernel). By default both spin after finishing work, waiting for more, so each
starves the other: measured here, a 5-MFLOP matmul took 7.6 ms instead of 0.03 ms, and a training
step 4.2 s instead of 0.38 s. ``quiet_thread_pools()`` makes idle threads sleep. It must run before
numpy and numba start their pools; a value the user set wins.
OpenBLAS reads its variable only when numpy loads it: in a script that imports numpy before npnet
the setting comes too late, its idle thread spins ~0.1 s after every product and npnet's kernels
run beside it (inference ~20% slower here). ``warn_if_blas_spins()`` says so when a Trainer starts.

Memory. A batch's activations are 30-120 MB arrays, allocated and freed every step. glibc returns
each array above 32 MB to the kernel and faults in fresh pages the next time (a fault per 4 KB).
``keep_freed_memory()`` keeps freed memory for reuse: 885 ms -> 643 ms per step before the thread
fix. Neither setting changes any number the engine computes.

``tune()`` makes both. train.py, explain.py and the benchmark call it first thing, before numpy
loads; a Trainer calls it too (and warns if numpy came first). Importing npnet makes neither: a
learner's ``import npnet`` leaves the process as it was.
"""
import ctypes
import ctypes.util
import os
import sys
import warnings

THREAD_SETTINGS = {
    "OMP_WAIT_POLICY": "PASSIVE",        # numba's OpenMP threads sleep when idle
    "OPENBLAS_THREAD_TIMEOUT": "4",      # OpenBLAS threads spin 2^4 cycles, not 2^28, before sleeping
}

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


# the THREAD_SETTINGS keys this process set itself (not the user): the benchmark's "PyTorch as
# shipped" process is started without them
set_here = []
# True when npnet had to set OPENBLAS_THREAD_TIMEOUT but numpy, and with it OpenBLAS, was loaded first
blas_loaded_too_early = False


LATE_IMPORT_WARNING = (
    "npnet was imported after numpy, too late for OpenBLAS to read OPENBLAS_THREAD_TIMEOUT: its idle "
    "threads will spin ~0.1 s after every matrix product and slow npnet's kernels (a training step "
    "~14% here). Import npnet before numpy, or set OPENBLAS_THREAD_TIMEOUT=4 in the environment.")


def quiet_thread_pools():
    """Set the thread-pool environment (only where the user has not set it). OpenBLAS reads its
    variable once, when numpy loads it: if numpy came first, remember it (see ``warn_if_blas_spins``)."""
    global blas_loaded_too_early
    for key, value in THREAD_SETTINGS.items():
        if key not in os.environ:
            os.environ[key] = value
            set_here.append(key)
            if key == "OPENBLAS_THREAD_TIMEOUT" and "numpy" in sys.modules:
                blas_loaded_too_early = True


def tune():
    """The process settings that make npnet fast: quiet thread pools, freed memory kept. Call it
    before importing numpy (the thread settings are read when OpenBLAS loads); calling it again
    changes nothing more."""
    quiet_thread_pools()
    keep_freed_memory()


def warn_if_blas_spins():
    """RuntimeWarning if numpy was imported before npnet, so OpenBLAS's idle threads spin. Called
    where speed matters (a Trainer starting), not on import: a learner checking gradients does not
    need to hear about it."""
    if blas_loaded_too_early:
        warnings.warn(LATE_IMPORT_WARNING, RuntimeWarning, stacklevel=3)


def keep_freed_memory():
    """Ask glibc to serve large arrays from its heap and keep freed memory (no-op elsewhere).
    Returns True when the setting took effect."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30)) and bool(mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))
