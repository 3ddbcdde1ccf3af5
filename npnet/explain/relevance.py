"""Layer-wise relevance propagation (LRP): the relevance of every input value, by zennit's composites.

x (N, H, W, C) is the model's input (the preprocessed image). One forward keeps each layer's input and
pre-activation; then the relevance walks back from the output relevance, layer by layer, each by the rule its
composite gives it (``relevance_rules``, where the rules and the composites are written out):

    lrp_epsilon                    Epsilon on every Conv2D and Dense                    (Bach 2015)
    lrp_epsilon_plus_flat          Flat on the first layer, ZPlus on the other convs, Epsilon on the dense
    lrp_epsilon_alpha2_beta1_flat  Flat on the first layer, Alpha2-Beta1 on the other convs, Epsilon on the dense
    lrp_epsilon_gamma_box          ZBox on the first conv, Gamma on the others, Epsilon on the dense
                                                                            (Montavon 2019; Kohlbrenner 2020)

Output relevance. Relevance is input times modified gradient at every layer, the output's too, and
the output gradient is one-hot on each image's class c: the output relevance is R = e_c (N, K), as
zennit's ``Gradient(model, composite)(x, one_hot)`` starts from it. A map then sums to about 1
(``lrp_conservation``), and Epsilon with e -> 0 is x * dy^c/dx / y^c, gradient times input divided by
the logit. Multiply a map by y^c for relevance in the logit's units (summing to about y^c; zennit's
``lambda y: y * one_hot``). With ``contrast`` b the output gradient is e_c - e_b, R = e_c - e_b: every
rule is linear in R, so the map is the difference of the two classes' maps, and it sums to about 0.

Box bounds (``box_bounds``): ZBox needs the lowest and highest value l, h any input value can take,
options ``low`` and ``high`` (a number or an array broadcastable to the images). Not given, they come
from the model's preprocessing (``model.preprocessing``, the spec of its checkpoint):

    seed                x / 255 - 0.5                    l = -0.5,               h = 0.5
    standardize         (x - mean) / std, per channel    l = (0 - mean) / std,   h = (255 - mean) / std
    center_standardize  clipped to [-4, 4]               l = -4,                 h = 4
    any other, or none  (the range depends on the image) l, h = each image's own min and max

The last keeps l <= x <= h, which makes ZBox's denominator x W - l W+ - h W- >= 0.
"""
import functools
import numbers

import numpy as np

from ..io.errors import NpnetError
from .gradients import baseline_like, model_input, nonnegative_number
from .passes import depth_first, recorded_forward, resolve_classes, target_gradient
from .relevance_rules import layer_rules

FIXED_RANGES = {"seed": (-0.5, 0.5), "center_standardize": (-4.0, 4.0)}


def lrp(model, images, classes=None, contrast=None, composite="epsilon", low=None, high=None, **settings):
    """The relevance (N, H, W, C) of every input value under ``composite`` (``relevance_rules.COMPOSITES``).

    low, high : ZBox's box, arrays of the images' shape (only read by 'epsilon_gamma_box')
    settings  : the rules' epsilon, stabilizer, gamma (``relevance_rules.layer_rules``)
    Runs depth-first, a few dozen images at a time on all cores (``passes.depth_first``).
    """
    x = model_input(model, images)
    shape = (len(x), model.output_shape[-1])
    chosen = None if classes is None else resolve_classes(classes, np.empty(shape))   # bad ids fail first
    against = None if contrast is None else resolve_classes(contrast, np.empty(shape))
    walk = functools.partial(lrp_slice, composite=composite, settings=settings)
    return depth_first(walk, model, x, chosen, against, low, high)


def lrp_slice(model, x, classes, contrast, low, high, composite, settings):
    """``lrp`` for a slice of images: one forward keeping each layer's input a and pre-activation z
    (``passes.recorded_forward``); the output relevance R = dT/dlogits (``output_relevance``); then
    each layer, top down, R <- rule(layer, a, z, R)."""
    steps, logits = recorded_forward(model, x)
    R = output_relevance(logits, classes, contrast)
    rules = layer_rules(model, composite, low=low, high=high, **settings)
    for step, rule in reversed(list(zip(steps, rules))):
        R = rule(step.layer, step.input, step.z, R)
    return R


def output_relevance(logits, classes=None, contrast=None):
    """R = dT/dlogits (N, K), one-hot: 1 at each image's class c (``classes``, None: the predicted one),
    minus 1 at b with a ``contrast`` class, 0 elsewhere (``passes.target_gradient``)."""
    chosen = resolve_classes(classes, logits)
    against = None if contrast is None else resolve_classes(contrast, logits)
    return target_gradient(logits, chosen, against)


# -- the four methods -------------------------------------------------------------------------------
def lrp_epsilon(model, images, classes=None, contrast=None, *, epsilon=1e-6):
    """LRP-epsilon on every Conv2D and Dense: R_x = x * (s W^T), s = R / (z + epsilon sign z).

    epsilon : >= 0 (1e-6, zennit's default); 0 is LRP-0
    """
    return lrp(model, images, classes, contrast, "epsilon", epsilon=nonnegative_number("epsilon", epsilon))


def lrp_epsilon_plus_flat(model, images, classes=None, contrast=None, *, epsilon=1e-6, stabilizer=1e-6):
    """zennit's EpsilonPlusFlat: Flat on the first layer, ZPlus on the other Conv2D, Epsilon on Dense.

    epsilon    : the Epsilon rule's, >= 0
    stabilizer : the other rules' e in stab(d) = d + e sign(d), >= 0
    """
    return lrp(model, images, classes, contrast, "epsilon_plus_flat", epsilon=nonnegative_number("epsilon", epsilon),
               stabilizer=nonnegative_number("stabilizer", stabilizer))


def lrp_epsilon_alpha2_beta1_flat(model, images, classes=None, contrast=None, *, epsilon=1e-6, stabilizer=1e-6):
    """zennit's EpsilonAlpha2Beta1Flat: Flat on the first layer, Alpha2-Beta1 on the other Conv2D, Epsilon
    on Dense. Options as ``lrp_epsilon_plus_flat``."""
    return lrp(model, images, classes, contrast, "epsilon_alpha2_beta1_flat",
               epsilon=nonnegative_number("epsilon", epsilon), stabilizer=nonnegative_number("stabilizer", stabilizer))


def lrp_epsilon_gamma_box(model, images, classes=None, contrast=None, *, epsilon=1e-6, stabilizer=1e-6, gamma=0.25,
                          low=None, high=None):
    """zennit's EpsilonGammaBox: ZBox on the first Conv2D, Gamma on the others, Epsilon on Dense.

    gamma     : >= 0, the weight of the positive (negative) parts added where z > 0 (z < 0)
    low, high : the box (numbers or arrays broadcastable to the images); None: ``box_bounds``' defaults
    epsilon, stabilizer : as ``lrp_epsilon_plus_flat``
    """
    x = model_input(model, images)
    low, high = box_bounds(model, x, low, high)
    return lrp(model, x, classes, contrast, "epsilon_gamma_box", epsilon=nonnegative_number("epsilon", epsilon),
               stabilizer=nonnegative_number("stabilizer", stabilizer), gamma=nonnegative_number("gamma", gamma),
               low=low, high=high)


# -- the box, and the diagnostic ----------------------------------------------------------------------
def preprocessing_range(spec):
    """(low, high) of what the preprocessing ``spec`` can output, or None when that depends on the image."""
    name = spec.get("name") if isinstance(spec, dict) else None
    if name in FIXED_RANGES:
        return FIXED_RANGES[name]
    if name == "standardize":
        mean, std = np.asarray(spec["mean"], np.float64), np.asarray(spec["std"], np.float64)
        return (0 - mean) / std, (255 - mean) / std
    return None


def box_bounds(model, x, low=None, high=None):
    """(l, h), each x's shape and dtype: ``low`` and ``high`` where given, else the range of the model's
    preprocessing (``preprocessing_range``), else each image's own min and max."""
    fixed = preprocessing_range(getattr(model, "preprocessing", None))
    if fixed is None:
        fixed = (x.min(axis=(1, 2, 3), keepdims=True), x.max(axis=(1, 2, 3), keepdims=True))
    bounds = []
    for name, given, default in (("low", low, fixed[0]), ("high", high, fixed[1])):
        if given is not None and not isinstance(given, (numbers.Real, np.ndarray, list, tuple)):
            raise NpnetError(f"option {name} must be a number or an array broadcastable to the images' shape "
                             f"{x.shape}, got {type(given).__name__}")
        try:
            bounds.append(baseline_like(default if given is None else given, x))
        except NpnetError as error:
            raise NpnetError(str(error).replace("option baseline", f"option {name}")) from None
    if np.any(bounds[0] > bounds[1]):
        raise NpnetError("option low must not exceed option high")
    return bounds[0], bounds[1]


def lrp_conservation(model, images, relevance, classes=None, contrast=None):
    """How far a map's total is from the output relevance it was propagated from, its total
    T = 1 (0 with a contrast: e_c - e_b), per image: (error (N,), relative (N,)).

        error    = |sum(relevance) - T|
        relative = error / |T|             (inf where T = 0 and error > 0)

    Each layer passes on its R less what its bias absorbs and the stabilizer's share e / |d| of each R_j:
    Epsilon, ZPlus, Alpha-Beta and Gamma conserve R where the biases are 0, ZBox and Flat for any bias.
    ``classes`` (and ``contrast``) as given to the method (None: predicted).
    """
    x = model_input(model, images)
    logits = model.forward(x, training=False)
    target = output_relevance(logits, classes, contrast).astype(np.float64).sum(axis=1)
    total = np.asarray(relevance, dtype=np.float64).reshape(len(x), -1).sum(axis=1)
    error = np.abs(total - target)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(error == 0, 0.0, error / np.abs(target))
    return error, relative
