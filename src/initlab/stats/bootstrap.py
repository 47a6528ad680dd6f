"""Percentile bootstrap confidence interval of a mean, as the paper's seaborn bands use.

seaborn's ``lineplot`` default band (the ldlt paper's Figs. 6, 10, 12, 14: "bootstrapping of 1000
samples") is the 95 % percentile bootstrap interval of the mean with 1,000 resamples; here it is
computed through ``scipy.stats.bootstrap`` (``method='percentile'``, ``vectorized=True``).

Non-finite values (NaN: dead members, metrics not logged) are dropped before resampling.  A group of
one value has the degenerate interval low = high = the value (scipy refuses a single observation);
an empty group gives NaN.  Results are deterministic for a seed, and a group's interval does not
depend on which other groups are computed with it: scipy draws one set of resample indices and
applies it to every row of a batch, so rows of equal length are resampled together (one call) with
the same result as one call per row.  Needs scipy >= 1.15 (the ``rng`` keyword).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# Resampled values held at once by one vectorized call (rows x length x resamples); bounds memory.
_MAX_RESAMPLED_VALUES = 4_000_000


def _complete_rows_ci(rows: np.ndarray, confidence: float, n_resamples: int, seed: int):
    """Mean and interval of each row of a 2-D array without NaN (all rows the same length)."""
    n_rows, length = rows.shape
    mean = rows.mean(axis=1) if length else np.full(n_rows, np.nan)
    if n_rows == 0 or length < 2:  # one value: the degenerate interval; none: NaN
        return mean, mean.copy(), mean.copy()
    low, high = np.empty(n_rows), np.empty(n_rows)
    chunk = max(1, _MAX_RESAMPLED_VALUES // (length * n_resamples))
    for start in range(0, n_rows, chunk):
        part = slice(start, start + chunk)
        result = stats.bootstrap((rows[part],), np.mean, n_resamples=n_resamples, vectorized=True,
                                 axis=-1, confidence_level=confidence, method="percentile",
                                 rng=np.random.default_rng(seed))
        low[part], high[part] = result.confidence_interval
    return mean, low, high


def mean_ci(values, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0, axis: int = -1):
    """(mean, low, high): the mean of ``values`` along ``axis`` and its percentile bootstrap
    interval; non-finite values are dropped per slice.  Scalars for 1-D input, arrays of the other
    axes' shape otherwise."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    shape = values.shape[:-1]
    rows = values.reshape(-1, values.shape[-1])
    mean, low, high = (np.full(rows.shape[0], np.nan) for _ in range(3))
    complete = np.isfinite(rows).all(axis=1)
    mean[complete], low[complete], high[complete] = _complete_rows_ci(rows[complete], confidence, n_resamples, seed)
    for index in np.flatnonzero(~complete):  # rows with missing values: one call each on what is left
        finite = rows[index][np.isfinite(rows[index])]
        if finite.size:
            (mean[index],), (low[index],), (high[index],) = _complete_rows_ci(finite[None], confidence,
                                                                                n_resamples, seed)
    if not shape:
        return float(mean[0]), float(low[0]), float(high[0])
    return mean.reshape(shape), low.reshape(shape), high.reshape(shape)


def grouped_mean_ci(frame: pd.DataFrame, by: list[str], column: str, confidence: float = 0.95,
                    n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per group of ``frame.groupby(by)``: the keys, mean, ci_low, ci_high of ``column``
    and n (its number of finite values; 0 gives NaN mean and interval).  Groups of equal n are
    bootstrapped in one vectorized call."""
    keys, samples = [], []
    for key, group in frame.groupby(by, sort=True):
        values = group[column].to_numpy(dtype=float)
        keys.append(key)
        samples.append(values[np.isfinite(values)])
    sizes = np.array([len(s) for s in samples], dtype=int)
    mean, low, high = (np.full(len(samples), np.nan) for _ in range(3))
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        rows = np.stack([samples[i] for i in members]) if size else np.empty((len(members), 0))
        mean[members], low[members], high[members] = _complete_rows_ci(rows, confidence, n_resamples, seed)
    table = pd.DataFrame(keys, columns=by)
    return table.assign(mean=mean, ci_low=low, ci_high=high, n=sizes)


def percentile_interval(values, statistic, confidence: float = 0.95, n_resamples: int = 1000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(sample, axis)`` over the values of a 1-D sample
    (``scipy.stats.bootstrap``, vectorized).  Percentiles, not a standard error: for a statistic of a
    few runs, some of them diverged to losses of 1e12, a s.e. of the bootstrap draws is dominated by
    the rare resamples that repeat a diverged run.  NaN for fewer than two values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.nan, np.nan
    result = stats.bootstrap((values,), statistic, n_resamples=n_resamples, vectorized=True, axis=-1,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return float(low), float(high)
