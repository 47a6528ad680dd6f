"""Monte Carlo summaries: per-point mean, standard deviation and standard error of independent
sweeps, and the family-wise (Bonferroni) z threshold for many simultaneous agreement tests."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm


def column_summary(values) -> dict[str, np.ndarray]:
    """Column-wise mean, sample standard deviation (ddof 1) and standard error of the mean of a
    (samples, points) array: {"mean", "sd", "se", "samples"}."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < 2:
        raise ValueError(f"need >= 2 samples per point for a standard deviation, got {x.shape[0]}")
    sd = x.std(axis=0, ddof=1)
    return {"mean": x.mean(axis=0), "sd": sd, "se": sd / math.sqrt(x.shape[0]), "samples": x.shape[0]}


def independent_sweep(sample: Callable[[float, int], np.ndarray], points: Sequence[float],
                      seeds: Sequence[int]) -> pd.DataFrame:
    """Evaluate ``sample(point, seed)`` (a 1-D array of iid draws) at every point with its own seed,
    so that the points are statistically independent; one row per point with columns point, mean,
    sd, se, samples."""
    if len(points) != len(seeds) or len(set(seeds)) != len(seeds):
        raise ValueError("need one distinct seed per point")
    rows = []
    for point, seed in zip(points, seeds):
        summary = column_summary(np.asarray(sample(float(point), int(seed)), dtype=np.float64).ravel())
        rows.append({"point": float(point), "mean": float(summary["mean"][0]), "sd": float(summary["sd"][0]),
                     "se": float(summary["se"][0]), "samples": int(summary["samples"])})
    return pd.DataFrame(rows)


def bonferroni_z(familywise_alpha: float, tests: int) -> float:
    """Two-sided z threshold that keeps the chance of any false disagreement among ``tests``
    independent standard-normal z-scores at or below ``familywise_alpha`` (Bonferroni)."""
    if not 0 < familywise_alpha < 1:
        raise ValueError(f"familywise_alpha must be in (0, 1), got {familywise_alpha}")
    if tests < 1:
        raise ValueError(f"need >= 1 test, got {tests}")
    return float(norm.isf(familywise_alpha / (2 * tests)))
