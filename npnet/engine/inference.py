"""An inference forward that keeps nothing for a backward: every layer on a slice of images, then the next.

    logits = predict_logits(model, x)                   x (N, H, W, C) -> (N, K), as model.forward(x)
    logits = predict_logits(model, a, after="conv2d_3") a = that layer's output (Ablation-CAM's forwards)
    a      = predict_logits(model, x, before="conv2d_3") conv2d_3's input (Grad-CAM's forward below it)

``Sequential.forward(x, training=False)`` runs each layer over the whole batch and keeps what a
backward needs (each layer's output, the pools' winners, the padded inputs): Grad-CAM and the
gradient methods read them. Most forwards of an explanation never go backward: the deletion and
insertion curves (66 forwards per image and method), Score-CAM (one per channel), occlusion (one per
window), Ablation-CAM, ``predict_proba``. This path is for them. It only orchestrates: each layer
computes its own cache-free step (``Layer.infer``; a layer and the one after it in one step where the
layer says it can, ``Layer.fuses_with`` and ``Layer.infer_fused``: a Conv2D and its MaxPool2D).

- Depth-first. The batch runs in slices of ``slicing.SLICE_IMAGES`` images, each through every layer
  before the next slice starts, so a slice's activations stay in cache from the first layer to the
  last (at batch 1024 the seed net's conv2d_1 output alone is 118 MB).
- The slices run on ``threads`` Python threads at once (default: numba's thread count), each slice
  on one core: every kernel with one numba thread, every product with one OpenBLAS thread
  (``blas.single_threaded``). The kernels and products release the GIL, so the threads compute in
  parallel without meeting at a barrier after each layer, as whole-batch kernels must (measured in
  docs/perf.md: on a busy machine the barriers cost most, since the slowest thread sets the pace).

The logits are those of ``model.forward(x, training=False)`` to float32 rounding: the same sums, the
products' rows cut into other blocks (tests/engine/test_inference.py). Slicing never mixes images.
"""
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numba
import numpy as np

from ..runtime import blas, slicing
from ..runtime.memory import inference_bytes_per_image


def predict_logits(model, x, after=None, before=None, slice_images=None, threads=None):
    """The model's output for ``x`` (N, ...) in inference mode, slice by slice, keeping no caches.

    after: the name of a layer; ``x`` is then that layer's output and only the layers above it run
    (``passes.forward_from`` without the caches). The first layer run checks x's shape and dtype.
    before: the name of a layer; only the layers below it run, and the result is its input (what
    ``passes.cached_forward`` feeds to the layers that must keep their caches for a backward).
    slice_images: images per slice (default ``slicing.images_per_slice``: ``SLICE_IMAGES``, fewer for
    a net whose images need more than ``SLICE_MEMORY`` at once); threads: slices computed at
    once (default numba's thread count; 1 with ``NUMBA_DISABLE_JIT=1``, where kernels hold the GIL).
    """
    layers = list(model.layers)
    if after is not None:
        names = [layer.name for layer in layers]
        layers = layers[names.index(model.layer(after).name) + 1:]
    if before is not None:
        layers = layers[:[layer.name for layer in layers].index(model.layer(before).name)]
    if not layers:
        return x
    layers[0].check_input(x)
    steps = plan(layers)
    itemsize = np.dtype(layers[-1].dtype).itemsize
    step = slice_images or slicing.images_per_slice(inference_bytes_per_image(layers, itemsize))
    out = np.empty((len(x),) + tuple(layers[-1].output_shape[1:]), dtype=layers[-1].dtype)

    def run_slice(start):
        h = x[start:start + step]
        for run in steps:
            h = run(h)
        out[start:start + len(h)] = h

    starts = range(0, len(x), step)
    threads = min(default_threads() if threads is None else threads, len(starts))
    if threads <= 1:
        for start in starts:
            run_slice(start)
        return out
    with blas.single_threaded():
        for _ in worker_pool(threads).map(run_slice, starts):     # re-raises a worker's error
            pass
    return out


def plan(layers):
    """The layers as a list of functions slice -> slice: each layer's ``infer``, or one
    ``infer_fused`` step for a layer and the one after it where the layer ``fuses_with`` it."""
    steps, index = [], 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if following is not None and layer.fuses_with(following):
            steps.append(partial(layer.infer_fused, following=following))
            index += 2
        else:
            steps.append(layer.infer)
            index += 1
    return steps


def default_threads():
    """numba's thread count, or 1 where slices cannot run on threads at once: with
    ``NUMBA_DISABLE_JIT=1`` (the kernels hold the GIL) or under numba's 'workqueue' threading layer
    (the fallback without OpenMP or TBB), which does not allow parallel kernels from two threads."""
    if numba.config.DISABLE_JIT:
        return 1
    try:
        layer = numba.threading_layer()
    except ValueError:              # no parallel kernel has run yet: run a tiny one, so numba picks
        from .ops import fast
        fast.bias_relu(np.zeros((1, 1), dtype=np.float32), np.zeros(1, dtype=np.float32), False)
        layer = numba.threading_layer()
    return numba.get_num_threads() if layer in ("omp", "tbb") else 1


_pools = {}


def worker_pool(threads):
    """A pool of ``threads`` Python threads, each running numba's kernels on one thread (numba's
    thread count is per calling thread), kept for the next call."""
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="npnet-inference",
                                             initializer=numba.set_num_threads, initargs=(1,))
    return _pools[threads]


def logits(model, x):
    """Inference logits: ``predict_logits`` for a model that has it (a Sequential),
    ``model.forward(x, training=False)`` for any other object with a forward (the metrics' test doubles)."""
    return model.predict_logits(x) if hasattr(model, "predict_logits") else model.forward(x, training=False)
