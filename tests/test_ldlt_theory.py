"""Var[y] theory of the ldlt paper (initlab.theory.ldlt): truncated series, Marchenko-Pastur limit and the
large-sigma limit, against closed forms, numerical integration and Monte Carlo."""

import math

import numpy as np
import pytest
from scipy import integrate

from initlab.nn import ldlt as ldlt_nn
from initlab.theory import ldlt, wick

COEFFS = {k: wick.wick_coefficients(k) for k in range(1, 13)}


def test_first_orders_match_hand_expansion():
    """K = 1: E tr((a+S)^-1) ~ m/a - n m s2/a^2, so Var_1 = gamma^2 n s2 / a. K = 2 adds
    + E tr S^2 / a^3 with E tr S^2 = s2^2 n m (n + m + 1) (Wishart second moment)."""
    n, m, a, g = 7, 3, 1.7, 0.8
    s2 = np.array([1e-3, 0.02, 0.3])
    var = ldlt.series_variance(COEFFS, n, m, s2, a, g, [0, 1, 2])
    np.testing.assert_allclose(var[0], 0.0, atol=1e-15)
    np.testing.assert_allclose(var[1], g ** 2 * n * s2 / a, rtol=1e-13)
    second = g ** 2 * n * s2 / a - g ** 2 * a / m * s2 ** 2 * n * m * (n + m + 1) / a ** 3
    np.testing.assert_allclose(var[2], second, rtol=1e-13)


def test_series_needs_the_orders_it_uses():
    with pytest.raises(ValueError, match="k_max >= 12"):
        ldlt.series_variance({1: COEFFS[1]}, 2, 2, [0.1], 1.0, 1.0, [12])


def test_series_matches_monte_carlo_at_small_sigma2():
    n = m = 3
    s2 = [0.002, 0.01]
    mc = ldlt_nn.monte_carlo_variance(n, m, s2, 1.0, 1.0, 100000, seed=7)
    series = ldlt.series_variance(COEFFS, n, m, s2, 1.0, 1.0, [10])[0]
    assert np.all(np.abs(mc.mean - series) <= 4 * mc.stderr), (mc.mean, series, mc.stderr)


def mp_density(x, ratio):
    """Marchenko-Pastur density of (1/n) Z Z^T (Z: m x n, ratio = m/n <= 1), continuous part."""
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    return np.sqrt(np.maximum((hi - x) * (x - lo), 0.0)) / (2 * math.pi * ratio * x)


@pytest.mark.parametrize("ratio", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("z", [-0.05, -1.0, -7.0])
def test_stieltjes_against_quadrature(ratio, z):
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    value, _ = integrate.quad(lambda x: mp_density(x, ratio) / (x - z), lo, hi, limit=200)
    assert ldlt.mp_stieltjes(z, ratio) == pytest.approx(value, rel=1e-7)


def test_stieltjes_with_atom_at_zero():
    """ratio > 1: the law of (1/n) Z Z^T has mass 1 - 1/ratio at 0; its continuous part is 1/ratio times
    the ratio' = 1/ratio law rescaled by ratio (the non-zero eigenvalues of the n x n Gram)."""
    ratio, z = 2.5, -0.7
    inner = 1.0 / ratio
    lo, hi = (1 - math.sqrt(inner)) ** 2, (1 + math.sqrt(inner)) ** 2
    # eigenvalues of (1/n) Z Z^T = ratio * eigenvalues of (1/m) Z^T Z
    cont, _ = integrate.quad(lambda x: mp_density(x, inner) / (ratio * x - z), lo, hi, limit=200)
    expected = (1 - 1 / ratio) / (0 - z) + cont / ratio
    assert ldlt.mp_stieltjes(z, ratio) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("c", [0.3, 1.0, 30.0])
def test_mp_limit_against_large_n_monte_carlo(c):
    n = 300
    mc = ldlt_nn.monte_carlo_variance(n, n, [c / n], 1.0, 1.0, 12, seed=3)
    limit = ldlt.mp_variance_limit(c, 1.0, 1.0)
    # finite-n bias is O(1/n) (~1e-3 here, see fig04); the Monte Carlo error is far smaller
    assert abs(mc.mean[0] - limit) < 5e-3 + 4 * mc.stderr[0]


def test_mp_limit_edges():
    assert ldlt.mp_variance_limit(1e-8) == pytest.approx(1e-8, rel=1e-6)  # Var ~ n sigma^2 = c
    assert 1 - ldlt.mp_variance_limit(1e8) < 1e-3
    assert ldlt.mp_variance_limit(1e8, ratio=2.0) == pytest.approx(0.5, abs=1e-3)  # rank n of m = 2n


def test_large_sigma_limit_matches_monte_carlo():
    for n, m in ((4, 4), (3, 6), (6, 3)):
        mc = ldlt_nn.monte_carlo_variance(n, m, [1e10], 1.0, 1.3, 2000, seed=5)
        assert mc.mean[0] == pytest.approx(ldlt.variance_limit_large_sigma(n, m, 1.3), abs=2e-3)


def test_convergence_radius_and_validation():
    assert ldlt.series_convergence_sigma2(4, 9, 2.0) == pytest.approx(2.0 / 25.0)
    with pytest.raises(ValueError, match="alpha"):
        ldlt.series_variance(COEFFS, 2, 2, [0.1], -1.0, 1.0, [2])
    with pytest.raises(ValueError, match="sigma"):
        ldlt.series_variance(COEFFS, 2, 2, [-0.1], 1.0, 1.0, [2])
    with pytest.raises(ValueError, match="matrix size n"):
        ldlt.series_variance(COEFFS, 0, 2, [0.1], 1.0, 1.0, [2])
    with pytest.raises(ValueError, match="z < 0"):
        ldlt.mp_stieltjes(0.5, 1.0)
