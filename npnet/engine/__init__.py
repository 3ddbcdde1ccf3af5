"""The engine: layers with hand-written backward passes, their kernels, the model, losses, optimizers.

Read it in this order (README, "Learn"): ``losses.py``, ``layers/dense.py``, ``layers/conv2d.py`` with
``ops/reference.py``, ``model.py``, ``gradcheck.py``. ``inference.py`` is the cache-free forward that
runs each layer's ``infer`` slice by slice; ``seed_net.py`` builds the seed's network.
"""
