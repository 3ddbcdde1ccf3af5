"""Softmax cross-entropy: value, gradient, stability, and refusal of NaN."""
import numpy as np
import pytest

from npnet.io.errors import NonFiniteError
from npnet.engine.gradcheck import numerical_gradient, rel_error
from npnet.engine.losses import distillation_loss, softmax, softmax_cross_entropy


def test_loss_of_uniform_logits_is_log_of_class_count():
    loss, _ = softmax_cross_entropy(np.zeros((4, 43)), np.array([0, 5, 9, 42]))
    assert loss == pytest.approx(np.log(43))


def test_loss_equals_textbook_formula(rng):
    logits = rng.standard_normal((5, 7))
    labels = rng.integers(0, 7, 5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[np.arange(5), labels]))
    assert softmax_cross_entropy(logits, labels)[0] == pytest.approx(expected, rel=1e-12)


def test_dlogits_matches_finite_differences(rng):
    logits = rng.standard_normal((3, 6))
    labels = np.array([1, 0, 5])
    _, dlogits = softmax_cross_entropy(logits, labels)
    numeric, _ = numerical_gradient(lambda: softmax_cross_entropy(logits, labels)[0], logits,
                                    np.arange(logits.size))
    assert rel_error(dlogits, numeric) < 1e-8


def test_huge_logits_do_not_overflow():
    loss, dlogits = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]], dtype=np.float32),
                                          np.array([0, 0]))
    assert loss == pytest.approx(500.0)
    assert np.all(np.isfinite(dlogits))


def test_softmax_rows_sum_to_one(rng):
    np.testing.assert_allclose(softmax(rng.standard_normal((4, 9)) * 50).sum(axis=1), 1.0)


def test_nan_logits_raise_instead_of_training_on_them():
    with pytest.raises(NonFiniteError, match="NaN or infinite"):
        softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]))


def test_label_smoothing_loss_is_cross_entropy_against_the_smoothed_targets(rng):
    logits = rng.standard_normal((4, 5))
    labels = np.array([0, 3, 3, 1])
    targets = np.full((4, 5), 0.1 / 5)
    targets[np.arange(4), labels] += 0.9
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert softmax_cross_entropy(logits, labels, 0.1)[0] == pytest.approx(-(targets * log_probs).sum(axis=1).mean())


def test_label_smoothing_gradient_matches_finite_differences(rng):
    logits = rng.standard_normal((3, 6))
    labels = np.array([2, 0, 5])
    _, dlogits = softmax_cross_entropy(logits, labels, 0.2)
    numeric, _ = numerical_gradient(lambda: softmax_cross_entropy(logits, labels, 0.2)[0], logits,
                                    np.arange(logits.size))
    assert rel_error(dlogits, numeric) < 1e-8


# -- distillation ---------------------------------------------------------------------------------
def teacher(rng, n, k, temperature):
    return softmax(rng.standard_normal((n, k)) * 3 / temperature)


def test_distillation_loss_is_the_textbook_mixture(rng):
    logits, labels = rng.standard_normal((4, 6)), np.array([0, 2, 5, 5])
    p_t = teacher(rng, 4, 6, 3.0)
    q = softmax(logits / 3.0)
    kl = (p_t * (np.log(p_t) - np.log(q))).sum(axis=1).mean()
    expected = 0.3 * softmax_cross_entropy(logits, labels, 0.1)[0] + 0.7 * 9.0 * kl
    assert distillation_loss(logits, labels, p_t, 0.7, 3.0, 0.1)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("weight, temperature", [(0.5, 4.0), (1.0, 2.0), (0.2, 1.0)])
def test_distillation_gradient_matches_finite_differences(rng, weight, temperature):
    logits, labels = rng.standard_normal((3, 6)), np.array([1, 4, 0])
    p_t = teacher(rng, 3, 6, temperature)
    p_t[0, 2] = 0                                           # a zero teacher probability adds nothing
    p_t[0] /= p_t[0].sum()
    _, dlogits = distillation_loss(logits, labels, p_t, weight, temperature, 0.1)
    numeric, _ = numerical_gradient(lambda: distillation_loss(logits, labels, p_t, weight, temperature, 0.1)[0],
                                    logits, np.arange(logits.size))
    assert rel_error(dlogits, numeric) < 1e-8


def test_a_student_that_matches_its_teachers_has_no_soft_loss_or_gradient(rng):
    logits = rng.standard_normal((5, 7))
    loss, dlogits = distillation_loss(logits, np.zeros(5, int), softmax(logits / 2.0), 1.0, 2.0)
    assert loss == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(dlogits, 0, atol=1e-15)


def test_distillation_weight_zero_is_the_plain_cross_entropy(rng):
    logits, labels = rng.standard_normal((4, 5)), np.array([0, 1, 2, 3])
    loss, dlogits = distillation_loss(logits, labels, teacher(rng, 4, 5, 4.0), 0.0, 4.0)
    expected_loss, expected_dlogits = softmax_cross_entropy(logits, labels)
    assert loss == expected_loss
    np.testing.assert_array_equal(dlogits, expected_dlogits)
