"""The passes every explanation method is built from: a class's gradient, and a forward from a layer up.

    class_gradient(model, images, classes, stop_at=None, relu_rule='gradient', contrast=None, objective='logit')
        one forward (inference mode) and one backward from dlogits = dT/dlogits (``target_gradient``),
        so the gradient is dT / d(...) of each image's target T: by default the logit y^c of its class
        c (before the softmax); y^c - y^b with a ``contrast`` class b; the cross-entropy loss of c with
        objective='cross_entropy' (what the attacks climb).
        Returns (gradient, logits, classes): gradient = dT/dx (N, H, W, C) of the model's input, or
        dT/dA of layer ``stop_at``'s output A (then A is ``model.layer(stop_at).output``).
    input_gradient(model, images, classes, relu_rule='gradient', contrast=None, objective='logit')
        ``class_gradient`` down to the input, computed depth-first: slices of images on all cores,
        each on its own copy of the model. What the input-space methods (saliency, guided backprop,
        integrated gradients, ...) call; the same numbers to float32 rounding.
    cached_forward(model, images, keep_from=None)
        the logits of an inference forward after which a backward can run down to layer ``keep_from``:
        the layers below it run on the cache-free slice path (``inference.predict_logits``), it and the
        layers above keep their caches. Grad-CAM's backward stops at its layer, so the three largest
        outputs of the seed net (conv2d_1's and the pools' winners below conv2d_3) are never stored.
    forward_from(model, layer_name, activations, training=False)
        the logits when the layers above ``layer_name`` are fed ``activations`` in place of its output.
    recorded_forward(model, x)
        a forward that keeps every layer's input and pre-activation (``Step``), for LRP and DeepLIFT.
    depth_first(function, model, *arrays)
        function(model, *slices) on slices of a few dozen images, on all cores, results concatenated:
        how LRP and DeepLIFT run their own forward and backward depth-first.

Images in a batch never mix at inference, so one batched pass gives every image its own gradient.
"""
import copy
import threading
from collections import namedtuple

import numpy as np

from ..engine import inference
from ..engine.layers import ReLU
from ..engine.model import Sequential
from ..io.errors import NpnetError
from ..runtime import blas, slicing
from ..runtime.memory import training_bytes_per_image


def resolve_classes(classes, logits):
    """Per-image class ids (N,) int64: the predicted class when ``classes`` is None, else an int
    for every image, or one id per image. Ids outside 0..K-1 raise NpnetError."""
    N, K = logits.shape
    if classes is None:
        return logits.argmax(axis=1).astype(np.int64)
    requested = np.asarray(classes)
    if requested.ndim > 1 or requested.size not in (1, N) or requested.dtype.kind not in "iu":
        raise NpnetError(f"classes: expected one class id or {N} (one per image) as whole numbers, "
                         f"got shape {requested.shape} of {requested.dtype}")
    chosen = np.broadcast_to(requested.astype(np.int64).reshape(-1), (N,)).copy()
    bad = chosen[(chosen < 0) | (chosen >= K)]
    if bad.size:
        raise NpnetError(f"class id {bad[0]} is out of range: the model has classes 0..{K - 1}")
    return chosen


def onehot_dlogits(logits, classes):
    """dy^c/dlogits (N, K): 1 at each image's class c, 0 elsewhere."""
    dlogits = np.zeros_like(logits)
    dlogits[np.arange(len(classes)), classes] = 1.0
    return dlogits


OBJECTIVES = ("logit", "cross_entropy")


def target_gradient(logits, classes, contrast=None, objective="logit"):
    """dT/dlogits (N, K) for each image's target T, given its class c (``classes``, (N,) ids):

        objective='logit'                   T = y^c                      dT/dy = e_c
        objective='logit', contrast b       T = y^c - y^b                dT/dy = e_c - e_b
        objective='cross_entropy'           T = -log softmax(y)_c        dT/dy = softmax(y) - e_c

    ``contrast`` (N,) ids or None; it applies to the 'logit' objective only.
    """
    if objective == "cross_entropy":
        if contrast is not None:
            raise NpnetError("a contrast class applies to the logit objective only")
        shifted = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities - onehot_dlogits(logits, classes)
    if objective != "logit":
        raise NpnetError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")
    dlogits = onehot_dlogits(logits, classes)
    if contrast is not None:
        dlogits[np.arange(len(contrast)), contrast] -= 1.0
    return dlogits


def class_gradient(model, images, classes=None, stop_at=None, relu_rule="gradient", contrast=None,
                   objective="logit"):
    """(dT/dx, or dT/dA at ``stop_at``; logits; classes) from one forward and one backward, T the
    target of ``target_gradient``: y^c by default, y^c - y^b with ``contrast`` (one class id b, or
    one per image), the cross-entropy of c with objective='cross_entropy'.

    No weight gradients, and no layer keeps its output gradient but ``stop_at``: so each Conv2D
    followed by a MaxPool2D is walked back in one step that skips the pool's zeros
    (``Conv2D.backward_through_pool``), under any ReLU rule.
    """
    logits = cached_forward(model, images, keep_from=stop_at)
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    dlogits = target_gradient(logits, chosen, against, objective)
    gradient = model.backward(dlogits, stop_at=stop_at, param_grads=False,
                              keep_output_grads=False, relu_rule=relu_rule)
    return gradient, logits, chosen


def input_gradient(model, images, classes=None, relu_rule="gradient", contrast=None, objective="logit"):
    """``class_gradient`` down to the input (dy^c/dx, logits, classes), depth-first: each slice of
    images goes forward and back before the next, so its caches stay in L2/L3 (at batch 256 the
    whole-batch caches are ~250 MB). A slice holds ``slicing.SLICE_IMAGES`` images, fewer for a net
    whose forward and backward need more than ``slicing.SLICE_MEMORY`` for them (the training step's
    estimate, ``memory.training_bytes_per_image``): its memory grows with the image, not the batch,
    as inference's does. The slices run on numba's threads at once, each on one core (as
    ``inference.predict_logits`` runs them), each thread on its own shallow copy of the model: the
    weights are shared, read only; the caches are the copy's. Images never mix, so the result is the
    whole-batch pass's to float32 rounding. The model's own layers keep no caches from this call.
    One slice, or a model that is not a Sequential: ``class_gradient`` on the model itself.
    """
    if not isinstance(model, Sequential):
        return class_gradient(model, images, classes, relu_rule=relu_rule, contrast=contrast, objective=objective)
    step = slicing.images_per_slice(training_bytes_per_image(model, np.dtype(model.layers[-1].dtype).itemsize))
    starts = range(0, len(images), step)
    threads = min(inference.default_threads(), len(starts))
    if len(starts) <= 1:
        return class_gradient(model, images, classes, relu_rule=relu_rule, contrast=contrast, objective=objective)
    N, K = len(images), model.output_shape[-1]
    requested = None if classes is None else resolve_classes(classes, np.empty((N, K)))  # refuse bad ids first
    against = None if contrast is None else resolve_classes(contrast, np.empty((N, K)))
    model.layers[0].check_input(images)
    copies, parts = {}, {}

    def run_slice(start):
        thread = threading.get_ident()
        if thread not in copies:
            copies[thread] = shallow_copy(model)
        part = slice(start, start + step)
        parts[start] = class_gradient(copies[thread], images[part],
                                      None if requested is None else requested[part], relu_rule=relu_rule,
                                      contrast=None if against is None else against[part], objective=objective)

    if threads <= 1:
        for start in starts:
            run_slice(start)
    else:
        with blas.single_threaded():
            for _ in inference.worker_pool(threads).map(run_slice, starts):     # re-raises a worker's error
                pass
    gradient, logits, chosen = (np.concatenate([parts[start][i] for start in starts]) for i in range(3))
    return gradient, logits, chosen


def depth_first(function, model, *arrays):
    """function(model, *slices) over slices of ``slicing.SLICE_IMAGES`` images, the results (n, ...)
    concatenated: the slices on numba's threads at once (as ``input_gradient``), each on one core,
    so that a slice's layer outputs stay in L2/L3. ``arrays`` are per-image (N, ...) or None (passed
    on as None). ``function`` must keep its caches to itself (a ``shallow_copy`` of the model) and
    must not mix images; then the result is the whole batch's to float32 rounding.
    """
    N = len(arrays[0])
    starts = range(0, N, slicing.SLICE_IMAGES)
    threads = min(inference.default_threads(), len(starts)) if isinstance(model, Sequential) else 1

    def run_slice(start):
        part = slice(start, start + slicing.SLICE_IMAGES)
        return function(model, *(None if a is None else a[part] for a in arrays))

    if threads <= 1:
        return np.concatenate([run_slice(start) for start in starts])
    with blas.single_threaded():
        parts = list(inference.worker_pool(threads).map(run_slice, starts))   # re-raises a worker's error
    return np.concatenate(parts)


Step = namedtuple("Step", "layer input z relu")


def recorded_forward(model, x):
    """(steps, logits): an inference forward on a copy of ``model`` that keeps, per layer, a Step:

        layer  the layer; for a Conv2D or Dense, a copy of it without its ReLU (its linear part)
               whose caches serve its backward, s -> s W^T
        input  what the layer read
        z      a Conv2D's or Dense's pre-activation x W + b; a ReLU layer's input; else None
        relu   True where a ReLU follows z (fused, or the ReLU layer itself)

    What LRP and DeepLIFT walk back through; the model's own layers keep nothing."""
    steps = []
    for layer in shallow_copy(model).layers:
        if "kernel" in layer.params:
            part = copy.copy(layer)
            part.grads, part.activation = {}, None
            z = part.forward(x, training=False)
            steps.append(Step(part, x, z, layer.activation == "relu"))
            x = np.maximum(z, 0) if layer.activation == "relu" else z
        else:
            relu = isinstance(layer, ReLU)
            steps.append(Step(layer, x, x if relu else None, relu))
            x = layer.forward(x, training=False)
    return steps, x


def shallow_copy(model):
    """A Sequential whose layers are copies of ``model``'s: the same weight arrays (read, never
    written, by a pass with param_grads=False), caches of its own."""
    own = copy.copy(model)
    own.layers = [copy.copy(layer) for layer in model.layers]
    return own


def cached_forward(model, images, keep_from=None):
    """Inference logits (N, K), with the caches of layer ``keep_from`` and every layer above it kept
    (all layers when ``keep_from`` is None, or for a model that is not a Sequential). The layers
    below ``keep_from`` keep nothing: their ``output`` and winners are those of an earlier call.
    The logits equal ``model.forward(images, training=False)``'s to float32 rounding."""
    if keep_from is None or not isinstance(model, Sequential):
        return model.forward(images, training=False)
    names = [layer.name for layer in model.layers]
    first_kept = names.index(model.layer(keep_from).name)
    if first_kept == 0:
        return model.forward(images, training=False)
    model.layers[0].check_input(images)
    below = inference.predict_logits(model, images, before=keep_from)
    return forward_from(model, names[first_kept - 1], below)


def forward_from(model, layer_name, activations, training=False):
    names = [layer.name for layer in model.layers]
    x = activations
    for layer in model.layers[names.index(layer_name) + 1:]:
        x = layer.forward(x, training=training)
    return x


def batches(count, batch_size):
    """Slices of at most ``batch_size`` (a positive int) covering range(count)."""
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return [slice(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
