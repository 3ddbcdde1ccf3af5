"""An inference forward that keeps nothing for a backward: every layer on a slice of images, then the next.

    logits = predict_logits(model, x)                   x (N, H, W, C) -> (N, K), as model.forward(x)
    logits = predict_logits(model, a, after="conv2d_3") a = that layer's output (Ablation-CAM's forwards)
    a      = predict_logits(model, x, before="conv2d_3") conv2d_3's input (Grad-CAM's forward below it)

``Sequential.forward(x, training=False)`` runs each layer over the whole batch and keeps what a
backward needs (each layer's output, the pools' winners, the padded inputs): Grad-CAM and the
gradient methods read them. Most forwards of an explanation never go backward: the deletion and
insertion curves (66 forwards per image and method), Score-CAM (one per channel), occlusion (one per
window), Ablation-CAM, ``predict_proba``. This path is for them:

- Depth-first. The batch runs in slices of ``SLICE_IMAGES`` images, each through every layer
  before the next slice starts, so a slice's activations stay in cache from the first layer to the
  last (at batch 1024 the seed net's conv2d_1 output alone is 118 MB).
- A Conv2D followed by a MaxPool2D is one step: im2col, the matrix product, then
  ``ops.bias_relu_maxpool`` writes only the pooled output (a quarter of the bytes), without winners.
- Dropout is the identity (inference), Flatten a reshape. Nothing is stored on the layers.
- The slices run on ``threads`` Python threads at once (default: numba's thread count), each slice
  on one core: every kernel with one numba thread, every product with one OpenBLAS thread
  (``blas.single_threaded``). The kernels and products release the GIL, so the threads compute in
  parallel without meeting at a barrier after each layer, as whole-batch kernels must (measured in
  docs/perf.md: on a busy machine the barriers cost most, since the slowest thread sets the pace).

The logits are those of ``model.forward(x, training=False)`` to float32 rounding: the same sums, the
products' rows cut into other blocks (tests/test_inference.py). Slicing never mixes images.
"""
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ..runtime import blas
from . import ops
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

#: images per slice: the seed net's largest slice array (conv2d_1's patches, 97 KB per image) then
#: stays in L2/L3. Measured in docs/perf.md.
SLICE_IMAGES = 32


def predict_logits(model, x, after=None, before=None, slice_images=None, threads=None):
    """The model's output for ``x`` (N, ...) in inference mode, slice by slice, keeping no caches.

    after: the name of a layer; ``x`` is then that layer's output and only the layers above it run
    (``passes.forward_from`` without the caches). The first layer run checks x's shape and dtype.
    before: the name of a layer; only the layers below it run, and the result is its input (what
    ``passes.cached_forward`` feeds to the layers that must keep their caches for a backward).
    slice_images: images per slice (default ``SLICE_IMAGES``); threads: slices computed at once
    (default numba's thread count; 1 with ``NUMBA_DISABLE_JIT=1``, where kernels hold the GIL).
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
    step = slice_images or SLICE_IMAGES
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


def plan(layers):
    """The layers as a list of functions slice -> slice, a Conv2D and the MaxPool2D after it as one."""
    steps, index = [], 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if isinstance(layer, Conv2D) and isinstance(following, MaxPool2D):
            steps.append(conv_pool_step(layer, following.pool_size))
            index += 2
            continue
        steps.append(single_step(layer))
        index += 1
    return steps


def conv_products(layer, x):
    """z = im2col(x) @ kernel, before the bias: (n, Ho, Wo, F) for a slice x (n, H, W, C)."""
    kernel = layer.params["kernel"]
    kh, kw, C, F = kernel.shape
    if layer.padding == "same":
        (top, bottom), (left, right) = layer.padding_widths()
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    cols = ops.active().im2col(np.ascontiguousarray(x), kh, kw)
    n, Ho, Wo = cols.shape[:3]
    return (cols.reshape(-1, kh * kw * C) @ kernel.reshape(-1, F)).reshape(n, Ho, Wo, F)


def conv_pool_step(conv, pool_size):
    relu = conv.activation == "relu"

    def run(x):
        return ops.active().bias_relu_maxpool(conv_products(conv, x), conv.params["bias"], relu, pool_size)
    return run


def single_step(layer):
    if isinstance(layer, Conv2D):
        relu = layer.activation == "relu"
        return lambda x: ops.active().bias_relu(conv_products(layer, x), layer.params["bias"], relu)
    if isinstance(layer, MaxPool2D):
        return lambda x: ops.active().maxpool_forward(x, layer.pool_size)[0]
    if isinstance(layer, Dense):
        relu = layer.activation == "relu"
        return lambda x: ops.active().bias_relu(x @ layer.params["kernel"], layer.params["bias"], relu)
    if isinstance(layer, Flatten):
        return lambda x: x.reshape(len(x), -1)
    if isinstance(layer, Dropout):
        return lambda x: x
    if isinstance(layer, ReLU):
        return lambda x: np.maximum(x, 0)
    raise TypeError(f"{layer.name}: no inference step for {type(layer).__name__}")


def logits(model, x):
    """Inference logits: ``predict_logits`` for a Sequential, ``model.forward(x, training=False)`` for
    any other object with a forward (the test doubles of the metrics)."""
    from .model import Sequential
    return predict_logits(model, x) if isinstance(model, Sequential) else model.forward(x, training=False)
