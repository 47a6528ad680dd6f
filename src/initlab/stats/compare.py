"""Comparisons of measured values against reference values, for the claims ledger of every paper.

Per-point judgement with a practical tolerance and a multiplicity correction
(``compare_points``): for each point i (a layer, a grid cell, ...) with measured relative gap
g_i = measured / reference - 1, its standard error s_i and degrees of freedom nu_i,

* deviation test, H0: |g_i| <= tol against |g_i| > tol (a minimum-effect test):
  t_i = (|g_i| - tol) / s_i, one-sided p_i = P(T_nu > t_i) (normal when nu is infinite);
  Holm's step-down correction over the points keeps the family-wise error <= alpha;
* equivalence test, H0: |g_i| >= tol against |g_i| < tol (two one-sided tests, TOST):
  p_eq_i = P(T_nu > (tol - |g_i|) / s_i).  All points equivalent at once is an intersection-union
  test, which needs no correction (Berger 1982).

Summary verdict (``summary_verdict``): ``deviates`` when any point's Holm-adjusted deviation
p-value is < alpha; else ``reproduced`` when every point is equivalent (p_eq < alpha); else
``not-run`` (the standard errors are too large to separate "within tol" from "beyond tol").
A tiny but significant bias (|g| < tol) therefore never makes a claim fail, and a large one
only does when the data show it is larger than tol.

Worst case over cases (``worst_case``): the case with the largest |z| = |measured - reference| / s.e.
is the one a ledger row reports, and the rule "every |z| < z_tol" gives the verdict.

Also: Holm adjustment (scipy has Benjamini-Hochberg as ``scipy.stats.false_discovery_control``
but no Holm), binomial intervals (Wilson and Clopper-Pearson via ``scipy.stats.binomtest``) and a
check whether such an interval can separate two outcomes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

VERDICTS = ("reproduced", "deviates", "not-run")


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control, any dependence)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return adjusted


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), scipy.stats.false_discovery_control."""
    p = np.asarray(p_values, dtype=float)
    return stats.false_discovery_control(p, method="bh") if p.size else p.copy()


def _sf(t, df):
    """Student-t survival function, normal where df is infinite."""
    t, df = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    return np.where(np.isfinite(df), stats.t.sf(t, np.where(np.isfinite(df), df, 1.0)), stats.norm.sf(t))


def _ppf(q, df):
    """Student-t quantile, normal where df is infinite."""
    q, df = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(df, dtype=float))
    return np.where(np.isfinite(df), stats.t.ppf(q, np.where(np.isfinite(df), df, 1.0)), stats.norm.ppf(q))


def compare_points(gap, se, tol: float, alpha: float = 0.05, df=math.inf) -> pd.DataFrame:
    """Per-point judgement of relative gaps ``gap`` (measured / reference - 1) with standard errors
    ``se`` and degrees of freedom ``df`` (scalar or per point; inf = normal) against the practical
    tolerance ``tol``; see the module docstring.  Columns: gap, se, df, z (gap / se), ci_lo, ci_hi
    (two-sided 1 - alpha), p_deviates, p_deviates_holm, p_equivalent, status (deviates /
    equivalent / inconclusive)."""
    gap = np.asarray(gap, dtype=float)
    se = np.asarray(se, dtype=float)
    if gap.shape != se.shape:
        raise ValueError(f"gap and se differ in shape: {gap.shape} vs {se.shape}")
    if not tol >= 0:
        raise ValueError(f"tolerance must be >= 0; got {tol}")
    if np.any(~(se > 0)):
        raise ValueError("every standard error must be > 0 (use more replicates)")
    df_arr = np.broadcast_to(np.asarray(df, dtype=float), gap.shape)
    excess = np.abs(gap) - tol
    p_dev = _sf(excess / se, df_arr)
    p_eq = _sf(-excess / se, df_arr)
    p_dev_holm = holm(p_dev)
    half = _ppf(1 - alpha / 2, df_arr) * se
    status = np.where(p_dev_holm < alpha, "deviates", np.where(p_eq < alpha, "equivalent", "inconclusive"))
    return pd.DataFrame({"gap": gap, "se": se, "df": df_arr, "z": gap / se, "ci_lo": gap - half, "ci_hi": gap + half,
                         "p_deviates": p_dev, "p_deviates_holm": p_dev_holm, "p_equivalent": p_eq, "status": status})


def summary_verdict(table: pd.DataFrame) -> str:
    """reproduced / deviates / not-run from a ``compare_points`` table (rule in the module docstring)."""
    if (table["status"] == "deviates").any():
        return "deviates"
    if (table["status"] == "equivalent").all():
        return "reproduced"
    return "not-run"


def worst_case(z, z_tol: float) -> tuple[int, str]:
    """Index of the case with the largest |z| (the first on ties; a NaN z counts as the largest) and
    the verdict of the rule "every |z| < z_tol": reproduced, else deviates (NaN never passes)."""
    size = np.abs(np.asarray(z, dtype=float))
    if size.size == 0:
        raise ValueError("need at least one case")
    worst = int(np.argmax(np.where(np.isnan(size), np.inf, size)))
    return worst, "reproduced" if bool(np.all(size < z_tol)) else "deviates"


def replicate_gaps(measured, reference, axis: int = 0):
    """Relative gaps from independent replicates: ``measured`` (replicates along ``axis``) over
    ``reference`` minus 1; returns (mean gap, its standard error over replicates, degrees of freedom)."""
    ratio = np.asarray(measured, dtype=float) / np.asarray(reference, dtype=float) - 1.0
    reps = ratio.shape[axis]
    if reps < 2:
        raise ValueError("need >= 2 replicates for a standard error")
    return ratio.mean(axis=axis), ratio.std(axis=axis, ddof=1) / math.sqrt(reps), reps - 1


def binomial_interval(successes: int, trials: int, confidence: float = 0.95, method: str = "wilson"):
    """Two-sided interval for a binomial proportion (scipy.stats.binomtest): method 'wilson' or
    'exact' (Clopper-Pearson)."""
    if trials <= 0:
        raise ValueError("need at least one trial")
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


def interval_separates(lo: float, hi: float, threshold: float, above_is_strict: bool = True) -> bool:
    """Whether the interval [lo, hi] decides on which side of ``threshold`` the true value lies
    (False when it covers the threshold).  For a proportion that should be exactly 1 use e.g.
    threshold = 1 - tolerance."""
    return bool(lo > threshold or hi < threshold) if above_is_strict else bool(lo >= threshold or hi <= threshold)
