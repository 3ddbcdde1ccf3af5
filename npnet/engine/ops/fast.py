"""The same kernels as ``reference.py``, as explicit loops compiled by numba.

Each kernel is written first as plain Python (``_im2col``, ...) and compiled under the public name
(``im2col = _compile(_im2col)``), as minitorch does: with ``NUMBA_DISABLE_JIT=1`` the plain loops run
and a debugger can step through them. The outer loop is a ``prange`` over the batch, so numba spreads
images over the cores; the innermost loop runs over channels, which are contiguous in NHWC.

Signatures and results are those of ``reference.py``; ``tests/engine/test_ops.py`` holds them equal.
One is composed in Python of two compiled passes: ``bias_relu_backward`` (the ReLU mask, then the
bias gradient as column sums). Two do less work than their reference, which builds the dense dz
and multiplies it: ``conv_pool_weight_grads`` and ``conv_pool_input_grad`` visit only each pooling
window's winner. Their inner loops run over slices (``patch[k]``, not ``patches[start + k]``):
numba then knows the index is not negative, and LLVM vectorizes the loop.
"""
import numpy as np
from numba import njit, prange


def _compile(function):
    return njit(parallel=True, cache=True, nogil=True)(function)


#: Patch runs (``kw * C`` contiguous values) shorter than this are gathered value by value through a
#: table of offsets; longer ones are copied as slices. A 9-value slice copy (conv2d_1's 3 x 3 channels)
#: costs numba a view per run, and the gather measured twice as fast there; the slice copies are
#: twice as fast for conv2d_2's runs of 64 (docs/perf.md, row 50).
SHORTEST_RUN_TO_COPY = 16


def _im2col(x, kh, kw, out=None):
    N, H, W, C = x.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    run = kw * C                      # x[n, i + di, j : j + kw, :] is one contiguous run
    cols = np.empty((N, Ho, Wo, kh, kw, C), dtype=x.dtype) if out is None else out
    flat_x = x.reshape(N, H * W * C)  # one flat row per image
    flat_cols = cols.reshape(N, Ho * Wo * kh * run)
    if run < SHORTEST_RUN_TO_COPY:
        # offsets[k]: where value k of an image's patches sits in that image's flat row
        offsets = np.empty(Ho * Wo * kh * run, dtype=np.int64)
        k = 0
        for i in range(Ho):
            for j in range(Wo):
                for di in range(kh):
                    for r in range(run):
                        offsets[k] = ((i + di) * W + j) * C + r
                        k += 1
        for n in prange(N):
            source, target = flat_x[n], flat_cols[n]
            for k in range(offsets.size):
                target[k] = source[offsets[k]]
        return cols
    for n in prange(N):
        source, target = flat_x[n], flat_cols[n]
        for i in range(Ho):
            for j in range(Wo):
                for di in range(kh):
                    start = ((i + di) * W + j) * C
                    to = ((i * Wo + j) * kh + di) * run
                    target[to:to + run] = source[start:start + run]
    return cols


def _col2im(dcols, x_shape, out=None):
    N, Ho, Wo, kh, kw, C = dcols.shape
    dx = np.empty(x_shape, dtype=dcols.dtype) if out is None else out
    for n in prange(N):
        dx[n] = 0
        for i in range(Ho):
            for j in range(Wo):
                for di in range(kh):
                    for dj in range(kw):
                        for c in range(C):
                            dx[n, i + di, j + dj, c] += dcols[n, i, j, di, dj, c]
    return dx


def _maxpool_forward(x, pool):
    N, H, W, C = x.shape
    Ho, Wo = H // pool, W // pool
    out = np.empty((N, Ho, Wo, C), dtype=x.dtype)
    argmax = np.zeros((N, Ho, Wo, C), dtype=np.uint8)
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    out[n, i, j, c] = x[n, i * pool, j * pool, c]
                for di in range(pool):
                    for dj in range(pool):
                        position = np.uint8(di * pool + dj)
                        for c in range(C):
                            value = x[n, i * pool + di, j * pool + dj, c]
                            best = out[n, i, j, c]
                            # strictly greater keeps the first of tied winners; a NaN wins once,
                            # like np.argmax in the reference. Both stores are unconditional
                            # selects, so the channel loop vectorizes.
                            wins = value > best or (value != value and best == best)
                            out[n, i, j, c] = value if wins else best
                            argmax[n, i, j, c] = position if wins else argmax[n, i, j, c]
    return out, argmax


def _maxpool_backward(dout, argmax, x_shape, pool):
    N, Ho, Wo, C = dout.shape
    H, W = x_shape[1], x_shape[2]
    dx = np.empty(x_shape, dtype=dout.dtype)     # every entry is written once below
    for n in prange(N):
        for i in range(Ho):
            for di in range(pool):
                for j in range(Wo):
                    for dj in range(pool):
                        position = di * pool + dj
                        for c in range(C):
                            winner = argmax[n, i, j, c] == position
                            dx[n, i * pool + di, j * pool + dj, c] = dout[n, i, j, c] if winner else 0
        dx[n, Ho * pool:, :, :] = 0             # rows and columns no window covers
        dx[n, :, Wo * pool:, :] = 0
    return dx


def _bias_relu(z, bias, relu):
    rows = z.reshape(-1, bias.shape[0])
    for r in prange(rows.shape[0]):
        for f in range(bias.shape[0]):
            value = rows[r, f] + bias[f]
            if relu and value < 0:
                value = 0
            rows[r, f] = value
    return z


def _relu_backward(dout, out):
    flat_dout = dout.reshape(-1)
    flat_out = out.reshape(-1)
    dz = np.empty(flat_dout.shape, dtype=dout.dtype)
    for k in prange(flat_dout.shape[0]):
        dz[k] = flat_dout[k] if flat_out[k] > 0 else 0
    return dz.reshape(dout.shape)


def _column_sums(rows):
    # a fixed number of row blocks (the same bits for any thread count); in each, 32 rows at a
    # time in the array's precision, then into a float64 total per block
    R, F = rows.shape
    blocks = max(1, min(R, 64))
    partial = np.zeros((blocks, F), dtype=np.float64)
    for block in prange(blocks):
        chunk = np.empty(F, dtype=rows.dtype)
        start, stop = block * R // blocks, (block + 1) * R // blocks
        for first in range(start, stop, 32):
            for f in range(F):
                chunk[f] = 0
            for r in range(first, min(first + 32, stop)):
                for f in range(F):
                    chunk[f] += rows[r, f]
            for f in range(F):
                partial[block, f] += chunk[f]
    sums = np.empty(F, dtype=rows.dtype)
    for f in range(F):                # plain loops: partial[:, f].sum() would start a parallel
        total = 0.0                   # region per column
        for block in range(blocks):
            total += partial[block, f]
        sums[f] = total
    return sums


def _winner_offsets(pool, row_stride, column_stride):
    # where the winner q = di * pool + dj of a window sits, relative to the window's first element
    offsets = np.empty(pool * pool, dtype=np.int64)
    for q in range(pool * pool):
        offsets[q] = (q // pool) * row_stride + (q % pool) * column_stride
    return offsets


def _conv_pool_weight_grads(cols, dpooled, pooled, argmax, pool, relu):
    # dz has one non-zero per window and filter: dkernel[:, f] += g * (the winner's patch), for
    # each window and filter. A fixed number of image blocks, each with its own partial sums (the
    # same bits for any thread count); dkernel is kept transposed, (F, K), so each update is one
    # contiguous run.
    N, Ho, Wo, kh, kw, C = cols.shape
    K = kh * kw * C
    _, PH, PW, F = dpooled.shape
    flat_cols = cols.reshape(N, Ho * Wo * K)
    winner_offsets = _find_winner_offsets(pool, Wo * K, K)
    blocks = max(1, min(N, 16))
    partial_dkernel = np.empty((blocks, F, K), dtype=cols.dtype)
    partial_dbias = np.empty((blocks, F), dtype=cols.dtype)
    for block in prange(blocks):
        dkernel_t, dbias = partial_dkernel[block], partial_dbias[block]
        dkernel_t[:] = 0
        dbias[:] = 0
        for n in range(block * N // blocks, (block + 1) * N // blocks):
            patches = flat_cols[n]
            for i in range(PH):
                for j in range(PW):
                    window = (i * pool * Wo + j * pool) * K
                    for f in range(F):
                        g = dpooled[n, i, j, f]
                        if g == 0 or (relu and not pooled[n, i, j, f] > 0):
                            continue
                        start = window + winner_offsets[argmax[n, i, j, f]]
                        patch, target = patches[start:start + K], dkernel_t[f]
                        for k in range(K):      # slices, so both indices are k: this vectorizes
                            target[k] += g * patch[k]
                        dbias[f] += g
    dkernel_t = np.zeros((F, K), dtype=cols.dtype)
    dbias = np.zeros(F, dtype=cols.dtype)
    for f in prange(F):
        for block in range(blocks):
            dbias[f] += partial_dbias[block, f]
            for k in range(K):
                dkernel_t[f, k] += partial_dkernel[block, f, k]
    return np.ascontiguousarray(dkernel_t.T).reshape(kh, kw, C, F), dbias


def _conv_pool_input_grad(kernel, dpooled, pooled, argmax, pool, relu, x_shape):
    # dx gets g * kernel[..., f] added at the winner's patch, for each window and filter: kw * C
    # contiguous values per kernel row.
    kh, kw, C, F = kernel.shape
    N, H, W, _ = x_shape
    _, PH, PW, _ = dpooled.shape
    run = kw * C
    filters = kernel.reshape(kh * kw * C, F).T.copy()     # (F, K): filter f is one row
    winner_offsets = _find_winner_offsets(pool, W * C, C)
    dx = np.empty(x_shape, dtype=kernel.dtype)
    flat_dx = dx.reshape(N, H * W * C)
    for n in prange(N):
        image_dx = flat_dx[n]
        image_dx[:] = 0
        for i in range(PH):
            for j in range(PW):
                window = (i * pool * W + j * pool) * C
                for f in range(F):
                    g = dpooled[n, i, j, f]
                    if g == 0 or (relu and not pooled[n, i, j, f] > 0):
                        continue
                    corner = window + winner_offsets[argmax[n, i, j, f]]
                    for di in range(kh):
                        start = corner + di * W * C
                        target, source = image_dx[start:start + run], filters[f, di * run:(di + 1) * run]
                        for r in range(run):
                            target[r] += g * source[r]
    return dx


def _bias_relu_maxpool(z, bias, relu, pool, out=None):
    # the max of a window first, then + bias and the ReLU: both are monotone (so is their float32
    # rounding), so this is bit for bit the max of act(z + bias), with one addition per window
    N, H, W, F = z.shape
    Ho, Wo = H // pool, W // pool
    pooled = np.empty((N, Ho, Wo, F), dtype=z.dtype) if out is None else out
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                target = pooled[n, i, j]
                first = z[n, i * pool, j * pool]
                for f in range(F):
                    target[f] = first[f]
                for di in range(pool):
                    for dj in range(pool):
                        row = z[n, i * pool + di, j * pool + dj]
                        for f in range(F):
                            value, best = row[f], target[f]
                            wins = value > best or (value != value and best == best)   # NaN wins
                            target[f] = value if wins else best
                for f in range(F):
                    value = target[f] + bias[f]
                    target[f] = 0 if relu and value < 0 else value
    return pooled


_find_winner_offsets = njit(cache=True)(_winner_offsets)
im2col = _compile(_im2col)
col2im = _compile(_col2im)
maxpool_forward = _compile(_maxpool_forward)
maxpool_backward = _compile(_maxpool_backward)
bias_relu = _compile(_bias_relu)
relu_backward = _compile(_relu_backward)
column_sums = _compile(_column_sums)
conv_pool_weight_grads = _compile(_conv_pool_weight_grads)
conv_pool_input_grad = _compile(_conv_pool_input_grad)
bias_relu_maxpool = _compile(_bias_relu_maxpool)


def bias_relu_backward(dout, out, relu):
    """Two compiled passes: the ReLU mask, then the bias gradient as column sums of dz."""
    dz = relu_backward(dout, out) if relu else dout.copy()
    return dz, column_sums(dz.reshape(-1, dz.shape[-1]))
