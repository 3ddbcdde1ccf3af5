"""Gradient checks: compare a backward pass with central finite differences, in float64.

For a function f with output y = f(x) and a random upstream gradient dout, backward claims

    dx = d/dx sum(dout * f(x)).

The numerical estimate perturbs one entry at a time:

    dx[i] ~ (sum(dout * f(x + h e_i)) - sum(dout * f(x - h e_i))) / (2h)

and ``rel_error(a, b) = |a - b| / max(|a| + |b|, tiny)`` (norms over the checked entries) says how
far apart they are: below 1e-6 in float64 means the backward is right.

ReLU and max pooling have kinks: where a perturbation flips a ReLU on or off, or changes which input
wins a pooling window, the difference quotient straddles the kink and measures nothing useful. The
checks here record each layer's on/off and winner pattern, and skip (and count) the entries whose
perturbation changes it, instead of hiding the problem behind a loose tolerance.

    >>> layer = Dense(4, activation="relu"); ...; layer.astype(np.float64)
    >>> check_layer(layer, x)          # {'input': 3e-11, 'kernel': 2e-11, 'bias': 1e-11}
"""
import numpy as np

from .losses import softmax_cross_entropy


def rel_error(analytic, numeric):
    """|a - b| / (|a| + |b|), Euclidean norms over all entries; 0 when both are zero."""
    analytic, numeric = np.ravel(analytic), np.ravel(numeric)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / max(scale, 1e-300))


def kink_pattern(layers):
    """Every ReLU's on/off state and every pooling window's winner, from the last forward."""
    pattern = []
    for layer in layers:
        if getattr(layer, "activation", None) == "relu" or type(layer).__name__ == "ReLU":
            pattern.append(layer.output > 0)
        if getattr(layer, "argmax", None) is not None:
            pattern.append(layer.argmax.copy())
    return pattern


def _same_pattern(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


def numerical_gradient(f, array, indices, eps=1e-6, layers=()):
    """Central differences of the scalar f() w.r.t. ``array`` at the flat ``indices``.

    ``array`` is perturbed in place and restored. Returns (gradient estimates at the indices, mask
    of the indices that were usable: those whose +h and -h runs kept the kink pattern of ``layers``).
    """
    f()
    base_pattern = kink_pattern(layers)
    flat = array.reshape(-1)
    estimates = np.zeros(len(indices))
    usable = np.ones(len(indices), dtype=bool)
    for k, i in enumerate(indices):
        original = flat[i]
        flat[i] = original + eps
        f_plus = f()
        usable[k] &= _same_pattern(kink_pattern(layers), base_pattern)
        flat[i] = original - eps
        f_minus = f()
        usable[k] &= _same_pattern(kink_pattern(layers), base_pattern)
        flat[i] = original
        estimates[k] = (f_plus - f_minus) / (2 * eps)
    return estimates, usable


def _require_float64(*arrays):
    for array in arrays:
        if array.dtype != np.float64:
            raise TypeError("gradient checks run in float64: call .astype(np.float64) on the layer or "
                            f"model and pass float64 inputs (got {array.dtype})")


def _compare(named_arrays, named_grads, f, rng, max_checks, eps, layers):
    """rel_error per named tensor over up to ``max_checks`` random entries each; also the number
    of entries skipped at kinks."""
    errors, skipped = {}, {}
    for name, array in named_arrays.items():
        count = min(array.size, max_checks) if max_checks else array.size
        indices = rng.choice(array.size, size=count, replace=False)
        numeric, usable = numerical_gradient(f, array, indices, eps, layers)
        analytic = named_grads[name].reshape(-1)[indices]
        errors[name] = rel_error(analytic[usable], numeric[usable])
        skipped[name] = int((~usable).sum())
    return errors, skipped


def _hold_dropout_masks(layers):
    """Re-seed every dropout layer, so each forward draws the same mask."""
    for layer in layers:
        if hasattr(layer, "rng") and hasattr(layer, "seed"):
            layer.rng = np.random.default_rng(layer.seed)


def check_layer(layer, x, training=True, seed=0, max_checks=None, eps=1e-6, return_skipped=False):
    """rel_error of ``layer.backward`` against finite differences, for the input and each param.

    f(x) = sum(dout * layer.forward(x)) with a fixed random dout, so every output entry counts.
    Returns {'input': err, 'kernel': err, 'bias': err} (and the skipped-entry counts if asked).
    """
    _require_float64(x, *layer.params.values())
    rng = np.random.default_rng(seed)
    x = x.copy()

    def f():
        _hold_dropout_masks([layer])
        return float(np.sum(dout * layer.forward(x, training=training)))

    _hold_dropout_masks([layer])
    dout = rng.standard_normal(layer.forward(x, training=training).shape)
    dx = layer.backward(dout.copy())
    grads = {"input": dx, **{key: g.copy() for key, g in layer.grads.items()}}
    arrays = {"input": x, **layer.params}
    errors, skipped = _compare(arrays, grads, f, rng, max_checks, eps, [layer])
    return (errors, skipped) if return_skipped else errors


def check_model(model, x, labels, training=True, seed=0, max_checks=20, eps=1e-6,
                return_skipped=False, fuse_conv_pool=True):
    """rel_error of the whole model's backward for the mean softmax cross-entropy loss.

    Checks the input and every parameter tensor at up to ``max_checks`` random entries each
    (cs231n's sparse check: 422,187 weights would take 844,374 forwards). Dropout masks are held
    fixed. The backward checked is the model's default, the one training runs (conv -> pool in
    one step); ``fuse_conv_pool=False`` checks the layer-by-layer walk. Returns {'input': err, 'conv2d_1/kernel': err, ...}.
    """
    _require_float64(x, *model.params().values())
    rng = np.random.default_rng(seed)
    x = x.copy()

    def f():
        _hold_dropout_masks(model.layers)
        return softmax_cross_entropy(model.forward(x, training=training), labels)[0]

    _hold_dropout_masks(model.layers)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=training), labels)
    dx = model.backward(dlogits, fuse_conv_pool=fuse_conv_pool)
    grads = {"input": dx, **{key: g.copy() for key, g in model.grads().items()}}
    arrays = {"input": x, **model.params()}
    errors, skipped = _compare(arrays, grads, f, rng, max_checks, eps, model.layers)
    return (errors, skipped) if return_skipped else errors
