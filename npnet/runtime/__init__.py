"""Process settings and constants that make the engine fast on a small CPU; none changes a number.

    process.py   tune(): idle thread pools sleep, freed memory is kept (called by the tools, not on import)
    blas.py      OpenBLAS's thread count, and a single-threaded section for sliced work
    slicing.py   how many images a slice holds, and the threads that run slices side by side
    memory.py    the memory a batch needs, checked before a run starts
"""
from .process import tune

__all__ = ["tune"]
