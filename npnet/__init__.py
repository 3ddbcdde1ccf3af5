"""npnet: a from-scratch NumPy deep-learning engine that trains and explains a traffic-sign CNN.

Importing npnet changes nothing in the process. The tools (train.py, explain.py, the benchmark and
the Trainer) call ``npnet.runtime.tune()`` for speed; see docs/perf.md.
"""
__version__ = "0.1.0"
