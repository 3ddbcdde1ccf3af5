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
    if relu:
        dpooled = np.where(pooled > 0, dpooled, 0).astype(dpooled.dtype, copy=False)
    return maxpool_backward(dpooled, argmax, conv_shape, pool)


def conv_pool_weight_grads(cols, dpooled, pooled, argmax, pool, relu):
    """dkernel and dbias of a convolution followed by (ReLU and) max pooling, from the pool's gradient.

    cols: (N, Ho, Wo, kh, kw, C), the convolution's patches; the rest as ``winner_gradients`` ->
        dkernel = cols.T @ dz   (kh, kw, C, F),    dbias = dz summed over N, Ho, Wo   (F,)
    """
    N, Ho, Wo, kh, kw, C = cols.shape
    F = dpooled.shape[-1]
    dz = winner_gradients(dpooled, pooled, argmax, (N, Ho, Wo, F), pool, relu).reshape(-1, F)
    dkernel = cols.reshape(-1, kh * kw * C).T @ dz
    dbias = dz.sum(axis=0, dtype=np.float64).astype(dz.dtype)
    return dkernel.reshape(kh, kw, C, F), dbias


def conv_pool_input_grad(kernel, dpooled, pooled, argmax, pool, relu, x_shape):
    """dx of a convolution followed by (ReLU and) max pooling, from the pool's gradient.

    kernel: (kh, kw, C, F), x_shape: the convolution's (padded) input shape (N, H, W, C) ->
        dx = col2im(dz @ kernel.reshape(K, F).T)   (N, H, W, C)
    """
    kh, kw, C, F = kernel.shape
    N, H, W, _ = x_shape
    Ho, Wo = H - kh + 1, W - kw + 1
    dz = winner_gradients(dpooled, pooled, argmax, (N, Ho, Wo, F), pool, relu).reshape(-1, F)
    dcols = (dz @ kernel.reshape(kh * kw * C, F).T).reshape(N, Ho, Wo, kh, kw, C)
    return col2im(dcols, x_shape)
