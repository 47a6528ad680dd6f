"""Lyapunov exponents of deep bias-free Leaky ReLU networks (lyapunov paper, Theorems 4.1/4.2).

With g ~ N(0, I_d) and phi_a the Leaky ReLU of slope a (formulas.md):

    I(a, d) = 1/2 E log sum_i phi_a(g_i)^2          (half_e_log_phi)
    J(d)    = 1/2 E log sum_i g_i^2 = 1/2 (log 2 + psi(d/2))   (half_e_log_g)
    lambda_gauss(sigma, a, d) = log sigma + I(a, d)
    lambda_orth(eta, a, d)    = log eta + I(a, d) - J(d)

I(a, d) is computed by Frullani's identity, eq. (10):
    I(a, d) = 1/2 int_0^inf (e^-t - M(t)^d) / t dt,  M(t) = 1/2 (1+2t)^-1/2 + 1/2 (1+2a^2 t)^-1/2,
after the substitution t = e^u (the integrand then decays exponentially at both ends; its features
sit at t ~ 1/d, t ~ 1 and t ~ 1/a^2).  ``half_e_log_phi_beta`` is an independent second formula
used by the tests.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

TABLE_COLUMNS = ["slope", "width", "half_e_log_phi", "half_e_log_g", "lambda_he", "lambda_orth",
                 "sigma_he", "sigma_lyapunov", "scale_lyapunov_orth"]


def half_e_log_g(width: int) -> float:
    """J(d) = 1/2 E log ||g||^2 = 1/2 (log 2 + psi(d/2)) (chi-square log-moment)."""
    return 0.5 * (math.log(2.0) + special.digamma(width / 2.0))


def _log_mgf(t: np.ndarray, slope: float) -> np.ndarray:
    """log M(t) for M(t) = E exp(-t phi_a(g)^2), accurate for small t (1 - M computed directly)."""
    one_minus = 0.5 * (-np.expm1(-0.5 * np.log1p(2.0 * t)) - np.expm1(-0.5 * np.log1p(2.0 * slope**2 * t)))
    with np.errstate(divide="ignore"):  # M underflows to 0 far in the tail: log M = -inf is right
        return np.log1p(-one_minus)


def _frullani_integrand(u: float, slope: float, width: int) -> float:
    # In u = log t the measure dt/t becomes du; e^-t - M^d = expm1(-t) - expm1(d log M) avoids the
    # cancellation of two numbers close to 1 for small t.
    t = math.exp(u)
    return float(np.expm1(-t) - np.expm1(width * _log_mgf(np.float64(t), slope)))


def half_e_log_phi(slope: float, width: int) -> float:
    """I(a, d) = 1/2 E log sum_i phi_a(g_i)^2 by quadrature of Frullani's integral (eq. (10)).

    Needs a > 0 (for ReLU, a = 0, the sum is 0 with probability 2^-d and I = -inf)."""
    if not slope > 0:
        raise ValueError(f"slope must be > 0 (got {slope}); for ReLU the exponent is -inf")
    if width < 1:
        raise ValueError(f"width must be >= 1 (got {width})")
    # Below t_lo the integrand is ~ t (d (1 + a^2) / 2 - 1): its integral in u is below 1e-17.
    u_lo = math.log(1e-17 / (width * (1 + slope**2)))
    # Above t_hi, M(t)^d <= (t / 2)^(-d/2) / a^d: its integral in u is below 1e-17.
    u_hi = (2.0 / width) * (17 * math.log(10) - width * math.log(slope) + math.log(4.0 / width)) + math.log(2.0)
    u_hi = max(u_hi, math.log(50.0))
    knots = sorted({u_lo, -math.log(width), 0.0, math.log(1.0 / slope**2), u_hi})
    knots = [k for k in knots if u_lo <= k <= u_hi]
    total = 0.0
    for left, right in zip(knots[:-1], knots[1:]):
        value, _ = integrate.quad(_frullani_integrand, left, right, args=(slope, width),
                                  epsabs=1e-15, epsrel=1e-13, limit=400)
        total += value
    return 0.5 * total


def half_e_log_phi_beta(slope: float, width: int) -> float:
    """Second, independent formula for I(a, d) (used to test ``half_e_log_phi``).

    Given the number n of positive coordinates (Binomial(d, 1/2)), sum phi_a(g)^2 = X + a^2 Y with
    X ~ chi2_n, Y ~ chi2_{d-n} independent; X + Y ~ chi2_d is independent of B = X / (X + Y) ~
    Beta(n/2, (d-n)/2).  Hence I(a, d) = J(d) + 1/2 sum_n P(n) E log(a^2 + (1 - a^2) B_n), with
    B_0 = 0 and B_d = 1; each expectation is a one-dimensional integral over [0, 1]."""
    log_a2 = 2.0 * math.log(slope)
    weights = stats.binom.pmf(np.arange(width + 1), width, 0.5)
    expect = np.empty(width + 1)
    expect[0], expect[width] = log_a2, 0.0
    for n in range(1, width):
        dist = stats.beta(n / 2.0, (width - n) / 2.0)
        expect[n] = dist.expect(lambda b: math.log(slope**2 + (1.0 - slope**2) * b),
                                epsabs=1e-14, epsrel=1e-12, limit=400)
    return half_e_log_g(width) + 0.5 * float(np.dot(weights, expect))


def sigma_he(slope: float, width: int) -> float:
    """He initialisation standard deviation sqrt(2 / ((1 + a^2) d)) (eq. (12))."""
    return math.sqrt(2.0 / ((1.0 + slope**2) * width))


def eta_he(slope: float) -> float:
    """Standard scaled-orthogonal factor sqrt(2 / (1 + a^2)) (eq. (13))."""
    return math.sqrt(2.0 / (1.0 + slope**2))


def lambda_gauss(sigma: float, slope: float, width: int) -> float:
    """Lyapunov exponent for i.i.d. N(0, sigma^2) weights (Theorem 4.1)."""
    return math.log(sigma) + half_e_log_phi(slope, width)


def lambda_orth(eta: float, slope: float, width: int) -> float:
    """Lyapunov exponent for eta * Haar-orthogonal weights (Theorem 4.2)."""
    return math.log(eta) + half_e_log_phi(slope, width) - half_e_log_g(width)


def lookup_row(slope: float, width: int) -> dict[str, float]:
    """One row of Table 1 / the D.3 lookup table."""
    i_phi = half_e_log_phi(slope, width)
    j_g = half_e_log_g(width)
    s_he = sigma_he(slope, width)
    return {
        "slope": slope,
        "width": width,
        "half_e_log_phi": i_phi,
        "half_e_log_g": j_g,
        "lambda_he": math.log(s_he) + i_phi,
        "lambda_orth": math.log(eta_he(slope)) + i_phi - j_g,
        "sigma_he": s_he,
        "sigma_lyapunov": math.exp(-i_phi),         # eq. (17): lambda_gauss = 0
        "scale_lyapunov_orth": math.exp(j_g - i_phi),  # eq. (17): lambda_orth = 0
    }


def lookup_table(slopes, widths) -> pd.DataFrame:
    """Rows for every (slope, width), slopes outer, widths inner."""
    rows = [lookup_row(float(a), int(d)) for a in slopes for d in widths]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _log_ratio_moments(slope: float, width: int) -> tuple[float, float]:
    """Mean and variance of L = log(a^2 + (1 - a^2) B_N), N ~ Binomial(d, 1/2), B_N ~ Beta(N/2, (d-N)/2)
    (B_0 = 0, B_d = 1): L = log ||phi_a(u)||^2 for u uniform on the unit sphere (Beta decomposition
    of ``half_e_log_phi_beta``)."""
    log_a2 = 2.0 * math.log(slope)
    weights = stats.binom.pmf(np.arange(width + 1), width, 0.5)
    first, second = np.empty(width + 1), np.empty(width + 1)
    first[0], second[0] = log_a2, log_a2**2
    first[width], second[width] = 0.0, 0.0
    for n in range(1, width):
        dist = stats.beta(n / 2.0, (width - n) / 2.0)

        def log_r(b):
            return math.log(slope**2 + (1.0 - slope**2) * b)

        first[n] = dist.expect(log_r, epsabs=1e-14, epsrel=1e-12, limit=400)
        second[n] = dist.expect(lambda b: log_r(b) ** 2, epsabs=1e-14, epsrel=1e-12, limit=400)
    mean = float(np.dot(weights, first))
    return mean, float(np.dot(weights, second)) - mean**2


def clt_variance_gauss(slope: float, width: int) -> float:
    """s^2 of the CLT (Theorem 3.4) for i.i.d. Gaussian weights (any sigma).

    Not a formula of the paper (it gives none): by rotation invariance the increments
    log(||x_{k+1}|| / ||x_k||) are i.i.d. with the law of log(sigma ||phi_a(g)||), whatever the
    directions, so s^2 = Var(log ||phi_a(g)||) = 1/4 (psi'(d/2) + Var L) with L as in
    ``_log_ratio_moments`` (||g||^2 ~ chi2_d is independent of the direction of g)."""
    return 0.25 * (float(special.polygamma(1, width / 2.0)) + _log_ratio_moments(slope, width)[1])


def clt_variance_orth(slope: float, width: int) -> float:
    """s^2 of the CLT for scaled Haar-orthogonal weights: the increments are i.i.d. with the law of
    log(eta ||phi_a(u)||), u uniform on the sphere, so s^2 = 1/4 Var L (derivation as in
    ``clt_variance_gauss``; not a formula of the paper)."""
    return 0.25 * _log_ratio_moments(slope, width)[1]
