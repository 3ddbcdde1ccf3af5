"""2-D convolution, stride 1, channels last, with an optional fused ReLU."""
import numpy as np

from .. import kernels
from .base import Layer, check_activation, glorot_uniform


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

    Cached for backward: ``cols`` and ``output``. ``backward(dout, param_grads=False)`` computes dz
    and dx only. Grad-CAM reads ``output`` (the activations A, after the ReLU) and ``doutput``
    (dL/dA, which ``Sequential.backward`` records on every layer).
    """

    name_prefix = "conv2d"

    def __init__(self, filters, kernel_size, activation=None, padding="valid", name=None):
        super().__init__(name)
        self.filters = int(filters)
        self.kernel_size = (kernel_size, kernel_size) if np.isscalar(kernel_size) else tuple(kernel_size)
        self.activation = check_activation(activation)
        if padding not in ("valid", "same"):
            raise ValueError(f"unknown padding {padding!r}: use 'valid' or 'same'")
        self.padding = padding
        self.cols = self.output = None
        self.padded_shape = None

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
        (top, bottom), (left, right) = self.padding_widths()
        if self.padding == "same":
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        x = np.ascontiguousarray(x)           # the fast im2col reads x as one flat row per image
        self.padded_shape = x.shape
        N, H, W, _ = x.shape
        Ho, Wo = H - kh + 1, W - kw + 1

        self.cols = kernels.active().im2col(x, kh, kw).reshape(N * Ho * Wo, kh * kw * C)
        z = self.cols @ kernel.reshape(kh * kw * C, F)
        z = kernels.active().bias_relu(z, bias, self.activation == "relu")
        self.output = z.reshape(N, Ho, Wo, F)
        return self.output

    def backward(self, dout, input_grad=True, param_grads=True):
        kernel = self.params["kernel"]
        kh, kw, C, F = kernel.shape
        N, Ho, Wo, _ = dout.shape
        relu = self.activation == "relu"
        if param_grads:
            dz, self.grads["bias"] = kernels.active().bias_relu_backward(dout, self.output, relu)
            dz = dz.reshape(N * Ho * Wo, F)
            self.grads["kernel"] = (self.cols.T @ dz).reshape(kernel.shape)
        else:
            dz = kernels.active().relu_backward(dout, self.output) if relu else dout
            dz = dz.reshape(N * Ho * Wo, F)
        if not input_grad:
            return None
        dcols = (dz @ kernel.reshape(kh * kw * C, F).T).reshape(N, Ho, Wo, kh, kw, C)
        dx = kernels.active().col2im(dcols, self.padded_shape)
        (top, bottom), (left, right) = self.padding_widths()
        H, W = self.padded_shape[1:3]
        return dx[:, top:H - bottom, left:W - right, :]
