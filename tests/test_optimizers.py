"""Optimizers follow their formulas, worked by hand."""
import numpy as np
import pytest

from npnet.optimizers import SGD, Adam


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
