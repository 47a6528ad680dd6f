"""initlab.stats.distributions: ecdf, two-sample DKW band, histogram / ecdf rows with binomial s.e."""

import math

import numpy as np
import pytest
from scipy import stats

from initlab.stats import distributions as D


def test_ecdf_is_fraction_at_or_below():
    x = np.array([3.0, 1.0, 2.0, 2.0])
    assert D.ecdf(x, [0.0, 1.0, 1.5, 2.0, 3.0, 9.0]).tolist() == [0.0, 0.25, 0.25, 0.75, 1.0, 1.0]


def test_ecdf_matches_searchsorted():
    rng = np.random.default_rng(0)
    x, grid = rng.normal(size=501), np.linspace(-3, 3, 77)
    assert np.allclose(D.ecdf(x, grid), np.searchsorted(np.sort(x), grid, side="right") / x.size)


def test_dkw_band_formula_and_coverage():
    assert D.dkw_epsilon(100, 100, 0.05) == pytest.approx(math.sqrt(0.5 * math.log(40.0) * 0.02))
    rng = np.random.default_rng(1)
    grid = np.linspace(-4, 4, 400)
    band = D.dkw_epsilon(400, 400, 0.05)
    exceed = sum(abs(D.max_cdf_excess(rng.normal(size=400), rng.normal(size=400), grid)) > band for _ in range(200))
    assert exceed <= 200 * 0.05 + 5  # the band holds at (about) level alpha


def test_max_cdf_excess_sign():
    rng = np.random.default_rng(2)
    left, right = rng.normal(-1, 1, 2000), rng.normal(1, 1, 2000)
    grid = np.linspace(-5, 5, 500)
    assert D.max_cdf_excess(left, right, grid) > 0.5
    assert D.max_cdf_excess(right, left, grid) < D.dkw_epsilon(2000, 2000)


def test_histogram_rows_density_and_binomial_se():
    rng = np.random.default_rng(3)
    x = rng.normal(size=10_000)
    edges = np.linspace(-4, 4, 41)
    rows = D.histogram_rows(x, edges, stats.norm.pdf)
    width = edges[1] - edges[0]
    inside = np.sum((x >= -4) & (x <= 4))
    assert sum(r["mc"] for r in rows) * width == pytest.approx(inside / x.size)
    k = np.histogram(x, edges)[0][20]
    assert rows[20]["mc_stderr"] == pytest.approx(math.sqrt(k * (1 - k / x.size)) / (x.size * width))
    z = [(r["mc"] - r["theory"]) / r["mc_stderr"] for r in rows if r["mc_stderr"] > 0]
    assert max(abs(v) for v in z) < 5


def test_ecdf_rows_and_gaussian_rows():
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 3.0, 5000)
    grid = np.linspace(-7, 11, 50)
    rows = D.gaussian_distribution_rows(x, 2.0, 9.0, np.linspace(-7, 11, 31), grid, panel="p", init="i")
    assert [r["kind"] for r in rows].count("pdf") == 30 and [r["kind"] for r in rows].count("cdf") == 50
    assert set(rows[0]) == {"panel", "init", "kind", "r", "mc", "mc_stderr", "theory"}
    cdf = [r for r in rows if r["kind"] == "cdf"]
    assert max(abs(r["mc"] - r["theory"]) for r in cdf) < 4 * math.sqrt(0.25 / x.size)
    assert cdf[10]["mc_stderr"] == pytest.approx(math.sqrt(cdf[10]["mc"] * (1 - cdf[10]["mc"]) / x.size))
    assert all(math.isnan(r["theory"]) for r in D.ecdf_rows(x, grid))


def test_common_support():
    a, b = np.arange(1000.0), np.arange(500.0, 3000.0)
    edges, grid = D.common_support([a, b], 10, points=7, tail=0.0)
    assert edges.size == 11 and grid.size == 7
    assert edges[0] == grid[0] == 0.0 and edges[-1] == grid[-1] == 2999.0
