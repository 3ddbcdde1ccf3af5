"""Each layer's forward against an independent computation, and its backward against finite
differences (float64, relative error < 1e-6)."""
import numpy as np
import pytest

from npnet.engine import ops
from npnet.engine.gradcheck import check_layer
from npnet.engine.ops import reference
from npnet.engine.ops.reference import conv2d_loops
from npnet.engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from npnet.runtime import slicing
from tolerances import assert_same_sums, conv_magnitudes, conv_terms

TOLERANCE = 1e-6


def build(layer, input_shape, seed=0):
    layer.name = layer.name or "layer_under_test"
    layer.build((None,) + tuple(input_shape), np.random.default_rng(seed))
    return layer.astype(np.float64)


def away_from_zero(rng, shape, margin=0.05):
    """Values with |x| >= margin, so no ReLU sits on its kink during a finite difference."""
    return rng.choice([-1.0, 1.0], size=shape) * (margin + rng.random(shape))


def distinct_values(rng, shape):
    """A shuffled ramp: every pooling window has one clear winner (gaps of 1e-2 >> eps)."""
    return rng.permutation(np.arange(np.prod(shape)) * 1e-2).reshape(shape)


@pytest.fixture(params=["fast", "reference"])
def kernel_choice(request):
    ops.use(request.param)
    yield request.param
    ops.use("fast")


@pytest.mark.parametrize("kernel_size", [1, 2, 3])
def test_conv2d_forward_matches_naive_loops(rng, kernel_choice, kernel_size):
    layer = build(Conv2D(4, kernel_size), (7, 6, 3))
    layer.params["bias"] = rng.standard_normal(4)
    x = rng.standard_normal((2, 7, 6, 3))
    np.testing.assert_allclose(layer.forward(x), conv2d_loops(x, **layer.params), rtol=1e-10)


def test_conv2d_accepts_a_non_contiguous_view(rng, kernel_choice):
    layer = build(Conv2D(4, 3), (7, 6, 3))
    x = rng.standard_normal((2, 7, 6, 3))[:, ::-1, :, ::-1]          # rows and channels reversed
    np.testing.assert_allclose(layer.forward(x), conv2d_loops(x, **layer.params), rtol=1e-10)


def test_conv2d_same_padding_keeps_size_and_pads_bottom_right_for_even_kernels(rng):
    layer = build(Conv2D(3, 2, padding="same"), (5, 5, 2))
    x = rng.standard_normal((1, 5, 5, 2))
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))
    np.testing.assert_allclose(layer.forward(x), conv2d_loops(padded, **layer.params), rtol=1e-10)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv2d_gradients(rng, kernel_choice, padding, activation):
    layer = build(Conv2D(5, 3, activation=activation, padding=padding), (6, 7, 3))
    layer.params["bias"] = rng.standard_normal(5)
    errors, skipped = check_layer(layer, rng.standard_normal((2, 6, 7, 3)), return_skipped=True)
    assert max(errors.values()) < TOLERANCE, errors
    assert sum(skipped.values()) < 5, skipped


def test_conv2d_gradients_batch_of_one_with_odd_kernel(rng):
    layer = build(Conv2D(3, (2, 3), activation="relu"), (5, 4, 2))
    assert max(check_layer(layer, rng.standard_normal((1, 5, 4, 2))).values()) < TOLERANCE


def test_conv2d_gradients_when_every_image_is_its_own_slice(rng, kernel_choice, monkeypatch):
    monkeypatch.setattr(slicing, "SLICE_BYTES", 1)
    layer = build(Conv2D(4, 2, activation="relu", padding="same"), (5, 6, 3))
    layer.params["bias"] = rng.standard_normal(4)
    assert len(slicing.image_slices(3, 1)) == 3
    assert max(check_layer(layer, rng.standard_normal((3, 5, 6, 3))).values()) < TOLERANCE


def run_conv2d(layer, x, dout, training=True):
    output = layer.forward(x, training=training).copy()
    dx = layer.backward(dout)
    return output, dx, {key: value.copy() for key, value in layer.grads.items()}


def test_conv2d_results_do_not_depend_on_the_slicing(rng, kernel_choice, monkeypatch):
    layer = build(Conv2D(6, 3, activation="relu"), (9, 8, 4)).astype(np.float32)
    x = rng.standard_normal((7, 9, 8, 4)).astype(np.float32)
    dout = rng.standard_normal((7, 7, 6, 6)).astype(np.float32)
    whole = run_conv2d(layer, x, dout)
    monkeypatch.setattr(slicing, "SLICE_BYTES", 2 * 7 * 6 * 3 * 3 * 4 * 4)   # 2 images a slice
    assert len(slicing.image_slices(7, 7 * 6 * 3 * 3 * 4 * 4)) == 4
    sliced = run_conv2d(layer, x, dout)
    # products of other shapes: BLAS may add in another order, so equal up to float32 rounding
    kernel, cols = layer.params["kernel"], layer.cols
    dz = dout * (whole[0] > 0)
    forward_scale = (np.abs(cols).reshape(-1, 36).astype(np.float64) @ np.abs(kernel).reshape(36, 6)
                     + np.abs(layer.params["bias"])).reshape(whole[0].shape)
    assert_same_sums(sliced[0], whole[0], forward_scale, 36 + 1)
    scale, terms = conv_magnitudes(cols, dz, kernel, x.shape), conv_terms(dz, kernel)
    assert_same_sums(sliced[1], whole[1], scale["input"], terms["input"])
    for key in whole[2]:
        assert_same_sums(sliced[2][key], whole[2][key], scale[key], terms[key], err_msg=key)


def test_conv2d_keeps_patches_only_when_training(rng):
    layer = build(Conv2D(3, 2), (5, 5, 2))
    layer.forward(rng.standard_normal((2, 5, 5, 2)), training=False)
    assert layer.cols is None
    layer.forward(rng.standard_normal((2, 5, 5, 2)), training=True)
    assert layer.cols.shape == (2, 4, 4, 2, 2, 2)


def test_conv2d_backward_after_an_inference_forward_equals_after_a_training_forward(rng, kernel_choice):
    layer = build(Conv2D(4, 3, activation="relu"), (6, 7, 3))
    layer.params["bias"] = rng.standard_normal(4)
    x, dout = rng.standard_normal((2, 6, 7, 3)), rng.standard_normal((2, 4, 5, 4))
    after_training = run_conv2d(layer, x, dout, training=True)
    after_inference = run_conv2d(layer, x, dout, training=False)
    for trained, inferred in zip(after_training[:2], after_inference[:2]):
        np.testing.assert_array_equal(trained, inferred)
    for key in after_training[2]:
        np.testing.assert_allclose(after_inference[2][key], after_training[2][key], rtol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("pool_size", [2, 3])
@pytest.mark.parametrize("shortest_run", [0, 16], ids=["dx_over_winners", "dx_in_two_steps_for_short_runs"])
def test_conv2d_backward_through_pool_equals_pool_then_conv_backward(rng, kernel_choice, padding, activation,
                                                                     pool_size, shortest_run, monkeypatch):
    monkeypatch.setattr(Conv2D, "shortest_run_for_winners_only", shortest_run)    # kw * C is 6 here
    conv = build(Conv2D(5, 2, activation=activation, padding=padding), (8, 7, 3))
    pool = build(MaxPool2D(pool_size), conv.output_shape[1:])       # 7x6 or 8x7: leftovers dropped
    conv.params["bias"] = rng.standard_normal(5)
    x = rng.standard_normal((3, 8, 7, 3))
    pooled = pool.forward(conv.forward(x, training=True))
    dpooled = rng.standard_normal(pooled.shape)
    dx_two_steps = conv.backward(pool.backward(dpooled))
    two_steps = {key: value.copy() for key, value in conv.grads.items()}
    dx_one_step = conv.backward_through_pool(dpooled, pool)
    dz = reference.winner_gradients(dpooled, pool.output, pool.argmax, conv.output.shape, pool_size,
                                    activation == "relu")
    scale = conv_magnitudes(conv.cols, dz, conv.params["kernel"], conv.padded_input.shape)
    terms = conv_terms(dz, conv.params["kernel"])
    assert_same_sums(dx_one_step, dx_two_steps, conv.crop_padding(scale["input"]), terms["input"])
    for key in two_steps:
        assert_same_sums(conv.grads[key], two_steps[key], scale[key], terms[key], err_msg=key)
    assert conv.backward_through_pool(dpooled, pool, input_grad=False) is None


def test_conv2d_backward_through_pool_refuses_a_pool_it_did_not_feed(rng):
    conv = build(Conv2D(4, 2, activation="relu"), (8, 8, 3))
    other = build(MaxPool2D(2), (10, 10, 4))        # this conv gives 7x7x4, pooled to 3x3
    conv.forward(rng.standard_normal((2, 8, 8, 3)), training=True)
    pooled = other.forward(rng.standard_normal((2, 10, 10, 4)))
    with pytest.raises(ValueError, match="backward_through_pool"):
        conv.backward_through_pool(np.ones_like(pooled), other)


@pytest.mark.parametrize("activation", [None, "relu"])
def test_dense_gradients(rng, activation):
    layer = build(Dense(6, activation=activation), (9,))
    layer.params["bias"] = rng.standard_normal(6)
    assert max(check_layer(layer, rng.standard_normal((4, 9))).values()) < TOLERANCE


def test_dense_forward_is_affine(rng):
    layer = build(Dense(3), (4,))
    x = rng.standard_normal((2, 4))
    np.testing.assert_allclose(layer.forward(x), x @ layer.params["kernel"] + layer.params["bias"])


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 7, 5, 2)])
def test_maxpool_gradients(rng, kernel_choice, shape):
    layer = build(MaxPool2D(2), shape[1:])
    errors, skipped = check_layer(layer, distinct_values(rng, shape), return_skipped=True)
    assert errors["input"] < TOLERANCE and skipped["input"] == 0


def test_maxpool_drops_leftover_rows_and_columns_like_keras(rng):
    layer = build(MaxPool2D(2), (7, 5, 1))
    x = rng.standard_normal((1, 7, 5, 1))
    out = layer.forward(x)
    assert out.shape == (1, 3, 2, 1)
    assert out[0, 2, 1, 0] == x[0, 4:6, 2:4, 0].max()


def test_maxpool_tied_window_sends_whole_gradient_to_its_first_input(kernel_choice):
    layer = build(MaxPool2D(2), (2, 2, 1))
    layer.forward(np.ones((1, 2, 2, 1)))
    dx = layer.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_relu_gradients_away_from_zero(rng):
    layer = build(ReLU(), (4, 5))
    assert check_layer(layer, away_from_zero(rng, (3, 4, 5)))["input"] < TOLERANCE


def test_relu_derivative_at_exactly_zero_is_zero():
    layer = build(ReLU(), (3,))
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_gradcheck_skips_entries_whose_perturbation_crosses_a_relu_kink():
    layer = build(ReLU(), (2,))
    errors, skipped = check_layer(layer, np.array([[1e-8, 1.0]]), return_skipped=True)
    assert skipped["input"] == 1 and errors["input"] < TOLERANCE


def test_flatten_gradients_and_nhwc_order(rng):
    layer = build(Flatten(), (2, 3, 4))
    x = rng.standard_normal((2, 2, 3, 4))
    np.testing.assert_array_equal(layer.forward(x), x.reshape(2, 24))
    assert check_layer(layer, x)["input"] < TOLERANCE


def test_dropout_gradients_with_mask_held_fixed(rng):
    layer = build(Dropout(0.5, seed=3), (10,))
    assert check_layer(layer, rng.standard_normal((4, 10)))["input"] < TOLERANCE


def test_dropout_is_identity_at_inference(rng):
    layer = build(Dropout(0.5), (10,))
    x = rng.standard_normal((4, 10))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_dropout_zeroes_about_rate_and_keeps_the_mean(rng):
    layer = build(Dropout(0.3, seed=1), (1000,))
    out = layer.forward(np.ones((20, 1000)), training=True)
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02


@pytest.mark.parametrize("rate", [0.3, 0.5, 0.7])
def test_dropout_mask_is_its_definition_bit_for_bit(rate):
    """mask = (u >= rate) / (1 - rate), u the layer's uniforms: computed here in float64, then rounded."""
    layer = build(Dropout(rate, seed=5), (300,))
    x = np.ones((8, 300), dtype=np.float32)
    layer.forward(x, training=True)
    uniform = np.random.default_rng(5).random(x.shape, dtype=np.float32)
    expected = ((uniform >= rate) / (1.0 - rate)).astype(np.float32)
    assert layer.mask.dtype == np.float32
    np.testing.assert_array_equal(layer.mask, expected)


def test_dropout_backward_does_not_modify_dout(rng):
    layer = build(Dropout(0.5), (6,))
    layer.forward(rng.standard_normal((2, 6)), training=True)
    dout = rng.standard_normal((2, 6))
    before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, before)


@pytest.mark.parametrize("make, shape", [(lambda: Conv2D(2, 3), (8, 8, 3)), (lambda: Dense(2), (5,)),
                                         (lambda: MaxPool2D(2), (4, 4, 2))])
def test_wrong_input_shape_names_the_layer_and_both_shapes(make, shape):
    layer = make()
    layer.name = "victim_1"
    layer.build((None,) + shape, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"victim_1: expected float32 input of shape \(None, .*got float32"):
        layer.forward(np.zeros((1,) + shape[:-1] + (shape[-1] + 1,), dtype=np.float32))


def test_wrong_input_dtype_is_refused():
    layer = Dense(2, name="dense_1")
    layer.build((None, 3), np.random.default_rng(0))
    with pytest.raises(ValueError, match="dense_1: expected float32 .* got uint8"):
        layer.forward(np.zeros((1, 3), dtype=np.uint8))
