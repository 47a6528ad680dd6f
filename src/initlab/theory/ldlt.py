"""Output variance of the LDLT layer M = gamma W0 (alpha I + W0^T W0)^(-1/2) (ldlt paper, Sec. III-IV).

    Var[y] = gamma^2 - (gamma^2 alpha / m) E tr((alpha I_m + S)^(-1)),   S = W0 W0^T      (eq. 2)
    E tr((alpha I + S)^(-1)) ~ sum_k (-1)^k alpha^(-(k+1)) E tr(S^k)                     (Lemma III.5)
    E tr(S^k) = sigma^(2k) sum_{a,b} C^(k)_{a,b} n^a m^b                                (Sec. IV-E)

The Laplace series is asymptotic (it converges sample-wise only when ||S||_2 < alpha); the
truncated series is evaluated here in exact rational arithmetic so that any disagreement with Monte
Carlo is the series' own, not round-off.  The Marchenko-Pastur law gives an independent large-n
limit for sigma^2 = c / n and m / n -> ratio.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from initlab.theory.wick import Coefficients


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not np.all(np.asarray(value, dtype=float) > 0) or not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")


def _check_sizes(n: int, m: int) -> None:
    for name, value in (("n", n), ("m", m)):
        if int(value) != value or value < 1:
            raise ValueError(f"matrix size {name} must be an integer >= 1, got {value!r}")


def trace_moments(coefficients: Mapping[int, Coefficients], n: int, m: int, k_max: int) -> list[int]:
    """[E tr(S^k) / sigma^(2k) for k = 0..k_max] as exact integers (k = 0 gives tr I_m = m)."""
    _check_sizes(n, m)
    missing = [k for k in range(1, k_max + 1) if k not in coefficients]
    if missing:
        raise ValueError(f"Wick table lacks orders {missing}; regenerate table_wick with k_max >= {k_max}")
    return [int(m)] + [sum(c * int(n) ** a * int(m) ** b for (a, b), c in coefficients[k].items())
                       for k in range(1, k_max + 1)]


def series_mean_resolvent_trace(coefficients: Mapping[int, Coefficients], n: int, m: int,
                                sigma2: Sequence[float], alpha: float, orders: Sequence[int]) -> np.ndarray:
    """Truncated Laplace series of E tr((alpha I + S)^(-1)), sum_{k=0}^{K} (Lemma III.5 + Sec. IV-E),
    for each truncation order K in ``orders`` (rows) and each sigma^2 (columns)."""
    orders = [int(K) for K in orders]
    if not orders or min(orders) < 0:
        raise ValueError(f"truncation orders must be integers >= 0, got {orders!r}")
    _check_positive(alpha=alpha)
    sigma2 = np.atleast_1d(np.asarray(sigma2, dtype=float))
    if np.any(sigma2 < 0) or not np.all(np.isfinite(sigma2)):
        raise ValueError(f"sigma^2 values must be finite and >= 0, got {sigma2!r}")
    moments = trace_moments(coefficients, n, m, max(orders))
    alpha_q = Fraction(alpha)
    out = np.empty((len(orders), sigma2.size))
    for col, s2 in enumerate(sigma2):
        s2_q = Fraction(float(s2))
        partial, running = [], Fraction(0)
        for k, mu in enumerate(moments):
            running += (-1) ** k * mu * s2_q ** k / alpha_q ** (k + 1)
            partial.append(running)
        out[:, col] = [float(partial[K]) for K in orders]
    return out


def variance_from_mean_resolvent_trace(mean_trace, m: int, alpha: float, gamma: float):
    """Eq. (2): Var[y] = gamma^2 - gamma^2 alpha / m * E tr((alpha I + S)^(-1))."""
    return gamma ** 2 - gamma ** 2 * alpha / m * np.asarray(mean_trace)


def series_variance(coefficients: Mapping[int, Coefficients], n: int, m: int, sigma2: Sequence[float],
                    alpha: float, gamma: float, orders: Sequence[int]) -> np.ndarray:
    """Truncated-series Var[y] (rows: truncation order K, columns: sigma^2)."""
    _check_positive(gamma=gamma)
    trace = series_mean_resolvent_trace(coefficients, n, m, sigma2, alpha, orders)
    return variance_from_mean_resolvent_trace(trace, m, alpha, gamma)


def mp_stieltjes(z, ratio: float):
    """Stieltjes transform s(z) = int dmu(x) / (x - z) of the Marchenko-Pastur law of (1/n) Z Z^T
    (Z: m x n standard Gaussian, ratio = m / n), for real z < 0.  It solves
    ratio z s^2 + (z + ratio - 1) s + 1 = 0; the root written as 2 / (-B + sqrt(B^2 - 4 ratio z)) is the
    positive one and is stable for small ratio and small |z|."""
    _check_positive(ratio=ratio)
    z = np.asarray(z, dtype=float)
    if np.any(z >= 0):
        raise ValueError("mp_stieltjes is implemented for z < 0 (resolvent at -alpha/c)")
    b = z + ratio - 1.0
    return 2.0 / (-b + np.sqrt(b * b - 4.0 * ratio * z))


def mp_mean_resolvent(c, alpha: float, ratio: float = 1.0):
    """lim (1/m) E tr((alpha I + S)^(-1)) for S = W0 W0^T, sigma^2 = c / n, m / n -> ratio:
    S = c (1/n) Z Z^T, so the limit is s(-alpha / c) / c."""
    _check_positive(alpha=alpha, c=c)
    c = np.asarray(c, dtype=float)
    return mp_stieltjes(-alpha / c, ratio) / c


def mp_variance_limit(c, alpha: float = 1.0, gamma: float = 1.0, ratio: float = 1.0):
    """Large-n limit of Var[y] (eq. 2) at sigma^2 = c / n: gamma^2 (1 - alpha * mp_mean_resolvent)."""
    _check_positive(gamma=gamma)
    return gamma ** 2 * (1.0 - alpha * mp_mean_resolvent(c, alpha, ratio))


def variance_limit_large_sigma(n: int, m: int, gamma: float = 1.0) -> float:
    """lim_{sigma^2 -> inf} Var[y] for fixed (n, m): S has min(n, m) eigenvalues growing like sigma^2
    and m - min(n, m) exact zeros, so (alpha/m) E tr((alpha I + S)^(-1)) -> (m - min(n, m)) / m and
    Var[y] -> gamma^2 min(n, m) / m.  Equals gamma^2 (the paper's Sec. IV-F) only when m <= n."""
    _check_sizes(n, m)
    _check_positive(gamma=gamma)
    return gamma ** 2 * min(n, m) / m


def series_convergence_sigma2(n: int, m: int, alpha: float) -> float:
    """sigma^2 below which ||S||_2 < alpha typically holds (Lemma III.5 with t = 0):
    alpha / (sqrt(m) + sqrt(n))^2.  Above it the Laplace series is used outside its radius."""
    _check_sizes(n, m)
    _check_positive(alpha=alpha)
    return alpha / (np.sqrt(m) + np.sqrt(n)) ** 2
