"""The passes every explanation method is built from: a class's gradient, and a forward from a layer up.

    class_gradient(model, images, classes, stop_at=None, relu_rule='gradient')
        one forward (inference mode) and one backward from dlogits = onehot(c), so the gradient is
        dy^c / d(...) of the logit y^c (before the softmax), each image for its own class.
        Returns (gradient, logits, classes): gradient = dy^c/dx (N, H, W, C) of the model's input, or
        dy^c/dA of layer ``stop_at``'s output A (then A is ``model.layer(stop_at).output``).
    forward_from(model, layer_name, activations, training=False)
        the logits when the layers above ``layer_name`` are fed ``activations`` in place of its output.

Images in a batch never mix at inference, so one batched pass gives every image its own gradient.
"""
import numpy as np

from .gradcam import resolve_classes


def onehot_dlogits(logits, classes):
    """dy^c/dlogits (N, K): 1 at each image's class c, 0 elsewhere."""
    dlogits = np.zeros_like(logits)
    dlogits[np.arange(len(classes)), classes] = 1.0
    return dlogits


def class_gradient(model, images, classes=None, stop_at=None, relu_rule="gradient"):
    """(dy^c/dx, or dy^c/dA at ``stop_at``; logits; classes) from one forward and one backward.

    No weight gradients, and no layer keeps its output gradient but ``stop_at``: so each Conv2D
    followed by a MaxPool2D is walked back in one step that skips the pool's zeros
    (``Conv2D.backward_through_pool``), under any ReLU rule.
    """
    logits = model.forward(images, training=False)
    chosen = resolve_classes(classes, logits)
    gradient = model.backward(onehot_dlogits(logits, chosen), stop_at=stop_at, param_grads=False,
                              keep_output_grads=False, fuse_conv_pool=True, relu_rule=relu_rule)
    return gradient, logits, chosen


def forward_from(model, layer_name, activations, training=False):
    names = [layer.name for layer in model.layers]
    x = activations
    for layer in model.layers[names.index(layer_name) + 1:]:
        x = layer.forward(x, training=training)
    return x


def batches(count, batch_size):
    """Slices of at most ``batch_size`` (a positive int) covering range(count)."""
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return [slice(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
