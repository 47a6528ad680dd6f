"""Sample mean and variance with their standard errors, and z-scores against theory values.

The standard error of the sample variance uses the fourth central moment,
se(s^2) = sqrt((m4 - s^4) / n), valid for any law with a finite fourth moment (for a normal law it
is s^2 sqrt(2 / n))."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def variance_se(samples) -> float:
    """Standard error of the sample variance of ``samples`` (fourth-moment formula)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    centred = x - x.mean()
    var = centred.var(ddof=1)
    m4 = np.mean(centred**4)
    return math.sqrt(max(m4 - var**2, 0.0) / x.size)


def moments(samples, mean_theory: float | None = None, var_theory: float | None = None) -> dict[str, Any]:
    """n, mean, mean_se, var (ddof 1), var_se, and with theory values their z-scores
    ``mean_z = (mean - mean_theory) / mean_se``, ``var_z`` likewise."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    n = x.size
    mean, var = float(x.mean()), float(x.var(ddof=1))
    out: dict[str, Any] = {"n": n, "mean": mean, "mean_se": math.sqrt(var / n), "var": var, "var_se": variance_se(x)}
    if mean_theory is not None:
        out.update(mean_theory=mean_theory, mean_z=(mean - mean_theory) / out["mean_se"])
    if var_theory is not None:
        out.update(var_theory=var_theory, var_z=(var - var_theory) / out["var_se"])
    return out
