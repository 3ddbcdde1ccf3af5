"""The seed net: its exact architecture, the Keras-style summary, and Sequential's behaviour."""
import numpy as np
import pytest

from npnet.engine import ops
from npnet.engine.gradcheck import check_model
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.losses import softmax_cross_entropy
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.engine.optimizers import Adam
from npnet.training.step import train_step

from tolerances import assert_same_sums, backward_magnitudes, backward_terms

SEED_TABLE = [
    ("conv2d_1 (Conv2D)", "(None, 30, 30, 32)", 896),
    ("max_pooling2d_1 (MaxPooling2", "(None, 15, 15, 32)", 0),
    ("conv2d_2 (Conv2D)", "(None, 14, 14, 128)", 16512),
    ("max_pooling2d_2 (MaxPooling2", "(None, 7, 7, 128)", 0),
    ("conv2d_3 (Conv2D)", "(None, 6, 6, 128)", 65664),
    ("max_pooling2d_3 (MaxPooling2", "(None, 3, 3, 128)", 0),
    ("flatten_1 (Flatten)", "(None, 1152)", 0),
    ("dropout_1 (Dropout)", "(None, 1152)", 0),
    ("dense_1 (Dense)", "(None, 256)", 295168),
    ("dense_2 (Dense)", "(None, 128)", 32896),
    ("dense_3 (Dense)", "(None, 64)", 8256),
    ("dense_4 (Dense)", "(None, 43)", 2795),
]


def test_seed_net_summary_matches_the_seed_table():
    text = seed_net().summary(print_fn=None)
    rows = [line for line in text.splitlines() if line[:1].isalpha() and "(" in line and "params" not in line]
    parsed = [(row[:29].strip(), row[29:55].strip(), int(row[55:])) for row in rows[1:]]
    assert parsed == SEED_TABLE
    assert text.splitlines()[-4:-1] == ["Total params: 422,187", "Trainable params: 422,187",
                                        "Non-trainable params: 0"]


def test_seed_net_weights_have_keras_shapes():
    shapes = {key: value.shape for key, value in seed_net().params().items()}
    assert shapes["conv2d_1/kernel"] == (3, 3, 3, 32)
    assert shapes["conv2d_3/kernel"] == (2, 2, 128, 128)
    assert shapes["dense_1/kernel"] == (1152, 256)
    assert shapes["dense_4/bias"] == (43,)


def test_weights_are_glorot_uniform_and_biases_zero():
    params = seed_net().params()
    limit = np.sqrt(6 / (1152 + 256))
    assert 0.95 * limit < np.abs(params["dense_1/kernel"]).max() <= limit
    assert not params["dense_1/bias"].any()


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = seed_net(seed=5).params(), seed_net(seed=5).params(), seed_net(seed=6).params()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv2d_1/kernel"], c["conv2d_1/kernel"])


@pytest.mark.parametrize("fuse_conv_pool", [False, True], ids=["layer_by_layer", "conv_and_pool_in_one_step"])
def test_seed_net_gradients_match_finite_differences_with_dropout_mask_fixed(fuse_conv_pool):
    model = seed_net().astype(np.float64)
    x = np.random.default_rng(1).random((2, 32, 32, 3)) - 0.5
    errors, skipped = check_model(model, x, np.array([3, 40]), training=True, max_checks=8,
                                  return_skipped=True, fuse_conv_pool=fuse_conv_pool)
    assert max(errors.values()) < 1e-6, errors
    assert sum(skipped.values()) <= 2, skipped


def test_backward_works_after_an_inference_forward(rng):
    model = seed_net()
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=False), np.array([1, 2]))
    dx = model.backward(dlogits)
    assert dx.shape == x.shape and np.abs(dx).sum() > 0


def test_backward_records_each_layers_output_gradient(rng):
    model = seed_net()
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    model.forward(x)
    dlogits = rng.standard_normal((2, 43)).astype(np.float32)
    model.backward(dlogits)
    conv2d_3 = model.layer("conv2d_3")
    assert conv2d_3.doutput.shape == conv2d_3.output.shape == (2, 6, 6, 128)
    np.testing.assert_array_equal(model.layer("dense_4").doutput, dlogits)


def test_backward_can_drop_output_gradients_and_still_fill_the_weight_gradients(rng):
    # float64: the test is about which gradients the backward fills, not about float32. The two
    # backward passes add in other orders (conv -> pool in one step), and through 11 layers the
    # float32 rounding of their sums is too large to tell a wrong gradient from an honest one
    # (tests/tolerances.py); the float32 kernels of that step are compared in test_ops.py.
    model = seed_net().astype(np.float64)
    x = rng.random((2, 32, 32, 3))
    dlogits = rng.standard_normal((2, 43))
    model.forward(x)
    model.backward(dlogits, fuse_conv_pool=False)
    kept = {key: value.copy() for key, value in model.grads().items()}
    model.forward(x)
    model.backward(dlogits, keep_output_grads=False)
    assert all(layer.doutput is None for layer in model.layers)
    _, scale = backward_magnitudes(model, dlogits)
    for key in kept:   # conv -> pool now goes in one step, summing in another order
        assert_same_sums(model.grads()[key], kept[key], scale[key], backward_terms(model, 2), err_msg=key)


@pytest.mark.parametrize("kernel_name", ["fast", "reference"])
def test_training_backward_through_conv_and_pool_in_one_step_gives_the_same_gradients(rng, kernel_name):
    ops.use(kernel_name)
    try:
        model = seed_net().astype(np.float64)
        x = rng.random((3, 32, 32, 3))
        dlogits = rng.standard_normal((3, 43))
        model.forward(x, training=True)
        dx_two_steps = model.backward(dlogits, fuse_conv_pool=False)
        two_steps = {key: value.copy() for key, value in model.grads().items()}
        dx_one_step = model.backward(dlogits)
        one_step = {key: value.copy() for key, value in model.grads().items()}
        dx_scale, scale = backward_magnitudes(model, dlogits)
    finally:
        ops.use("fast")
    terms = backward_terms(model, 3)
    assert_same_sums(dx_one_step, dx_two_steps, dx_scale, terms)
    for key in two_steps:
        assert_same_sums(one_step[key], two_steps[key], scale[key], terms, err_msg=key)


def test_the_default_backward_records_every_output_gradient_of_the_layer_by_layer_walk(rng):
    model = seed_net().astype(np.float64)
    x = rng.random((2, 32, 32, 3))
    dlogits = rng.standard_normal((2, 43))
    model.forward(x)
    model.backward(dlogits, fuse_conv_pool=False)
    walked = {layer.name: layer.doutput.copy() for layer in model.layers}
    model.backward(dlogits)
    for layer in model.layers:     # above conv2d_3 the same steps; below it, sums in another order
        np.testing.assert_allclose(layer.doutput, walked[layer.name], rtol=1e-9, atol=1e-12, err_msg=layer.name)


def test_a_training_step_takes_each_conv_and_pool_pair_in_one_step(rng, monkeypatch):
    taken = []
    one_step = Conv2D.backward_through_pool
    monkeypatch.setattr(Conv2D, "backward_through_pool",
                        lambda self, *args, **kwargs: taken.append(self.name) or one_step(self, *args, **kwargs))
    model = seed_net()
    train_step(model, Adam(), rng.random((2, 32, 32, 3), dtype=np.float32), np.array([1, 2]))
    assert taken == ["conv2d_3", "conv2d_2", "conv2d_1"]


def test_backward_stopping_at_a_conv_gives_its_output_gradient_without_keeping_the_others(rng):
    model = seed_net()
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    dlogits = rng.standard_normal((2, 43)).astype(np.float32)
    model.forward(x)
    kept = model.backward(dlogits, stop_at="conv2d_3")
    dropped = model.backward(dlogits, stop_at="conv2d_3", keep_output_grads=False)
    np.testing.assert_array_equal(dropped, kept)    # exact: no conv -> pool step above conv2d_3
    assert model.layer("max_pooling2d_3").doutput is None


def test_backward_can_stop_at_a_layer_and_return_its_output_gradient(rng):
    model = seed_net()
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    dlogits = rng.standard_normal((2, 43)).astype(np.float32)
    model.forward(x)
    model.backward(dlogits)
    full = model.layer("conv2d_3").doutput.copy()
    model.forward(x)
    stopped = model.backward(dlogits, stop_at="conv2d_3")
    np.testing.assert_array_equal(stopped, full)


def test_backward_without_param_grads_gives_the_same_input_gradient_and_leaves_grads_alone(rng):
    model = seed_net()
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    dlogits = rng.standard_normal((2, 43)).astype(np.float32)
    model.forward(x)
    full = model.backward(dlogits)
    before = {key: value.copy() for key, value in model.grads().items()}
    model.forward(x)
    only_dx = model.backward(-2 * dlogits, param_grads=False) / -2     # other grads, were they computed
    # the same products in the same order (scaling by -2 is exact), so equal to the bit
    np.testing.assert_array_equal(only_dx, full)
    assert all(np.array_equal(model.grads()[key], before[key]) for key in before)


def test_config_round_trip_rebuilds_the_same_architecture():
    model = seed_net()
    rebuilt = Sequential.from_config(model.get_config())
    assert rebuilt.summary(print_fn=None) == model.summary(print_fn=None)


def test_wrong_image_size_is_refused_naming_the_first_layer():
    with pytest.raises(ValueError, match=r"conv2d_1: expected float32 input of shape \(None, 32, 32, 3\), "
                                         r"got float32 \(1, 28, 28, 3\)"):
        seed_net().forward(np.zeros((1, 28, 28, 3), dtype=np.float32))


def test_uint8_images_are_refused_until_preprocessed():
    with pytest.raises(ValueError, match="got uint8"):
        seed_net().forward(np.zeros((1, 32, 32, 3), dtype=np.uint8))


def test_duplicate_layer_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Sequential([Dense(2, name="a"), Dense(2, name="a")], input_shape=(3,))


def test_a_kernel_larger_than_its_input_is_refused_at_build():
    with pytest.raises(ValueError, match="does not fit"):
        Sequential([Conv2D(2, 3), MaxPool2D(2), Conv2D(2, 3), Flatten()], input_shape=(5, 5, 1))
