"""2-D convolution, stride 1, channels last, with an optional fused ReLU."""
import numpy as np

from ...runtime.slicing import image_slices
from .. import ops
from .base import Layer, check_activation, glorot_uniform
from .maxpool2d import MaxPool2D
from .relu_rules import check_rule, relu_backward


class Conv2D(Layer):
    """out = act(conv(x, kernel) + bias), computed as one matrix product over im2col patches.

    Shapes:
        x       (N, H, W, C)          input, channels last
        kernel  (kh, kw, C, F)        F filters of kh x kw x C
        bias    (F,)
        out     (N, Ho, Wo, F)        'valid': Ho = H - kh + 1; 'same': Ho = H (zero padding, the
                                      extra row/column at the bottom/right when kh - 1 is odd, as Keras)

    Forward, with P = N*Ho*Wo patches and K = kh*kw*C values per patch:
        cols = im2col(x)                          (P, K)
        z    = cols @ kernel.reshape(K, F) + bias (P, F)
        out  = relu(z)  (or z without activation)

    Backward, given dout = dL/d(out) (N, Ho, Wo, F):
        dz      = dout * (out > 0)                (relu only)
        dkernel = cols.T @ dz                     (K, F) -> (kh, kw, C, F)
        dbias   = dz summed over N, Ho, Wo        (F,)
        dx      = col2im(dz @ kernel.reshape(K, F).T)

    The forward and dx run over slices of a few dozen images (``runtime.slicing.image_slices``):
    each slice's patches are gathered and multiplied while they are still in cache. The results do
    not depend on the slicing. Followed by a MaxPool2D, the backward takes ``backward_through_pool``
    and the cache-free inference step ``infer_fused``: each pair as one step.

    Cached for backward: ``output``, ``padded_input`` and, when training, ``cols`` (a backward after
    ``training=False`` gathers the patches again). ``backward(dout, param_grads=False)`` computes dz
    and dx only; with it, ``relu_rule`` may replace the ReLU's derivative by guided backprop's or
    deconvnet's rule (``relu_rules``). Grad-CAM reads ``output`` (the activations A, after the ReLU) and ``doutput``
    (dL/dA, which ``Sequential.backward`` records on every layer).
    """

    name_prefix = "conv2d"
    #: dx through a pool sums over the winners only when kw * C is at least this (16 float32 values fill
    #: an AVX-512 register); shorter runs did not vectorize, and the two steps measured faster (row 48)
    shortest_run_for_winners_only = 16

    def __init__(self, filters, kernel_size, activation=None, padding="valid", name=None):
        super().__init__(name)
        self.filters = int(filters)
        self.kernel_size = (kernel_size, kernel_size) if np.isscalar(kernel_size) else tuple(kernel_size)
        self.activation = check_activation(activation)
        if padding not in ("valid", "same"):
            raise ValueError(f"unknown padding {padding!r}: use 'valid' or 'same'")
        self.padding = padding
        self.cols = self.output = self.padded_input = None

    def get_config(self):
        return {"filters": self.filters, "kernel_size": list(self.kernel_size),
                "activation": self.activation, "padding": self.padding}

    def padding_widths(self):
        """((top, bottom), (left, right)) zeros added around the image: none for 'valid'."""
        if self.padding == "valid":
            return (0, 0), (0, 0)
        kh, kw = self.kernel_size
        return ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)

    def compute_output_shape(self, input_shape):
        _, H, W, _ = input_shape
        kh, kw = self.kernel_size
        (top, bottom), (left, right) = self.padding_widths()
        Ho, Wo = H + top + bottom - kh + 1, W + left + right - kw + 1
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{self.name}: a {kh}x{kw} kernel does not fit input {input_shape}")
        return (None, Ho, Wo, self.filters)

    def build(self, input_shape, rng):
        output_shape = super().build(input_shape, rng)
        kh, kw = self.kernel_size
        C = input_shape[-1]
        self.params["kernel"] = glorot_uniform((kh, kw, C, self.filters),
                                               kh * kw * C, kh * kw * self.filters, rng)
        self.params["bias"] = np.zeros(self.filters, dtype=np.float32)
        return output_shape

    def forward(self, x, training=False):
        self.check_input(x)
        kernel, bias = self.params["kernel"], self.params["bias"]
        kh, kw, C, F = kernel.shape
        x = self.pad(x)
        self.padded_input = x
        N, H, W, _ = x.shape
        Ho, Wo = H - kh + 1, W - kw + 1

        # Only training keeps the patches (for dkernel); a backward after training=False gathers
        # them again from padded_input.
        self.cols = np.empty((N, Ho, Wo, kh, kw, C), dtype=x.dtype) if training else None
        z = np.empty((N, Ho, Wo, F), dtype=x.dtype)
        for images in image_slices(N, Ho * Wo * kh * kw * C * x.itemsize):
            self.products(x[images], out=z[images],
                          cols=None if self.cols is None else self.cols[images])
            ops.active().bias_relu(z[images].reshape(-1, F), bias, self.activation == "relu")
        self.output = z
        return self.output

    def infer(self, x):
        """act(im2col(x) @ kernel + bias) for a slice x (n, H, W, C), nothing cached."""
        z = self.products(self.pad(x))
        return ops.active().bias_relu(z, self.params["bias"], self.activation == "relu")

    def fuses_with(self, following):
        """A MaxPool2D right after this layer runs with it as one step, forward and back."""
        return isinstance(following, MaxPool2D)

    def infer_fused(self, x, following):
        """pool(act(im2col(x) @ kernel + bias)) for a slice x, ``following`` the MaxPool2D: the bias,
        ReLU and pool in one kernel that writes only the pooled output (a quarter of the bytes)."""
        return ops.active().bias_relu_maxpool(self.products(self.pad(x)), self.params["bias"],
                                              self.activation == "relu", following.pool_size)

    def pad(self, x):
        """x with this layer's zero padding around each image ('same'), contiguous: the fast im2col
        reads each image as one flat row."""
        if self.padding == "same":
            (top, bottom), (left, right) = self.padding_widths()
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        return np.ascontiguousarray(x)

    def products(self, x, out=None, cols=None):
        """z = im2col(x) @ kernel.reshape(K, F), before the bias: (n, Ho, Wo, F) for a padded slice
        x (n, H, W, C). The patches go to ``cols`` (n, Ho, Wo, kh, kw, C) when it is given."""
        kernel = self.params["kernel"]
        kh, kw, C, F = kernel.shape
        cols = ops.active().im2col(x, kh, kw, out=cols)
        n, Ho, Wo = cols.shape[:3]
        if out is None:
            out = np.empty((n, Ho, Wo, F), dtype=x.dtype)
        np.matmul(cols.reshape(-1, kh * kw * C), kernel.reshape(-1, F), out=out.reshape(-1, F))
        return out

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        kernel = self.params["kernel"]
        kh, kw, C, F = kernel.shape
        K = kh * kw * C
        N, Ho, Wo, _ = dout.shape
        relu = self.activation == "relu"
        check_rule(relu_rule, param_grads and relu)
        if param_grads:
            dz, self.grads["bias"] = ops.active().bias_relu_backward(dout, self.output, relu)
            cols = self.cols if self.cols is not None else \
                ops.active().im2col(self.padded_input, kh, kw)
            self.grads["kernel"] = (cols.reshape(-1, K).T @ dz.reshape(-1, F)).reshape(kernel.shape)
        else:
            dz = relu_backward(dout, self.output, relu_rule) if relu else dout
        if not input_grad:
            return None
        dx = np.empty(self.padded_input.shape, dtype=dout.dtype)
        for images in image_slices(N, Ho * Wo * K * dout.itemsize):
            dcols = dz[images].reshape(-1, F) @ kernel.reshape(K, F).T
            ops.active().col2im(dcols.reshape(-1, Ho, Wo, kh, kw, C), dx[images].shape, out=dx[images])
        return self.crop_padding(dx)

    def backward_through_pool(self, dpooled, pool, input_grad=True, param_grads=True, relu_rule="gradient"):
        """Backward through the MaxPool2D ``pool`` that follows this layer, and through this layer.

        dpooled = dL/d(pool output) (N, Ho // p, Wo // p, F). The pool hands each window's gradient
        to its winner only, so dz has one non-zero per window and filter (3 in 4 entries are 0
        for 2x2 windows), and the products skip the zeros. With g = dpooled, times (pooled > 0)
        with the ReLU, and w(f) the winner of window w for filter f:
            dkernel[:, f] = sum over windows w of g[w, f] * cols[w(f)]
            dbias[f]      = sum over windows w of g[w, f]
            dx            = col2im of g[w, f] * kernel[..., f] placed at the patch w(f)
        The same gradients as ``pool.backward`` then ``self.backward`` (tested equal), with a
        quarter of the multiplications. dx adds kw * C contiguous values per kernel row; where that
        run is shorter than ``shortest_run_for_winners_only`` (a first layer on 3 channels), dx takes
        the two steps instead, which measured faster for such runs (docs/perf.md, row 48).
        ``Sequential.backward`` takes this path by default (training, and the explanations);
        ``fuse_conv_pool=False`` takes the two steps.

        A ReLU rule other than the derivative (``relu_rules``) is applied to g at the winners first,
        where the ReLU's output is the pooled value: max(g, 0) * (pooled > 0) for 'guided',
        max(g, 0) for 'deconvnet'; the losers get 0 from the pool under every rule.
        param_grads=False leaves ``grads`` as they were and computes dx only.
        """
        kernel = self.params["kernel"]
        kh, kw, _, _ = kernel.shape
        relu = self.activation == "relu"
        p = pool.pool_size
        N, Ho, Wo, F = self.output.shape
        if not dpooled.shape == pool.output.shape == (N, Ho // p, Wo // p, F):
            # the compiled kernels do not check their indices: refuse a pool this layer did not feed
            raise ValueError(f"{self.name}: backward_through_pool needs the gradient of the pool fed by this "
                             f"layer's last output {self.output.shape}, got pool output "
                             f"{pool.output.shape} and gradient {dpooled.shape}")
        check_rule(relu_rule, param_grads)
        dpooled_before_rule = dpooled
        if relu and relu_rule != "gradient":
            dpooled, relu = relu_backward(dpooled, pool.output, relu_rule), False
        if param_grads:
            cols = self.cols if self.cols is not None else ops.active().im2col(self.padded_input, kh, kw)
            self.grads["kernel"], self.grads["bias"] = ops.active().conv_pool_weight_grads(
                cols, dpooled, pool.output, pool.argmax, p, relu)
        if not input_grad:
            return None
        if kw * self.padded_input.shape[-1] < self.shortest_run_for_winners_only:
            # runs too short to vectorize (conv2d_1: 3 x 3 channels): the two steps, products and col2im
            return self.backward(pool.backward(dpooled_before_rule), param_grads=False, relu_rule=relu_rule)
        dx = ops.active().conv_pool_input_grad(kernel, dpooled, pool.output, pool.argmax, p, relu,
                                                   self.padded_input.shape)
        return self.crop_padding(dx)

    def crop_padding(self, dx):
        """dL/dx from the gradient with respect to the padded input: the padding's part dropped."""
        (top, bottom), (left, right) = self.padding_widths()
        H, W = dx.shape[1:3]
        return dx[:, top:H - bottom, left:W - right, :]

