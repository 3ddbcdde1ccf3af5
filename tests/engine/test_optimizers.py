"""Optimizers follow their formulas, worked by hand."""
import numpy as np
import pytest

from npnet.engine.optimizers import SGD, Adam


def test_adam_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    # t=1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1, so the step is
    # lr * g / (|g| + eps / sqrt(0.001)) ~ lr * sign(g)
    params = {"w": np.array([1.0, -2.0], dtype=np.float32)}
    Adam(lr=0.1).step(params, {"w": np.array([0.5, -4.0], dtype=np.float32)})
    np.testing.assert_allclose(params["w"], [0.9, -1.9], rtol=1e-5)


def test_adam_two_steps_match_the_keras_formula_worked_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    p = np.array([0.3], dtype=np.float64)
    params = {"p": p}
    adam = Adam(lr=lr)
    m = v = 0.0
    expected = 0.3
    for t, g in [(1, 2.0), (2, -1.0)]:
        adam.step(params, {"p": np.array([g])})
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    assert p[0] == pytest.approx(expected, rel=1e-12)
    assert adam.iterations == 2


def test_adam_state_round_trip_continues_identically():
    grads = {"w": np.array([0.2, -0.7])}
    a_params, b_params = {"w": np.array([1.0, 1.0])}, {"w": np.array([1.0, 1.0])}
    a = Adam()
    a.step(a_params, grads)
    b = Adam()
    b.step(b_params, grads)
    resumed = Adam()
    resumed.load_state(b.state())
    a.step(a_params, grads)
    resumed.step(b_params, grads)
    np.testing.assert_array_equal(a_params["w"], b_params["w"])


def test_sgd_with_momentum_accumulates_velocity():
    params = {"w": np.array([0.0])}
    sgd = SGD(lr=0.1, momentum=0.9)
    sgd.step(params, {"w": np.array([1.0])})   # v = -0.1, w = -0.1
    sgd.step(params, {"w": np.array([1.0])})   # v = -0.09 - 0.1 = -0.19, w = -0.29
    assert params["w"][0] == pytest.approx(-0.29)


def test_adam_weight_decay_shrinks_kernels_and_leaves_biases():
    # zero gradient: Adam's own step is 0, so only the decoupled decay p -= lr * w * p acts
    params = {"dense_1/kernel": np.array([2.0, -1.0]), "dense_1/bias": np.array([2.0, -1.0])}
    zeros = {key: np.zeros(2) for key in params}
    Adam(lr=0.1, weight_decay=0.5).step(params, zeros)
    np.testing.assert_allclose(params["dense_1/kernel"], [2.0 * 0.95, -1.0 * 0.95])
    np.testing.assert_array_equal(params["dense_1/bias"], [2.0, -1.0])


def test_adam_moving_average_starts_at_the_first_step_and_follows_the_weights():
    params = {"w": np.array([1.0])}
    adam = Adam(lr=0.1, ema_momentum=0.2)          # below (1 + t) / (10 + t) = 0.25 at t = 2
    adam.step(params, {"w": np.array([1.0])})
    first = params["w"].copy()
    np.testing.assert_array_equal(adam.averaged_params()["w"], first)
    adam.step(params, {"w": np.array([1.0])})
    np.testing.assert_allclose(adam.averaged_params()["w"], 0.2 * first + 0.8 * params["w"])
    assert not np.shares_memory(adam.averaged_params()["w"], params["w"])


def test_adam_moving_average_momentum_warms_up_as_one_plus_t_over_ten_plus_t():
    params = {"w": np.array([0.0])}
    adam = Adam(lr=0.1, ema_momentum=0.999)
    adam.step(params, {"w": np.array([-1.0])})
    previous = adam.averaged_params()["w"].copy()
    adam.step(params, {"w": np.array([-1.0])})      # t = 2: momentum (1 + 2) / (10 + 2) = 0.25
    np.testing.assert_allclose(adam.averaged_params()["w"], 0.25 * previous + 0.75 * params["w"])


def test_adam_without_moving_average_has_none():
    params = {"w": np.array([1.0])}
    adam = Adam()
    adam.step(params, {"w": np.array([1.0])})
    assert adam.averaged_params() is None


def test_adam_state_round_trip_keeps_the_moving_average():
    grads = {"w": np.array([0.2, -0.7])}
    a_params, b_params = {"w": np.array([1.0, 1.0])}, {"w": np.array([1.0, 1.0])}
    a, b = Adam(ema_momentum=0.9, weight_decay=0.1), Adam(ema_momentum=0.9, weight_decay=0.1)
    a.step(a_params, grads)
    b.step(b_params, grads)
    resumed = Adam()
    resumed.load_state(b.state())
    a.step(a_params, grads)
    resumed.step(b_params, grads)
    np.testing.assert_array_equal(a.averaged_params()["w"], resumed.averaged_params()["w"])
    np.testing.assert_array_equal(a_params["w"], b_params["w"])


@pytest.mark.parametrize("options", [{"weight_decay": -0.1}, {"weight_decay": 1.0}, {"ema_momentum": 1.0}])
def test_adam_refuses_options_out_of_range(options):
    with pytest.raises(ValueError):
        Adam(**options)
