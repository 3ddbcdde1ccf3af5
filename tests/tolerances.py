"""Tolerances for two evaluations of the same sums that add their terms in different orders.

BLAS picks its blocking (and so the order of the additions) by CPU kernel (SkylakeX, Haswell, ...),
thread count and matrix shape; the numba kernels add in their own order again. Two such results may
differ by a few roundings of the *terms* being added, not of the result: a gradient entry that is a
small difference of large terms is rightly off by much more than rtol * |entry|. So the tolerance
here scales with the magnitude of what was summed:

    scale = the same computation with every term replaced by its magnitude
            (for a product a @ b: |a| @ |b|; through layers: the backward pass run on |weights|)

Each rounding is within u = eps / 2 of its result. A sum of n terms, in any order, is within
n * u * scale of the exact one (the worst case), and in practice within LAMBDA * sqrt(n) * u * scale:
rounding errors of a long sum mostly cancel (Higham & Mary, "A new approach to probabilistic rounding
error analysis", SIAM J. Sci. Comput. 2019: the bound fails with probability at most
2n * exp(-LAMBDA**2 / 2), below 1e-10 here). Through a chain of sums (layer after layer) the stages'
bounds add, each carried to the end by the magnitudes in ``scale``. Two evaluations may each be that
far off, in opposite directions: twice the bound, LAMBDA * sqrt(n) * eps * scale.

Still tight enough to catch a real bug: a missing or misplaced term moves an entry by about
scale / n, and for the n of this suite (up to a few thousand) that is over 100 times the tolerance.
"""
import numpy as np

LAMBDA = 8.0


def rounding_tolerance(scale, terms, dtype=np.float32):
    """The largest difference, per entry, between two evaluations of the same sums in ``dtype``.

    scale: per entry, the sum of the magnitudes of the terms (see the module's docstring).
    terms: how many terms each sum adds, or a list of them, one per stage of a chain of sums.
    """
    stages = np.atleast_1d(np.asarray(terms, dtype=np.float64))
    return LAMBDA * np.sqrt(stages).sum() * np.finfo(dtype).eps * np.asarray(scale, dtype=np.float64)


def assert_same_sums(actual, expected, scale, terms, err_msg="", computed_in=None):
    """Assert that ``actual`` and ``expected`` are the same sums, up to the order of their additions.

    Their dtype's eps sets the tolerance (``rounding_tolerance``). ``computed_in=np.float64`` for
    results summed in float64 and then stored in a narrower dtype: the tolerance of float64 sums
    plus the one rounding of each result to its dtype (up to an eps of the larger result apart).
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, err_msg)
    dtype = np.result_type(actual.dtype, expected.dtype)
    tolerance = rounding_tolerance(scale, terms, dtype if computed_in is None else computed_in)
    if computed_in is not None and np.finfo(computed_in).eps < np.finfo(dtype).eps:
        tolerance = tolerance + np.finfo(dtype).eps * np.maximum(np.abs(actual), np.abs(expected))
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    bad = ~(difference <= tolerance)                        # NaN counts as bad
    if bad.any():
        worst = np.unravel_index(np.argmax(np.where(bad, difference / np.maximum(tolerance, 1e-300), 0)),
                                 difference.shape) if difference.ndim else ()
        raise AssertionError(
            f"{err_msg + ': ' if err_msg else ''}{bad.sum()} of {bad.size} entries differ by more than "
            f"the rounding of their sums ({np.dtype(dtype).name}, terms={terms}); worst at {worst}: "
            f"{actual[worst]!r} vs {expected[worst]!r}, difference {difference[worst]:.3g} > "
            f"tolerance {np.broadcast_to(tolerance, difference.shape)[worst]:.3g}")


def backward_magnitudes(model, dlogits, **backward_options):
    """The scale of every gradient of ``model.backward(dlogits)``: the same backward pass with every
    weight and dlogits replaced by their magnitudes, through the ReLU masks and pool winners of the
    model's last forward. Returns (scale of dx, {key: scale of that gradient}).

    Every layer's input must be >= 0 (then what each layer kept of it is its own magnitude): true of
    the seed net fed images >= 0, whose every other layer reads a ReLU's (or a pool's of one) output.
    The model's weights and gradients are restored afterwards.
    """
    for layer in model.layers:       # what the layers with weights kept of their input
        kept = getattr(layer, "padded_input", getattr(layer, "x", None))
        assert kept is None or np.all(kept >= 0), f"{layer.name}: an input < 0 has no magnitude chain here"
    weights = {key: value.copy() for key, value in model.params().items()}
    grads = {key: value.copy() for key, value in model.grads().items()}
    try:
        for value in model.params().values():
            np.abs(value, out=value)
        dx = model.backward(np.abs(dlogits), **backward_options)
        return dx.copy(), {key: value.copy() for key, value in model.grads().items()}
    finally:
        for key, value in model.params().items():
            value[...] = weights[key]
        for layer in model.layers:
            for key in layer.params:
                layer.grads[key] = grads[f"{layer.name}/{key}"]


def backward_terms(model, batch):
    """The terms of each stage of the backward pass's longest chain of sums, for ``rounding_tolerance``:
    per layer with weights, the longest of its sums (over units/filters for dx, over the batch's
    rows or patches for the weights)."""
    stages = []
    for layer in model.layers:
        if "kernel" not in layer.params:
            continue
        kernel = layer.params["kernel"]
        rows = batch * int(np.prod(layer.output_shape[1:-1]))           # N (dense) or N * Ho * Wo (conv)
        stages.append(max(rows, int(np.prod(kernel.shape[:-2])) * kernel.shape[-1]))
    return stages


def conv_magnitudes(cols, dz, kernel, x_shape):
    """The scales of a convolution's dkernel = cols.T @ dz, dbias = sum of dz and
    dx = col2im(dz @ kernel.T) (``Conv2D.backward``), for ``rounding_tolerance`` with the terms
    ``conv_terms`` gives. cols (N, Ho, Wo, kh, kw, C), dz (N, Ho, Wo, F), x_shape: the padded input's.
    Returns {"kernel": ..., "bias": ..., "input": ...}."""
    from npnet.engine.ops import reference
    kh, kw, C, F = kernel.shape
    K = kh * kw * C
    cols, dz = np.abs(cols).astype(np.float64), np.abs(dz).astype(np.float64)
    dcols = (dz.reshape(-1, F) @ np.abs(kernel).astype(np.float64).reshape(K, F).T).reshape(cols.shape)
    return {"kernel": (cols.reshape(-1, K).T @ dz.reshape(-1, F)).reshape(kernel.shape),
            "bias": dz.reshape(-1, F).sum(axis=0),
            "input": reference.col2im(dcols, x_shape)}


def conv_terms(dz, kernel):
    """The terms of the sums ``conv_magnitudes`` scales: the weights' add every output position's,
    dx adds the F filters' then col2im adds up to kh * kw overlapping patches'."""
    kh, kw, _, F = kernel.shape
    rows = int(np.prod(dz.shape[:-1]))
    return {"kernel": rows, "bias": rows, "input": [F, kh * kw]}
