"""Cross-paper consistency: the fractional paper's top Lyapunov exponent and CLT variance (from Theorem 7's
series) vs the lyapunov paper's quadrature, the ReLU limit, and s = 2 vs Kaiming / LeCun / He."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlab.theory import fractional as F
from initlab.theory import lyapunov as L


@pytest.mark.parametrize("sigma,a,d", [(0.3, 0.01, 2), (1.1, 0.1, 8), (0.2, 1.0, 32), (0.05, 0.5, 50)])
def test_mu_fractional_equals_lambda_gauss(sigma, a, d):
    assert F.mu_series(sigma, a, d) == pytest.approx(L.lambda_gauss(sigma, a, d), abs=1e-10)


@pytest.mark.parametrize("d", [2, 3, 8])
def test_relu_limit_of_lambda_is_conditional_mu0(d):
    # lambda_gauss(sigma, a, d) = 2^-d (log a + J(d) + log sigma) + (1 - 2^-d) mu_0(sigma) + O(a) as a -> 0:
    # the all-negative event (probability 2^-d) carries the log a; otherwise Theorem 5's conditional law.
    sigma, a = 0.7, 1e-6
    lhs = L.lambda_gauss(sigma, a, d) - 2.0**-d * (math.log(a) + L.half_e_log_g(d))
    rhs = (1 - 2.0**-d) * F.mu_relu(sigma, d) + 2.0**-d * math.log(sigma)
    assert lhs == pytest.approx(rhs, abs=1e-5)


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 2000), a=st.sampled_from([0.001, 0.01, 0.1, 0.5, 1.0]))
def test_s2_recovers_he_lecun(d, a):
    assert F.sigma_bar(a, 2.0, d) == pytest.approx(L.sigma_he(a, d), rel=1e-12)
    if a == 1.0:
        assert F.sigma_bar(a, 2.0, d) ** 2 == pytest.approx(1.0 / d, rel=1e-12)


def test_lyapunov_init_is_the_s_to_zero_limit():
    # mu_a(sigma_bar_a(s, d)) < 0 for s > 0 (Theorem 14) and tends to 0 as s -> 0: sigma_bar_a(s, d) -> sigma_lyapunov
    a, d = 0.1, 16
    for s in (1.0, 0.1):
        assert F.mu_series(F.sigma_bar(a, s, d), a, d) < 0
    assert F.sigma_bar(a, 1e-4, d) == pytest.approx(math.exp(-L.half_e_log_phi(a, d)), rel=1e-4)
