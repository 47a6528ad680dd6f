"""Decay paper formulas (initlab.theory.decay) against independent computations: scipy
distributions, quadrature, direct gamma functions and Monte Carlo with error bars."""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from initlab.theory import decay

ALPHAS = [0.5, 1.0, 2.0, 4.0, 8.0, math.inf]


# ---- Gaussian: eqs. (23), (34), (36), (38), (41), (42) -----------------------------------------

@pytest.mark.parametrize("d", [1, 2, 7, 50, 170])
def test_eq34_matches_direct_gamma_and_chi_mean(d):
    """E|sum a_k b_k| = sqrt(2/pi) E||b|| (given b the sum is N(0, ||b||^2)) and = direct Gamma ratio."""
    ours = decay.expected_abs_gaussian_product_sum(d)
    direct = 2 * special.gamma((d + 1) / 2) / (math.sqrt(math.pi) * special.gamma(d / 2))
    chi_route = math.sqrt(2 / math.pi) * stats.chi(d).mean()
    assert ours == pytest.approx(direct, rel=1e-12)
    assert ours == pytest.approx(chi_route, rel=1e-10)


def test_eq34_monte_carlo():
    rng = np.random.default_rng(0)
    d = 9
    s = np.abs(np.sum(rng.standard_normal((400_000, d)) * rng.standard_normal((400_000, d)), axis=1))
    assert abs(s.mean() - decay.expected_abs_gaussian_product_sum(d)) < 4 * s.std() / math.sqrt(len(s))


def test_eq36_log_gamma_is_stable_for_huge_d():
    """eq. (37): log-gamma keeps eq. (36) finite where Gamma overflows; large d -> 1/(d + (n-1) sqrt(2d/pi))."""
    d = 1e7
    assert decay.approx_eq36(10, d) == pytest.approx(1 / (d + 9 * math.sqrt(2 * d / math.pi)), rel=1e-6)


def test_eq36_special_cases():
    assert decay.approx_eq36(1, 10) == pytest.approx(0.1, rel=1e-15)  # n = 1: 1/d
    # d = 1: 2 Gamma(1) / (sqrt(pi) Gamma(1/2)) = 2/pi (eq. (39))
    assert decay.approx_eq36(5, 1) == pytest.approx(1 / (1 + 4 * 2 / math.pi), rel=1e-14)
    assert decay.bound_eq23(8) == 1 / 8
    assert np.all(decay.approx_eq36(np.arange(2, 50), 10 * np.arange(2, 50)) < decay.bound_eq23(10 * np.arange(2, 50)))


def test_beta_law_mean_is_eq23():
    a, b = decay.beta_params_eq22(13)
    assert stats.beta(a, b).mean() == pytest.approx(decay.bound_eq23(13), rel=1e-14)
    with pytest.raises(ValueError, match="d >= 2"):
        decay.beta_params_eq22(1)


def test_forward_recursion_fixed_point_and_closed_form():
    n = 256
    r = decay.layer_gain_eq38(n, n)
    var_b = decay.bias_variance_eq42(n, n)
    var_w = decay.approx_eq36(n, n)
    # zero bias: closed form Var[y_l] = 2 r^l var_input (Var[y_1] = n Var[w] = 2 r)
    zero = decay.forward_variance_eq14(12, 1.0, n, var_w)
    np.testing.assert_allclose(zero, 2 * r ** np.arange(1, 13), rtol=1e-12)
    # eq. (42) bias: the geometric series of eq. (41) converges to Var[b] / (1 - r) = 1
    biased = decay.forward_variance_eq14(60, 1.0, n, var_w, var_b)
    assert decay.fixed_point_eq41(var_b, r) == pytest.approx(1.0, rel=1e-14)
    assert biased[-1] == pytest.approx(1.0, rel=1e-12)
    # a second formula: eq. (14) written as a sum
    L = 7
    explicit = r ** (L - 1) * biased[0] + sum(r ** (L - l) * var_b for l in range(2, L)) + var_b
    assert biased[L - 1] == pytest.approx(explicit, rel=1e-12)


def test_backward_recursion_is_eq44_product():
    var_w = np.linspace(1e-3, 2e-3, 6)
    out = decay.backward_variance_eq45(6, 2.0, 100, var_w)
    assert out[0] == pytest.approx(2.0 * np.prod(50 * var_w), rel=1e-13)
    assert out[-1] == pytest.approx(2.0 * 50 * var_w[-1], rel=1e-13)


def test_gain_below_half_for_d_at_least_two():
    """eq. (38) r < 1/2 over a wide grid with d >= 2 (there E|S_d| >= 1 = E|S_2|)."""
    sizes = np.unique(np.logspace(0, 5, 40).astype(int))
    n, d = np.meshgrid(sizes, sizes[sizes >= 2])
    assert np.all(decay.layer_gain_eq38(n, d) < 0.5)


def test_eq39_printed_simplification_differs_from_eq38():
    """At d = 1 eq. (38) is n / (2 + 4 (n - 1)/pi) -> pi/4, not the printed n / (2n + 2 - 4/pi) -> 1/2."""
    n = np.array([2.0, 10.0, 1e6])
    np.testing.assert_allclose(decay.layer_gain_eq38(n, 1), n / (2 + 4 * (n - 1) / math.pi), rtol=1e-13)
    assert decay.layer_gain_eq38(1e9, 1) == pytest.approx(math.pi / 4, rel=1e-6)
    assert decay.printed_eq39(1e9) == pytest.approx(0.5, rel=1e-6)


# ---- Generalised Normal: eqs. (46)-(54), (91)-(110) ------------------------------------------

@pytest.mark.parametrize("alpha", ALPHAS)
def test_gnd_pdf_normalised_unit_variance(alpha):
    sigma = 1.7
    edge = math.sqrt(3) * sigma if math.isinf(alpha) else (60 * sigma if alpha >= 1 else 2000 * sigma)
    # symmetric density: integrate one side (the kink at 0 is then an endpoint)
    mass = 2 * integrate.quad(lambda x: decay.gnd_pdf(x, alpha, sigma), 0, edge, limit=400)[0]
    var = 2 * integrate.quad(lambda x: x * x * decay.gnd_pdf(x, alpha, sigma), 0, edge, limit=400)[0]
    assert mass == pytest.approx(1.0, abs=1e-7)
    assert var == pytest.approx(sigma**2, rel=1e-6)


@pytest.mark.parametrize("alpha", [a for a in ALPHAS if not math.isinf(a)] + [20.0])
def test_gnd_ppf_matches_scipy_gennorm(alpha):
    """scipy.stats.gennorm (pdf ~ exp(-|x/s|^beta)) with s = 1/Lambda is an independent implementation."""
    u = np.linspace(1e-9, 1 - 1e-9, 2001)
    ref = stats.gennorm(alpha, scale=1 / decay.gnd_lambda(alpha, 1.3)).ppf(u)
    np.testing.assert_allclose(decay.gnd_ppf(u, alpha, 1.3), ref, rtol=1e-9, atol=1e-12)


def test_gnd_special_shapes():
    u = np.linspace(0.001, 0.999, 999)
    np.testing.assert_allclose(decay.gnd_ppf(u, 2.0, 0.8), stats.norm(scale=0.8).ppf(u), rtol=1e-10)
    np.testing.assert_allclose(decay.gnd_ppf(u, 1.0, 0.8), stats.laplace(scale=0.8 / math.sqrt(2)).ppf(u), rtol=1e-10)
    np.testing.assert_allclose(decay.gnd_ppf(u, math.inf, 0.8),
                               stats.uniform(-math.sqrt(3) * 0.8, 2 * math.sqrt(3) * 0.8).ppf(u), rtol=1e-12)
    # the alpha = inf special cases are the limits of the finite-alpha formulas
    assert decay.abs_product_coefficient(1e7) == pytest.approx(decay.abs_product_coefficient(math.inf), rel=1e-5)
    assert decay.gnd_lambda(1e7) == pytest.approx(decay.gnd_lambda(math.inf), rel=1e-5)
    with pytest.raises(ValueError, match="inf"):
        decay.gnd_ppf(u, 400.0)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_gnd_cdf_inverts_ppf(alpha):
    u = np.concatenate([np.logspace(-12, -1, 30), np.linspace(0.1, 0.9, 41), 1 - np.logspace(-12, -1, 30)])
    np.testing.assert_allclose(decay.gnd_cdf(decay.gnd_ppf(u, alpha), alpha), u, rtol=1e-8, atol=1e-15)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_gnd_sampler_reproduces_variance_and_shape(alpha):
    """Inverse-CDF draws have variance sigma^2 and fourth moment eq. (54) (k = 2), within error bars."""
    sigma = 0.6
    x = decay.gnd_ppf(np.random.default_rng(1).random(400_000), alpha, sigma)
    sq = x**2
    assert abs(sq.mean() - sigma**2) < 4 * sq.std() / math.sqrt(len(x))
    fourth = x**4
    assert abs(fourth.mean() - decay.squared_gnd_moment(2, alpha, sigma)) < 4 * fourth.std() / math.sqrt(len(x))
    ref = stats.uniform(-math.sqrt(3) * sigma, 2 * math.sqrt(3) * sigma) if math.isinf(alpha) else \
        stats.gennorm(alpha, scale=1 / decay.gnd_lambda(alpha, sigma))
    assert stats.kstest(x[:20_000], ref.cdf).pvalue > 1e-3


@pytest.mark.parametrize("alpha", ALPHAS)
def test_squared_moment_eq54_by_quadrature(alpha):
    edge = math.sqrt(3) if math.isinf(alpha) else (3000 if alpha < 1 else 80)
    for k in (1, 2, 3):
        quad = 2 * integrate.quad(lambda x: x ** (2 * k) * decay.gnd_pdf(x, alpha), 0, edge, limit=500)[0]
        assert decay.squared_gnd_moment(k, alpha) == pytest.approx(quad, rel=1e-6)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_abs_product_coefficient_eq94(alpha):
    """E|w_a w_b| / sigma^2 = (E|w|)^2 with E|w| by quadrature of the GND density."""
    edge = math.sqrt(3) if math.isinf(alpha) else (3000 if alpha < 1 else 80)
    mean_abs = 2 * integrate.quad(lambda x: x * decay.gnd_pdf(x, alpha), 0, edge, limit=500)[0]
    assert decay.abs_product_coefficient(alpha) == pytest.approx(mean_abs**2, rel=1e-7)


def test_bounds_order_and_printed_cases():
    for alpha in ALPHAS:
        for n, d in [(2, 8), (32, 32), (128, 512)]:
            # Cauchy-Schwarz: E|w_a w_b| <= sigma^2, so eq. (107) <= eq. (97)
            assert decay.lower_eq107(n, d) <= decay.upper_eq97(n, d, alpha)
            printed = decay.printed_bound_eq108_110(n, d, alpha)
            if alpha in (1.0, 2.0, math.inf):
                assert printed == pytest.approx(decay.upper_eq97(n, d, alpha), rel=1e-13)
            else:
                assert math.isnan(printed)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        decay.gnd_lambda(0)
    with pytest.raises(ValueError, match=">= 1"):
        decay.approx_eq36(0, 5)
    with pytest.raises(ValueError, match="inside"):
        decay.gnd_ppf([0.0, 0.5], 2.0)
