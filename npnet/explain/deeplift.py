"""DeepLIFT (Shrikumar et al. 2017) with the rescale rule: the numbers Captum's ``DeepLift`` returns.

Every unit is explained by its difference from a reference: the model runs forward on the input x and
on the baseline x' (N, H, W, C), and the backward carries multipliers m = d(delta out)/d(delta in)
instead of derivatives. From dT/dlogits (e_c, or e_c - e_b with ``contrast``) down:

    Conv2D, Dense (linear part)  m_in = m_out W^T                   the ordinary backward
    ReLU (fused or a layer)      m_z = m_out * (a - a') / (z - z')   rescale; a = relu(z)
                                 where |z - z'| < 1e-10: m_out * [z > 0], the derivative
    MaxPool2D, maxpool='gradient' (default)
                                 m_out to each window's winner in x   the ordinary backward
    MaxPool2D, maxpool='cross_max'
                                 with o, o' the pooled outputs and t = max(o, o'):
                                 m_in = (unpool(m_out (t - o')) at x's winners
                                         + unpool(m_out (o - t)) at x''s winners) / (a - a')
                                 where |a - a'| < 1e-10: m_out at x's winner, the derivative
    Flatten, Dropout             their backward

    attribution = (x - x') * m_x                           (N, H, W, C)

The rescale rule is Captum 0.9's ``nonlinear`` (``captum/attr/_core/deep_lift.py``, eps = 1e-10), and
'cross_max' its ``maxpool`` handler. On a net where a MaxPool2d follows a ReLU, as npnet's PyTorch twin,
Captum's DeepLift does not return what that handler computes: Captum records the gradient a ReLU's
output receives with a hook on that tensor, registered before the pool's hook on the same tensor, so
the ReLU's rule reads the pool's ordinary gradient, not the handler's multiplier (which it sees only
where |z - z'| < 1e-10, and there the handler falls back to the ordinary gradient too). The default
'gradient' is therefore what Captum returns (measured equal to float64 rounding), and also the
only max-pool rule DeepLIFT's authors' implementation has. ('cross_max' is a word: set it from
Python; the command line's --option takes numbers.)

Summation-to-delta. The rescale keeps m_z (z - z') = m_out (a - a'), and 'cross_max' keeps
sum over a window of m_in (a - a') = m_out (o - o'), so with 'cross_max'

    sum(attribution) = T(x) - T(x')        (up to the 1e-10 fallbacks), for any baseline

'gradient' keeps it when x' is constant over the image (the default 0) and the convolutions are 'valid':
then every channel of the reference is constant in every layer, a' at x's winner is o', and the sum
holds as well. For another baseline it does not (``summation_to_delta`` measures the gap).

Two details of Captum's handler. Where it falls back it reads ``grad_input[0]``, the first image's
derivative, for every image of the batch; here each image's own. With the default this shows only in a
batch, where z = z' > 0 at a ReLU under a pool (a unit reading the same inputs in x and x', with a
positive bias): Captum passes the first image's pool gradient there. And it reads x''s half of its
[x; x'] batch for its second term, a multiplier stream of its own, which the rescale and the handler
would keep equal to x''s: one stream serves both here.
Captum has no contrast; the multipliers are linear in dT/dlogits, so the map of y^c - y^b is the
difference of the two classes' maps.
"""
import functools

import numpy as np

from ..engine.layers import MaxPool2D, ReLU
from ..io.errors import NpnetError
from .gradients import baseline_like, integrated_gradients_completeness, model_input
from .passes import depth_first, recorded_forward, resolve_classes, target_gradient

EPS = 1e-10      # Captum's: below this |delta in|, the derivative stands in for the multiplier
MAXPOOL_RULES = ("gradient", "cross_max")


# -- the rules --------------------------------------------------------------------------------------
def rescale(dout, z, z_ref):
    """m_z = dout * (relu(z) - relu(z')) / (z - z'); dout * [z > 0] where |z - z'| < EPS."""
    delta_in = z - z_ref
    delta_out = np.maximum(z, 0) - np.maximum(z_ref, 0)
    close = np.abs(delta_in) < EPS
    ratio = np.divide(delta_out, delta_in, out=np.zeros_like(delta_in), where=~close)
    return dout * np.where(close, z > 0, ratio)


def cross_max(dout, pool, pool_ref, a, a_ref):
    """Captum's max-pool multiplier (see the module's docstring); pool and pool_ref are the MaxPool2D
    copies that ran on a and a' (their outputs and winners)."""
    top = np.maximum(pool.output, pool_ref.output)
    moved = pool.backward(dout * (top - pool_ref.output)) + pool_ref.backward(dout * (pool.output - top))
    delta_in = a - a_ref
    close = np.abs(delta_in) < EPS
    multiplier = np.divide(moved, delta_in, out=np.zeros_like(moved), where=~close)
    return np.where(close, pool.backward(dout), multiplier)


def deeplift(model, images, classes=None, contrast=None, *, baseline=0.0, maxpool="gradient"):
    """(x - x') * the DeepLIFT multipliers of T = y^c (or y^c - y^b) (N, H, W, C); c chosen at x.

    baseline : x', a number or an array broadcastable to the images (model input space), default 0
    maxpool  : 'gradient' (what Captum returns) or 'cross_max' (Captum's max-pool handler)
    """
    if maxpool not in MAXPOOL_RULES:
        raise NpnetError(f"option maxpool must be one of {', '.join(MAXPOOL_RULES)}, got {maxpool!r}")
    x = model_input(model, images)
    shape = (len(x), model.output_shape[-1])
    chosen = None if classes is None else resolve_classes(classes, np.empty(shape))   # bad ids fail first
    against = None if contrast is None else resolve_classes(contrast, np.empty(shape))
    walk = functools.partial(deeplift_slice, maxpool=maxpool)
    return depth_first(walk, model, x, baseline_like(baseline, x), chosen, against)


def deeplift_slice(model, x, x_ref, classes, contrast, maxpool):
    """``deeplift`` for a slice of images: forwards on x and x' keeping every layer's input and
    pre-activation (``passes.recorded_forward``), then the multipliers from the top down."""
    steps, logits = recorded_forward(model, x)
    steps_ref, _ = recorded_forward(model, x_ref)
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    m = target_gradient(logits, chosen, against)
    for step, ref in reversed(list(zip(steps, steps_ref))):
        if step.relu:                                    # a ReLU layer, or the one fused on top of z
            m = rescale(m, step.z, ref.z)
        if isinstance(step.layer, ReLU):
            continue
        if isinstance(step.layer, MaxPool2D) and maxpool == "cross_max":
            m = cross_max(m, step.layer, ref.layer, step.input, ref.input)
        else:
            m = step.layer.backward(m, param_grads=False)
    return (x - x_ref) * m


def summation_to_delta(model, images, attributions, classes=None, contrast=None, baseline=0.0):
    """How far DeepLIFT's attributions are from summing to T(x) - T(x'), per image: (error (N,), relative (N,)),
    the definition of ``gradients.integrated_gradients_completeness``."""
    return integrated_gradients_completeness(model, images, attributions, classes, baseline, contrast)
