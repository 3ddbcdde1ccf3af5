"""Layer-wise relevance propagation: each rule against its formula written with explicit sums, the
composites against the chain of their rules on a small net, LRP-0 against gradient x input, the
conservation each rule promises, and the four methods against zennit on the PyTorch twin."""
import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain import gradients, relevance
from npnet.explain.methods import attribution
from npnet.explain.passes import recorded_forward
from npnet.explain.relevance_rules import COMPOSITES, RULES, rule_names
from npnet.io.errors import NpnetError
from tolerances import assert_same_sums, backward_magnitudes, backward_terms, rounding_tolerance

from .test_gradients import with_random_biases

METHODS = ["lrp_epsilon", "lrp_epsilon_plus_flat", "lrp_epsilon_alpha2_beta1_flat", "lrp_epsilon_gamma_box"]
COMPOSITE_OF = dict(zip(METHODS, COMPOSITES))
E = 1e-6                                    # zennit's epsilon and stabilizer, the methods' defaults
FIRST_AND_CONV_RULES = {"epsilon": ("epsilon", "epsilon"), "epsilon_plus_flat": ("flat", "zplus"),
                        "epsilon_alpha2_beta1_flat": ("flat", "alpha_beta"), "epsilon_gamma_box": ("zbox", "gamma")}


# -- the rules as formulas: contributions c_ij, R_i = sum_j c_ij R_j / stab(sum_i c_ij + bias_j) -------------
def stab(d, e):
    return d + e * np.where(d >= 0, 1.0, -1.0)


def contributions(rule, x, W, b, connected=None, low=None, high=None, gamma=0.25):
    """[(factor, c (N, D, U), bias (U,), mask (N, U) or None)] of a layer x (N, D) -> x W + b (W (D, U)):
    R_i = sum over the parts of factor * sum_j c_ij * mask_j * R_j / stab(sum_i c_ij + bias_j)."""
    xp, Wp, bp = (np.maximum(v, 0) for v in (x, W, b))
    xn, Wn, bn = (np.minimum(v, 0) for v in (x, W, b))

    def c(u, V):                            # c_nij = u_ni V_ij
        return u[:, :, None] * V[None]
    if rule == "epsilon":
        return [(1.0, c(x, W), b, None)]
    if rule == "zplus":
        return [(1.0, c(xp, Wp) + c(xn, Wn), bp, None)]
    if rule == "alpha_beta":
        return [(2.0, c(xp, Wp) + c(xn, Wn), bp, None), (-1.0, c(xp, Wn) + c(xn, Wp), bn, None)]
    if rule == "gamma":
        z = x @ W + b
        Wg_plus, Wg_minus = W + gamma * Wp, W + gamma * Wn
        return [(1.0, c(xp, Wg_plus) + c(xn, Wg_minus), b + gamma * bp, z > 0),
                (1.0, c(xp, Wg_minus) + c(xn, Wg_plus), b + gamma * bn, z < 0)]
    if rule == "zbox":
        return [(1.0, c(x, W) - c(low, Wp) - c(high, Wn), 0 * b, None)]
    if rule == "flat":
        return [(1.0, np.broadcast_to(connected, (len(x),) + connected.shape), 0 * b, None)]
    raise ValueError(rule)


def formula(rule, x, W, b, R, R_scale, e=E, **options):
    """(R_x, its rounding scale): the rule by its formula, and the magnitude of what it sums,
    |c_ij| (R_scale_j + |R_j| |d_j|^-1 sum_i |c_ij|) / |stab(d_j)| summed over j (the second term: the
    rounding of the denominator d_j, carried through the division)."""
    R_x, scale = np.zeros_like(x), np.zeros_like(x)
    for factor, C, bias, mask in contributions(rule, x, W, b, **options):
        kept = R if mask is None else np.where(mask, R, 0)
        d = stab(C.sum(axis=1) + bias, e)
        R_x += factor * np.einsum("nij,nj->ni", C, kept / d)
        magnitude = np.abs(C).sum(axis=1) + np.abs(bias)
        carried = np.where(mask, R_scale, 0) if mask is not None else R_scale
        scale += abs(factor) * np.einsum("nij,nj->ni", np.abs(C),
                                         (carried + np.abs(kept) * magnitude / np.abs(d)) / np.abs(d))
    return R_x, scale


def unrolled(kernel, H, W):
    """The convolution of an (H, W, C) image with ``kernel`` (kh, kw, C, F), 'valid', as a matrix
    (H*W*C, Ho*Wo*F) on the flattened image, written with loops."""
    kh, kw, C, F = kernel.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    M = np.zeros((H, W, C, Ho, Wo, F))
    for p, q, a, bb in np.ndindex(Ho, Wo, kh, kw):
        M[p + a, q + bb, :, p, q, :] = kernel[a, bb]
    return M.reshape(H * W * C, Ho * Wo * F)


# -- one layer: the rule against its formula ---------------------------------------------------------------
def one_layer(layer, input_shape, x):
    """(linear part, x, z) of a one-layer model, as the walk hands them to a rule."""
    model = with_random_biases(Sequential([layer], input_shape=input_shape, seed=3).astype(np.float64), seed=4)
    steps, _ = recorded_forward(model, x)
    return steps[0].layer, steps[0].input, steps[0].z


RULE_SETTINGS = {"epsilon": {"epsilon": E}, "zplus": {"stabilizer": E}, "alpha_beta": {"stabilizer": E},
                 "gamma": {"gamma": 0.25, "stabilizer": E}, "zbox": {"stabilizer": E}, "flat": {"stabilizer": E}}


@pytest.mark.parametrize("rule", list(RULE_SETTINGS))
def test_each_rule_on_a_dense_layer_is_its_formula(rule):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (3, 5))                                       # both signs: every term is used
    part, x, z = one_layer(Dense(4), (5,), x)
    R = rng.normal(0, 1, (3, 4))
    box = {"low": np.full_like(x, -3.0), "high": np.full_like(x, 3.0)} if rule == "zbox" else {}
    got = RULES[rule](part, x, z, R, **RULE_SETTINGS[rule], **box)
    W, b = part.params["kernel"], part.params["bias"]
    expected, scale = formula(rule, x, W, b, R, np.abs(R), connected=np.ones_like(W), **box)
    assert_same_sums(got, expected, scale, [5, 4])


@pytest.mark.parametrize("rule", list(RULE_SETTINGS))
def test_each_rule_on_a_convolution_is_its_formula_on_the_unrolled_matrix(rule):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (2, 4, 4, 2))
    part, x, z = one_layer(Conv2D(3, 2), (4, 4, 2), x)
    R = rng.normal(0, 1, (2, 3, 3, 3))
    box = {"low": np.full_like(x, -3.0), "high": np.full_like(x, 3.0)} if rule == "zbox" else {}
    got = RULES[rule](part, x, z, R, **RULE_SETTINGS[rule], **box)
    M = unrolled(part.params["kernel"], 4, 4)
    support = unrolled(np.ones_like(part.params["kernel"]), 4, 4)
    flat = {key: value.reshape(2, -1) for key, value in box.items()}
    expected, scale = formula(rule, x.reshape(2, -1), M, np.tile(part.params["bias"], 9), R.reshape(2, -1),
                              np.abs(R).reshape(2, -1), connected=support, **flat)
    assert_same_sums(got.reshape(2, -1), expected, scale, [32, 27])


# -- the composites -----------------------------------------------------------------------------------------
def test_each_composite_gives_each_layer_of_the_seed_net_its_rule():
    layers = ["conv2d", "pool", "conv2d", "pool", "conv2d", "pool", "flatten", "dropout", "dense", "dense", "dense",
              "dense"]
    for composite, (first_rule, conv_rule) in FIRST_AND_CONV_RULES.items():
        expected = [{"conv2d": conv_rule, "dense": "epsilon"}.get(kind, "gradient") for kind in layers]
        expected[0] = first_rule
        assert rule_names(seed_net(), composite) == expected, composite


def test_flat_takes_the_first_dense_layer_of_a_net_without_convolutions_and_zbox_does_not():
    model = Sequential([Flatten(), Dense(3, activation="relu"), Dense(2)], input_shape=(1, 1, 2))
    assert rule_names(model, "epsilon_plus_flat") == ["gradient", "flat", "epsilon"]
    assert rule_names(model, "epsilon_gamma_box") == ["gradient", "epsilon", "epsilon"]


def small_net(dtype=np.float64):
    """conv 2x2x3 relu -> maxpool 2 -> conv 2x2x4 relu -> flatten -> dense 3, on 5x5x2, random biases."""
    layers = [Conv2D(3, 2, activation="relu"), MaxPool2D(2), Conv2D(4, 2, activation="relu"), Flatten(), Dense(3)]
    return with_random_biases(Sequential(layers, input_shape=(5, 5, 2), seed=7).astype(dtype), seed=8)


CHAIN_TERMS = [3, 4, 4, 12, 3, 8, 12]      # the sums of chain_of_formulas, layer by layer


def chain_of_formulas(model, x, classes, composite, low, high):
    """small_net's relevance with every layer written out: the unrolled convolutions' and the dense
    layer's formulas, the pool's winners by argmax; (R_x (N, 50), its rounding scale)."""
    first_rule, conv_rule = FIRST_AND_CONV_RULES[composite]
    (K1, b1), (K2, b2), (W3, b3) = ((layer.params["kernel"], layer.params["bias"]) for layer in model.layers
                                    if layer.params)
    N = len(x)
    M1, S1, M2 = unrolled(K1, 5, 5), unrolled(np.ones_like(K1), 5, 5), unrolled(K2, 2, 2)
    a0 = x.reshape(N, -1)
    a1 = np.maximum(a0 @ M1 + np.tile(b1, 16), 0).reshape(N, 4, 4, 3)
    windows = a1.reshape(N, 2, 2, 2, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(N, 2, 2, 3, 4)
    winner = windows.argmax(axis=-1)                                     # the first of a tie, as npnet
    p1 = windows.max(axis=-1).reshape(N, -1)
    a2 = np.maximum(p1 @ M2 + b2, 0)
    R3 = np.eye(3)[classes]                                               # one-hot on the class
    R2, s2 = formula("epsilon", a2, W3, b3, R3, np.abs(R3))
    Rp, sp = formula(conv_rule, p1, M2, b2, R2, s2)
    R1, s1 = np.zeros((N, 2, 2, 3, 4)), np.zeros((N, 2, 2, 3, 4))          # each window's R to its winner
    np.put_along_axis(R1, winner[..., None], Rp.reshape(N, 2, 2, 3, 1), axis=-1)
    np.put_along_axis(s1, winner[..., None], sp.reshape(N, 2, 2, 3, 1), axis=-1)
    R1, s1 = (v.reshape(N, 2, 2, 3, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(N, -1) for v in (R1, s1))
    return formula(first_rule, a0, M1, np.tile(b1, 16), R1, s1, connected=S1,
                   low=low.reshape(N, -1), high=high.reshape(N, -1))


@pytest.mark.parametrize("method", METHODS)
def test_each_method_is_the_chain_of_its_rules_formulas_on_a_small_net(method):
    model = small_net()
    x = np.random.default_rng(3).uniform(-1, 1, (3, 5, 5, 2))
    classes = np.array([0, 2, 1])
    low, high = np.full_like(x, -1.0), np.full_like(x, 1.0)
    options = {"low": -1.0, "high": 1.0} if method == "lrp_epsilon_gamma_box" else {}
    got = getattr(relevance, method)(model, x, classes, **options)
    expected, scale = chain_of_formulas(model, x, classes, COMPOSITE_OF[method], low, high)
    assert_same_sums(got.reshape(3, -1), expected, scale, CHAIN_TERMS)


# -- a hand-worked net --------------------------------------------------------------------------------------
def hand_worked_net():
    """x (1, 1, 2) -> flatten -> z1 = x W1 + b1 (3 units) relu -> y = a1 W2 + b2 (2 logits)."""
    model = Sequential([Flatten(), Dense(3, activation="relu"), Dense(2)], input_shape=(1, 1, 2)).astype(np.float64)
    model.layers[1].params.update(kernel=np.array([[1.0, -1.0, 2.0], [1.0, 1.0, -2.0]]), bias=np.array([1.0, 0, 0]))
    model.layers[2].params.update(kernel=np.array([[1.0, -1.0], [-2.0, 3.0], [4.0, 1.0]]), bias=np.array([0.5, 0]))
    return model


def test_lrp_0_on_the_hand_worked_net():
    """x = [1, 2]: z1 = [4, 1, -2], a1 = [4, 1, 0], y = [2.5, -1]. Class 0, R = e_0 = [1, 0]:
    s2 = R / y = [0.4, 0], R1 = a1 * (W2 s2) = [1.6, -0.8, 0] (total 0.8: b2 took 0.5 / 2.5 of 1);
    s1 = R1 / z1 = [0.4, -0.8, 0], R_x = x * (W1 s1) = [1.2, -0.8] (total 0.4: b1 took 4 * 0.4 / 4),
    which is x * dy0/dx / y0 = [1, 2] * [3, -1] / 2.5."""
    model, x = hand_worked_net(), np.array([[[[1.0, 2.0]]]])
    got = relevance.lrp_epsilon(model, x, 0, epsilon=0.0).ravel()
    (W1, b1), (W2, b2) = ((layer.params["kernel"], layer.params["bias"]) for layer in model.layers[1:])
    a1 = np.maximum(x.reshape(1, 2) @ W1 + b1, 0)
    R2 = np.array([[1.0, 0.0]])
    R1, s1 = formula("epsilon", a1, W2, b2, R2, R2, e=0.0)
    by_formula, scale = formula("epsilon", x.reshape(1, 2), W1, b1, R1, s1, e=0.0)
    assert_same_sums(got, [1.2, -0.8], scale[0], [3, 2, 1])
    assert_same_sums(by_formula[0], [1.2, -0.8], scale[0], [3, 2, 1])
    error, relative = relevance.lrp_conservation(model, x, got, 0)
    assert abs(error[0] - 0.6) <= rounding_tolerance(scale.sum(), [3, 2, 2], np.float64)
    assert abs(relative[0] - 0.6) <= rounding_tolerance(scale.sum(), [3, 2, 2, 1], np.float64)


def gradient_scale(model, x, classes):
    """The magnitudes of the terms of dy^c/dx (``tolerances.backward_magnitudes``), x >= 0."""
    model.forward(x)
    model.backward(np.eye(model.output_shape[-1])[classes])      # weight gradients exist: it restores them
    dx_scale, _ = backward_magnitudes(model, np.eye(model.output_shape[-1])[classes], param_grads=False)
    return dx_scale


def test_lrp_0_without_biases_is_gradient_times_input_over_the_logit():
    """With e = 0, R / z at an active unit is the chain rule's factor over y^c (R = a * g / y^c, a = z):
    the relevance from the one-hot output is x * dy^c/dx / y^c."""
    model = seed_net(seed=4).astype(np.float64)                          # seed_net's biases are 0
    x = np.random.default_rng(5).random((2, 32, 32, 3))                  # >= 0: see backward_magnitudes
    classes = np.array([3, 17])
    got = relevance.lrp_epsilon(model, x, classes, epsilon=0.0)
    y = model.forward(x)[np.arange(2), classes].reshape(2, 1, 1, 1)
    expected = gradients.input_x_gradient(model, x, classes) / y
    assert_same_sums(got, expected, x * gradient_scale(model, x, classes) / np.abs(y),
                     backward_terms(model, 2) + [2, 1])


def test_lrp_0_without_biases_sums_to_the_one_hot_output_relevance():
    model = seed_net(seed=4).astype(np.float64)
    x = np.random.default_rng(5).random((2, 32, 32, 3))
    R = relevance.lrp_epsilon(model, x, [3, 17], epsilon=0.0)
    error, relative = relevance.lrp_conservation(model, x, R, [3, 17])
    y = model.forward(x)[np.arange(2), [3, 17]]
    tolerance = rounding_tolerance((x * gradient_scale(model, x, [3, 17])).reshape(2, -1).sum(axis=1) / np.abs(y),
                                   backward_terms(model, 2) + [2, 1, 32 * 32 * 3], np.float64)
    assert np.all(error <= tolerance)
    np.testing.assert_array_equal(relative, error)


# -- conservation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule, biased", [("epsilon", False), ("zplus", False), ("alpha_beta", False),
                                          ("gamma", False), ("zbox", True), ("flat", True)])
def test_each_rule_conserves_relevance_up_to_its_stabilizer_where_it_promises_to(rule, biased):
    """sum_i R_x = sum_j R_j d_j / stab(d_j) per part: R_j less at most e |R_j| / |d_j|. ZBox and Flat
    promise it with biases (theirs cancel or are dropped), the others without."""
    rng = np.random.default_rng(6)
    layer = Dense(4)
    model = Sequential([layer], input_shape=(5,), seed=3).astype(np.float64)
    if biased:
        layer.params["bias"] = rng.normal(0, 0.5, 4)
    steps, _ = recorded_forward(model, rng.normal(0, 1, (3, 5)))
    part, x, z = steps[0].layer, steps[0].input, steps[0].z
    R = rng.normal(0, 1, (3, 4))
    box = {"low": np.full_like(x, -3.0), "high": np.full_like(x, 3.0)} if rule == "zbox" else {}
    got = RULES[rule](part, x, z, R, **RULE_SETTINGS[rule], **box)
    W, b = part.params["kernel"], part.params["bias"]
    parts = contributions(rule, x, W, b, connected=np.ones_like(W), **box)
    kept = [R if mask is None else np.where(mask, R, 0) for _, _, _, mask in parts]
    promised = sum(factor * Rk.sum(axis=1) for (factor, _, _, _), Rk in zip(parts, kept))
    stabilizer_share = sum(abs(factor) * (E * np.abs(Rk) / np.abs(C.sum(axis=1) + bias)).sum(axis=1)
                           for (factor, C, bias, _), Rk in zip(parts, kept))
    _, scale = formula(rule, x, W, b, R, np.abs(R), connected=np.ones_like(W), **box)
    gap = np.abs(got.sum(axis=1) - promised)
    assert np.all(gap <= stabilizer_share + rounding_tolerance(scale.sum(axis=1), [5, 4, 5], np.float64))
    assert np.abs(promised).min() > 0


@pytest.mark.parametrize("contrast", [None, [1, 0]])
def test_lrp_conservation_is_measured_against_the_target(contrast):
    """T = 1 (the one-hot output relevance), or 1 - 1 = 0 with a contrast: a map whose total misses T
    by 0.25 and 0.5 has those errors."""
    model = small_net()
    x = np.random.default_rng(3).uniform(-1, 1, (2, 5, 5, 2))
    T = np.full(2, 1.0 if contrast is None else 0.0)
    fake = np.zeros_like(x)
    fake[:, 0, 0, 0] = T + [0.25, -0.5]
    error, relative = relevance.lrp_conservation(model, x, fake, [0, 1], contrast=contrast)
    # two roundings apart (T + 0.25 stored, then the difference), each within half an eps of |T| + 1
    assert np.all(np.abs(error - [0.25, 0.5]) <= np.finfo(np.float64).eps * (np.abs(T) + 1))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(relative, error / np.abs(T))            # inf where T = 0


# -- the box -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, low, high", [
    ({"name": "seed"}, -0.5, 0.5),
    ({"name": "center_standardize"}, -4.0, 4.0),
    ({"name": "standardize", "mean": [100.0, 120.0, 140.0], "std": [50.0, 60.0, 70.0]},
     [-2.0, -2.0, -2.0], [155 / 50, 135 / 60, 115 / 70]),
])
def test_the_box_defaults_to_the_range_of_the_models_preprocessing(spec, low, high):
    model = seed_net()
    model.preprocessing = spec
    x = np.zeros((2, 32, 32, 3), np.float32)
    l, h = relevance.box_bounds(model, x)
    assert l.shape == h.shape == x.shape and l.dtype == np.float32
    np.testing.assert_allclose(l[0, 0, 0], np.broadcast_to(low, 3), rtol=np.finfo(np.float32).eps)
    np.testing.assert_allclose(h[0, 0, 0], np.broadcast_to(high, 3), rtol=np.finfo(np.float32).eps)


@pytest.mark.parametrize("spec", [None, {"name": "image_standardize"}, {"name": "lcn"}])
def test_without_a_fixed_range_the_box_is_each_images_min_and_max(spec):
    model = seed_net()
    model.preprocessing = spec
    x = np.random.default_rng(0).normal(0, 1, (2, 32, 32, 3)).astype(np.float32)
    l, h = relevance.box_bounds(model, x)
    np.testing.assert_array_equal(l[:, 5, 7, 1], x.min(axis=(1, 2, 3)))
    np.testing.assert_array_equal(h[:, 0, 0, 0], x.max(axis=(1, 2, 3)))


def test_given_bounds_replace_the_defaults():
    model = seed_net()
    x = np.zeros((1, 32, 32, 3), np.float32)
    l, h = relevance.box_bounds(model, x, low=[-1.0, -2.0, -3.0], high=2.0)
    np.testing.assert_array_equal(l[0, 3, 3], [-1, -2, -3])
    assert np.all(h == 2)


@pytest.mark.parametrize("options, message", [
    ({"low": 1.0, "high": 0.0}, "low must not exceed option high"),
    ({"low": "dark"}, "option low must be a number"),
    ({"high": np.zeros((5, 5))}, "option high must be a number or an array broadcastable"),
    ({"gamma": -1.0}, "option gamma must be a finite number >= 0"),
    ({"stabilizer": np.nan}, "option stabilizer must be a finite number >= 0"),
])
def test_bad_gamma_box_options_are_npnet_errors(options, message):
    x = np.zeros((1, 32, 32, 3), np.float32)
    with pytest.raises(NpnetError, match=message):
        attribution(seed_net(), x, "lrp_epsilon_gamma_box", **options)


def test_a_negative_epsilon_is_refused():
    with pytest.raises(NpnetError, match="option epsilon must be a finite number >= 0"):
        attribution(seed_net(), np.zeros((1, 32, 32, 3), np.float32), "lrp_epsilon", epsilon=-1e-6)


# -- every method: batches, classes, dtypes, contrast, the dispatch -----------------------------------------
@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(4).uniform(-1, 1, (3, 5, 5, 2))


def chain_scale(model, x, classes, method):
    """The rounding scale of small_net's relevance for ``classes`` (``chain_of_formulas``)."""
    low, high = relevance.box_bounds(model, x)
    return chain_of_formulas(model, x, classes, COMPOSITE_OF[method], low, high)[1].reshape(x.shape)


@pytest.mark.parametrize("method", METHODS)
def test_batched_equals_one_image_at_a_time(method, x):
    model, classes = small_net(), np.array([1, 0, 2])
    function = getattr(relevance, method)
    batched = function(model, x, classes)
    single = np.concatenate([function(model, x[n:n + 1], c) for n, c in enumerate(classes)])
    assert_same_sums(batched, single, chain_scale(model, x, classes, method), CHAIN_TERMS)


@pytest.mark.parametrize("method", METHODS)
def test_no_classes_means_each_images_predicted_class(method, x):
    model = small_net()
    function = getattr(relevance, method)
    np.testing.assert_array_equal(function(model, x), function(model, x, model.forward(x).argmax(axis=1)))


@pytest.mark.parametrize("method", METHODS)
def test_a_contrast_gives_the_difference_of_the_two_classes_maps(method, x):
    """The rules are linear in R, and R = e_c - e_b."""
    model, a, b = small_net(), np.array([0, 1, 2]), np.array([2, 2, 0])
    function = getattr(relevance, method)
    both, first, second = function(model, x, a, contrast=b), function(model, x, a), function(model, x, b)
    scale = chain_scale(model, x, a, method) + chain_scale(model, x, b, method)
    assert_same_sums(both, first - second, scale, CHAIN_TERMS + [2])
    assert np.abs(both).max() > 0


@pytest.mark.parametrize("method", METHODS)
def test_float32_model_works_in_float32_and_float64_in_float64(method, x):
    function = getattr(relevance, method)
    a32 = function(small_net(np.float32), x.astype(np.float32), 1)
    a64 = function(small_net(np.float64), x, 1)
    assert a32.dtype == np.float32 and a64.dtype == np.float64
    np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-4 * np.abs(a64).max())


@pytest.mark.parametrize("method", METHODS)
def test_attribution_dispatch_returns_float32_of_the_input_shape(method, x):
    got = attribution(small_net(np.float32), x.astype(np.float32), method)
    assert got.dtype == np.float32 and got.shape == x.shape and np.isfinite(got).all()


def test_a_class_out_of_range_is_refused(x):
    with pytest.raises(NpnetError, match="out of range"):
        relevance.lrp_epsilon(small_net(), x, 3)


# -- against zennit, on the PyTorch twin ----------------------------------------------------------------------
def import_zennit_or_skip():
    from npnet.bench.reference_methods import import_zennit
    zennit, note = import_zennit()                  # beside a torchvision that fails to load, as the bench
    if zennit is None:
        pytest.skip(f"the relevance extra: pip install -e '.[relevance]' ({note})")
    return zennit


@pytest.mark.parametrize("method", METHODS)
def test_each_composite_gives_the_twins_layers_the_rules_zennit_gives_them(method):
    pytest.importorskip("torch", reason="the relevance extra: pip install -e '.[relevance]'")
    from npnet.bench.reference_methods import ZENNIT, zennit_composite
    from npnet.bench.torch_twin import from_npnet
    zennit = import_zennit_or_skip()
    model = seed_net()
    composite = zennit_composite(zennit, ZENNIT[method], low=-0.5, high=0.5)
    context, theirs = {}, {}
    for name, module in from_npnet(model).named_modules():
        hook = composite.module_map(context, name, module)
        theirs[name] = type(hook).__name__ if hook is not None else "gradient"
    ours = dict(zip([layer.name for layer in model.layers], rule_names(model, COMPOSITE_OF[method])))
    zennit_names = {"epsilon": "Epsilon", "zplus": "ZPlus", "alpha_beta": "AlphaBeta", "gamma": "Gamma",
                    "zbox": "ZBox", "flat": "Flat", "gradient": "gradient"}
    assert {name: theirs[name] for name in ours} == {name: zennit_names[rule] for name, rule in ours.items()}
    assert {theirs[f"{layer.name}_relu"] for layer in model.layers if getattr(layer, "activation", None)} == {"Pass"}


def zennit_case():
    """A seed net with random biases and the seed preprocessing (so the box is [-0.5, 0.5]), float32."""
    model = with_random_biases(seed_net(seed=6), seed=7)
    model.preprocessing = {"name": "seed"}
    images = np.random.default_rng(8).integers(0, 256, (4, 32, 32, 3)).astype(np.float32) / 255 - 0.5
    return model, images.astype(np.float32)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_equals_zennits_composite_on_the_pytorch_twin(method):
    torch = pytest.importorskip("torch", reason="the relevance extra: pip install -e '.[relevance]'")
    from npnet.bench.reference_methods import ZENNIT, zennit_runner
    from npnet.bench.torch_twin import from_npnet
    zennit = import_zennit_or_skip()
    model, x = zennit_case()
    classes = model.forward(x).argmax(axis=1)
    box = {"low": -0.5, "high": 0.5} if method == "lrp_epsilon_gamma_box" else {}
    theirs = zennit_runner(zennit, ZENNIT[method], from_npnet(model).eval(), torch.from_numpy(x), classes, **box)()
    ours = attribution(model, x, method, classes)
    # float32 on both sides, the same sums and ratios in other orders through every layer (the largest
    # entry of each image bounds its terms' scale, as for the other references)
    scale = np.abs(theirs.numpy()).max(axis=(1, 2, 3), keepdims=True)
    assert_same_sums(ours, theirs.numpy(), scale, [43, 64, 128, 256, 1152, 512, 128, 27])
