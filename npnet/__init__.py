"""npnet: a from-scratch NumPy deep-learning engine that trains and explains a traffic-sign CNN."""
from .runtime import quiet_thread_pools

quiet_thread_pools()  # before numpy and numba start their thread pools (see runtime.py)

__version__ = "0.1.0"
