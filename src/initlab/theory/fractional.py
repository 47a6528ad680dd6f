"""Fractional moment-preserving initialisation (fractional paper, Gurbuzbalaban & Hu).

A bias-free network x_{k+1} = phi_a(W_{k+1} x_k) with i.i.d. N(0, sigma^2) weights.  Because W x has
the law sigma ||x|| g (g ~ N(0, I_d)) whatever the direction of x,

    E||x_k||^s = ||x_0||^s (sigma^s I_a(s, d))^k,     I_a(s, d) = E[Z^(s/2)],  Z = sum_i phi_a(g_i)^2
                                                                                   (eqs. (3.1), (4.1))

and the critical scale that preserves the s-th moment is sigma_bar_a(s, d) = I_a(s, d)^(-1/s) (the
text's "1/sqrt(I)" lost its root index, see formulas.md).  Given the number n ~ Binomial(d, 1/2) of
positive coordinates, Z = X + a^2 Y with X ~ chi2_n, Y ~ chi2_{d-n} independent.

What is here:

* ``log_i0`` / ``i0``: eq. (3.2), I_0(s, d) = 2^(s/2) sum_n C(d, n) 2^-d Gamma(n/2 + s/2) / Gamma(n/2),
  summed in log space (stable for d up to 10^5).
* ``theorem7_series``: eqs. (4.2)-(4.3) for a in (0, 1], with a rigorous bound on the truncation error,
  and the s-derivatives of the same series at s = 0, which give the top Lyapunov exponent mu_a and the
  CLT variance s_a^2 of Theorem 11 (the appendix formulas (I.11)/(I.12) are not in our copy).
* ``ia_integral``: an independent one-dimensional-integral formula for I_a (Beta decomposition
  Z = chi2_d * (a^2 + (1 - a^2) B), B ~ Beta(n/2, (d - n)/2) independent of chi2_d).
* Corollaries 4 and 10 (large-d expansions), ``sigma_bar_sq_second_order`` (the exact 1/d^2
  coefficient for every a, derived by a delta-method expansion of E[Z^(s/2)]), Theorem 5's mu_0 and
  s_0^2 (ReLU, conditioned on x_k != 0), and the dropout threshold of Remark 13.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

LOG2 = math.log(2.0)
# Below this slope Theorem 7's series needs > 4e7 terms; ``ia`` / ``sigma_bar`` use the integral instead.
SERIES_MIN_SLOPE = 1e-3
TABLE_COLUMNS = ["slope", "s", "width", "sigma_bar", "sigma_bar_sq_asymptotic", "sigma_bar_sq",
                 "sigma_bar_sq_second_order", "asymptotic_source", "i_a", "truncation_bound"]


def _check(slope: float, s: float, width: int, *, s_max: float | None = 2.0) -> None:
    if not (0.0 <= slope <= 1.0):
        raise ValueError(f"slope a must lie in [0, 1] (got {slope}); the paper's phi_a has a in [0, 1]")
    if not s > 0 or (s_max is not None and s > s_max):
        bound = f"(0, {s_max}]" if s_max is not None else "(0, inf)"
        raise ValueError(f"moment order s must lie in {bound} (got {s})")
    if int(width) != width or width < 1:
        raise ValueError(f"width d must be a positive integer (got {width})")


def _log_binom_weights(width: int) -> np.ndarray:
    """log C(d, n) 2^-d for n = 0..d (binomial log-pmf, renormalised: the pmf's own rounding, ~1e-12
    at d = 1000, would otherwise shift every I_a by a common factor)."""
    log_w = stats.binom.logpmf(np.arange(width + 1), width, 0.5)
    return log_w - special.logsumexp(log_w)


# ---- ReLU: Theorem 1 ---------------------------------------------------------------------------
def log_i0(s: float, width: int) -> float:
    """log I_0(s, d) of eq. (3.2), summed in log space (the n = 0 term is 0: 1/Gamma(0) = 0)."""
    _check(0.0, s, width, s_max=None)
    n = np.arange(1, width + 1)
    # log Gamma(n/2 + s/2) - log Gamma(n/2): special.poch is accurate for large n where a difference
    # of two gammaln values would lose digits.
    log_ratio = np.log(special.poch(n / 2.0, s / 2.0))
    return 0.5 * s * LOG2 + float(special.logsumexp(_log_binom_weights(width)[1:] + log_ratio))


def i0(s: float, width: int) -> float:
    """I_0(s, d) of eq. (3.2): E||relu(g)||^s for g ~ N(0, I_d)."""
    return math.exp(log_i0(s, width))


# ---- Leaky ReLU / linear: Theorem 7 ------------------------------------------------------------
@dataclass(frozen=True)
class SeriesSum:
    """Value of a truncated series with a rigorous bound on |value - exact|, and its length."""

    value: float
    truncation_bound: float
    max_terms: int


def _envelope_sum(z: float, k_last: int, degree: int) -> float:
    """sum_{j>=1} z^j (1 + j / k_last)^degree, the tail factor used for the truncation bound."""
    g0 = z / (1.0 - z)
    if degree == 0:
        return g0
    g1 = z / (1.0 - z) ** 2
    if degree == 1:
        return g0 + g1 / k_last
    g2 = z * (1.0 + z) / (1.0 - z) ** 3
    return g0 + 2.0 * g1 / k_last + g2 / k_last**2


def _inner_sums(slope: float, s: float, width: int, n: int, order: int, rtol: float,
                max_terms: int, abs_tol: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Inner sums over k of eq. (4.2) for one n:  sum_k w_{k,n} tau_k(s) g_j(k)  for j = 0..order,

        tau_k(s) = B(k + 1 - s/2, d/2 + s/2) / Gamma(1 - s/2) = (1 - s/2)_k Gamma(d/2 + s/2) / Gamma(k + 1 + d/2)

    with g_0 = 1 and, at s = 0 only, g_1 = A_k = d/ds log tau_k and g_2 = A_k^2 + B_k = tau_k''/tau_k
    (A_k = (psi(d/2) - H_k) / 2, B_k = (psi1(d/2) - H2_k) / 4; H, H2 harmonic numbers).
    Stops once every tail bound is below max(rtol * |sum|, abs_tol).
    Returns (sums, truncation bounds, number of terms)."""
    d = width
    m = d - n
    z = 1.0 - slope**2
    b = 1.0 - 0.5 * s  # (b)_k from tau_k
    # w_{k,n} = 1/2 z^k [ n (m/2)_k / k! + a^2 m (m/2 + 1)_k / k! ]   (eq. (4.3), generalised binomials)
    pieces = []
    if n > 0:
        pieces.append((0.5 * n, 0.5 * m))
    if m > 0:
        pieces.append((0.5 * slope**2 * m, 0.5 * m + 1.0))
    log_tau0 = special.gammaln(0.5 * d + 0.5 * s) - special.gammaln(1.0 + 0.5 * d)
    sums = np.zeros(order + 1)
    bounds = np.zeros(order + 1)
    if z == 0.0 or s == 2.0:
        # only k = 0 survives: z^k = 0 (a = 1) or (1 - s/2)_k = 0 (s = 2)
        for coef, _x in pieces:
            sums[0] += coef * math.exp(log_tau0)
        if order:  # only at s = 0 (checked by the caller): A_0 = psi(d/2)/2, B_0 = psi1(d/2)/4
            a0 = 0.5 * special.digamma(0.5 * d)
            sums[1] = sums[0] * a0
            if order > 1:
                sums[2] = sums[0] * (a0**2 + 0.25 * special.polygamma(1, 0.5 * d))
        return sums, bounds, 1
    if order and s != 0:
        raise ValueError("derivative sums are only implemented at s = 0")
    log_z = math.log(z)
    for coef, x in pieces:
        start, log_term, harm, harm2 = 0, math.log(coef) + log_tau0, 0.0, 0.0
        chunk = 64  # doubled up to 2^16: most n need a few dozen terms, small n and small a many more
        part = np.zeros(order + 1)
        while True:
            k = np.arange(start, start + chunk, dtype=np.float64)
            # log of T_{k+1}/T_k = z (x + k)(b + k) / ((k + 1)(k + 1 + d/2)); cumulative in log space
            with np.errstate(divide="ignore"):  # x = 0 (n = d): (0)_k = 0 for k >= 1, log = -inf is right
                step = log_z + np.log((x + k) * (b + k)) - np.log((k + 1.0) * (k + 1.0 + 0.5 * d))
            logs = log_term + np.concatenate(([0.0], np.cumsum(step[:-1])))
            terms = np.exp(logs)
            part[0] += terms.sum()
            if order:
                h = harm + np.concatenate(([0.0], np.cumsum(1.0 / (k[1:]))))  # H_k
                h2 = harm2 + np.concatenate(([0.0], np.cumsum(1.0 / k[1:] ** 2)))
                a_k = 0.5 * (special.digamma(0.5 * d) - h)
                part[1] += (terms * a_k).sum()
                if order > 1:
                    part[2] += (terms * (a_k**2 + 0.25 * (special.polygamma(1, 0.5 * d) - h2))).sum()
                harm, harm2 = h[-1] + 1.0 / (k[-1] + 1.0), h2[-1] + 1.0 / (k[-1] + 1.0) ** 2
            log_term = logs[-1] + step[-1]
            start += chunk
            chunk = min(2 * chunk, 1 << 16)
            k_last = start - 1
            # For k >= k_star every ratio T_{k+1}/T_k is <= z ((x+k)(b+k) <= (k+1)(k+1+d/2) there),
            # so sum_{k > k_last} T_k g(k) <= T_{k_last} * env(k_last) * sum_j z^j (1 + j/k_last)^deg.
            big_d = 1.0 + 0.5 * d + 0.5 * s - x
            if big_d > 0:
                k_star = (x * b - (1.0 + 0.5 * d)) / big_d
            else:  # n = 0 at s = 0: the ratio is exactly z for every k
                k_star = -math.inf if x * b <= 1.0 + 0.5 * d else math.inf
            if k_last >= k_star:
                t_last = terms[-1]
                env = [1.0]
                if order:
                    h_last = harm
                    env.append(0.5 * (abs(special.digamma(0.5 * d)) + h_last))
                    env.append(env[1] ** 2 + 0.25 * max(special.polygamma(1, 0.5 * d), math.pi**2 / 6))
                tail = np.array([t_last * env[j] * _envelope_sum(z, k_last, min(j, 2)) for j in range(order + 1)])
                if np.all(tail <= np.maximum(rtol * np.maximum(np.abs(part), part[0]), abs_tol)) or t_last == 0.0:
                    break
            if start >= max_terms:
                raise RuntimeError(f"Theorem 7 series for a={slope}, s={s}, d={d}, n={n} did not reach "
                                   f"rtol={rtol} within {max_terms} terms; raise max_terms")
        sums += part
        bounds += tail
    return sums, bounds, start


def theorem7_series(slope: float, s: float, width: int, *, order: int = 0, rtol: float = 1e-14,
                    max_terms: int = 50_000_000) -> list[SeriesSum]:
    """Eq. (4.2)-(4.3) for a in (0, 1]:  I_a(s, d) = 2^(s/2) sum_n C(d, n) 2^-d sum_k w_{k,n} tau_k(s).

    ``order = 0`` returns [I_a(s, d)]; ``order = 2`` (only at s = 0) returns [S(0), S'(0), S''(0)]
    of S(s) = I_a(s, d) 2^(-s/2) (S(0) = 1 is a consistency check).  Each value comes with a rigorous
    bound on its truncation error: per n, the k-tail bound of ``_inner_sums``; over n, the binomial
    weights left out (contributing at most their weight times I_1(s, d), the largest I_a)."""
    if not 0.0 < slope <= 1.0:
        raise ValueError(f"Theorem 7 needs a in (0, 1] (got {slope}); use i0 for ReLU (a = 0)")
    if slope < SERIES_MIN_SLOPE:
        raise ValueError(f"slope a = {slope} < {SERIES_MIN_SLOPE}: the series (4.2) converges like (1 - a^2)^k and "
                         "needs ~40/a^2 terms; use ia_integral (or ia, which switches to it)")
    if order == 0:
        _check(slope, s, width)
    elif s != 0.0:
        raise ValueError("order > 0 (s-derivatives) is only available at s = 0")
    log_w = _log_binom_weights(width)
    # Leave out the binomial tails whose total weight is below rtol * a^s * 1e-3 (I_a >= a^s I_1).
    cutoff = rtol * 1e-3 * slope**s
    order_n = np.argsort(log_w)
    cum = np.cumsum(np.exp(log_w[order_n]))
    skipped = order_n[cum <= cutoff]
    skipped_weight = float(cum[cum <= cutoff][-1]) if skipped.size else 0.0
    keep = np.setdiff1d(np.arange(width + 1), skipped)
    total = np.zeros(order + 1)
    bound = np.zeros(order + 1)
    terms_used = 0
    # A lower bound of the total (I_a 2^(-s/2) >= a^s E[chi2_d^(s/2)] 2^(-s/2); S(0) = 1 for the
    # derivative sums) turns rtol into an absolute tolerance per n, so that the many terms needed by
    # n with a negligible binomial weight are not summed.
    lower = slope**s * math.exp(special.gammaln(0.5 * width + 0.5 * s) - special.gammaln(0.5 * width)) if order == 0 else 1.0
    for n in keep:
        abs_tol = rtol * lower / (math.exp(log_w[n]) * keep.size)
        sums, bounds, used = _inner_sums(slope, s, width, int(n), order, rtol, max_terms, abs_tol)
        total += math.exp(log_w[n]) * sums
        bound += math.exp(log_w[n]) * bounds
        terms_used = max(terms_used, used)
    prefactor = 2.0 ** (0.5 * s)
    # Weight left out: each inner sum is <= E[chi2_d^(s/2)] 2^(-s/2) (Z <= chi2_d); for the derivative
    # sums use the same crude envelope as the tails.
    i1_over = math.exp(special.gammaln(0.5 * width + 0.5 * s) - special.gammaln(0.5 * width))
    bound[0] += skipped_weight * i1_over
    if order:
        bound[1:] += skipped_weight * 1e3  # the derivative sums per n are O(log^2 d): a safe envelope
    if order == 0:
        return [SeriesSum(prefactor * total[0], prefactor * bound[0], terms_used)]
    return [SeriesSum(total[j], bound[j], terms_used) for j in range(order + 1)]


@functools.lru_cache(maxsize=4096)
def ia_series(slope: float, s: float, width: int, rtol: float = 1e-14) -> SeriesSum:
    """I_a(s, d) for a in (0, 1] from Theorem 7's series, with its truncation bound (cached)."""
    return theorem7_series(slope, s, width, rtol=rtol)[0]


def _beta_expect(func, alpha: float, beta: float) -> float:
    """E f(B), B ~ Beta(alpha, beta), by adaptive quadrature: QAWS (algebraic end-point weight) for
    small parameters; for large ones the density is concentrated, so integrate f * pdf over
    mean +- 40 standard deviations (QAWS loses accuracy there)."""
    if min(alpha, beta) < 20.0:
        value, _ = integrate.quad(func, 0.0, 1.0, weight="alg", wvar=(alpha - 1.0, beta - 1.0), epsabs=0.0,
                                  epsrel=1e-13, limit=200)
        return value / special.beta(alpha, beta)
    dist = stats.beta(alpha, beta)
    mean, sd = dist.mean(), dist.std()
    lo, hi = max(0.0, mean - 40.0 * sd), min(1.0, mean + 40.0 * sd)
    value, _ = integrate.quad(lambda b: func(b) * dist.pdf(b), lo, hi, points=[mean], epsabs=0.0,
                              epsrel=1e-13, limit=400)
    return value


def ia_integral(slope: float, s: float, width: int) -> float:
    """Independent formula: I_a(s, d) = E[chi2_d^(s/2)] sum_n C(d, n) 2^-d E[(a^2 + (1 - a^2) B_n)^(s/2)],
    B_n ~ Beta(n/2, (d - n)/2) (B_0 = 0, B_d = 1): Z = X + a^2 Y = (X + Y)(a^2 + (1 - a^2) B) with
    X + Y ~ chi2_d independent of B = X / (X + Y).  One adaptive quadrature per n (QAWS, weight
    b^(n/2-1)(1-b)^((d-n)/2-1)), see ``_beta_expect``.  Works for every a in [0, 1] and s > 0."""
    _check(slope, s, width, s_max=None)
    d = width
    weights = np.exp(_log_binom_weights(d))
    expect = np.empty(d + 1)
    expect[0], expect[d] = slope**s, 1.0
    for n in range(1, d):
        expect[n] = _beta_expect(lambda b: (slope**2 + (1.0 - slope**2) * b) ** (0.5 * s), 0.5 * n, 0.5 * (d - n))
    chi_moment = 2.0 ** (0.5 * s) * special.poch(0.5 * d, 0.5 * s)
    return float(chi_moment * np.dot(weights, expect))


def ia_with_bound(slope: float, s: float, width: int) -> tuple[float, float, str]:
    """(I_a(s, d), truncation bound, method): eq. (3.2) for a = 0 (exact sum), Theorem 7's series for
    a >= SERIES_MIN_SLOPE, the one-dimensional integral for 0 < a < SERIES_MIN_SLOPE (bound: quadrature, nan)."""
    if slope == 0.0:
        _check(slope, s, width, s_max=None)
        return i0(s, width), 0.0, "eq3.2"
    if slope < SERIES_MIN_SLOPE:
        return ia_integral(slope, s, width), float("nan"), "integral"
    series = ia_series(slope, s, width)
    return series.value, series.truncation_bound, "series4.2"


def ia(slope: float, s: float, width: int) -> float:
    """I_a(s, d) = E||phi_a(g)||^s (see ``ia_with_bound``)."""
    return ia_with_bound(slope, s, width)[0]


def sigma_bar(slope: float, s: float, width: int) -> float:
    """Critical standard deviation sigma_bar_a(s, d) = I_a(s, d)^(-1/s) (Theorems 1 and 7)."""
    if slope == 0.0:
        _check(slope, s, width, s_max=None)
        return math.exp(-log_i0(s, width) / s)
    _check(slope, s, width)
    return ia(slope, s, width) ** (-1.0 / s)


# ---- large-d expansions ------------------------------------------------------------------------
def sigma_bar_sq_corollary4(s: float, width: int) -> float:
    """Corollary 4 (ReLU): sigma_bar_0^2 ~ 2/d + 5 (2 - s) / (2 d^2)."""
    return 2.0 / width + 5.0 * (2.0 - s) / (2.0 * width**2)


def sigma_bar_sq_linear_exact(s: float, width: int) -> float:
    """Corollary 10, exact for a = 1: sigma_bar_1^2 = 1/2 (Gamma(d/2) / Gamma(d/2 + s/2))^(2/s)."""
    return 0.5 * special.poch(0.5 * width, 0.5 * s) ** (-2.0 / s)


def sigma_bar_sq_corollary10(slope: float, s: float, width: int) -> float:
    """Corollary 10's expansions: a = 1: 1/d + (2 - s)/(2 d^2); small a > 0:
    2 / ((1 + a^2) d) + (5 - (12 - 5 s / 2) a^2) / (2 + (s + 2) a^2) (2 - s) / d^2."""
    d = width
    if slope == 1.0:
        return 1.0 / d + (2.0 - s) / (2.0 * d**2)
    a2 = slope**2
    return 2.0 / ((1.0 + a2) * d) + (5.0 - (12.0 - 2.5 * s) * a2) / (2.0 + (s + 2.0) * a2) * (2.0 - s) / d**2


def sigma_bar_sq_asymptotic(slope: float, s: float, width: int) -> tuple[float, str]:
    """The paper's expansion for this slope and the name of the statement it comes from."""
    if slope == 0.0:
        return sigma_bar_sq_corollary4(s, width), "corollary4"
    if slope == 1.0:
        return sigma_bar_sq_corollary10(slope, s, width), "corollary10_linear"
    return sigma_bar_sq_corollary10(slope, s, width), "corollary10_small_a"


def second_order_coefficient(slope: float, s: float) -> float:
    """c(a, s) in sigma_bar_a^2 = 2 / ((1 + a^2) d) + c(a, s) / d^2 + O(d^-3), for every a in [0, 1].

    Delta method: Z is a sum of d i.i.d. terms with mean m1 = (1 + a^2)/2 and variance
    v = E phi^4 - m1^2 = 3 (1 + a^4)/2 - m1^2 = (5 - 2 a^2 + 5 a^4)/4, so
    E Z^(s/2) = (d m1)^(s/2) (1 + (s/2)(s/2 - 1) v / (2 d m1^2) + O(d^-2)) and
    c = (2 - s) v / (4 m1^3) = (2 - s)(5 - 2 a^2 + 5 a^4) / (2 (1 + a^2)^3).
    It gives Corollary 4 at a = 0, Corollary 10 at a = 1 and agrees with Corollary 10's small-a
    formula to first order in a^2."""
    a2 = slope**2
    return (2.0 - s) * (5.0 - 2.0 * a2 + 5.0 * a2**2) / (2.0 * (1.0 + a2) ** 3)


def sigma_bar_sq_second_order(slope: float, s: float, width: int) -> float:
    return 2.0 / ((1.0 + slope**2) * width) + second_order_coefficient(slope, s) / width**2


def second_order_coefficient_exact(slope: float, s: float, width: int) -> float:
    """d^2 (sigma_bar_a^2(s, d) - 2 / ((1 + a^2) d)): the 1/d^2 coefficient of the exact sigma_bar at width d."""
    return width * width * (sigma_bar(slope, s, width) ** 2 - 2.0 / ((1.0 + slope**2) * width))


def second_order_coefficient_extrapolated(slope: float, s: float, width1: int, width2: int) -> tuple[float, float]:
    """The d -> infinity limit of ``second_order_coefficient_exact`` by Richardson extrapolation from two
    widths (its error is O(1/d)): (limit, error estimate |c(d2) - limit| / d2 of the extrapolated value)."""
    c1 = second_order_coefficient_exact(slope, s, width1)
    c2 = second_order_coefficient_exact(slope, s, width2)
    limit = (width2 * c2 - width1 * c1) / (width2 - width1)
    return limit, abs(c2 - c1) * width1 / (width2 - width1) / width2


def moment_ratio(slope: float, alpha: float, width: int, sigma: float) -> float:
    """E||x_{k+1}||^alpha / ||x_k||^alpha = sigma^alpha I_a(alpha, d) for any alpha > 0 (eqs. (3.1)/(4.1);
    the Beta-integral formula of I_a holds beyond alpha = 2, as needed for the variance of the s-th moment)."""
    i_alpha = i0(alpha, width) if slope == 0.0 else ia_integral(slope, alpha, width)
    return sigma**alpha * i_alpha


def dropout_threshold_sq(s: float, width: int, keep: float) -> float:
    """Remark 13: critical variance for ReLU with dropout (keep probability q):
    sigma_{0,q}^2 ~ 2 q / d + (2 - s)(6 - q) / (2 d^2)."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep probability q must lie in (0, 1] (got {keep})")
    _check(0.0, s, width)
    return 2.0 * keep / width + (2.0 - s) * (6.0 - keep) / (2.0 * width**2)


# ---- Theorem 5 (ReLU) and Theorem 11 (a > 0): exponent and CLT variance -------------------------
def pi_d(width: int) -> np.ndarray:
    """pi_d(n) = C(d, n) / (2^d - 1), n = 1..d: the law of the number of active units given x != 0."""
    log_w = _log_binom_weights(width)[1:]
    return np.exp(log_w - math.log(-math.expm1(-width * LOG2)))


def mu_relu(sigma: float, width: int) -> float:
    """Theorem 5, eq. (3.5): mu_0(sigma) = log sigma + 1/2 sum_n pi_d(n) [log 2 + psi(n/2)]."""
    n = np.arange(1, width + 1)
    return math.log(sigma) + 0.5 * float(np.dot(pi_d(width), LOG2 + special.digamma(n / 2.0)))


def s2_relu(width: int) -> float:
    """Theorem 5: s_0^2 = 1/4 sum pi (psi1(n/2) + [log 2 + psi(n/2)]^2) - 1/4 (sum pi [log 2 + psi(n/2)])^2."""
    n = np.arange(1, width + 1)
    p = pi_d(width)
    centre = LOG2 + special.digamma(n / 2.0)
    return 0.25 * float(np.dot(p, special.polygamma(1, n / 2.0) + centre**2)) - 0.25 * float(np.dot(p, centre)) ** 2


@dataclass(frozen=True)
class ExponentSeries:
    """mu_a(sigma) - log sigma and s_a^2 from Theorem 7's series (with truncation bounds)."""

    half_e_log_z: float
    half_e_log_z_bound: float
    s2: float
    s2_bound: float
    normalisation: float  # S(0), must be 1


def exponent_series(slope: float, width: int, rtol: float = 1e-13) -> ExponentSeries:
    """Top Lyapunov exponent and CLT variance of Theorem 11 from Theorem 7's series.

    E||x_{k+1}||^s / ||x_k||^s = sigma^s I_a(s, d) = E exp(s L) with L = log sigma + 1/2 log Z the
    per-layer increment of log||x_k||, so log(sigma^s I_a(s, d)) is the cumulant generating function
    of L: mu_a(sigma) = log sigma + d/ds log I_a|_{s=0} and s_a^2 = d^2/ds^2 log I_a|_{s=0}.  With
    I_a = 2^(s/2) S(s): d/ds log I_a = log(2)/2 + S'/S and d^2/ds^2 log I_a = S''/S - (S'/S)^2."""
    s0, s1, s2 = theorem7_series(slope, 0.0, width, order=2, rtol=rtol)
    first = s1.value / s0.value
    return ExponentSeries(
        half_e_log_z=0.5 * LOG2 + first,
        half_e_log_z_bound=s1.truncation_bound + abs(first) * s0.truncation_bound,
        s2=s2.value / s0.value - first**2,
        s2_bound=s2.truncation_bound + 2 * abs(first) * s1.truncation_bound + (first**2 + abs(s2.value)) * s0.truncation_bound,
        normalisation=s0.value,
    )


def mu_series(sigma: float, slope: float, width: int) -> float:
    """mu_a(sigma) (Theorem 11) for a in (0, 1], from Theorem 7's series (see ``exponent_series``)."""
    return math.log(sigma) + exponent_series(slope, width).half_e_log_z


def s2_beta(slope: float, width: int) -> float:
    """Independent formula for s_a^2 = Var(1/2 log Z), a in (0, 1]: log Z = log chi2_d + log(a^2 + (1 - a^2) B)
    with the two terms independent, so s_a^2 = (psi1(d/2) + Var[log(a^2 + (1 - a^2) B_N)]) / 4,
    N ~ Binomial(d, 1/2), by quadrature."""
    if not 0.0 < slope <= 1.0:
        raise ValueError(f"s2_beta needs a in (0, 1] (got {slope})")
    d = width
    weights = np.exp(_log_binom_weights(d))
    m1, m2 = np.empty(d + 1), np.empty(d + 1)
    la2 = 2.0 * math.log(slope)
    m1[0], m2[0], m1[d], m2[d] = la2, la2**2, 0.0, 0.0
    for n in range(1, d):
        for power, out in ((1, m1), (2, m2)):
            out[n] = _beta_expect(lambda b: math.log(slope**2 + (1.0 - slope**2) * b) ** power, 0.5 * n, 0.5 * (d - n))
    mean = float(np.dot(weights, m1))
    var = float(np.dot(weights, m2)) - mean**2
    return 0.25 * (special.polygamma(1, 0.5 * d) + var)


# ---- tables ------------------------------------------------------------------------------------
def critical_row(slope: float, s: float, width: int) -> dict:
    """One row of table_critical: sigma_bar_a(s, d), the paper's expansion and ours."""
    value, bound, _method = ia_with_bound(slope, s, width)
    asym, source = sigma_bar_sq_asymptotic(slope, s, width)
    sb = value ** (-1.0 / s)
    return {
        "slope": slope, "s": s, "width": width, "sigma_bar": sb, "sigma_bar_sq_asymptotic": asym,
        "sigma_bar_sq": sb**2, "sigma_bar_sq_second_order": sigma_bar_sq_second_order(slope, s, width),
        "asymptotic_source": source, "i_a": value, "truncation_bound": bound,
    }


def critical_table(slopes, moments, widths) -> pd.DataFrame:
    """table_critical: rows for every (slope, s, width), in that nesting order."""
    rows = [critical_row(float(a), float(s), int(d)) for a in slopes for s in moments for d in widths]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def log_moment_growth(alpha: float, s: float, width: int, depth: int) -> float:
    """log E||x_k||^alpha / ||x_0||^alpha at k = depth for ReLU with sigma = sigma_bar_0(s, d)
    (eq. (3.1)): k (alpha log sigma_bar_0(s, d) + log I_0(alpha, d))."""
    return depth * (-alpha / s * log_i0(s, width) + log_i0(alpha, width))
