"""Student's two-sample t-test, written out: the p-value TCAV's significance test needs, without scipy.

    p = t_test(a, b)                 a (n1,), b (n2,) scores -> (t, two-sided p-value)
    F = t_cdf(t, df)                 P(T <= t) for T ~ Student-t with df degrees of freedom
    I = incomplete_beta(x, a, b)     the regularized incomplete beta function I_x(a, b)

The test (Student's, equal variances, as ``scipy.stats.ttest_ind`` by default and as TCAV's code calls it):

    s_p^2 = ((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2)        s^2: sample variances (ddof 1)
    t     = (mean(a) - mean(b)) / sqrt(s_p^2 (1/n1 + 1/n2))         df = n1 + n2 - 2

and the two-sided p-value P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2), because the Student-t tail
is a beta tail: P(T >= t) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2), for t >= 0.

I_x(a, b) = B(x; a, b) / B(a, b) is evaluated as Numerical Recipes (section 6.4) does, by its continued
fraction

    I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * 1 / (1 + d1 / (1 + d2 / (1 + ...)))
    d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),   d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))

summed by the modified Lentz method; it converges fast for x < (a + 1) / (a + b + 2), and the symmetry
I_x(a, b) = 1 - I_{1-x}(b, a) covers the other side.
"""
import math

import numpy as np

EPSILON = 1e-15         # relative change of the continued fraction at which it has converged
TINY = 1e-300           # stands in for a zero denominator in Lentz's method
MAX_TERMS = 1000


def _continued_fraction(x, a, b):
    """The continued fraction 1 / (1 + d1 / (1 + d2 / ...)) of I_x(a, b), by modified Lentz."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > TINY else TINY)
    fraction = d
    for m in range(1, MAX_TERMS + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),              # d_2m
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # d_2m+1
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > TINY else TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > TINY else TINY
            fraction *= c * d
        if abs(c * d - 1.0) < EPSILON:
            return fraction
    raise ArithmeticError(f"the continued fraction of I_{x}({a}, {b}) did not converge in {MAX_TERMS} terms")


def incomplete_beta(x, a, b):
    """I_x(a, b) for 0 <= x <= 1 and a, b > 0: the beta(a, b) distribution's CDF at x."""
    if not (a > 0 and b > 0):
        raise ValueError(f"incomplete_beta needs a, b > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"incomplete_beta needs 0 <= x <= 1, got {x}")
    if x == 0.0 or x == 1.0:
        return float(x)
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))            # log of x^a (1-x)^b / B(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(1.0 - x, b, a) / b


def t_cdf(t, df):
    """P(T <= t), T ~ Student-t with ``df`` > 0 degrees of freedom; t may be +-inf."""
    if df <= 0:
        raise ValueError(f"t_cdf needs df > 0, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5)      # P(T >= |t|)
    return 1.0 - tail if t > 0 else tail


def t_test(a, b):
    """Student's two-sample t-test (equal variances) of ``a`` (n1,) against ``b`` (n2,), n1 + n2 > 2.

    Returns (t, p): the statistic and the two-sided p-value P(|T| >= |t|), df = n1 + n2 - 2.
    When both samples are constant (s_p = 0) the statistic is undefined (scipy gives nan): here t = 0,
    p = 1 for equal means (no evidence of a difference), t = +-inf, p = 0 for different ones.
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    n1, n2 = len(a), len(b)
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        raise ValueError(f"a t-test needs n1, n2 >= 1 and n1 + n2 >= 3 scores, got {n1} and {n2}")
    df = n1 + n2 - 2
    difference = float(a.mean() - b.mean())
    pooled = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / df
    if pooled == 0.0:
        return (0.0, 1.0) if difference == 0.0 else (math.copysign(math.inf, difference), 0.0)
    t = difference / math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    return t, incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
