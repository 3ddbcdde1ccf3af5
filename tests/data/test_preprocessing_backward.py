"""preprocess_backward: each method's backward against central differences of its forward in float64
(relative error < 1e-6), float32 against float64 within the rounding of their sums, and the float32
path against differences of ``preprocess`` itself.

The float64 forwards are preprocessing.py's own functions called on float64 arrays (``preprocess``
casts to float32); 'seed' and 'standardize' are one line each inside ``preprocess``, written out here.
Test pixels are float32 values held in float64, so both precisions see the same images, and every
image is checked to be away from the kinks a step could cross: a clip bound, a tie of a max, a tie
of two luminances.
"""
import numpy as np
import pytest
from tolerances import assert_same_sums, rounding_tolerance

from npnet.data import preprocessing as pre
from npnet.data.preprocessing_backward import gaussian_blur_adjoint, preprocess_backward
from npnet.engine.gradcheck import numerical_gradient, rel_error

TOLERANCE = 1e-6
STEP = 1e-4            # grey levels: the float64 central differences' step
STANDARDIZE = {"name": "standardize", "mean": [120.5, 110.25, 100.0], "std": [60.5, 55.0, 70.25]}
SPECS = {name: STANDARDIZE if name == "standardize" else {"name": name} for name in pre.PREPROCESSING_METHODS}
# How far from a kink each quantity must be: 10 times what a STEP can move it or more. A STEP moves
# u by less than 2 STEP / d < 2e-5 (d > 10 here), a luminance by 0.6 STEP, w = x Y'/Y by at most
# 7 (255 / 20) STEP < 0.01 (Y >= 20), s and M by at most 2 STEP (|ds| <= max |dv| in the window).
MARGINS = {"|u| - 4": 2e-4, "std - floor": 1e-2, "luminance gap": 1e-2, "255 - w": 0.1,
           "s - M": 1e-3, "max(s, M) - 1": 1e-3}


def forward64(spec):
    name = spec["name"]
    if name == "seed":
        return lambda x: x / 255 - 0.5
    if name == "standardize":
        mean, std = np.array(spec["mean"]), np.array(spec["std"])
        return lambda x: (x - mean) / std
    if name == "equalize":
        return lambda x: pre.image_standardize(pre.equalize_luminance(x))
    return {"image_standardize": pre.image_standardize, "center_standardize": pre.center_standardize,
            "lcn": pre.local_contrast_normalize}[name]


def pixels(rng, low, high, shape):
    """Uniform values in [low, high) that float32 holds exactly, as float64."""
    return rng.uniform(low, high, shape).astype(np.float32).astype(np.float64)


def example(method, size=8, seed=0):
    """Two size x size RGB images for ``method`` and a float32-valued dout. center_standardize's
    centre holds 100..140 (std 11.5), so a background out of 54..186 is clipped; equalize's pixels
    are >= 20, so no luminance is near the floor 1."""
    rng = np.random.default_rng(seed)
    shape = (2, size, size, 3)
    x = pixels(rng, 20 if method == "equalize" else 0, 250 if method == "equalize" else 255, shape)
    if method == "center_standardize":
        q = size // 4
        x[:, q:size - q, q:size - q] = pixels(rng, 100, 140, (2, size - 2 * q, size - 2 * q, 3))
    return x, rng.standard_normal(shape).astype(np.float32).astype(np.float64)


def kink_distances(method, x):
    """The distance of x from each kink of method's forward, in the units of the quantity with the kink."""
    N, H, W, C = x.shape
    if method == "image_standardize":
        return {"std - floor": np.abs(x.std(axis=(1, 2, 3)) - 1 / np.sqrt(H * W * C)).min()}
    if method == "center_standardize":
        q = H // 4
        center = x[:, q:H - q, q:W - q]
        return {"|u| - 4": np.abs(np.abs(pre.center_standardize(x, limit=np.inf)) - 4).min(),
                "std - floor": np.abs(center.std(axis=(1, 2, 3)) - 1 / np.sqrt(center[0].size)).min()}
    if method == "equalize":
        luminance, w = equalize_parts(x)[:2]
        return {"luminance gap": np.diff(np.sort(luminance.reshape(N, -1), axis=1), axis=1).min(),
                "255 - w": np.abs(255 - w).min()}
    if method == "lcn":
        s, mean_contrast = lcn_contrast(x)
        return {"s - M": np.abs(s - mean_contrast)[s > 0].min(),
                "max(s, M) - 1": np.abs(np.maximum(s, mean_contrast) - 1).min()}
    return {}


def assert_away_from_kinks(method, x):
    for name, distance in kink_distances(method, x).items():
        assert distance > MARGINS[name], f"{method}: {name} is {distance:.3g}, within {MARGINS[name]} of a kink"


def equalize_parts(x):
    """Luminance Y (N, H, W), w = x Y'/max(Y, 1) before the clip (N, H, W, 3), Y' (N, H, W)."""
    N, H, W, _ = x.shape
    luminance = x @ pre.LUMINANCE.astype(np.float64)
    ranks = luminance.reshape(N, -1).argsort(axis=1, kind="stable").argsort(axis=1).reshape(luminance.shape)
    equalized = 255 * (ranks + 0.5) / (H * W)
    return luminance, x * (equalized / np.maximum(luminance, 1))[..., None], equalized


def lcn_contrast(x):
    """s = sqrt(G * v^2) (N, H, W, 1) and the image's mean contrast M (N, 1, 1, 1)."""
    v = x - pre.gaussian_blur(x)
    s = np.sqrt(pre.gaussian_blur(v * v))
    return s, s.mean(axis=(1, 2, 3), keepdims=True)


def check_full_gradient(spec, x, dout):
    """rel_error of preprocess_backward against central differences at every entry of x."""
    forward, x = forward64(spec), x.copy()
    numeric, _ = numerical_gradient(lambda: float(np.sum(dout * forward(x))), x, np.arange(x.size), STEP)
    return rel_error(preprocess_backward(x, spec, dout), numeric)


def check_directions(spec, x, dout, count=3, seed=1):
    """rel_error of <dx, e> against central differences along ``count`` random unit directions e."""
    forward, rng = forward64(spec), np.random.default_rng(seed)
    dx = preprocess_backward(x, spec, dout)
    analytic, numeric = [], []
    for _ in range(count):
        e = rng.standard_normal(x.shape)
        e /= np.linalg.norm(e)
        analytic.append(np.sum(dx * e))
        numeric.append((np.sum(dout * forward(x + STEP * e)) - np.sum(dout * forward(x - STEP * e))) / (2 * STEP))
    return rel_error(np.array(analytic), np.array(numeric))


@pytest.mark.parametrize("method", pre.PREPROCESSING_METHODS)
def test_backward_matches_finite_differences(method):
    x, dout = example(method)
    assert_away_from_kinks(method, x)
    assert check_full_gradient(SPECS[method], x, dout) < TOLERANCE


@pytest.mark.parametrize("method", ["center_standardize", "lcn"])
def test_backward_matches_directional_differences_on_32x32_images(method):
    x, dout = example(method, size=32)
    assert_away_from_kinks(method, x)
    assert check_directions(SPECS[method], x, dout) < TOLERANCE


def test_center_standardize_backward_passes_nothing_where_the_output_is_clipped():
    x, dout = example("center_standardize", size=32)
    clipped = np.abs(pre.center_standardize(x, limit=np.inf)) > 4
    dx = preprocess_backward(x, SPECS["center_standardize"], dout)
    assert clipped.sum() > 1000 and np.all(dx[clipped] == 0) and np.all(dx[~clipped] != 0)


def test_image_standardize_backward_below_the_floor_matches_finite_differences(rng):
    x = 100 + pixels(rng, -0.05, 0.05, (2, 8, 8, 3))                   # std 0.03 < floor 1/sqrt(192) = 0.072
    assert np.all(x.std(axis=(1, 2, 3)) < 1 / np.sqrt(192) - MARGINS["std - floor"])
    assert check_full_gradient(SPECS["image_standardize"], x, rng.standard_normal(x.shape)) < TOLERANCE


def test_lcn_backward_matches_finite_differences_on_every_branch_of_the_max(rng):
    """Image 0 (random pixels) has pixels where s wins and where the mean contrast M wins; image 1, a
    flat grey with faint noise and one brighter pixel, has M < 1: s wins near that pixel, the floor
    elsewhere."""
    x = pixels(rng, 0, 255, (2, 8, 8, 3))
    x[1] = 100 + pixels(rng, -0.3, 0.3, (8, 8, 3))
    x[1, 3, 4] += 6
    s, mean_contrast = lcn_contrast(x)
    wins_s, wins_mean = (s > mean_contrast) & (s > 1), (mean_contrast >= s) & (mean_contrast > 1)
    wins_floor = np.maximum(s, mean_contrast) <= 1
    assert wins_s[0].any() and wins_mean[0].any() and wins_s[1].any() and wins_floor[1].any()
    assert_away_from_kinks("lcn", x)
    assert check_full_gradient(SPECS["lcn"], x, rng.standard_normal(x.shape)) < TOLERANCE


def test_lcn_backward_where_a_window_is_flat_is_finite_and_matches_finite_differences(rng):
    """Black but for a 4 x 4 patch in a corner: more than two window radii (2 x 4) from it, in rows or
    columns 12..15, s = 0 exactly (no derivative; central differences see 0, as the backward uses),
    while the mean contrast M > 1 passes gradient to every s, those zeros included."""
    x = np.zeros((1, 16, 16, 3))
    x[:, :4, :4] = pixels(rng, 0, 255, (1, 4, 4, 3))
    s, mean_contrast = lcn_contrast(x)
    assert (s == 0).sum() > 100 and mean_contrast.min() > 1
    assert_away_from_kinks("lcn", x)
    dout = rng.standard_normal(x.shape)
    with np.errstate(all="raise"):
        assert np.all(np.isfinite(preprocess_backward(x, SPECS["lcn"], dout)))
    assert check_full_gradient(SPECS["lcn"], x, dout) < TOLERANCE


def test_gaussian_blur_adjoint_satisfies_the_dot_product_identity(rng):
    x, dout = rng.uniform(0, 255, (2, 12, 10, 3)), rng.standard_normal((2, 12, 10, 1))
    forward, adjoint = np.sum(pre.gaussian_blur(x) * dout), np.sum(x * gaussian_blur_adjoint(dout, 3))
    scale = np.sum(pre.gaussian_blur(x) * np.abs(dout))        # x >= 0: |x| = x
    assert_same_sums(adjoint, forward, scale, terms=[3, 9, 9, x.size])


def region_scale(x, g, rows, cols):
    """The rounding scale of ``_region_standardize_backward``'s dx: |g| / d for the direct path, plus
    the region's sums with u's magnitude (|x| + m) / d in place of u (x >= 0, g >= 0)."""
    region = x[:, rows, cols]
    Q = region[0].size
    mean = region.mean(axis=(1, 2, 3), keepdims=True)
    d = np.maximum(region.std(axis=(1, 2, 3), keepdims=True), 1 / np.sqrt(Q))
    u_magnitude = (x + mean) / d
    scale = g / d
    scale[:, rows, cols] += (g.sum(axis=(1, 2, 3), keepdims=True)
                             + u_magnitude[:, rows, cols] * (g * u_magnitude).sum(axis=(1, 2, 3), keepdims=True)) / (Q * d)
    return scale


def lcn_scale(x, g):
    """The rounding scale of lcn_backward's dx: each quantity's error (in units of the rounding),
    carried forward beside its magnitude (x >= 0, g = |dout|). Returns (scale, terms of the chain)."""
    N, H, W, C = x.shape
    blur, adjoint = pre.gaussian_blur, (lambda z: gaussian_blur_adjoint(z, C))
    v = x - blur(x)
    v_err = x + blur(x)
    s, M = lcn_contrast(x)
    s_err = (blur(2 * np.abs(v) * v_err) + s * s) / (2 * s)
    M_err = s_err.mean(axis=(1, 2, 3), keepdims=True) + M
    kept = np.maximum(s, M) > 1
    own = s > M
    d = np.maximum(np.maximum(s, M), 1)
    d_err = np.where(own, s_err, M_err) * kept
    dd_abs = (g * np.abs(v)).sum(axis=3, keepdims=True) / d**2 * kept
    dd_err = ((g * (v_err + np.abs(v))).sum(axis=3, keepdims=True) / d**2 + 2 * dd_abs * d_err / d) * kept
    dmean_abs = (dd_abs * ~own).sum(axis=(1, 2, 3), keepdims=True)
    dmean_err = (dd_err * ~own).sum(axis=(1, 2, 3), keepdims=True) + dmean_abs
    ds_abs, ds_err = dd_abs * own + dmean_abs / (H * W), dd_err * own + dmean_err / (H * W)
    dq_abs, dq_err = ds_abs / (2 * s), ds_err / (2 * s) + ds_abs * (s + s_err) / (2 * s**2)
    t_abs = adjoint(dq_abs)
    t_err = adjoint(dq_err) + t_abs
    dv_abs = g / d + 2 * np.abs(v) * t_abs
    dv_err = g * (d + d_err) / d**2 + 2 * (v_err * t_abs + np.abs(v) * t_err) + dv_abs
    scale = dv_err + adjoint(dv_err.sum(axis=3, keepdims=True)) + adjoint(dv_abs.sum(axis=3, keepdims=True))
    blur_terms = [C, 9, 9]                                   # channels, then the separable window
    return scale, blur_terms * 2 + [H * W, C, H * W, 9, 9, C, 9, 9]


def backward_scale(method, x, dout):
    """preprocess_backward's rounding scale and terms for ``rounding_tolerance`` (tests/tolerances.py):
    per entry, how large the terms are whose roundings reach dx (a magnitude for each stage's
    relative error, carried to dx), and the terms of the sums along the way."""
    N, H, W, C = x.shape
    g, P = np.abs(dout), H * W * C
    if method == "seed":
        return g / 255, [1]
    if method == "standardize":
        return g / np.array(STANDARDIZE["std"]), [1]
    if method == "image_standardize":
        return region_scale(x, g, slice(None), slice(None)), [P, P]
    if method == "center_standardize":
        q = H // 4
        g = g * (np.abs(pre.center_standardize(x, limit=np.inf)) <= 4)
        return region_scale(x, g, slice(q, H - q), slice(q, W - q)), [(H - 2 * q) * (W - 2 * q) * C, P]
    if method == "equalize":
        luminance, w, equalized = equalize_parts(x)
        dw = region_scale(np.clip(w, 0, 255), g, slice(None), slice(None)) * (w <= 255)
        ratio = (equalized / np.maximum(luminance, 1))[..., None]
        slope = (equalized / luminance**2 * (luminance > 1))[..., None]
        return dw * ratio + pre.LUMINANCE * (dw * x).sum(axis=3, keepdims=True) * slope, [P, P, C]
    return lcn_scale(x, g)


@pytest.mark.parametrize("method", pre.PREPROCESSING_METHODS)
def test_float32_backward_equals_float64_within_the_rounding_of_its_sums(method):
    x, dout = example(method)
    assert_away_from_kinks(method, x)
    dx32 = preprocess_backward(x.astype(np.float32), SPECS[method], dout.astype(np.float32))
    assert dx32.dtype == np.float32
    scale, terms = backward_scale(method, x, dout)
    assert_same_sums(dx32, preprocess_backward(x, SPECS[method], dout), scale, terms, method, computed_in=np.float32)


def preprocess_scale(method, x):
    """The rounding scale and terms of preprocess(x)'s float32 entries: 'seed' rounds x / 255 and the
    shift; center_standardize carries m's and s's sums through (x - m) / d (0 where clipped)."""
    if method == "seed":
        return x / 255 + 0.5, [1]
    H, W = x.shape[1:3]
    q = H // 4
    center = x[:, q:H - q, q:W - q]
    mean = center.mean(axis=(1, 2, 3), keepdims=True)
    d = np.maximum(center.std(axis=(1, 2, 3), keepdims=True), 1 / np.sqrt(center[0].size))
    u = (x - mean) / d
    return ((x + mean) / d + np.abs(u)) * (np.abs(u) <= 4), [center[0].size, 1]


def whole_grey_levels(method, rng):
    """One 32 x 32 image of whole grey levels 0..255 (a uint8 image). center_standardize: a centre of
    80..160 (std 23, so a background below 28 or above 212 is clipped) and a background whose u stays
    0.3 from +-4, more than ten times the 0.5 / 23 a readout test's step moves it."""
    x = rng.integers(0, 256, (1, 32, 32, 3)).astype(np.float64)
    if method == "center_standardize":
        center = rng.integers(80, 161, (1, 16, 16, 3)).astype(np.float64)
        levels = np.arange(256)
        u = (levels - center.mean()) / center.std()
        x = rng.choice(levels[np.abs(np.abs(u) - 4) > 0.3], size=x.shape).astype(np.float64)
        x[:, 8:24, 8:24] = center
    return x


@pytest.mark.parametrize("method", ["seed", "center_standardize"])
def test_float32_backward_through_a_linear_readout_matches_differences_of_preprocess(method, rng):
    """L = sum(weights * preprocess(x)), float32 as the engine runs it, differenced at x +- e/2 with
    e = sign(weights) (half a grey level at every pixel, exact in float32), against <dx, e>.

    The tolerance is rounding only: that of preprocess's entries at both ends (weighted by |weights|,
    divided by the step) plus the backward's (``backward_scale``). The step's truncation error is
    measured in float64 and must be under a tenth of it (about 1% here: third order, (h / std)^2)."""
    spec, x, h = SPECS[method], whole_grey_levels(method, rng), 0.5
    weights = rng.standard_normal(x.shape).astype(np.float32)
    e = np.sign(weights).astype(np.float64)
    plus, minus = (pre.preprocess((x + sign * h * e).astype(np.float32), spec).astype(np.float64)
                   for sign in (1, -1))
    differences = np.sum(weights * (plus - minus)) / (2 * h)
    derivative = np.sum(preprocess_backward(x.astype(np.float32), spec, weights).astype(np.float64) * e)
    tolerance = np.sum(np.abs(weights) * sum(rounding_tolerance(*preprocess_scale(method, x + sign * h * e))
                                             for sign in (1, -1))) / (2 * h)
    tolerance += np.sum(np.abs(e) * rounding_tolerance(*backward_scale(method, x, weights.astype(np.float64))))
    forward = forward64(spec)
    truncation = (np.sum(weights * (forward(x + h * e) - forward(x - h * e))) / (2 * h)
                  - np.sum(preprocess_backward(x, spec, weights.astype(np.float64)) * e))
    assert abs(truncation) < tolerance / 10
    assert abs(differences - derivative) <= tolerance


def test_backward_returns_grad_outputs_float_dtype():
    images = np.random.default_rng(0).integers(0, 256, (1, 8, 8, 3)).astype(np.uint8)
    for dtype in (np.float32, np.float64):
        assert preprocess_backward(images, {"name": "lcn"}, np.ones(images.shape, dtype)).dtype == dtype


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown preprocessing spec .*sharpen"):
        preprocess_backward(np.zeros((1, 2, 2, 3)), {"name": "sharpen"}, np.zeros((1, 2, 2, 3)))


def test_a_grad_output_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="grad_output has shape"):
        preprocess_backward(np.zeros((1, 4, 4, 3)), {"name": "seed"}, np.zeros((1, 4, 4, 1)))
