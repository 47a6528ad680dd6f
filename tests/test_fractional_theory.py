"""fractional paper theory (initlab.theory.fractional) against independent computations: mpmath at
high precision, a one-dimensional integral, Monte Carlo with full weight matrices, closed forms."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlab.theory import fractional as F
from initlab.theory import lyapunov as L


def i0_mpmath(s, d, dps=40):
    """eq. (3.2) term by term at 40 digits."""
    with mpmath.workdps(dps):
        s = mpmath.mpf(s)
        total = mpmath.fsum(mpmath.binomial(d, n) * mpmath.gamma(mpmath.mpf(n) / 2 + s / 2) / mpmath.gamma(mpmath.mpf(n) / 2)
                            for n in range(1, d + 1))
        return float(2 ** (s / 2) * total / mpmath.mpf(2) ** d)


@pytest.mark.parametrize("s,d", [(0.3, 1), (1.0, 7), (1.7, 200), (0.5, 3000), (3.0, 64)])
def test_i0_matches_high_precision(s, d):
    assert F.i0(s, d) == pytest.approx(i0_mpmath(s, d), rel=1e-12)


def test_i0_stable_at_large_width():
    # d = 10,000: finite, and E||relu(g)||^2 = d/2 exactly (Remark 2)
    assert F.i0(2.0, 10_000) == pytest.approx(5_000.0, rel=1e-12)
    value = F.sigma_bar(0.0, 1.0, 10_000) ** 2
    assert math.isfinite(value) and value > 2.0 / 10_000


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 5000))
def test_s2_recovers_kaiming(d):
    assert F.sigma_bar(0.0, 2.0, d) ** 2 == pytest.approx(2.0 / d, rel=1e-12)


@pytest.mark.parametrize("a,s,d", [(0.01, 0.25, 2), (0.01, 1.5, 9), (0.1, 0.8, 16), (0.5, 1.0, 33), (0.9, 1.9, 5),
                                   (1.0, 0.5, 12), (0.3, 2.0, 7)])
def test_series_matches_integral(a, s, d):
    series = F.ia_series(a, s, d)
    assert series.value == pytest.approx(F.ia_integral(a, s, d), rel=1e-10)
    assert series.truncation_bound <= 1e-12 * series.value


@pytest.mark.parametrize("a,s,d", [(0.05, 0.5, 3), (0.2, 1.2, 6)])
def test_truncation_bound_bounds_the_error(a, s, d):
    coarse = F.theorem7_series(a, s, d, rtol=1e-3)[0]
    precise = F.ia_integral(a, s, d)
    assert coarse.truncation_bound > 0
    assert abs(coarse.value - precise) <= coarse.truncation_bound


def test_linear_closed_form_corollary10():
    for s in (0.3, 1.0, 1.8):
        for d in (1, 4, 50):
            assert F.sigma_bar(1.0, s, d) ** 2 == pytest.approx(F.sigma_bar_sq_linear_exact(s, d), rel=1e-12)


@pytest.mark.parametrize("a,s,d", [(0.0, 1.0, 4), (0.1, 0.7, 5), (0.5, 1.5, 3), (1.0, 0.4, 6)])
def test_moment_against_monte_carlo_full_matrices(a, s, d):
    # E||phi_a(W x)||^s for one layer, W with i.i.d. N(0, 1) entries and a fixed unit x (eqs. (3.1)/(4.1), k = 1)
    rng = np.random.default_rng(12345)
    n = 40_000
    w = rng.standard_normal((n, d, d))
    x = np.ones(d) / math.sqrt(d)
    pre = w @ x
    post = np.where(pre > 0, pre, a * pre)
    sample = np.linalg.norm(post, axis=1) ** s
    z = (sample.mean() - F.ia(a, s, d)) / (sample.std(ddof=1) / math.sqrt(n))
    assert abs(z) < 4.5


@pytest.mark.parametrize("s", [0.25, 1.0, 1.5])
def test_corollary4_second_order(s):
    coef = 5.0 * (2.0 - s) / 2.0
    errors = [abs(d * d * (F.sigma_bar(0.0, s, d) ** 2 - 2.0 / d) - coef) / coef for d in (100, 1000, 4000)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 10.0 / 4000


@pytest.mark.parametrize("a", [0.05, 0.3, 0.7])
def test_general_second_order_coefficient(a):
    # our delta-method coefficient c(a, s) against the exact sigma_bar at large d (Richardson in 1/d)
    s = 1.0
    lead = lambda d: 2.0 / ((1.0 + a * a) * d)  # noqa: E731
    c = {d: d * d * (F.sigma_bar(a, s, d) ** 2 - lead(d)) for d in (1000, 2000)}
    extrapolated = 2 * c[2000] - c[1000]
    assert extrapolated == pytest.approx(F.second_order_coefficient(a, s), rel=1e-3)
    # Corollary 10's small-a formula agrees to first order in a^2
    paper = 1e6 * (F.sigma_bar_sq_corollary10(a, s, 1000) - lead(1000))
    assert abs(paper - F.second_order_coefficient(a, s)) < 30 * a**4


def test_theorem5_against_monte_carlo():
    rng = np.random.default_rng(7)
    d, sigma, n = 5, 0.8, 400_000
    g = rng.standard_normal((n, d))
    norm = np.linalg.norm(np.maximum(g, 0.0), axis=1)
    alive = norm > 0
    step = math.log(sigma) + np.log(norm[alive])  # one-layer increment of log||x|| given x_1 != 0
    z_mean = (step.mean() - F.mu_relu(sigma, d)) / (step.std(ddof=1) / math.sqrt(step.size))
    assert abs(z_mean) < 4.5
    var_se = math.sqrt((np.mean((step - step.mean()) ** 4) - step.var() ** 2) / step.size)
    assert abs(step.var(ddof=1) - F.s2_relu(d)) < 4.5 * var_se


@pytest.mark.parametrize("a,d", [(0.01, 2), (0.01, 9), (0.1, 8), (0.5, 3), (1.0, 16), (0.1, 64)])
def test_exponent_series_matches_quadrature(a, d):
    series = F.exponent_series(a, d)
    assert series.normalisation == pytest.approx(1.0, abs=1e-11)
    assert series.half_e_log_z == pytest.approx(L.half_e_log_phi(a, d), abs=1e-10)
    assert series.s2 == pytest.approx(F.s2_beta(a, d), rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(a1=st.floats(0.0, 0.9), da=st.floats(0.05, 0.5), s=st.floats(0.2, 1.9), d=st.integers(1, 40))
def test_corollary9_monotone(a1, da, s, d):
    a2 = min(1.0, a1 + da)
    assert F.sigma_bar(a2, s, d) < F.sigma_bar(a1, s, d)
    assert F.sigma_bar(a1, s, d + 1) < F.sigma_bar(a1, s, d)
    # strictly decreasing in s: compare s with s + 0.1 (both <= 2)
    assert F.sigma_bar(a1, s + 0.1, d) < F.sigma_bar(a1, s, d)


def test_dropout_threshold_reduces_to_corollary4():
    for s, d in ((0.5, 10), (1.7, 300)):
        assert F.dropout_threshold_sq(s, d, 1.0) == pytest.approx(F.sigma_bar_sq_corollary4(s, d), rel=1e-15)


def test_log_moment_growth_matches_definition():
    s, d, k = 0.7, 12, 30
    for alpha in (0.3, 0.7, 2.0):
        direct = k * math.log(F.sigma_bar(0.0, s, d) ** alpha * F.i0(alpha, d))
        assert F.log_moment_growth(alpha, s, d, k) == pytest.approx(direct, abs=1e-10)
    assert F.log_moment_growth(s, s, d, k) == pytest.approx(0.0, abs=1e-10)


def test_critical_table_columns_and_values():
    table = F.critical_table([0.0, 0.1], [1.0, 2.0], [2, 8])
    assert list(table.columns[:5]) == ["slope", "s", "width", "sigma_bar", "sigma_bar_sq_asymptotic"]
    assert len(table) == 8
    row = table[(table.slope == 0.1) & (table.s == 2.0) & (table.width == 8)].iloc[0]
    assert row.sigma_bar**2 == pytest.approx(2.0 / (1.01 * 8), rel=1e-13)


@pytest.mark.parametrize("call,match", [
    (lambda: F.ia_series(0.0, 1.0, 4), "a in \\(0, 1\\]"),
    (lambda: F.ia_series(0.5, 2.5, 4), "moment order s"),
    (lambda: F.i0(1.0, 0), "width d"),
    (lambda: F.sigma_bar(1.5, 1.0, 4), "slope a"),
    (lambda: F.dropout_threshold_sq(1.0, 8, 0.0), "keep probability"),
])
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()
