"""Best-of-K-seeds statistics (exact order-statistic estimator) and trailing moving windows.

The lyapunov replication reports "the best of K seeds": the minimum loss among K seeds drawn at random,
without replacement, from the n seeds that were run. Instead of resampling, the estimators here average
over all C(n, K) subsets exactly. With the n values sorted ascending, v_(1) <= ... <= v_(n), the minimum
of a uniformly random K-subset is v_(i) with probability

    w_i = C(n - i, K - 1) / C(n, K),    i = 1..n

(the subset holds position i and K - 1 of the n - i positions above it). ``best_of_k_mean`` is
sum_i w_i v_(i) (model selection, tables); ``best_of_k_quantile`` / ``best_of_k_median`` are quantiles of
that discrete law (curves). ``moving_mean`` / ``moving_median`` smooth curves over trailing windows.

Conventions, as in scipy.special: arguments are always ``(values, k_or_window, ..., axis=-1)``, the
statistic is taken along ``axis`` and broadcast over the others, and results are float64. A NaN value
(a diverged run) counts as +inf, i.e. worse than every finite value, in the best-of-K functions.
"""

from __future__ import annotations

import numbers
from math import comb

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["best_of_k_mean", "best_of_k_median", "best_of_k_quantile", "best_of_k_weights", "moving_mean",
           "moving_median"]


def best_of_k_weights(n: int, k: int) -> np.ndarray:
    """Probabilities w_i = C(n - i, k - 1) / C(n, k), i = 1..n, that the minimum of a uniformly random
    k-subset of n sorted values is the i-th smallest; shape (n,), non-increasing, summing to 1.

    k = 1 gives 1/n everywhere; k = n puts all the mass on i = 1; w_i = 0 for i > n - k + 1.
    Computed in log space as log w_1 = log(k/n) plus running sums of log(w_{i+1} / w_i) =
    log1p(-(k - 1) / (n - i)): no overflow for any n, and ~1e-14 relative error at n = 10^4 (the
    gammaln difference of log-binomials loses ~1e-11 there, its terms being ~1e5 in size).
    """
    n = _check_int(n, "n", 1, None)
    k = _check_int(k, "k", 1, n, "n = ")
    m = n - k + 1  # positions with positive probability
    steps = np.log1p(-(k - 1) / (n - np.arange(1, m, dtype=np.float64)))
    w = np.zeros(n)
    w[:m] = np.exp(np.log(k / n) + np.concatenate(([0.0], np.cumsum(steps))))
    return w / w.sum()  # the exact weights sum to 1 (hockey-stick identity); remove the rounding


def best_of_k_mean(values, k: int, axis: int = -1):
    """Expected minimum of a uniformly random k-subset of ``values`` along ``axis``: sum_i w_i v_(i),
    w = ``best_of_k_weights(n, k)``, v sorted ascending (n = values.shape[axis]).

    NaN counts as +inf. The result is +inf when at least k values are +inf or NaN (an all-infinite subset
    has positive probability), -inf when any value is -inf, NaN when both; otherwise it is finite.
    k = 1 gives the mean, k = n the minimum.
    """
    x = _best_of_k_input(values, axis)
    n = x.shape[-1]
    w = best_of_k_weights(n, k)
    m = n - k + 1
    low = np.sort(x, axis=-1)[..., :m]
    # Infinite values are summed apart: inf * (a weight that underflowed to 0) would be NaN, not inf.
    finite = np.where(np.isinf(low), 0.0, low) @ w[:m]
    n_pos = np.count_nonzero(x == np.inf, axis=-1)
    n_neg = np.count_nonzero(x == -np.inf, axis=-1)
    with np.errstate(invalid="ignore"):  # +inf and -inf together: NaN, as intended
        return finite + np.where(n_pos >= k, np.inf, 0.0) + np.where(n_neg > 0, -np.inf, 0.0)


def best_of_k_quantile(values, k: int, q: float = 0.5, axis: int = -1):
    """q-quantile of the minimum of a uniformly random k-subset of ``values`` along ``axis``: the smallest
    sorted value v_(i) with P(minimum <= v_(i)) = w_1 + ... + w_i >= q (the inverted-cdf rule).

    NaN counts as +inf (the result is +inf when the quantile falls on such a value). The index i depends
    only on (n, k, q) and is found exactly, in integers: cumulative probabilities often equal q exactly
    (n = 4, k = 2: P(minimum = v_(1)) = 1/2), and float rounding must not move the answer by one value.
    """
    q = float(q)
    if not 0.0 <= q <= 1.0:  # also rejects NaN
        raise ValueError(f"q must be a probability, 0 <= q <= 1, got {q!r}")
    x = _best_of_k_input(values, axis)
    i = _quantile_position(x.shape[-1], k, q)
    return np.partition(x, i - 1, axis=-1)[..., i - 1]


def best_of_k_median(values, k: int, axis: int = -1):
    """Median of the minimum of a random k-subset: ``best_of_k_quantile(values, k, 0.5, axis)``."""
    return best_of_k_quantile(values, k, 0.5, axis)


def moving_mean(values, window: int, axis: int = -1) -> np.ndarray:
    """Trailing moving mean along ``axis``: entry t is the mean of steps max(0, t - window + 1) .. t
    (shorter windows at the start, no padding); same shape as ``values``.

    Computed from running totals (sum over a window = difference of two cumulative sums), so its absolute
    error is ~eps times the running total rather than the window's. A window holding NaN gives NaN, +inf
    gives +inf, -inf gives -inf, both infinities NaN, as ``np.mean`` over the window would.
    """
    w = _check_int(window, "window", 1, None)
    x = np.moveaxis(_float_array(values, "values"), axis, -1)
    t = np.arange(x.shape[-1])
    lo = np.maximum(t - w + 1, 0)

    def window_sums(a):
        c = np.concatenate((np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)), axis=-1)
        return c[..., t + 1] - c[..., lo]

    finite = np.isfinite(x)
    out = window_sums(np.where(finite, x, 0.0)) / (t - lo + 1)
    if not finite.all():
        # Kept out of the running totals: one inf or NaN there would spoil every later window.
        with np.errstate(invalid="ignore"):  # +inf and -inf in one window: NaN, as intended
            for mask, fill in ((x == np.inf, np.inf), (x == -np.inf, -np.inf), (np.isnan(x), np.nan)):
                out += np.where(window_sums(mask) > 0, fill, 0.0)
    return np.moveaxis(out, -1, axis)


def moving_median(values, window: int, axis: int = -1) -> np.ndarray:
    """Trailing moving median along ``axis``: entry t is ``np.median`` of steps max(0, t - window + 1) .. t
    (shorter windows at the start, no padding; an even count averages the two middle values; NaN in a
    window gives NaN); same shape as ``values``.

    Full windows are medians of a ``sliding_window_view`` (a temporary of ~window times the input's
    size); the first window - 1 steps are medians of growing prefixes, one step at a time.
    """
    w = _check_int(window, "window", 1, None)
    x = np.moveaxis(_float_array(values, "values"), axis, -1)
    length = x.shape[-1]
    out = np.empty(x.shape)
    for t in range(min(w - 1, length)):
        out[..., t] = np.median(x[..., :t + 1], axis=-1)
    if length >= w:
        out[..., w - 1:] = np.median(sliding_window_view(x, w, axis=-1), axis=-1)
    return np.moveaxis(out, -1, axis)


def _quantile_position(n: int, k: int, q: float) -> int:
    """Smallest 1-based i with P(minimum <= v_(i)) >= q, i.e. C(n - i, k) / C(n, k) <= 1 - q, exactly."""
    k = _check_int(k, "k", 1, n, "n = ")
    num, den = q.as_integer_ratio()  # a float is an exact rational
    total = comb(n, k)
    lo, hi = 1, n - k + 1  # P(minimum <= v_(n-k+1)) = 1 >= q
    while lo < hi:  # C(n - i, k) decreases in i: bisect
        mid = (lo + hi) // 2
        if comb(n - mid, k) * den <= (den - num) * total:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _best_of_k_input(values, axis: int) -> np.ndarray:
    x = np.moveaxis(_float_array(values, "values"), axis, -1)
    if x.shape[-1] == 0:
        raise ValueError("values has no entries along axis: there are no seeds to choose from")
    return np.where(np.isnan(x), np.inf, x)  # a diverged run (NaN) is the worst possible result


def _float_array(values, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be real numbers (integer or float), got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    return a.astype(np.float64, copy=False)


def _check_int(value, name: str, low: int, high: int | None, high_name: str = "") -> int:
    allowed = f"{low} <= {name}" + (f" <= {high_name}{high}" if high is not None else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            low <= value and (high is None or value <= high)):
        raise ValueError(f"{name} must be an integer with {allowed}, got {value!r}")
    return int(value)
