"""Polynomial and Gaussian-mixture score tasks (lyapunov paper) against independent computations."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from initlab.theory import lyapunov_tasks as lt

POLYNOMIALS = [
    ([0.0, 4.0, 0.0, -5.0, 0.0, 1.0], (-2.0, 2.0)),      # x^5 - 5x^3 + 4x = x(x^2-1)(x^2-4)
    ([0.0, 0.0, 0.0, 0.0, 0.0, 1.0], (-1.0, 1.0)),       # x^5
    ([0.0, 5.0, 0.0, -20.0, 0.0, 16.0], (-1.0, 1.0)),    # Chebyshev T5
    ([1.5, -2.0, 0.3, 1.0, -0.7, 0.25], (0.0, 2.0)),     # no symmetry, nonzero mean
    ([100.0, 0.1, 0.0, 0.0, 0.0, 0.01], (-1.0, 3.0)),    # mean >> standard deviation
]


def triangle_mixture(radius, std):
    """Equal weights, means at radius * (cos, sin) of 90, 210, 330 degrees, covariance std^2 I."""
    angles = np.deg2rad([90.0, 210.0, 330.0])
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.full(3, 1.0 / 3.0), means, np.stack([std**2 * np.eye(2)] * 3)


def random_mixture(rng, n_components, dim):
    weights = rng.dirichlet(np.ones(n_components))
    means = rng.normal(scale=2.0, size=(n_components, dim))
    factors = rng.normal(size=(n_components, dim, dim))
    covariances = factors @ np.swapaxes(factors, 1, 2) + 0.3 * np.eye(dim)
    return weights, means, covariances


def naive_score(x, weights, means, covariances):
    """sum_m w_m N_m(x) (-Sigma_m^{-1}(x - mu_m)) / sum_m w_m N_m(x), with plain pdfs."""
    num = 0.0
    den = 0.0
    for w, mu, cov in zip(weights, means, covariances):
        pdf = w * stats.multivariate_normal(mu, cov).pdf(x)[..., None]
        num = num + pdf * (-np.linalg.solve(cov, (x - mu)[..., None])[..., 0])
        den = den + pdf
    return num / den


# --------------------------------------------------------------------------------------------------
# polynomial task
# --------------------------------------------------------------------------------------------------

def test_polynomial_is_the_power_sum():
    rng = np.random.default_rng(0)
    c = rng.normal(size=6)
    x = rng.uniform(-3, 3, size=(4, 7))
    expected = sum(ck * x**k for k, ck in enumerate(c))
    np.testing.assert_allclose(lt.polynomial(x, c), expected, rtol=1e-13, atol=1e-12)
    assert lt.polynomial(2.0, [1.0, 0.0, 3.0]) == pytest.approx(13.0)


@pytest.mark.parametrize("coefficients, interval", POLYNOMIALS)
def test_polynomial_moments_match_quad(coefficients, interval):
    lo, hi = interval
    m = lt.polynomial_moments(coefficients, interval)

    def expect(f):
        return integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0] / (hi - lo)

    mean = expect(lambda x: lt.polynomial(x, coefficients))
    second = expect(lambda x: lt.polynomial(x, coefficients) ** 2)
    variance = expect(lambda x: (lt.polynomial(x, coefficients) - mean) ** 2)
    assert m["mean"] == pytest.approx(mean, rel=1e-11, abs=1e-12)
    assert m["second_moment"] == pytest.approx(second, rel=1e-11)
    assert m["variance"] == pytest.approx(variance, rel=1e-9)


def test_polynomial_moments_closed_forms():
    # x^5 on [-1, 1]: mean 0, E x^10 = 1/11
    m = lt.polynomial_moments([0, 0, 0, 0, 0, 1], (-1, 1))
    assert m["mean"] == 0.0 and m["variance"] == pytest.approx(1 / 11, rel=1e-14)
    # x on [0, 1]: mean 1/2, variance 1/12
    m = lt.polynomial_moments([0, 1], (0, 1))
    assert (m["mean"], m["second_moment"], m["variance"]) == pytest.approx((0.5, 1 / 3, 1 / 12), rel=1e-14)


@pytest.mark.parametrize("coefficients, interval", POLYNOMIALS)
def test_polynomial_moments_match_monte_carlo(coefficients, interval):
    rng = np.random.default_rng(1)
    y = lt.polynomial(rng.uniform(*interval, size=1_000_000), coefficients)
    m = lt.polynomial_moments(coefficients, interval)
    n = y.size
    centred_sq = (y - m["mean"]) ** 2
    for estimate, exact, se in [
        (y.mean(), m["mean"], y.std() / math.sqrt(n)),
        ((y**2).mean(), m["second_moment"], (y**2).std() / math.sqrt(n)),
        (centred_sq.mean(), m["variance"], centred_sq.std() / math.sqrt(n)),
    ]:
        assert abs(estimate - exact) < 5 * se, (estimate, exact, se)


def test_polynomial_moments_variance_is_accurate_with_large_mean():
    # p = 1e8 + x on [0, 1]: E p^2 - (E p)^2 cancels catastrophically; the variance must stay 1/12
    m = lt.polynomial_moments([1e8, 1.0], (0.0, 1.0))
    assert m["variance"] == pytest.approx(1 / 12, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# mixture density and score
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_components, dim", [(3, 2), (1, 2), (4, 3), (2, 1)])
def test_mixture_log_density_matches_scipy(n_components, dim):
    rng = np.random.default_rng(10 + dim)
    w, mu, cov = random_mixture(rng, n_components, dim)
    x = rng.normal(scale=3.0, size=(50, dim))
    expected = np.log(sum(wk * stats.multivariate_normal(mk, ck).pdf(x) for wk, mk, ck in zip(w, mu, cov)))
    np.testing.assert_allclose(lt.mixture_log_density(x, w, mu, cov), expected.reshape(50), rtol=1e-12)


def test_mixture_log_density_triangle_mixture_and_batch_shape():
    w, mu, cov = triangle_mixture(2.0, 0.75)
    x = np.random.default_rng(2).uniform(-4, 4, size=(3, 5, 2))
    expected = np.log(sum(wk * stats.multivariate_normal(mk, ck).pdf(x) for wk, mk, ck in zip(w, mu, cov)))
    got = lt.mixture_log_density(x, w, mu, cov)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_mixture_log_density_is_finite_far_away():
    w, mu, cov = triangle_mixture(2.0, 0.5)
    x = np.array([[40.0, 0.0], [0.0, -60.0]])
    got = lt.mixture_log_density(x, w, mu, cov)
    assert np.all(np.isfinite(got))
    # hand-made log joints log(w_m N_m(x)) (isotropic, no pdf evaluated), combined pairwise in log space
    log_joint = np.log(1 / 3) - 0.5 * ((x[:, None, :] - mu) ** 2).sum(-1) / 0.25 - np.log(2 * np.pi * 0.25)
    expected = np.logaddexp(np.logaddexp(log_joint[:, 0], log_joint[:, 1]), log_joint[:, 2])
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    # at (0, -60) the two lower components tie: log 2 above either one alone
    assert got[1] - log_joint[1, 1] == pytest.approx(np.log(2), abs=1e-9)


def finite_difference_score(x, w, mu, cov, h=1e-5):
    grad = np.empty_like(x)
    for j in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[j] = h
        grad[..., j] = (lt.mixture_log_density(x + e, w, mu, cov) - lt.mixture_log_density(x - e, w, mu, cov)) / (2 * h)
    return grad


def far_points(rng, center, n, distance):
    angles = rng.uniform(0, 2 * np.pi, size=n)
    return center + distance * np.stack([np.cos(angles), np.sin(angles)], axis=1)


@pytest.mark.parametrize("mixture", ["triangle", "random"])
def test_mixture_score_matches_finite_differences_near_and_far(mixture):
    rng = np.random.default_rng(3)
    w, mu, cov = triangle_mixture(2.0, 0.5) if mixture == "triangle" else random_mixture(rng, 3, 2)
    x = np.concatenate([rng.uniform(-4, 4, size=(40, 2)), far_points(rng, mu.mean(0), 20, 30.0)])
    score = lt.mixture_score(x, w, mu, cov)
    fd = finite_difference_score(x, w, mu, cov)
    np.testing.assert_allclose(score, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    assert np.all(np.linalg.norm(score - fd, axis=1) <= 1e-6 * np.linalg.norm(fd, axis=1) + 1e-7)


def test_naive_score_underflows_far_away_but_ours_does_not():
    # the far-field check above has teeth: with plain pdfs every N_m underflows 30 units away
    rng = np.random.default_rng(4)
    w, mu, cov = triangle_mixture(2.0, 0.5)
    far = far_points(rng, 0.0, 10, 30.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.all(np.isnan(naive_score(far, w, mu, cov)))
    assert np.all(np.isfinite(lt.mixture_score(far, w, mu, cov)))
    # near the means the naive formula is fine and agrees
    near = rng.uniform(-3, 3, size=(30, 2))
    np.testing.assert_allclose(lt.mixture_score(near, w, mu, cov), naive_score(near, w, mu, cov),
                               rtol=1e-10, atol=1e-12)


def test_single_component_score_is_linear():
    rng = np.random.default_rng(5)
    w, mu, cov = random_mixture(rng, 1, 3)
    x = rng.normal(scale=10.0, size=(6, 4, 3))
    expected = -np.linalg.solve(cov[0], (x - mu[0]).reshape(-1, 3).T).T.reshape(x.shape)
    got = lt.mixture_score(x, w, mu, cov)
    assert got.shape == (6, 4, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# score moments
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    ("triangle", 2.0, 0.75, 4.0),
    ("triangle", 1.0, 0.5, 3.0),
    ("random", None, None, 3.5),
])
def test_score_moments_match_monte_carlo(config):
    kind, radius, std, half = config
    rng = np.random.default_rng(6)
    w, mu, cov = triangle_mixture(radius, std) if kind == "triangle" else random_mixture(rng, 3, 2)
    m = lt.score_moments((-half, half), w, mu, cov)
    s = lt.mixture_score(rng.uniform(-half, half, size=(1_000_000, 2)), w, mu, cov)
    n = s.shape[0]
    sq = (s**2).sum(1)
    centred_sq = ((s - m["mean"]) ** 2).sum(1)
    assert m["mean"].shape == (2,)
    for j in range(2):
        assert abs(s[:, j].mean() - m["mean"][j]) < 5 * s[:, j].std() / math.sqrt(n)
    assert abs(sq.mean() - m["second_moment"]) < 5 * sq.std() / math.sqrt(n)
    assert abs(centred_sq.mean() - m["variance"]) < 5 * centred_sq.std() / math.sqrt(n)
    assert m["variance"] == pytest.approx(m["second_moment"] - m["mean"] @ m["mean"], rel=1e-12)


def test_score_moments_one_dimensional_against_quad():
    w = np.array([0.2, 0.5, 0.3])
    mu = np.array([[-1.5], [0.3], [2.0]])
    cov = np.array([[[0.4]], [[1.0]], [[0.25]]])
    lo, hi = -4.0, 3.0

    def s(x):
        return lt.mixture_score(np.array([[x]]), w, mu, cov)[0, 0]

    opts = dict(epsabs=0, epsrel=1e-12, limit=200, points=[-1.5, 0.3, 2.0])
    mean = integrate.quad(s, lo, hi, **opts)[0] / (hi - lo)
    second = integrate.quad(lambda x: s(x) ** 2, lo, hi, **opts)[0] / (hi - lo)
    m = lt.score_moments((lo, hi), w, mu, cov)
    assert m["mean"][0] == pytest.approx(mean, rel=1e-10, abs=1e-12)
    assert m["second_moment"] == pytest.approx(second, rel=1e-10)
    assert m["variance"] == pytest.approx(second - mean**2, rel=1e-9)


@pytest.mark.parametrize("radius, std, half", [
    (3.0, 0.5, 5.0),   # sharpest switches between responsibilities over the widest box: the hardest
    (2.0, 0.5, 5.0),
    (1.0, 0.5, 3.0),
    (2.0, 0.75, 4.0),
    (3.0, 1.0, 5.0),
    (1.0, 1.0, 3.0),
])
def test_score_moments_default_order_is_converged(radius, std, half):
    w, mu, cov = triangle_mixture(radius, std)
    base = lt.score_moments((-half, half), w, mu, cov)
    doubled = lt.score_moments((-half, half), w, mu, cov, order=2 * lt.DEFAULT_SCORE_ORDER)
    for key in ("second_moment", "variance"):
        assert abs(base[key] / doubled[key] - 1) < 1e-8, (key, base[key], doubled[key])
    assert np.linalg.norm(base["mean"] - doubled["mean"]) < 1e-8 * math.sqrt(doubled["second_moment"])


def test_score_moments_low_order_is_not_converged():
    # the convergence check above can fail: a too-small order visibly misses the hardest case
    w, mu, cov = triangle_mixture(3.0, 0.5)
    low = lt.score_moments((-5, 5), w, mu, cov, order=100)
    ref = lt.score_moments((-5, 5), w, mu, cov)
    assert abs(low["variance"] / ref["variance"] - 1) > 1e-5


def test_score_moments_symmetry():
    # the triangle is symmetric under x -> -x, so the mean score has no x component
    w, mu, cov = triangle_mixture(2.0, 0.75)
    m = lt.score_moments((-4, 4), w, mu, cov)
    assert abs(m["mean"][0]) < 1e-12 * math.sqrt(m["second_moment"])


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------

W, MU, COV = triangle_mixture(2.0, 0.75)


@pytest.mark.parametrize("weights, means, covariances, match", [
    (np.full((3, 1), 1 / 3), MU, COV, "weights must be a non-empty 1-D"),
    (np.array([]), MU[:0], COV[:0], "weights must be a non-empty 1-D"),
    (np.array([0.5, 0.5, 0.5]), MU, COV, "sum to 1"),
    (np.array([1.2, -0.1, -0.1]), MU, COV, "non-negative"),
    (W, MU[:2], COV, "means must have shape"),
    (W, MU[:, 0], COV, "means must have shape"),
    (W, MU, COV[:, :1, :], "covariances must have shape"),
    (W, MU, COV[:2], "covariances must have shape"),
    (W, MU, np.stack([np.eye(2), np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])]), "not positive definite"),
    (W, MU, np.stack([np.eye(2), np.eye(2), np.zeros((2, 2))]), "not positive definite"),
    (W, MU, np.stack([np.eye(2), np.eye(2), np.array([[1.0, 0.1], [0.0, 1.0]])]), "symmetric"),
    (W, np.where(np.isfinite(MU), np.nan, 0), COV, "finite"),
])
def test_mixture_validation(weights, means, covariances, match):
    x = np.zeros((4, 2))
    for fn in (lt.mixture_log_density, lt.mixture_score):
        with pytest.raises(ValueError, match=match):
            fn(x, weights, means, covariances)
    with pytest.raises(ValueError, match=match):
        lt.score_moments((-1, 1), weights, means, covariances, order=4)


@pytest.mark.parametrize("x", [np.zeros((4, 3)), np.zeros(3), np.float64(0.0)])
def test_point_dimension_validation(x):
    for fn in (lt.mixture_log_density, lt.mixture_score):
        with pytest.raises(ValueError, match="x must have shape"):
            fn(x, W, MU, COV)


def test_single_point_shapes():
    assert lt.mixture_log_density(np.zeros(2), W, MU, COV).shape == ()
    assert lt.mixture_score(np.zeros(2), W, MU, COV).shape == (2,)


@pytest.mark.parametrize("box", [(1, 1), (2, -2), (0, np.inf), (1,), "ab"])
def test_box_validation(box):
    with pytest.raises(ValueError, match="box"):
        lt.score_moments(box, W, MU, COV, order=4)


def test_order_validation():
    with pytest.raises(ValueError, match="order"):
        lt.score_moments((-1, 1), W, MU, COV, order=0)


@pytest.mark.parametrize("coefficients", [[], [[1.0, 2.0]], [1.0, np.nan]])
def test_coefficient_validation(coefficients):
    with pytest.raises(ValueError, match="coefficients"):
        lt.polynomial(0.5, coefficients)
    with pytest.raises(ValueError, match="coefficients"):
        lt.polynomial_moments(coefficients, (0, 1))


@pytest.mark.parametrize("interval", [(1, 0), (0, 0), (-np.inf, 1), (0, 1, 2), None])
def test_interval_validation(interval):
    with pytest.raises(ValueError, match="interval"):
        lt.polynomial_moments([0, 1], interval)
