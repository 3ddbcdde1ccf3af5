"""The walkthrough's numbers: one forward and one backward of one image, each layer's backward checked
against central differences on that image, and one Adam step.

    walk  = walk_image(model, x, target)          the arrays the page draws (float32, as the net runs)
    check = layer_checks(model, x, target)        per layer, rel_error of its backward (float64)
    step  = adam_step(model, walk, lr)            one Adam step on this image's gradient

The loss is the cross-entropy of one class ``target``, L = -log p[target], so every gradient is dL/d(...):
at the logits dL/dz = p - y (y the one-hot of ``target``), then each layer's ``doutput`` = dL/dA, and
dL/dx at the image. The forward runs with ``training=False`` (dropout off): the net as it predicts.
"""
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np

from ..engine.gradcheck import numerical_gradient, rel_error
from ..engine.losses import softmax, softmax_cross_entropy
from ..engine.model import Sequential
from ..engine.optimizers import Adam
from ..runtime.blas import single_threaded

#: entries checked per tensor (the layer's input and each parameter): half drawn among the entries whose
#: gradient is not zero, half among all of them (cs231n's sparse check; all entries of a smaller tensor)
CHECKED_ENTRIES = 40
MAX_TRIES = 10      # entries tried per entry checked, at most, where kinks make some unusable
EPS = 1e-6


@contextmanager
def one_thread():
    """OpenBLAS and numba on one thread inside the block: one image's products are too small to share
    out, and on a busy machine the threads mostly wait for each other (measured on 2 busy cores, a
    page of the seed net: 8.6 s with the thread pools, 3.9 s on one thread)."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with single_threaded():
            yield
    finally:
        numba.set_num_threads(threads)


@dataclass
class Walk:
    """One image forward and backward. Arrays keep their batch axis of 1, as the engine gives them.

    x (1, H, W, C) the model's input; outputs / doutputs: {layer name: A, dL/dA}, in layer order;
    grads: {layer name: {'kernel': dW, 'bias': db}}; winners: {pool name: its ``argmax`` (1, Ho, Wo, C)};
    dx = dL/dx; logits, probs (1, K); loss (float); target: the class whose cross-entropy is walked back."""
    x: np.ndarray
    target: int
    outputs: dict
    doutputs: dict
    grads: dict
    winners: dict
    dx: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    loss: float


def walk_image(model, x, target):
    """Forward x (1, H, W, C) through ``model`` keeping each layer's output (the loop of
    ``Sequential.forward``), then ``model.backward`` of L = -log p[target] (its default path)."""
    outputs, h = {}, x
    for layer in model.layers:
        h = layer.forward(h, training=False)
        outputs[layer.name] = h.copy()
    logits = h
    loss, dlogits = softmax_cross_entropy(logits, np.array([target]))
    dx = model.backward(dlogits)
    doutputs = {layer.name: layer.doutput.copy() for layer in model.layers}
    grads = {layer.name: {key: g.copy() for key, g in layer.grads.items()} for layer in model.layers if layer.params}
    winners = {layer.name: layer.argmax.copy() for layer in model.layers if getattr(layer, "argmax", None) is not None}
    return Walk(x=x, target=int(target), outputs=outputs, doutputs=doutputs, grads=grads, winners=winners, dx=dx.copy(),
                logits=logits.copy(), probs=softmax(logits), loss=loss)


def copy_model(model, dtype=np.float32, params=None):
    """A new Sequential with ``model``'s architecture and weights (or ``params``, keyed like
    ``model.params()``), cast to ``dtype``; ``model`` itself is not touched."""
    copy = Sequential.from_config(model.get_config())
    source = model.params() if params is None else params
    for layer in copy.layers:
        for key in layer.params:
            layer.params[key] = np.array(source[f"{layer.name}/{key}"], dtype=dtype)
        layer.astype(dtype)
    copy.preprocessing = model.preprocessing
    return copy


def candidates(analytic, rng):
    """Every flat index of ``analytic``, in the order the check tries them: alternately one whose gradient
    is not zero and one drawn among all (a check of zeros alone would pass whatever the backward did)."""
    flat = np.ravel(analytic)
    anywhere = rng.permutation(flat.size)
    nonzero = rng.permutation(np.flatnonzero(flat))
    pairs = min(len(nonzero), len(anywhere))
    order = np.concatenate([np.stack([nonzero[:pairs], anywhere[:pairs]], axis=1).ravel(), anywhere[pairs:]])
    _, first = np.unique(order, return_index=True)
    return order[np.sort(first)]


def check_tensor(f, array, analytic, layer, count, rng):
    """{'rel_error', 'entries', 'analytic', 'numeric', 'skipped', 'size'} of one tensor: central
    differences of f() at ``count`` entries of ``array`` (perturbed in place, restored; every entry of a
    smaller tensor) against ``analytic``. An entry whose perturbation moves a ReLU or a pool's winner
    sits on a kink (``gradcheck.numerical_gradient``): it is skipped, counted, and another is tried, up
    to ``MAX_TRIES`` times ``count`` in all."""
    order = candidates(analytic, rng)
    kept, numbers, skipped, tried = [], [], 0, 0
    while len(kept) < count and tried < min(len(order), MAX_TRIES * count):
        batch = order[tried:tried + count - len(kept)]
        tried += len(batch)
        numeric, usable = numerical_gradient(f, array, batch, EPS, [layer] if layer is not None else ())
        kept += batch[usable].tolist()
        numbers += numeric[usable].tolist()
        skipped += int((~usable).sum())
    ordered = np.argsort(kept)
    entries, numeric = np.array(kept, dtype=np.int64)[ordered], np.array(numbers)[ordered]
    claimed = np.ravel(analytic)[entries]
    return {"rel_error": rel_error(claimed, numeric), "entries": entries.tolist(), "analytic": claimed.tolist(),
            "numeric": numeric.tolist(), "skipped": skipped, "size": int(np.size(array))}


def layer_checks(model, x, target, count=CHECKED_ENTRIES, seed=0):
    """Each layer's backward on this image against float64 central differences.

    On a float64 copy of the model: the forward, L = -log p[target] and ``Sequential.backward`` (its
    default path, the one the page shows). For a layer with input a and output gradient g = dL/dA,
    f(a, W, b) = sum(g * layer.forward(a)) has the same gradients as L with respect to a, W and b
    (the layers above are linear to first order), so central differences of f check the layer's
    dL/da (what it hands down), dL/dW and dL/db, at ``count`` entries each (``check_tensor``).
    Returns ({layer name: {'input': result, 'kernel': ..., 'bias': ...}}, the loss's own check:
    dL/dz = p - y against central differences of L at all K logits)."""
    model64 = copy_model(model, np.float64)
    rng = np.random.default_rng(seed)
    inputs, h = {}, x.astype(np.float64)
    for layer in model64.layers:
        inputs[layer.name] = h.copy()
        h = layer.forward(h, training=False)
    logits = h
    labels = np.array([target])
    _, dlogits = softmax_cross_entropy(logits, labels)
    dx = model64.backward(dlogits)
    below = {layer.name: (model64.layers[i - 1].doutput if i else dx).copy() for i, layer in enumerate(model64.layers)}
    douts = {layer.name: layer.doutput.copy() for layer in model64.layers}
    grads = {layer.name: {key: g.copy() for key, g in layer.grads.items()} for layer in model64.layers}

    checks = {}
    for layer in model64.layers:
        a, g = inputs[layer.name], douts[layer.name]

        def f(layer=layer, a=a, g=g):
            return float(np.sum(g * layer.forward(a, training=False)))

        results = {"input": check_tensor(f, a, below[layer.name], layer, count, rng)}
        for key, value in layer.params.items():
            results[key] = check_tensor(f, value, grads[layer.name][key], layer, count, rng)
        checks[layer.name] = results

    z = logits.copy()
    loss_check = check_tensor(lambda: softmax_cross_entropy(z, labels)[0], z, dlogits, None, z.size, rng)
    return checks, loss_check


@dataclass
class Step:
    """One Adam step on one image's gradient: the weights before and after (keyed like
    ``model.params()``), the loss and the probability of the target class before and after."""
    lr: float
    before: dict
    after: dict
    loss_before: float
    loss_after: float
    prob_before: float
    prob_after: float


def adam_step(model, walk, lr):
    """``Adam(lr).step`` (a fresh optimizer: its first step) on ``walk``'s gradients, applied to a copy
    of the weights; then the same image forward again."""
    before = {key: value.copy() for key, value in model.params().items()}
    after = {key: value.copy() for key, value in before.items()}
    grads = {f"{name}/{key}": g for name, layer_grads in walk.grads.items() for key, g in layer_grads.items()}
    Adam(lr=lr).step(after, grads)
    stepped = copy_model(model, params=after)
    logits = stepped.forward(walk.x, training=False)
    loss_after, _ = softmax_cross_entropy(logits, np.array([walk.target]))
    return Step(lr=float(lr), before=before, after=after, loss_before=walk.loss, loss_after=float(loss_after),
                prob_before=float(walk.probs[0, walk.target]), prob_after=float(softmax(logits)[0, walk.target]))
