"""2-D max pooling over non-overlapping windows, channels last."""
from .. import ops
from .base import Layer


class MaxPool2D(Layer):
    """out[n, i, j, c] = max of x[n, i*p : i*p + p, j*p : j*p + p, c]   (stride = pool size p).

    Shapes: x (N, H, W, C) -> out (N, H // p, W // p, C); leftover rows and columns are dropped
    ('valid' padding, floor, like Keras).

    Cached for backward: ``argmax`` (N, Ho, Wo, C), the winner's position ``di * p + dj`` in its
    window. Backward routes dout to the winners: dx[winner] = dout, every other input gets 0. Max is
    not differentiable where a window ties; then the first winner in row-major order takes the whole
    gradient (a valid subgradient, and what TensorFlow and PyTorch do).
    """

    name_prefix = "max_pooling2d"
    keras_type = "MaxPooling2D"     # what Keras' summary calls it

    def __init__(self, pool_size=2, name=None):
        super().__init__(name)
        self.pool_size = int(pool_size)
        self.argmax = self.output = None     # caches of forward: the winners and the pooled output
        self.x_shape = None                  # and the input's shape, for the backward's dx

    def get_config(self):
        return {"pool_size": self.pool_size}

    def compute_output_shape(self, input_shape):
        _, H, W, C = input_shape
        p = self.pool_size
        if H < p or W < p:
            raise ValueError(f"{self.name}: a {p}x{p} pool does not fit input {input_shape}")
        return (None, H // p, W // p, C)

    def forward(self, x, training=False):
        self.check_input(x)
        self.x_shape = x.shape
        self.output, self.argmax = ops.active().maxpool_forward(x, self.pool_size)
        return self.output

    def infer(self, x):
        return ops.active().maxpool_forward(x, self.pool_size)[0]

    def backward(self, dout, input_grad=True, param_grads=True, relu_rule="gradient"):
        return ops.active().maxpool_backward(dout, self.argmax, self.x_shape, self.pool_size)
