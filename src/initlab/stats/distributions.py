"""Empirical distributions: the empirical cdf, the two-sample Dvoretzky-Kiefer-Wolfowitz band, tidy
histogram/ecdf rows with binomial standard errors beside a theory Gaussian, and Richardson
extrapolation of a sequence with a known error order."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def ecdf(samples, grid) -> np.ndarray:
    """The empirical cdf P(X <= r) of ``samples`` at every point of ``grid`` (scipy.stats.ecdf)."""
    return np.asarray(stats.ecdf(np.asarray(samples, dtype=np.float64).ravel()).cdf.evaluate(np.asarray(grid)))


def dkw_epsilon(n1: int, n2: int, alpha: float = 1e-3) -> float:
    """Two-sample Dvoretzky-Kiefer-Wolfowitz band: for two samples of one law, sup |F1 - F2| exceeds
    this with probability at most about ``alpha``."""
    return math.sqrt(0.5 * math.log(2.0 / alpha) * (1.0 / n1 + 1.0 / n2))


def max_cdf_excess(first, second, grid) -> float:
    """max over ``grid`` of F_first - F_second (positive where ``first`` lies to the left)."""
    return float(np.max(ecdf(first, grid) - ecdf(second, grid)))


def histogram_rows(samples, edges, theory_pdf=None) -> list[dict]:
    """One row per bin: centre ``r``, density ``mc`` with its binomial standard error ``mc_stderr``
    (sqrt(k (1 - k/n)) / (n width)) and, with ``theory_pdf``, ``theory`` at the centre."""
    x = np.asarray(samples)
    edges = np.asarray(edges)
    counts, _ = np.histogram(x, bins=edges)
    width = edges[1] - edges[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    return [dict(r=c, mc=k / (x.size * width), mc_stderr=math.sqrt(k * (1 - k / x.size)) / (x.size * width),
                 theory=float(theory_pdf(c)) if theory_pdf else float("nan")) for c, k in zip(centres, counts)]


def ecdf_rows(samples, grid, theory_cdf=None) -> list[dict]:
    """One row per grid point: the ecdf ``mc`` with its binomial standard error sqrt(F (1 - F) / n) and,
    with ``theory_cdf``, ``theory``."""
    x = np.asarray(samples)
    f = ecdf(x, grid)
    return [dict(r=g, mc=v, mc_stderr=math.sqrt(v * (1 - v) / x.size),
                 theory=float(theory_cdf(g)) if theory_cdf else float("nan")) for g, v in zip(grid, f)]


def gaussian_distribution_rows(samples, mean: float, var: float, edges, grid, **labels) -> list[dict]:
    """Tidy pdf rows (``histogram_rows``) and cdf rows (``ecdf_rows``) against N(mean, var), each row
    starting with ``labels`` and ``kind`` (pdf / cdf)."""
    sd = math.sqrt(var)
    pdf = histogram_rows(samples, edges, lambda r: stats.norm.pdf(r, mean, sd))
    cdf = ecdf_rows(samples, grid, lambda r: stats.norm.cdf(r, mean, sd))
    return ([{**labels, "kind": "pdf", **row} for row in pdf] + [{**labels, "kind": "cdf", **row} for row in cdf])



def common_support(samples_list, bins: int, points: int = 200, tail: float = 0.0005):
    """Histogram ``edges`` (``bins`` equal bins) and an ecdf ``grid`` (``points``) over the central
    1 - 2 ``tail`` quantile range of the pooled samples."""
    lo, hi = np.quantile(np.concatenate([np.asarray(x).ravel() for x in samples_list]), [tail, 1.0 - tail])
    return np.linspace(lo, hi, bins + 1), np.linspace(lo, hi, points)
