"""Tests of a central limit theorem against Monte Carlo with theory centring and a variance fitted on
an independent half of the sample (so that the agreement with N(0, 1) is not automatic).

``clt_split_test`` standardises y = (S_k - k lambda) / sqrt(k) on the *test* half by the theory centre
(k lambda, no sample mean) and by s^2 estimated on the *fit* half, then measures that standardised
variable against N(0, 1): Kolmogorov-Smirnov and Anderson-Darling (both fully specified N(0, 1), so
the only estimated quantity, s^2, comes from independent data), the mean with its standard error and
the variance ratio with a standard error that includes the error of the fitted s^2."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from initlab.stats.moments import moments, variance_se


def split_halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random partition of range(n) into a fit half and a test half (sizes n // 2 and n - n // 2)."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:])


def ad_inf_cdf(z: float) -> float:
    """Asymptotic CDF of the Anderson-Darling statistic A^2 for a fully specified law
    (Marsaglia & Marsaglia 2004, J. Stat. Softw. 9(2), ADinf; error < 2e-6)."""
    if z <= 0:
        return 0.0
    if z < 2.0:
        return math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
    inner = 1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z
    return math.exp(-math.exp(inner))


def anderson_darling_normal(z) -> tuple[float, float]:
    """A^2 of ``z`` against the fully specified N(0, 1), and its asymptotic p-value."""
    x = np.sort(np.asarray(z, dtype=np.float64).ravel())
    n = x.size
    log_cdf, log_sf = stats.norm.logcdf(x), stats.norm.logsf(x)
    i = np.arange(1, n + 1)
    a2 = float(-n - np.mean((2 * i - 1) * (log_cdf + log_sf[::-1])))
    return a2, 1.0 - ad_inf_cdf(a2)


def clt_split_test(sums, k: int, centre: float, fit_idx, test_idx) -> dict[str, Any]:
    """CLT check of the samples ``sums`` (S_k, one per independent replicate) at step ``k``.

    y = (S_k - centre) / sqrt(k); s^2 = Var(y) on ``fit_idx``; z = y / s on ``test_idx``.  Returns
    s2_fit (+ s2_fit_se), the offset mean(S_k) - centre over all samples (+ se: the finite-k bias of
    the centring), on the test half mean_z (= mean(z) / se), var_ratio = Var(z) (1 under the CLT) with
    var_ratio_se (test-half and fit-half errors combined) and var_z = (var_ratio - 1) / var_ratio_se,
    ks_stat / ks_p and ad_stat / ad_p against N(0, 1), and ``z`` itself."""
    s = np.asarray(sums, dtype=np.float64).ravel()
    y = (s - centre) / math.sqrt(k)
    fit, test = y[np.asarray(fit_idx)], y[np.asarray(test_idx)]
    s2, s2_se = float(fit.var(ddof=1)), variance_se(fit)
    z = test / math.sqrt(s2)
    mz = moments(z, mean_theory=0.0)
    v_test, v_test_se = float(test.var(ddof=1)), variance_se(test)
    ratio = v_test / s2
    ratio_se = ratio * math.hypot(v_test_se / v_test, s2_se / s2)
    ks = stats.kstest(z, "norm")
    ad, ad_p = anderson_darling_normal(z)
    all_m = moments(s)
    return {
        "n_fit": fit.size, "n_test": test.size, "s2_fit": s2, "s2_fit_se": s2_se,
        "offset": all_m["mean"] - centre, "offset_se": all_m["mean_se"],
        "mean": mz["mean"], "mean_se": mz["mean_se"], "mean_z": mz["mean_z"],
        "var_ratio": ratio, "var_ratio_se": ratio_se, "var_z": (ratio - 1.0) / ratio_se,
        "ks_stat": float(ks.statistic), "ks_p": float(ks.pvalue), "ad_stat": ad, "ad_p": ad_p,
        "skewness": float(stats.skew(z)), "z": z,
    }


def ratio_se(num: float, num_se: float, den: float, den_se: float) -> float:
    """Standard error of num / den from independent errors (first-order)."""
    return abs(num / den) * math.hypot(num_se / num, den_se / den)


def skewness_se(samples, n_resamples: int = 400, seed: int = 0) -> float:
    """Bootstrap standard error of the sample skewness (valid for non-normal laws, unlike sqrt(6/n))."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    reps = [stats.skew(x[rng.integers(0, x.size, x.size)]) for _ in range(n_resamples)]
    return float(np.std(reps, ddof=1))
