"""Softmax cross-entropy: value, gradient, stability, and refusal of NaN."""
import numpy as np
import pytest

from npnet.errors import NonFiniteError
from npnet.gradcheck import numerical_gradient, rel_error
from npnet.losses import softmax, softmax_cross_entropy


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
