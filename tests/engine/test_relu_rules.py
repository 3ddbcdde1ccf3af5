"""The ReLU backward rules: the derivative (default), guided backprop's and deconvnet's, in every ReLU."""
import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, ReLU
from npnet.engine.layers.relu_rules import relu_backward
from npnet.engine.model import Sequential

OUT = np.array([[0.0, 2.0, 0.0, 1.5]])     # forward output: units 2 and 4 active
DOUT = np.array([[3.0, -1.0, -2.0, 4.0]])  # gradient arriving from above


@pytest.mark.parametrize("rule, expected", [
    ("gradient", [[0.0, -1.0, 0.0, 4.0]]),    # dout where active
    ("guided", [[0.0, 0.0, 0.0, 4.0]]),       # positive dout where active
    ("deconvnet", [[3.0, 0.0, 0.0, 4.0]]),    # positive dout, the mask ignored
])
def test_each_rule_on_a_hand_worked_case(rule, expected):
    np.testing.assert_array_equal(relu_backward(DOUT, OUT, rule), expected)


def test_rules_leave_dout_unchanged():
    dout = DOUT.copy()
    relu_backward(dout, OUT, "deconvnet")
    relu_backward(dout, OUT, "guided")
    np.testing.assert_array_equal(dout, DOUT)


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
def test_fused_relu_in_dense_and_conv_follows_the_rule_like_a_relu_layer(rule):
    rng = np.random.default_rng(0)
    fused = Sequential([Dense(5, activation="relu"), Dense(2)], input_shape=(4,), seed=1).astype(np.float64)
    split = Sequential([Dense(5), ReLU(), Dense(2)], input_shape=(4,), seed=1).astype(np.float64)
    x, dlogits = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    fused.forward(x), split.forward(x)
    np.testing.assert_allclose(fused.backward(dlogits, param_grads=False, relu_rule=rule),
                               split.backward(dlogits, param_grads=False, relu_rule=rule), rtol=1e-12)
    conv_fused = Sequential([Conv2D(3, 2, activation="relu"), Conv2D(2, 2)], input_shape=(5, 5, 2),
                            seed=2).astype(np.float64)
    conv_split = Sequential([Conv2D(3, 2), ReLU(), Conv2D(2, 2)], input_shape=(5, 5, 2),
                            seed=2).astype(np.float64)
    x, dout = rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(2, 3, 3, 2))
    conv_fused.forward(x), conv_split.forward(x)
    np.testing.assert_allclose(conv_fused.backward(dout, param_grads=False, relu_rule=rule),
                               conv_split.backward(dout, param_grads=False, relu_rule=rule), rtol=1e-12)


def test_guided_rule_differs_from_the_gradient():
    model = Sequential([Dense(8, activation="relu"), Dense(8, activation="relu"), Dense(3)],
                       input_shape=(5,), seed=0).astype(np.float64)
    x, dlogits = np.random.default_rng(1).normal(size=(4, 5)), np.eye(3)[[0, 1, 2, 0]]
    model.forward(x)
    gradient = model.backward(dlogits, param_grads=False)
    guided = model.backward(dlogits, param_grads=False, relu_rule="guided")
    assert not np.allclose(gradient, guided)


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
def test_a_rule_that_is_not_the_derivative_refuses_weight_gradients(rule):
    model = Sequential([Dense(3, activation="relu"), Dense(2)], input_shape=(4,))
    model.forward(np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="param_grads=False"):
        model.backward(np.ones((1, 2), dtype=np.float32), relu_rule=rule)


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="gradient, guided, deconvnet"):
        relu_backward(DOUT, OUT, "leaky")



@pytest.mark.parametrize("rule", ["gradient", "guided", "deconvnet"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shortest_run", [0, 16], ids=["dx_over_winners", "conv2d_1_dx_in_two_steps"])
def test_the_one_step_conv_pool_backward_follows_each_rule_like_the_two_steps(rule, dtype, shortest_run,
                                                                              monkeypatch):
    """The fused conv -> pool backward (taken when output gradients are not kept) gives the input
    gradient of the two-step backward under every rule, up to the order of the additions: the rule
    acts at each window's winner, and the pool gives the losers 0 under every rule. conv2d_1's dx
    (runs of 3 x 3 channels) sums over the winners too when ``shortest_run_for_winners_only`` is 0."""
    from npnet.engine.layers import Conv2D
    from npnet.engine.seed_net import seed_net
    from tolerances import assert_same_sums, backward_magnitudes, backward_terms
    monkeypatch.setattr(Conv2D, "shortest_run_for_winners_only", shortest_run)
    net = seed_net(seed=5).astype(dtype)
    x = np.random.default_rng(1).random((3, 32, 32, 3)).astype(dtype)          # >= 0: see backward_magnitudes
    dlogits = np.random.default_rng(2).standard_normal((3, 43)).astype(dtype)
    net.forward(x)
    net.backward(dlogits)                  # weight gradients exist (backward_magnitudes restores them)
    two_steps = net.backward(dlogits, param_grads=False, keep_output_grads=True, relu_rule=rule).copy()
    one_step = net.backward(dlogits, param_grads=False, fuse_conv_pool=True, relu_rule=rule).copy()
    scale, _ = backward_magnitudes(net, dlogits, param_grads=False, relu_rule=rule)
    assert np.abs(two_steps).max() > 0
    assert_same_sums(one_step, two_steps, scale, backward_terms(net, 3))


def test_the_one_step_backward_without_weight_gradients_leaves_them_untouched():
    from npnet.engine.seed_net import seed_net
    net = seed_net(seed=5)
    x = np.random.default_rng(1).standard_normal((2, 32, 32, 3)).astype(np.float32)
    net.forward(x)
    net.backward(np.ones((2, 43), np.float32))                                  # fills the weight gradients
    before = {key: value.copy() for key, value in net.grads().items()}
    net.backward(np.ones((2, 43), np.float32), param_grads=False, fuse_conv_pool=True, relu_rule="guided")
    for key, value in net.grads().items():
        np.testing.assert_array_equal(value, before[key])
