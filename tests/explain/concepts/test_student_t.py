"""The t-test's p-value, written out: the regularized incomplete beta function against its closed forms,
the Student-t CDF against the forms it has for 1 and 2 degrees of freedom and a printed table value, and
the test against scipy when scipy is installed."""
import math

import numpy as np
import pytest

from npnet.explain.concepts.student_t import incomplete_beta, t_cdf, t_test

X = [0.001, 0.05, 0.3, 0.5, 0.77, 0.999]


@pytest.mark.parametrize("x", X)
@pytest.mark.parametrize("a", [0.5, 1.0, 3.0, 40.0])
def test_the_incomplete_beta_with_b_1_is_x_to_the_a(x, a):
    assert incomplete_beta(x, a, 1.0) == pytest.approx(x ** a, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("x", X)
@pytest.mark.parametrize("b", [0.5, 2.0, 25.0])
def test_the_incomplete_beta_with_a_1_is_one_minus_one_minus_x_to_the_b(x, b):
    assert incomplete_beta(x, 1.0, b) == pytest.approx(1 - (1 - x) ** b, rel=1e-12)


@pytest.mark.parametrize("a", [0.3, 1.0, 7.5, 200.0])
def test_the_incomplete_beta_of_equal_arguments_is_one_half_at_one_half(a):
    assert incomplete_beta(0.5, a, a) == pytest.approx(0.5, abs=1e-13)


@pytest.mark.parametrize("t", [-30.0, -2.0, -0.4, 0.0, 0.9, 3.0, 1e3])
def test_the_t_cdf_with_one_degree_of_freedom_is_the_cauchy_cdf(t):
    assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("t", [-30.0, -2.0, -0.4, 0.0, 0.9, 3.0])
def test_the_t_cdf_with_two_degrees_of_freedom_has_its_closed_form(t):
    assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), rel=1e-12)


def test_the_t_cdf_gives_the_tables_two_sided_five_percent_point():
    # t_{0.975, 10} = 2.228138851986 (the 97.5% point of Student-t with 10 degrees of freedom)
    assert t_cdf(2.228138851986, 10) == pytest.approx(0.975, abs=1e-12)
    assert t_cdf(-2.228138851986, 10) == pytest.approx(0.025, abs=1e-12)


def test_the_t_test_of_two_small_samples_gives_the_hand_computed_p_value():
    # means 2 and 5, both variances 1: t = -3 / sqrt(2/3) = -3.6742, df = 4, and with the df = 4 CDF in
    # closed form, F(t) = 1/2 + (t / sqrt(t^2 + 4)) (1 + 2 / (t^2 + 4)) / 2, p = 2 F(t)
    t, p = t_test([1, 2, 3], [4, 5, 6])
    assert t == pytest.approx(-3 / math.sqrt(2 / 3), rel=1e-12)
    u = t / math.sqrt(t * t + 4)
    assert p == pytest.approx(2 * (0.5 + u * (1 + 2 / (t * t + 4)) / 2), rel=1e-12)
    assert p == pytest.approx(0.021311641128756, rel=1e-10)       # scipy.stats.ttest_ind's value


def test_the_t_test_of_constant_samples_is_certain():
    assert t_test([0.5, 0.5], [0.5, 0.5, 0.5]) == (0.0, 1.0)
    assert t_test([1.0, 1.0], [0.5, 0.5, 0.5]) == (math.inf, 0.0)


def test_the_t_test_refuses_too_few_scores():
    with pytest.raises(ValueError):
        t_test([1.0], [2.0])


def test_the_t_test_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n1, n2, shift in [(10, 90, 0.0), (10, 90, 0.3), (3, 4, 1.0), (50, 50, 0.05)]:
        a, b = rng.normal(shift, 1, n1), rng.normal(0, 1.5, n2)
        expected = stats.ttest_ind(a, b)
        t, p = t_test(a, b)
        assert t == pytest.approx(expected.statistic, rel=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-10)


def test_the_incomplete_beta_matches_scipy():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    for _ in range(300):
        x, a, b = rng.uniform(), rng.uniform(0.05, 60), rng.uniform(0.05, 60)
        assert incomplete_beta(x, a, b) == pytest.approx(special.betainc(a, b, x), rel=1e-11, abs=1e-14)
