"""How relevance passes back through a layer under layer-wise relevance propagation (LRP): the rules,
and the one place a composite picks one per layer type.

LRP (Bach et al. 2015) walks the network back from an output relevance R (N, K) and hands every layer's
output relevance R_j to its inputs i. A layer with weights, z_j = sum_i x_i w_ij + b_j, does it by a
rule; the rest follow zennit's defaults (``zennit.composites.layer_map_base``): a ReLU passes R on
unchanged ('pass', zennit's Pass), a max-pool hands each window's R to its winner and Flatten and
Dropout reshape and copy it (their gradient: zennit leaves them unhooked). The ReLU fused into Conv2D
and Dense passes too, so a rule reads R at its layer's output as the R of its pre-activation z.

Every rule is zennit 0.5's (``zennit/rules.py``), written with s = R / stab(d) for the rule's
denominator d (N, ..., U) and zennit's stabilizer

    stab(d) = d + e * sign(d),  sign(0) = +1                  (``zennit.core.stabilize``, e = 1e-6)

and x+ = max(x, 0), x- = min(x, 0), W+ = max(W, 0), W- = min(W, 0) (the bias b likewise):

    epsilon          d = x W + b                             R_x = x * (s W^T)
    zplus            d = x+ W+ + x- W- + b+                  R_x = x+ * (s W+^T) + x- * (s W-^T)
    alpha_beta       d+ = x+ W+ + x- W- + b+                 R_x = alpha (x+ * (s+ W+^T) + x- * (s+ W-^T))
    (alpha 2, beta 1) d- = x+ W- + x- W+ + b-                      - beta (x+ * (s- W-^T) + x- * (s- W+^T))
    gamma            Wp = W + g W+, Wn = W + g W-           R_x = x+ * (sp Wp^T + sn Wn^T)
                     dp = x+ Wp + x- Wn + b + g b+                + x- * (sp Wn^T + sn Wp^T)
                     dn = x+ Wn + x- Wp + b + g b-          sp = [z > 0] R / stab(dp), sn = [z < 0] R / stab(dn)
    zbox             d = x W - l W+ - h W- (b - b+ - b- = 0) R_x = x * (s W^T) - l * (s W+^T) - h * (s W-^T)
    flat             d = 1 1: every input and weight 1, no b  R_x = s 1^T (d_j: how many inputs unit j reads)

Shapes: x (N, H, W, C) into a Conv2D or (N, D) into a Dense, z and R as the layer's output ((N, Ho, Wo, F)
or (N, U)), R_x as x. A rule is called rule(layer, x, z, R, **settings) with ``layer`` the copy of the
layer without its ReLU that computed z = x W + b from x (``passes.recorded_forward``), whose backward
is s -> s W^T.

"s W^T" is the backward of the layer's linear part with kernel W: ``dout @ W.T`` for Dense, the
transposed convolution (col2im) for Conv2D; each term runs through a copy of the layer holding the
modified weights (``term``). l and h are the lowest and highest input values (``zbox``'s box).

Biases, as zennit: epsilon keeps b in d, so the share b_j / d_j of R_j is absorbed (not passed on);
zplus keeps b+ (absorbs it), alpha_beta b+ in d+ and b- in d-, gamma b + g b+ and b + g b-; zbox's
three biases cancel and flat has none, so those two conserve R up to the stabilizer. Dividing by
stab(d) where d = 0 can only happen with e = 0; then nothing passes (0, where zennit gives inf/NaN).

Composites (zennit's of the same names; zennit has no 'epsilon' one: its Epsilon rule on every Conv2d and
Linear beside its base layer map), the rule per layer type:

    epsilon                      every Conv2D and Dense: epsilon
    epsilon_plus_flat            the first Conv2D or Dense: flat; other Conv2D: zplus; Dense: epsilon
    epsilon_alpha2_beta1_flat    the first Conv2D or Dense: flat; other Conv2D: alpha_beta; Dense: epsilon
    epsilon_gamma_box            the first Conv2D: zbox; other Conv2D: gamma; Dense: epsilon

"First" is zennit's ``SpecialFirstLayerMapComposite``: the first layer, in order, of the first rule's
types. Epsilon's e is ``epsilon``, every other rule's ``stabilizer`` (both 1e-6 by default, as zennit).
"""
import copy
import functools
from collections import namedtuple

import numpy as np

from ..engine.layers import Conv2D, Dense, ReLU

Composite = namedtuple("Composite", "first_types first conv dense")


# -- the pieces of a rule ---------------------------------------------------------------------------
def stabilized_ratio(R, d, e):
    """s = R / stab(d), stab(d) = d + e * sign(d) with sign(0) = +1 (``zennit.core.stabilize``); the
    shape and dtype of d. Where stab(d) = 0 (only possible with e = 0), s = 0."""
    e = d.dtype.type(e)
    denominator = d + np.where(d >= 0, e, -e)
    if e > 0:                                   # |stab(d)| >= e: never 0
        return np.divide(R, denominator, out=denominator)
    return np.divide(R, denominator, out=np.zeros_like(denominator), where=denominator != 0)


def term(layer, x, kernel, bias):
    """(d, back) of one term of a rule: d = x * kernel + bias through a copy of ``layer`` (Conv2D or
    Dense) without its ReLU, and back(s) = x * (s kernel^T), the backward of that copy's linear part
    times its input. An x of zeros adds the bias alone and no relevance (no layer is run)."""
    if not x.any():
        d = np.broadcast_to(bias, (len(x),) + tuple(layer.output_shape[1:])).astype(x.dtype)
        return d, lambda s: np.zeros_like(x)
    part = copy.copy(layer)
    part.params, part.grads, part.activation = {"kernel": kernel, "bias": bias}, {}, None
    d = part.forward(np.ascontiguousarray(x), training=False)
    return d, lambda s: x * part.backward(s, param_grads=False)


def terms(layer, pieces):
    """(d, back) of the sum of several terms (x_k, kernel_k, bias_k): d = sum_k d_k, back(s) = sum_k back_k(s)."""
    parts = [term(layer, *piece) for piece in pieces]
    return sum(d for d, _ in parts), lambda s: sum(back(s) for _, back in parts)


def positive(a):
    return np.maximum(a, 0)


def negative(a):
    return np.minimum(a, 0)


# -- the rules: (layer, x, z, R, settings) -> R_x ---------------------------------------------------------
def epsilon_rule(layer, x, z, R, epsilon=1e-6):
    """R_x = x * (s W^T), s = R / stab(z), z = x W + b: zennit's Epsilon."""
    return x * layer.backward(stabilized_ratio(R, z, epsilon), param_grads=False)


def zplus_rule(layer, x, z, R, stabilizer=1e-6):
    """R_x = x+ * (s W+^T) + x- * (s W-^T), s = R / stab(x+ W+ + x- W- + b+): zennit's ZPlus."""
    W, b = layer.params["kernel"], layer.params["bias"]
    d, back = terms(layer, [(positive(x), positive(W), positive(b)), (negative(x), negative(W), 0 * b)])
    return back(stabilized_ratio(R, d, stabilizer))


def alpha_beta_rule(layer, x, z, R, alpha=2.0, beta=1.0, stabilizer=1e-6):
    """alpha times the positive contributions' share minus beta times the negative ones': zennit's AlphaBeta."""
    W, b = layer.params["kernel"], layer.params["bias"]
    xp, xn, Wp, Wn = positive(x), negative(x), positive(W), negative(W)
    d_plus, back_plus = terms(layer, [(xp, Wp, positive(b)), (xn, Wn, 0 * b)])
    d_minus, back_minus = terms(layer, [(xp, Wn, negative(b)), (xn, Wp, 0 * b)])
    return (alpha * back_plus(stabilized_ratio(R, d_plus, stabilizer))
            - beta * back_minus(stabilized_ratio(R, d_minus, stabilizer)))


def gamma_rule(layer, x, z, R, gamma=0.25, stabilizer=1e-6):
    """The positive (negative) contributions favoured by gamma where z > 0 (z < 0): zennit's Gamma."""
    W, b = layer.params["kernel"], layer.params["bias"]
    xp, xn = positive(x), negative(x)
    Wp, Wn = W + gamma * positive(W), W + gamma * negative(W)
    d_plus, back_plus = terms(layer, [(xp, Wp, b + gamma * positive(b)), (xn, Wn, 0 * b)])
    d_minus, back_minus = terms(layer, [(xp, Wn, b + gamma * negative(b)), (xn, Wp, 0 * b)])
    return (back_plus(stabilized_ratio(np.where(z > 0, R, 0), d_plus, stabilizer))
            + back_minus(stabilized_ratio(np.where(z < 0, R, 0), d_minus, stabilizer)))


def zbox_rule(layer, x, z, R, low, high, stabilizer=1e-6):
    """R_x = x * (s W^T) - l * (s W+^T) - h * (s W-^T), s = R / stab(z - l W+ - h W-): zennit's ZBox.
    low, high: arrays of x's shape (``relevance.box_bounds``)."""
    W, b = layer.params["kernel"], layer.params["bias"]
    d_box, back_box = terms(layer, [(low, -positive(W), -positive(b)), (high, -negative(W), -negative(b))])
    s = stabilized_ratio(R, z + d_box, stabilizer)
    return x * layer.backward(s, param_grads=False) + back_box(s)


def flat_rule(layer, x, z, R, stabilizer=1e-6):
    """R_x = s 1^T, s = R / stab(number of inputs each unit reads): zennit's Flat (x is not read)."""
    W = layer.params["kernel"]
    d, back = term(layer, np.ones_like(x), np.ones_like(W), np.zeros_like(layer.params["bias"]))
    return back(stabilized_ratio(R, d, stabilizer))


def pass_rule(layer, x, z, R):
    """R unchanged: zennit's Pass, every ReLU's rule."""
    return R


def gradient_rule(layer, x, z, R):
    """The layer's own backward (a max-pool's winners, Flatten's reshape, Dropout's copy)."""
    return layer.backward(R, param_grads=False)


RULES = {"epsilon": epsilon_rule, "zplus": zplus_rule, "alpha_beta": alpha_beta_rule, "gamma": gamma_rule,
         "zbox": zbox_rule, "flat": flat_rule, "pass": pass_rule, "gradient": gradient_rule}


# -- the composites: the one place a rule is picked --------------------------------------------------
COMPOSITES = {
    "epsilon": Composite(first_types=(), first=None, conv="epsilon", dense="epsilon"),
    "epsilon_plus_flat": Composite(first_types=(Conv2D, Dense), first="flat", conv="zplus", dense="epsilon"),
    "epsilon_alpha2_beta1_flat": Composite(first_types=(Conv2D, Dense), first="flat", conv="alpha_beta",
                                           dense="epsilon"),
    "epsilon_gamma_box": Composite(first_types=(Conv2D,), first="zbox", conv="gamma", dense="epsilon"),
}


def rule_names(model, composite):
    """The rule each of ``model``'s layers takes under ``composite`` (a name in COMPOSITES), in layer order."""
    spec = COMPOSITES[composite]
    names, first_seen = [], False
    for layer in model.layers:
        if not first_seen and isinstance(layer, spec.first_types):
            names.append(spec.first)
            first_seen = True
        elif isinstance(layer, Conv2D):
            names.append(spec.conv)
        elif isinstance(layer, Dense):
            names.append(spec.dense)
        elif isinstance(layer, ReLU):
            names.append("pass")
        else:
            names.append("gradient")
    return names


def layer_rules(model, composite, epsilon=1e-6, stabilizer=1e-6, gamma=0.25, low=None, high=None):
    """One function (layer, x, z, R) -> R_x per layer of ``model``: the composite's rules with their settings."""
    settings = {"epsilon": {"epsilon": epsilon}, "zplus": {"stabilizer": stabilizer},
                "alpha_beta": {"alpha": 2.0, "beta": 1.0, "stabilizer": stabilizer},
                "gamma": {"gamma": gamma, "stabilizer": stabilizer},
                "zbox": {"low": low, "high": high, "stabilizer": stabilizer}, "flat": {"stabilizer": stabilizer}}
    return [functools.partial(RULES[name], **settings.get(name, {})) for name in rule_names(model, composite)]
