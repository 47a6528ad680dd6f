"""I(a, d), J(d) and the Lyapunov table against independent computations (formulas.md)."""

import math

import numpy as np
import pytest
from scipy import special

from initlab.theory import lyapunov


@pytest.mark.parametrize("slope", [0.5, 0.1, 0.01, 0.001])
@pytest.mark.parametrize("width", [1, 2, 3, 5, 16, 50])
def test_frullani_quadrature_matches_beta_decomposition(slope, width):
    # two unrelated formulas: Frullani's integral over t vs a binomial mixture of Beta expectations
    assert lyapunov.half_e_log_phi(slope, width) == pytest.approx(
        lyapunov.half_e_log_phi_beta(slope, width), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("width", [1, 2, 7, 64, 1024])
def test_linear_activation_gives_chi_square_log_moment(width):
    # a = 1: phi is the identity, so I(1, d) = J(d) = 1/2 (log 2 + psi(d/2))
    assert lyapunov.half_e_log_phi(1.0, width) == pytest.approx(lyapunov.half_e_log_g(width), abs=1e-12)


@pytest.mark.parametrize("slope", [0.3, 0.1, 0.01, 0.001])
def test_width_one_closed_form(slope):
    # d = 1: phi_a(g)^2 = g^2 or a^2 g^2 with probability 1/2 each, and E log g^2 = -gamma - log 2
    expected = 0.5 * (-np.euler_gamma - math.log(2.0)) + 0.5 * math.log(slope)
    assert lyapunov.half_e_log_phi(slope, 1) == pytest.approx(expected, abs=1e-12)


def test_half_e_log_g_matches_digamma_identity_by_monte_carlo():
    rng = np.random.default_rng(1)
    for width in (1, 3, 10):
        samples = 0.5 * np.log(np.sum(rng.standard_normal((400_000, width)) ** 2, axis=1))
        stderr = samples.std() / math.sqrt(samples.size)
        assert abs(samples.mean() - lyapunov.half_e_log_g(width)) < 5 * stderr


@pytest.mark.parametrize("slope,width", [(0.1, 2), (0.01, 3), (0.1, 10), (0.001, 6)])
def test_half_e_log_phi_matches_monte_carlo(slope, width):
    rng = np.random.default_rng(width)
    g = rng.standard_normal((400_000, width))
    phi = np.where(g > 0, g, slope * g)
    samples = 0.5 * np.log(np.sum(phi**2, axis=1))
    stderr = samples.std() / math.sqrt(samples.size)
    assert abs(samples.mean() - lyapunov.half_e_log_phi(slope, width)) < 5 * stderr


def test_relu_is_rejected():
    with pytest.raises(ValueError, match="slope"):
        lyapunov.half_e_log_phi(0.0, 4)


def test_lyapunov_scales_zero_the_exponents():
    for slope in (0.1, 0.01):
        for width in (1, 4, 100):
            row = lyapunov.lookup_row(slope, width)
            assert lyapunov.lambda_gauss(row["sigma_lyapunov"], slope, width) == pytest.approx(0, abs=1e-13)
            assert lyapunov.lambda_orth(row["scale_lyapunov_orth"], slope, width) == pytest.approx(0, abs=1e-13)
            assert row["lambda_he"] == pytest.approx(math.log(row["sigma_he"]) + row["half_e_log_phi"])


def test_he_exponent_is_order_one_over_width():
    # Theorem 4.3: I(a, d) = log sqrt((1 + a^2) d / 2) + O(1/d), so d * lambda_he converges
    scaled = [d * lyapunov.lookup_row(0.1, d)["lambda_he"] for d in (256, 512, 1024, 2048)]
    assert np.all(np.diff(np.abs(scaled)) < 0.02 * abs(scaled[-1]))
    assert abs(scaled[-1] - scaled[-2]) < 0.01 * abs(scaled[-1])


def test_lookup_table_shape_and_columns():
    widths = [1, 2, 3, 1024]
    table = lyapunov.lookup_table([0.1, 0.01, 0.001], widths)
    assert list(table.columns) == lyapunov.TABLE_COLUMNS
    assert len(table) == 12
    assert table.notna().all().all()
    assert (table.sigma_he == [lyapunov.sigma_he(a, d) for a in (0.1, 0.01, 0.001) for d in widths]).all()


def test_digamma_form_of_j():
    assert lyapunov.half_e_log_g(4) == pytest.approx(0.5 * (math.log(2) + special.digamma(2)))
