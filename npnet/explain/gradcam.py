"""Grad-CAM: which places in the image made the network say class c (Selvaraju et al., 2017).

Let A (N, h, w, K) be the output of a convolutional layer (after its ReLU) and y^c the score of
class c before the softmax (the logit). For each image:

    alpha_k  = 1/(h*w) * sum_ij  dy^c / dA^k_ij          (K,)      how much channel k helps class c
    cam      = ReLU( sum_k alpha_k * A^k )                 (h, w)    where those channels fire

The gradient dy^c/dA is what one backward pass stores at the layer when it starts from
dlogits = onehot(c): ``Sequential.backward(dlogits, stop_at=layer)`` records it as ``layer.doutput``
beside the forward's ``layer.output``, and stops there. Images in a batch never mix at inference,
so ONE forward and ONE backward give every image its own gradient, for its own class.

The map has the layer's resolution (6x6 at conv2d_3 of the seed net); ``bilinear_upsample``
stretches it to the input's size so it can be laid over the image.
"""
import numpy as np

from ..io.errors import NpnetError
from ..engine.layers import Conv2D
from ..data.resize import interpolation_matrix
from ..data.preprocessing import preprocess
from .inputs import check_images
from .passes import cached_forward, resolve_classes, target_gradient


def last_conv_layer(model):
    """The name of the model's last Conv2D layer: Grad-CAM's default target."""
    names = [layer.name for layer in model.layers if isinstance(layer, Conv2D)]
    if not names:
        raise NpnetError("the model has no Conv2D layer to explain")
    return names[-1]


def spatial_layer_names(model):
    """Every layer whose output is a stack of maps (N, H, W, C): the layers Grad-CAM can read."""
    return [layer.name for layer in model.layers if len(layer.output_shape) == 4]


def target_layer(model, layer=None):
    """The layer object named ``layer`` (default: the last Conv2D), checked to output maps."""
    name = last_conv_layer(model) if layer is None else layer
    valid = spatial_layer_names(model)
    if name not in valid:
        raise NpnetError(f"no layer {name!r} with spatial output to explain; choose one of: {', '.join(valid)}")
    return model.layer(name)


def activations_and_gradient(model, images, classes, target, contrast=None):
    """(A, g, classes, logits) from one forward and one backward that stops at the layer ``target``:

        A       (N, h, w, K)  target.output, its activations after the ReLU
        g       (N, h, w, K)  target.doutput = dy^c/dA, recorded by the backward from onehot(c)
                              (d(y^c - y^b)/dA from onehot(c) - onehot(b) with a ``contrast`` class b)
        classes (N,)          the class c explained for each image (None: the predicted one)
        logits  (N, classes)  the forward's logits

    Every CAM method that reads a gradient (``cams``) starts from this pass."""
    logits = cached_forward(model, images, keep_from=target.name)
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    dlogits = target_gradient(logits, chosen, against)     # d y^c / d logits (or of y^c - y^b)
    model.backward(dlogits, stop_at=target.name, param_grads=False)   # records target.doutput = dy^c/dA
    return target.output, target.doutput, chosen, logits


def grad_cam_weights(model, images, classes=None, layer=None, contrast=None):
    """One forward and one backward; returns (alpha, activations, classes, logits).

        images       (N, H, W, C) model input (float32, or float64 for a float64 model)
        alpha        (N, K)       alpha_k = mean over (i, j) of dy^c / dA^k_ij
        activations  (N, h, w, K) A, the target layer's output
        classes      (N,)         the class c explained for each image
        logits       (N, classes) the forward's logits
    """
    activations, gradients, chosen, logits = activations_and_gradient(model, images, classes,
                                                                     target_layer(model, layer), contrast)
    alpha = gradients.mean(axis=(1, 2))
    return alpha, activations, chosen, logits


def weighted_sum(weights, activations, relu=True):
    """ReLU(sum_k w_k A_k): weights (N, K), activations (N, h, w, K) -> (N, h, w); relu=False keeps the sign."""
    total = np.einsum("nhwk,nk->nhw", activations, weights)
    return np.maximum(total, 0) if relu else total


def grad_cam(model, images, classes=None, layer=None, upsample=True, preprocessing=None, contrast=None,
             relu=True):
    """Grad-CAM maps, float32 (N, H, W) at the input size, or (N, h, w) when upsample=False.

    images        : model input (N, H, W, C) already preprocessed; or uint8 images when
                    ``preprocessing`` (a checkpoint's spec) is given, which are then preprocessed
    classes       : None = each image's predicted class; an int for all; or one id per image
    layer         : the layer to read (default: the last Conv2D)
    upsample      : stretch the map bilinearly to the input's H x W
    contrast      : a class b (or one per image): explain y^c - y^b, why c and not b
    relu          : False keeps the map's sign (sum_k alpha_k A^k): with a contrast, where the
                    evidence is for c over b (> 0) and for b over c (< 0)

    Values are raw (not normalized), so maps for different classes can be compared on one scale.
    The whole batch goes through one forward and one backward, so its activations are all in memory
    at once (about 1 MB per image at its peak for the seed net): split a large set into batches.
    """
    if preprocessing is not None:
        images = preprocess(images, preprocessing)
    images = check_images(model, images)
    alpha, activations, _, _ = grad_cam_weights(model, images, classes, layer, contrast)
    cam = weighted_sum(alpha, activations, relu).astype(np.float32)
    if upsample:
        cam = bilinear_upsample(cam, images.shape[1:3])
    return cam


# -- upsampling -----------------------------------------------------------------------------------
def bilinear_upsample(maps, size):
    """Resize maps (N, h, w) to (N, H, W) = (N, *size): linear along rows, then along columns.

        out[n] = Rows @ maps[n] @ Cols.T,   Rows (H, h), Cols (W, w) from ``interpolation_matrix``
    """
    H, W = size
    _, h, w = maps.shape
    rows = interpolation_matrix(h, H)
    cols = interpolation_matrix(w, W)
    return np.einsum("Hh,nhw,Ww->nHW", rows, maps, cols).astype(maps.dtype)
