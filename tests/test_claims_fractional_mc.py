"""initlab.claims.fractional_mc: the Monte Carlo drivers of Figures 2 and 4, table_critical and the
cross-paper table, at tiny sizes: shapes, reproducibility, and agreement with exact laws."""

import math

import numpy as np
import pytest
import torch
from scipy import special

from initlab.theory import fractional as F
from initlab.claims import fractional_mc as MC

DIST_P = {"width": 8, "depth": 5, "n_networks": 3000, "x0_norm": 2.0, "paper_sigma_sq_correction": 2.5, "moment": 1.0}


def test_first_axis_vector():
    assert MC.first_axis_vector(3, 2.0).tolist() == [2.0, 0.0, 0.0]
    assert MC.first_axis_vector(3, 1.0, batch=True).tolist() == [[1.0, 0.0, 0.0]]


def test_relu_distributions_reproducible_and_near_theorem5():
    results = MC.relu_distributions(DIST_P, torch.Generator().manual_seed(0), "cpu")
    again = MC.relu_distributions(DIST_P, torch.Generator().manual_seed(0), "cpu")
    assert list(results) == ["Kaiming", r"$s\approx 1$"]
    for label, r in results.items():
        assert np.array_equal(r["samples"], again[label]["samples"])
        assert len(r["samples"]) + r["dead"] == DIST_P["n_networks"] and np.isfinite(r["samples"]).all()
        assert abs(r["stats"]["mean_z"]) < 5 and abs(r["stats"]["var_z"]) < 5
    assert results[r"$s\approx 1$"]["sigma"] ** 2 == pytest.approx(2 / 8 + 2.5 / 64)


def test_slope_distributions_linear_is_a_chi_square_walk():
    # a = 1: ||W x||^2 / ||x||^2 ~ sigma^2 chi^2_d, so E R_k = log||x_0|| + k (log sigma + (psi(d/2) + log 2) / 2)
    results = MC.slope_distributions(1.0, DIST_P, torch.Generator().manual_seed(1), "cpu")
    d, k = DIST_P["width"], DIST_P["depth"]
    for r in results.values():
        exact = math.log(2.0) + k * (math.log(r["sigma"]) + (special.digamma(d / 2) + math.log(2.0)) / 2)
        assert r["mean"] == pytest.approx(exact, abs=1e-9)
        assert abs(r["stats"]["mean_z"]) < 5
    assert results["$s=1$"]["sigma"] == pytest.approx(F.sigma_bar(1.0, 1.0, d))


def test_distribution_table_columns_and_panels():
    results = {"A": dict(samples=np.random.default_rng(0).normal(0, 1, 500), mean=0.0, var=1.0)}
    edges, grid = np.linspace(-3, 3, 11), np.linspace(-3, 3, 7)
    table = MC.distribution_table({"p1": (results, edges, grid), "p2": (results, edges, grid)})
    assert list(table.columns) == MC.DISTRIBUTION_COLUMNS
    assert set(table["panel"]) == {"p1", "p2"} and set(table["kind"]) == {"pdf", "cdf"}
    assert len(table[(table.panel == "p1") & (table.kind == "cdf")]) == len(grid)


def test_moment_preservation_and_dropout_residuals():
    p = {"mc_seed": 3, "mc_depth": 4, "mc_networks": 4000, "mc_rows": [{"slope": 0.0, "s": 1.0, "width": 8}],
         "dropout_keep": 0.8, "dropout_s": 1.0, "dropout_burn_in": 3, "dropout_layers": 6, "dropout_networks": 500,
         "dropout_widths": [16, 8]}
    [case] = MC.moment_preservation(p, "cpu")
    assert case["sigma_bar"] == pytest.approx(F.sigma_bar(0.0, 1.0, 8))
    assert np.all(np.abs(case["summary"]["z"]) < 5)  # E||x_k|| / ||x_0|| = 1 at sigma_bar
    residuals = MC.dropout_residuals(p, "cpu")
    assert residuals["widths"] == [8, 16] and len(residuals["residuals"]) == len(residuals["ses"]) == 2
    assert all(se > 0 for se in residuals["ses"])


def test_cross_table_rows():
    p = {"seed": 4, "depth": 6, "n_networks": 400, "slopes": [0.5], "widths": [4], "relu_widths": [4],
         "relu_depth": 3, "relu_networks": 400}
    table = MC.cross_table(p, "cpu")
    assert list(table.columns) == MC.CROSS_COLUMNS
    assert table["kind"].tolist() == ["exponent"] * 3 + ["relu_conditional"]
    assert table["sigma_name"].tolist() == ["he", "sigma_bar_a(1,d)", "sigma_lyapunov", "kaiming"]
    exponent = table[table.kind == "exponent"]
    assert np.allclose(exponent["mu_fractional"], exponent["lambda_lyapunov"], atol=1e-8)
    assert (np.abs(table["z"]) < 5).all()
    assert table["survival_theory"].iloc[-1] == pytest.approx((1 - 2.0**-4) ** 3)
