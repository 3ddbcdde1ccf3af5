"""Concept activation vectors on synthetic activations whose concept direction is known: they point the
right way, the logistic one is the optimum of its stated loss (checked by plain gradient descent, and by
scikit-learn when installed), and it turns into the difference of the means as its penalty grows."""
import numpy as np
import pytest

from npnet.explain.concepts.cav import fastcav, logistic_cav, train_cav
from npnet.io.errors import NpnetError


def separable(n=60, D=40, gap=3.0, seed=0):
    """(concept (n, D), random (n, D), u (D,)): ReLU-like activations, the concept's shifted by ``gap``
    along the unit direction u, plus noise of a few large directions that do not separate them."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=D)
    u /= np.linalg.norm(u)
    mixing = rng.normal(size=(D, D)) * np.r_[np.full(3, 4.0), np.full(D - 3, 0.5)]    # anisotropic noise
    random = rng.normal(size=(n, D)) @ mixing.T + 5.0
    concept = rng.normal(size=(n, D)) @ mixing.T + 5.0 + gap * u * 4.0
    return concept, random, u


def scaled(concept, random):
    """The logistic CAV's own inputs: (Z, y), centred on the joint mean, divided by the RMS."""
    X = np.concatenate([concept, random])
    Z = X - X.mean(axis=0)
    return Z / np.sqrt((Z * Z).mean()), np.r_[np.ones(len(concept)), np.zeros(len(random))]


@pytest.mark.parametrize("method", ["logistic", "fastcav"])
def test_a_cav_of_separable_activations_points_from_random_to_the_concept(method):
    concept, random, u = separable()
    v = train_cav(concept, random, method)
    assert np.linalg.norm(v) == pytest.approx(1.0)
    assert v @ u > 0.7                                           # towards the concept, along its shift
    assert (concept @ v).min() > (random @ v).max() or method == "fastcav"
    assert (concept @ v).mean() > (random @ v).mean()


def test_the_logistic_cav_swaps_sign_when_the_sets_swap():
    concept, random, _ = separable(seed=1)
    np.testing.assert_allclose(logistic_cav(random, concept), -logistic_cav(concept, random), atol=1e-8)


def test_the_logistic_cav_is_the_minimum_found_by_gradient_descent():
    concept, random, _ = separable(n=30, D=6, gap=0.4, seed=2)        # overlapping: a finite optimum
    Z, y = scaled(concept, random)
    l2, w, b = 0.01, np.zeros(Z.shape[1]), 0.0
    step = 1.0 / (np.linalg.norm(Z, 2) ** 2 / (4 * len(Z)) + l2)        # 1 / the gradient's Lipschitz constant
    for _ in range(20000):
        r = 1 / (1 + np.exp(-(Z @ w + b))) - y
        w, b = w - step * (Z.T @ r / len(Z) + l2 * w), b - step * r.mean()
    np.testing.assert_allclose(logistic_cav(concept, random, l2), w / np.linalg.norm(w), atol=1e-6)


def test_the_logistic_cav_matches_scikit_learn_with_more_dimensions_than_images():
    linear_model = pytest.importorskip("sklearn.linear_model")
    concept, random, _ = separable(n=30, D=120, gap=0.5, seed=3)
    Z, y = scaled(concept, random)
    l2 = 0.01
    fit = linear_model.LogisticRegression(C=1 / (l2 * len(Z)), solver="newton-cg", tol=1e-12, max_iter=1000)
    w = fit.fit(Z, y).coef_[0]
    assert logistic_cav(concept, random, l2) @ (w / np.linalg.norm(w)) > 1 - 1e-8


def test_the_logistic_cav_becomes_the_difference_of_the_means_as_its_penalty_grows():
    concept, random, _ = separable(seed=4)
    assert logistic_cav(concept, random, l2=1e4) @ fastcav(concept, random) > 1 - 1e-6
    assert logistic_cav(concept, random, l2=1e-3) @ fastcav(concept, random) < 0.99


def test_fastcav_is_the_unit_difference_of_the_means():
    concept, random, _ = separable(seed=5)
    difference = concept.mean(axis=0) - random.mean(axis=0)
    np.testing.assert_allclose(fastcav(concept, random), difference / np.linalg.norm(difference), rtol=1e-12)


@pytest.mark.parametrize("method", ["logistic", "fastcav"])
def test_identical_activations_define_no_direction(method):
    same = np.ones((5, 4))
    with pytest.raises(NpnetError, match="define no direction"):
        train_cav(same, same, method)
