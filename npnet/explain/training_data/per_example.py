"""Per-example gradients of the loss, from one batched forward and backward.

A training step adds up its examples' gradients: for a layer with weights,

    dW = sum_n dW_n,   dW_n = sum_p [x_np, 1] (outer) dz_np          ((K + 1, F): the kernel, then the bias)

where p runs over the positions the layer's weights are applied at (one for a Dense layer; every
output pixel of a Conv2D), x_np is the layer's input there (a Dense layer's input row, a Conv2D's
patch of K = kh * kw * C values) and dz_np = dl_n / dz the gradient at its pre-activation output z
(after the ReLU's mask). The backward already holds every x and dz; keeping the sum over n apart
gives each example's own gradient, with no extra pass.

The loss of example n is the plain softmax cross-entropy of its logits for its label y_n,
l_n = -log softmax(z_n)[y_n], whose gradient is dl_n / dlogits_n = p_n - e_{y_n} (no 1 / N, no label
smoothing, dropout off): the quantity influence (``tracin``) is defined on.

``LayerGradients`` holds one layer's factors for a batch, x (N, P, K) and dz (N, P, F), and answers
the questions influence asks without forming more than it must:

    dot(a, b)   (N_a, N_b)   <dW_n, dW_m>; for P = 1 (Dense) the factorized (x.x' + 1)(dz.dz'),
                             else the gradients formed, (N, (K + 1) F), and multiplied
    vectors()   (N, (K + 1) F)   the gradients themselves, flattened as ``model.params()`` holds them
    squared_norms()  (N,)    ||dW_n||^2

For the last layer (dense_4) the factorized dot is Pruthi et al.'s ((p - e_y).(p' - e_y')) (a.a' + 1).
"""
from dataclasses import dataclass

import numpy as np

from ...engine import ops
from ...engine.layers import Conv2D, Dense
from ...engine.losses import softmax_cross_entropy
from ..passes import cached_forward

LAYER_TYPES = (Conv2D, Dense)


def layers_with_weights(model, names=None):
    """The names of the layers influence can differentiate (Conv2D and Dense), in order, or ``names``
    checked against them. Raises ValueError naming an unknown layer or one without weights."""
    known = [layer.name for layer in model.layers if isinstance(layer, LAYER_TYPES)]
    if names is None:
        return known
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(f"no layer with weights named {', '.join(unknown) or '(none given)'}; "
                         f"layers: {', '.join(known)}")
    return [name for name in known if name in names]      # in the model's order


@dataclass
class LayerGradients:
    """One layer's per-example gradients for a batch, as factors: dW_n = sum_p [x_np, 1] (outer) dz_np.

    x  : (N, P, K)  the layer's input at each of its P positions
    dz : (N, P, F)  the loss gradient at its pre-activation output there
    """
    x: np.ndarray
    dz: np.ndarray

    @property
    def positions(self):
        return self.x.shape[1]

    def vectors(self):
        """(N, (K + 1) F): each example's kernel gradient (K, F) then bias gradient (F,), flattened."""
        N, P, K = self.x.shape
        x1 = np.concatenate([self.x, np.ones((N, P, 1), dtype=self.x.dtype)], axis=2)    # (N, P, K + 1)
        return np.matmul(x1.transpose(0, 2, 1), self.dz).reshape(N, -1)                 # sum over p

    def squared_norms(self):
        """(N,) ||dW_n||^2."""
        if self.positions == 1:
            return ((self.x[:, 0] ** 2).sum(axis=1) + 1) * (self.dz[:, 0] ** 2).sum(axis=1)
        return (self.vectors() ** 2).sum(axis=1)

    def dot(self, other, self_vectors=None, other_vectors=None):
        """(N_self, N_other) <dW_n, dW'_m>. For one position, <a (x) b, a' (x) b'> = (a.a')(b.b'):
        (x.x' + 1)(dz.dz'), never forming the (K + 1) F products; else from the formed gradients
        (pass them as ``*_vectors`` when they are already at hand)."""
        if self.positions == 1 and other.positions == 1:
            return (self.x[:, 0] @ other.x[:, 0].T + 1) * (self.dz[:, 0] @ other.dz[:, 0].T)
        a = self.vectors() if self_vectors is None else self_vectors
        b = other.vectors() if other_vectors is None else other_vectors
        return a @ b.T


def logit_gradients(logits, labels):
    """dl_n / dlogits_n = softmax(logits_n) - e_{y_n}, one row per example (N, K): the batch loss's
    gradient (p - e_y) / N times N. Logits that are not finite raise NonFiniteError, as in training."""
    _, dlogits = softmax_cross_entropy(logits, labels)
    return dlogits * np.asarray(len(labels), dtype=dlogits.dtype)


def per_example_gradients(model, x, labels, layers):
    """{layer name: LayerGradients} of the loss of each example of the batch x (N, ...) for its label.

    One inference forward (dropout off; the layers below the lowest one asked for keep no caches,
    ``passes.cached_forward``), then one backward of the unscaled
    dl_n / dlogits_n down to the lowest layer asked for (``Sequential.backward(stop_at=...)``,
    weight gradients not summed); each layer's dz is the gradient it received times its ReLU's
    mask. A Conv2D's x is its patches (``im2col``), gathered again from its padded input.
    """
    lowest = layers[0]
    logits = cached_forward(model, x, keep_from=lowest)      # below it: the cache-free slices
    model.backward(logit_gradients(logits, labels), input_grad=False, stop_at=lowest,
                   keep_output_grads=True, param_grads=False)
    gradients = {}
    for name in layers:
        layer = model.layer(name)
        dz = layer.doutput * (layer.output > 0) if layer.activation == "relu" else layer.doutput
        N = len(x)
        if isinstance(layer, Dense):
            gradients[name] = LayerGradients(layer.x[:, None, :], dz[:, None, :])
        else:
            kh, kw, C, F = layer.params["kernel"].shape
            cols = ops.active().im2col(layer.padded_input, kh, kw)
            gradients[name] = LayerGradients(cols.reshape(N, -1, kh * kw * C), dz.reshape(N, -1, F))
    return gradients
