"""Best-of-K order statistics against brute-force enumeration of every K-subset, and the trailing moving
windows against plain loops."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from initlab.stats.order_stats import (best_of_k_mean, best_of_k_median, best_of_k_quantile,
                                       best_of_k_weights, moving_mean, moving_median)

QS = (0.0, 0.1, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.9, 1.0)


def _subset_minima(values, k):
    """Minimum of every k-subset, NaN read as +inf (Python's min is unreliable with NaN)."""
    v = [math.inf if math.isnan(x) else x for x in values]
    return [min(s) for s in itertools.combinations(v, k)]


def _brute_quantile(minima, q):
    """Smallest minimum m with #{minima <= m} / #minima >= q, in exact arithmetic."""
    q = Fraction(q)
    return next(m for m in sorted(set(minima)) if Fraction(sum(x <= m for x in minima), len(minima)) >= q)


def _small_cases():
    rng = np.random.default_rng(0)
    for n in range(1, 8):
        ties = rng.integers(0, 3, size=n).astype(float)  # many ties
        distinct = rng.normal(size=n)
        for k in range(1, n + 1):
            yield n, k, ties
            yield n, k, distinct


@pytest.mark.parametrize("n", range(1, 9))
def test_weights_match_subset_enumeration(n):
    for k in range(1, n + 1):
        counts = np.zeros(n)
        for subset in itertools.combinations(range(n), k):
            counts[min(subset)] += 1  # position of the subset's minimum among the sorted values
        np.testing.assert_allclose(best_of_k_weights(n, k), counts / counts.sum(), rtol=1e-13, atol=0)


def test_mean_and_quantiles_match_subset_enumeration():
    for n, k, values in _small_cases():
        minima = _subset_minima(values, k)
        assert best_of_k_mean(values, k) == pytest.approx(np.mean(minima), rel=1e-13), (values, k)
        for q in QS:
            assert best_of_k_quantile(values, k, q) == _brute_quantile(minima, q), (values, k, q)
        assert best_of_k_median(values, k) == _brute_quantile(minima, 0.5)


def test_quantile_on_an_exact_cdf_boundary():
    # n = 4, k = 2: P(min = v_(1)) = 3/6 exactly, so the median is v_(1), not v_(2).
    assert best_of_k_median([4.0, 3.0, 2.0, 1.0], 2) == 1.0
    assert best_of_k_quantile([4.0, 3.0, 2.0, 1.0], 2, np.nextafter(0.5, 1)) == 2.0


def test_weights_large_n_exact_normalised_non_increasing():
    n, k = 5000, 7
    w = best_of_k_weights(n, k)
    exact = np.array([float(Fraction(math.comb(n - i, k - 1), math.comb(n, k))) for i in range(1, n + 1)])
    np.testing.assert_allclose(w, exact, rtol=1e-12, atol=0)
    assert w.shape == (n,) and abs(w.sum() - 1.0) < 1e-13
    assert np.all(np.diff(w) <= 0) and np.all(w[n - k + 1:] == 0) and w[n - k] > 0
    huge = best_of_k_weights(10_000, 5_000)  # C(10^4, 5000) ~ 1e3008: overflows outside log space
    assert np.all(np.isfinite(huge)) and abs(huge.sum() - 1.0) < 1e-13 and np.all(np.diff(huge) <= 0)


def test_extreme_k():
    x = np.random.default_rng(1).normal(size=(5, 30))
    np.testing.assert_array_equal(best_of_k_weights(30, 1), np.full(30, 1 / 30))
    np.testing.assert_array_equal(best_of_k_weights(30, 30), np.eye(30)[0])
    np.testing.assert_allclose(best_of_k_mean(x, 1), x.mean(-1), rtol=1e-13)
    np.testing.assert_array_equal(best_of_k_mean(x, 30), x.min(-1))
    np.testing.assert_array_equal(best_of_k_median(x, 30), x.min(-1))


def test_nan_counts_as_worst():
    values = [1.0, np.nan, 3.0, 2.0]
    # Minima of the 6 pairs: 1, 1, 1 (with 1), 3, 2 ({nan, 3}, {nan, 2}), 2 ({3, 2}).
    assert best_of_k_mean(values, 2) == pytest.approx(10 / 6, rel=1e-14)
    assert best_of_k_mean(values, 2) == pytest.approx(np.mean(_subset_minima(values, 2)), rel=1e-14)
    assert best_of_k_median(values, 2) == 1.0 and best_of_k_quantile(values, 2, 0.9) == 3.0
    assert best_of_k_mean(values, 4) == 1.0
    two_nan = [np.nan, 1.0, np.nan]  # the subset {nan, nan} has positive probability: the mean is inf
    assert best_of_k_mean(two_nan, 2) == math.inf and best_of_k_quantile(two_nan, 2, 1.0) == math.inf
    assert best_of_k_median(two_nan, 2) == 1.0
    assert best_of_k_mean([np.nan], 1) == math.inf and best_of_k_median([np.nan], 1) == math.inf


def test_infinities_with_underflowing_weights():
    # n = 2000, k = 1000: most weights underflow to 0, yet k infinite values still make the mean inf.
    n, k = 2000, 1000
    x = np.arange(n, dtype=float)
    x[:k] = np.inf
    assert best_of_k_mean(x, k) == math.inf
    x[0] = 0.0  # k - 1 infinite values: every subset holds a finite one
    assert np.isfinite(best_of_k_mean(x, k))
    assert best_of_k_mean([-np.inf, 1.0, 2.0], 2) == -math.inf
    assert np.isnan(best_of_k_mean([-np.inf, np.inf, np.inf], 2))


def test_axis_and_broadcasting_agree():
    x = np.random.default_rng(2).normal(size=(6, 8))  # (steps, seeds)
    x[2, 3] = np.nan
    for k in (1, 3, 8):
        rows = np.array([best_of_k_mean(r, k) for r in x])
        np.testing.assert_allclose(best_of_k_mean(x, k, axis=-1), rows, rtol=1e-14)
        np.testing.assert_array_equal(best_of_k_mean(x.T, k, axis=0), best_of_k_mean(x, k, axis=-1))
        for q in (0.2, 0.5, 0.8):
            rows = np.array([best_of_k_quantile(r, k, q) for r in x])
            np.testing.assert_array_equal(best_of_k_quantile(x, k, q), rows)
            np.testing.assert_array_equal(best_of_k_quantile(x.T, k, q, axis=0), rows)
    stacked = np.stack([x, 2 * x])  # (2, 6, 8), statistic along the middle axis
    np.testing.assert_allclose(best_of_k_mean(stacked, 4, axis=1)[1], best_of_k_mean(2 * x, 4, axis=0))


def _loop(reducer, x, window):
    with np.errstate(invalid="ignore"):  # windows holding both infinities
        return np.array([reducer(x[max(0, t - window + 1):t + 1]) for t in range(len(x))])


@pytest.mark.parametrize("window", (1, 2, 3, 7, 20, 25))
def test_moving_windows_match_loops(window):
    rng = np.random.default_rng(3)
    x = rng.normal(size=20) + 5
    with_bad = x.copy()
    with_bad[[4, 9, 15]] = np.inf, np.nan, -np.inf
    for data in (x, with_bad):
        np.testing.assert_allclose(moving_mean(data, window), _loop(np.mean, data, window), rtol=1e-12)
        np.testing.assert_array_equal(moving_median(data, window), _loop(np.median, data, window))
    grid = rng.normal(size=(3, 20))
    for f in (moving_mean, moving_median):
        rows = np.array([f(r, window) for r in grid])
        np.testing.assert_allclose(f(grid, window), rows, rtol=1e-14)
        np.testing.assert_allclose(f(grid.T, window, axis=0), rows.T, rtol=1e-14)


def test_moving_windows_by_hand():
    np.testing.assert_array_equal(moving_median([1, 5, 2, 8, 3], 3), [1, 3, 2, 5, 3])
    np.testing.assert_array_equal(moving_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    assert moving_mean(np.zeros((2, 0)), 3).shape == moving_median(np.zeros((2, 0)), 3).shape == (2, 0)


@pytest.mark.parametrize("call, message", [
    (lambda: best_of_k_weights(5, 0), r"k must be an integer with 1 <= k <= n = 5, got 0"),
    (lambda: best_of_k_weights(5, 6), r"1 <= k <= n = 5, got 6"),
    (lambda: best_of_k_weights(5, 2.0), r"k must be an integer"),
    (lambda: best_of_k_weights(5, True), r"k must be an integer"),
    (lambda: best_of_k_weights(0, 1), r"n must be an integer with 1 <= n, got 0"),
    (lambda: best_of_k_mean([1.0, 2.0], 3), r"1 <= k <= n = 2, got 3"),
    (lambda: best_of_k_mean(np.zeros((3, 0)), 1), r"no entries along axis"),
    (lambda: best_of_k_mean(["a", "b"], 1), r"real numbers"),
    (lambda: best_of_k_mean(1.0, 1), r"at least one dimension"),
    (lambda: best_of_k_median([1.0, 2.0], 0), r"1 <= k <= n = 2, got 0"),
    (lambda: best_of_k_quantile([1.0, 2.0], 1, 1.5), r"0 <= q <= 1, got 1.5"),
    (lambda: best_of_k_quantile([1.0, 2.0], 1, np.nan), r"0 <= q <= 1, got nan"),
    (lambda: moving_mean([1.0, 2.0], 0), r"window must be an integer with 1 <= window, got 0"),
    (lambda: moving_median([1.0, 2.0], 1.5), r"window must be an integer"),
    (lambda: moving_median([1.0, 2.0], 2, axis=1), r"axis"),
])
def test_bad_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
