"""Readable NumPy kernels: the ground truth the fast numba kernels are tested against.

Every array is channels-last (NHWC), like Keras:

    x      (N, H, W, C)    a batch of N images, H rows, W columns, C channels
    cols   (N, Ho, Wo, kh, kw, C)   im2col: for each output position, the kh x kw x C patch it sees

A convolution is then one matrix product, ``cols.reshape(N*Ho*Wo, kh*kw*C) @ kernel.reshape(kh*kw*C, F)``,
so only the patch gathering (im2col), its adjoint (col2im) and max pooling need kernels of their own.
Each function here loops over the kernel offsets (kh * kw iterations, each a vectorized slice) so that
a learner can read it in one breath; ``fast.py`` has the same functions, compiled with numba.
"""
import numpy as np


def im2col(x, kh, kw, out=None):
    """Gather every kh x kw patch of x (stride 1, no padding).

    x: (N, H, W, C)  ->  cols: (N, Ho, Wo, kh, kw, C) with Ho = H - kh + 1, Wo = W - kw + 1 and
    cols[n, i, j, di, dj, c] = x[n, i + di, j + dj, c]. Written into ``out`` when given (a
    contiguous array of that shape), else into a new array.
    """
    N, H, W, C = x.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    cols = np.empty((N, Ho, Wo, kh, kw, C), dtype=x.dtype) if out is None else out
    for di in range(kh):
        for dj in range(kw):
            cols[:, :, :, di, dj, :] = x[:, di:di + Ho, dj:dj + Wo, :]
    return cols


def conv2d_loops(x, kernel, bias):
    """A convolution written as its definition, to read and to test the fast paths against (slow):

        out[n, i, j, f] = sum over (di, dj, c) of x[n, i + di, j + dj, c] * kernel[di, dj, c, f] + bias[f]

    x (N, H, W, C), kernel (kh, kw, C, F), bias (F,) -> out (N, H - kh + 1, W - kw + 1, F), stride 1,
    no padding, in float64. Conv2D computes the same as im2col(x) @ kernel.reshape(-1, F).
    """
    N, H, W, C = x.shape
    kh, kw, _, F = kernel.shape
    out = np.zeros((N, H - kh + 1, W - kw + 1, F))
    for i in range(H - kh + 1):
        for j in range(W - kw + 1):
            patch = x[:, i:i + kh, j:j + kw, :]                                    # (N, kh, kw, C)
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    return out


def col2im(dcols, x_shape, out=None):
    """The adjoint of im2col: add every patch gradient back to the pixel it came from.

    dcols: (N, Ho, Wo, kh, kw, C), x_shape = (N, H, W, C)  ->  dx: (N, H, W, C) with
    dx[n, h, w, c] = sum over (i, j, di, dj) with i + di = h, j + dj = w of dcols[n, i, j, di, dj, c].
    Written into ``out`` when given (overwritten, not added to), else into a new array.
    """
    N, Ho, Wo, kh, kw, C = dcols.shape
    if out is None:
        dx = np.zeros(x_shape, dtype=dcols.dtype)
    else:
        dx = out
        dx[...] = 0
    for di in range(kh):
        for dj in range(kw):
            dx[:, di:di + Ho, dj:dj + Wo, :] += dcols[:, :, :, di, dj, :]
    return dx


def maxpool_forward(x, pool):
    """Max over non-overlapping pool x pool windows (stride = pool, leftover rows/columns dropped).

    x: (N, H, W, C)  ->  out: (N, Ho, Wo, C) with Ho = H // pool, Wo = W // pool, and
    argmax: (N, Ho, Wo, C) uint8, the winner's index di * pool + dj inside its window. On a tie the
    first winner in row-major order takes it (as TensorFlow and PyTorch do), so the gradient of a
    tied window goes to exactly one input.
    """
    N, H, W, C = x.shape
    Ho, Wo = H // pool, W // pool
    windows = x[:, :Ho * pool, :Wo * pool, :].reshape(N, Ho, pool, Wo, pool, C)
    windows = windows.transpose(0, 1, 3, 5, 2, 4).reshape(N, Ho, Wo, C, pool * pool)
    argmax = windows.argmax(axis=-1).astype(np.uint8)
    out = np.take_along_axis(windows, argmax[..., None].astype(np.intp), axis=-1)[..., 0]
    return out, argmax


def maxpool_backward(dout, argmax, x_shape, pool):
    """Route each output gradient to the input that won its window; every other input gets 0.

    dout, argmax: (N, Ho, Wo, C), x_shape = (N, H, W, C)  ->  dx: (N, H, W, C).
    """
    N, Ho, Wo, C = dout.shape
    dwindows = np.zeros((N, Ho, Wo, C, pool * pool), dtype=dout.dtype)
    np.put_along_axis(dwindows, argmax[..., None].astype(np.intp), dout[..., None], axis=-1)
    dwindows = dwindows.reshape(N, Ho, Wo, C, pool, pool).transpose(0, 1, 4, 2, 5, 3)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    dx[:, :Ho * pool, :Wo * pool, :] = dwindows.reshape(N, Ho * pool, Wo * pool, C)
    return dx


def bias_relu(z, bias, relu):
    """out = max(z + bias, 0) (or z + bias without relu), in place on z; bias broadcasts over the
    last axis. z: (..., F), bias: (F,). Returns z."""
    z += bias
    if relu:
        np.maximum(z, 0, out=z)
    return z


def bias_relu_maxpool(z, bias, relu, pool, out=None):
    """An inference forward's conv -> pool tail in one call, writing only the pooled output:

        pooled = maxpool(act(z + bias))       z (N, H, W, F) -> (N, H // pool, W // pool, F)

    act is the ReLU (or nothing). No winners are kept: no backward follows. The fast kernel takes the
    window's max first and adds the bias after, which gives the same bits (z -> act(z + bias) is
    monotone, and so is its float32 rounding). Written into ``out`` when given.
    """
    pooled, _ = maxpool_forward(bias_relu(z.copy(), bias, relu), pool)
    if out is None:
        return pooled
    out[...] = pooled
    return out


def relu_backward(dout, out):
    """dz = dout where the unit was active (out > 0), else 0. A fresh array: dout is left untouched.

    At exactly 0 the derivative is taken as 0, as in TensorFlow and PyTorch."""
    return np.where(out > 0, dout, 0).astype(dout.dtype, copy=False)


def bias_relu_backward(dout, out, relu):
    """The adjoint of ``bias_relu``: the gradient of z and of the bias, in one call.

    dout, out: (..., F), the upstream gradient and bias_relu's result  ->
        dz    = dout where out > 0, else 0 (dz = dout without relu)     (..., F), a fresh array
        dbias = dz summed over every axis but the last                  (F,)
    """
    dz = relu_backward(dout, out) if relu else dout.copy()
    dbias = dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float64).astype(dout.dtype)
    return dz, dbias


def winner_gradients(dpooled, pooled, argmax, conv_shape, pool, relu):
    """dz of a convolution whose output went through a ReLU (if ``relu``) and then max pooling.

    dpooled, pooled, argmax: (N, Ho // pool, Wo // pool, F), the pool's gradient, output and winners
    -> dz: (N, Ho, Wo, F). Each window's gradient goes to its winner, as ``maxpool_backward``; with
    the ReLU it is kept only where the winner was active (pooled > 0, the winner's value).
    """
    return maxpool_backward(window_gradients(dpooled, pooled, relu), argmax, conv_shape, pool)


def window_gradients(dpooled, pooled, relu):
    """g = the gradient each pool window hands its winner: dpooled, times (pooled > 0) with the ReLU."""
    if relu:
        return np.where(pooled > 0, dpooled, 0).astype(dpooled.dtype, copy=False)
    return dpooled


def winner_positions(argmax, pool):
    """Where each window's winner sits in the convolution's output: (rows, columns), each
    (1, Hp, Wp, F) or (N, Hp, Wp, F), from argmax = di * pool + dj inside the window."""
    _, Hp, Wp, _ = argmax.shape
    di, dj = np.divmod(argmax.astype(np.intp), pool)
    rows = np.arange(Hp).reshape(1, Hp, 1, 1) * pool + di
    columns = np.arange(Wp).reshape(1, 1, Wp, 1) * pool + dj
    return rows, columns


def conv_pool_weight_grads(cols, dpooled, pooled, argmax, pool, relu):
    """dkernel and dbias of a convolution followed by (ReLU and) max pooling, from the pool's gradient,
    summing over the winners only (what the fast kernel does; 3 in 4 entries of dz are 0 for 2x2 pools).

    cols: (N, Ho, Wo, kh, kw, C), the convolution's patches; dpooled, pooled, argmax (N, Hp, Wp, F).
    With g = ``window_gradients`` and w(f) the winner of window w for filter f:
        dkernel[..., f] = sum over windows w of g[w, f] * cols[w(f)]     (kh, kw, C, F)
        dbias[f]        = sum over windows w of g[w, f]                  (F,)
    """
    N = cols.shape[0]
    g = window_gradients(dpooled, pooled, relu)
    rows, columns = winner_positions(argmax, pool)
    images = np.arange(N).reshape(N, 1, 1, 1)
    patches = cols[images, rows, columns]          # (N, Hp, Wp, F, kh, kw, C): each filter's winner's patch
    dkernel = np.einsum("nijf,nijfabc->abcf", g, patches)
    dbias = g.sum(axis=(0, 1, 2), dtype=np.float64).astype(g.dtype)
    return dkernel, dbias


def conv_pool_input_grad(kernel, dpooled, pooled, argmax, pool, relu, x_shape):
    """dx of a convolution followed by (ReLU and) max pooling, from the pool's gradient, adding each
    window's gradient back through its winner's patch only (as the fast kernel does).

    kernel: (kh, kw, C, F), x_shape: the convolution's (padded) input shape (N, H, W, C). A winner at
    output (r, c) for filter f read the inputs x[n, r + a, c + b, :], so with g as above
        dx[n, r + a, c + b, :] += g[w, f] * kernel[a, b, :, f]    for every window w, filter f, a, b
    """
    kh, kw, C, F = kernel.shape
    N = x_shape[0]
    g = window_gradients(dpooled, pooled, relu)
    rows, columns = winner_positions(argmax, pool)
    images = np.arange(N).reshape(N, 1, 1, 1)
    dx = np.zeros(x_shape, dtype=g.dtype)
    for a in range(kh):
        for b in range(kw):
            # (N, Hp, Wp, F, C): what each winner hands back to the input it read at offset (a, b)
            np.add.at(dx, (images, rows + a, columns + b), g[..., None] * kernel[a, b].T)
    return dx
