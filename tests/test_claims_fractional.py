"""initlab.claims.fractional: every rule says reproduced on consistent synthetic inputs and deviates on
inconsistent ones; every row follows the ledger contract."""

import inspect
import math

import numpy as np
import pandas as pd
import pytest

from initlab.claims import fractional as C
from initlab.jobs import Job
from initlab.stats.moments import moments

CLAIM_ARGS = set(inspect.signature(Job.claim).parameters) - {"self"}


def check_row(row, verdict):
    assert set(row) <= CLAIM_ARGS
    assert row["verdict"] == verdict
    assert isinstance(row["uncertainty"], float) and math.isfinite(row["uncertainty"])
    assert row["target"] and row["kind"] in ("claim", "consistency")
    return row


def test_identity_both_ways():
    check_row(C.identity("x", "d", 1e-15, target="t"), "reproduced")
    row = check_row(C.identity("x", "d", 1e-6, target="t", rtol=1e-9, paper="cross"), "deviates")
    assert row["kind"] == "consistency" and row["paper"] == "cross" and row["paper_value"] == ""


def sample_stats(shift, n=20_000, seed=0):
    x = np.random.default_rng(seed).normal(1.0 + shift, 2.0, n)
    return moments(x, 1.0, 4.0)


def test_moment_claims_both_ways():
    rows = C.moment_claims("thm", "tag", "m", "v", sample_stats(0.0), 4.0, target="fig02")
    assert [r["claim_id"] for r in rows] == ["thm_mean_tag", "thm_variance_tag"]
    for r in rows:
        check_row(r, "reproduced")
        assert r["paper_value"] == "" and r["reference_value"] in ("1.0000", "4.0000")
    bad = C.moment_claims("thm", "tag", "m", "v", sample_stats(0.5), 4.0, target="fig02")
    assert check_row(bad[0], "deviates") and check_row(bad[1], "reproduced")
    wide = moments(np.random.default_rng(1).normal(1.0, 3.0, 20_000), 1.0, 4.0)
    check_row(C.moment_claims("thm", "t", "m", "v", wide, 4.0, target="fig02")[1], "deviates")


def test_dominance_both_ways():
    rng = np.random.default_rng(5)
    n, depth = 5000, 100
    kaiming = dict(samples=rng.normal(0.0, 1.0, n), sigma=1.0)
    ours = dict(samples=rng.normal(0.5, 1.0, n), sigma=math.exp(0.5 / depth))
    for r in (kaiming, ours):
        r["stats"] = moments(r["samples"])
    grid = np.linspace(-5, 5, 1000)
    dom = C.dominance_stats(ours, kaiming, depth, grid)
    assert dom["shift_theory"] == pytest.approx(0.5)
    check_row(C.dominance_claim("dom", "d", **dom, z_tolerance=4.0, target="fig02"), "reproduced")
    check_row(C.dominance_claim("dom", "d", **C.dominance_stats(kaiming, ours, depth, grid), z_tolerance=4.0,
                                target="fig02"), "deviates")  # reversed: Kaiming does not dominate
    wrong_shift = {**dom, "shift_theory": 1.0}
    check_row(C.dominance_claim("dom", "d", **wrong_shift, z_tolerance=4.0, target="fig02"), "deviates")


def test_worst_z_claim_both_ways():
    row = check_row(C.worst_z_claim("w", "d", [1.0, 2.1], [1.0, 2.0], [0.1, 0.1], 4.0, target="t"), "reproduced")
    assert row["replicated_value"] == "2.10000" and row["reference_value"] == "2.00000"
    check_row(C.worst_z_claim("w", "d", [1.0, 2.5], [1.0, 2.0], [0.1, 0.1], 4.0, target="t"), "deviates")
    check_row(C.worst_z_claim("w", "d", [1.0], [1.0], [0.1], 4.0, target="t", extra_ok=False), "deviates")


def test_expansion_claims_both_ways():
    widths = [64, 1024, 10000]
    good = [2.5 + 3.0 / d for d in widths]  # o(1): error ~ 1/d
    stuck = [2.5 + 0.1 for _ in widths]     # an O(1) mismatch
    check_row(C.expansion_claim("e", "d", widths, good, 2.5, 10.0), "reproduced")
    check_row(C.expansion_claim("e", "d", widths, stuck, 2.5, 10.0), "deviates")
    cases = {"s=1": (good, 2.5), "s=0.5": ([3.75 + 1.0 / d for d in widths], 3.75)}
    check_row(C.worst_expansion_claim("e", "d", widths, cases, 10.0), "reproduced")
    row = check_row(C.worst_expansion_claim("e", "d", widths, {**cases, "s=1.5": (stuck, 2.5)}, 10.0), "deviates")
    assert "s=1.5" in row["description"]


def test_small_a_claim_both_ways():
    check_row(C.small_a_claim("a", "d", 2.4163, 2.4170, 1e-6, 0.1, 10.0), "reproduced")
    check_row(C.small_a_claim("a", "d", 2.40, 2.4170, 1e-6, 0.1, 10.0), "deviates")


def test_moment_preservation_both_ways():
    rng = np.random.default_rng(6)
    n, depth = 4000, 5
    steps = rng.lognormal(-0.02, 0.2, (n, depth))
    steps /= np.exp(-0.02 + 0.02)  # E lognormal(mu, s) = exp(mu + s^2/2) = 1
    rho = float(np.exp(2 * 0.2**2))  # E step^2
    summary = C.moment_preservation_summary(np.cumprod(steps, axis=1), rho)
    assert summary["se"].shape == (depth,)
    check_row(C.moment_preserved_claim("m", "d", summary, 4.0), "reproduced")
    grown = C.moment_preservation_summary(np.cumprod(steps * 1.05, axis=1), rho)
    check_row(C.moment_preserved_claim("m", "d", grown, 4.0), "deviates")


def test_dropout_critical_and_claim():
    # log-norm increments L with E exp(s L) = g: the critical variance is g^(-2/s)
    rng = np.random.default_rng(7)
    increments = rng.normal(0.1, 0.3, (3000, 20))
    log_norm = np.concatenate([np.zeros((3000, 1)), np.cumsum(increments, axis=1)], axis=1)
    log_norm[:5, 8:] = -np.inf  # dead networks are dropped
    critical, se = C.dropout_critical(log_norm, 4, 1.0)
    assert critical == pytest.approx(math.exp(0.1 + 0.045) ** -2.0, rel=5 * se / critical)
    check_row(C.dropout_claim("r", "d", [16, 64], [1.6, 0.1], [0.1, 0.1], 2.75, 0.25), "reproduced")
    check_row(C.dropout_claim("r", "d", [16, 64], [1.6, 0.9], [0.1, 0.1], 2.75, 0.25), "deviates")


def test_slope_claim_both_ways():
    row = check_row(C.slope_claim("s", "d", -2.001, 1e-4, 1.3, 1.3, 0.01), "reproduced")
    assert row["paper_value"] == "-2"
    check_row(C.slope_claim("s", "d", -1.9, 1e-4, 1.3, 1.3, 0.01), "deviates")


def test_moment_growth_claim_both_ways():
    alphas = np.linspace(0.05, 4.0, 80)
    growth = {s: (alphas - s) * (3.0 - s) * alphas for s in (0.5, 1.0, 2.0)}  # sign change at s, faster for small s
    check_row(C.moment_growth_claim("g", "d", alphas, growth), "reproduced")
    check_row(C.moment_growth_claim("g", "d", alphas, {s: -v for s, v in growth.items()}), "deviates")
    same_speed = {s: (alphas - s) for s in (0.5, 1.0, 2.0)}  # smaller s grows no faster: wrong ordering
    check_row(C.moment_growth_claim("g", "d", alphas, {s: v[::1] * (1 + s) for s, v in same_speed.items()}), "deviates")


def test_monotone_claim_both_ways():
    dec, inc = [3.0, 2.0, 1.0], [1.0, 2.0, 2.5]
    check_row(C.monotone_claim("m", "d", [dec], [dec], [dec]), "reproduced")
    check_row(C.monotone_claim("m", "d", [dec], [dec, inc], [dec]), "deviates")
    check_row(C.monotone_claim("m", "d", [[2.0, 2.0]], [dec], [dec]), "deviates")  # strictly


def test_exponent_and_survival_rows():
    total = np.random.default_rng(8).normal(-0.5, 1.0, 10_000)  # 10 layers: mu = -0.05, s2 = 0.1
    row = C.exponent_row(moments(total), 10, -0.05, 0.1)
    assert abs(row["z"]) < 4 and abs(row["s2_z"]) < 4
    assert abs(C.exponent_row(moments(total), 10, 0.0, 0.1)["z"]) > 10
    assert C.survival_row(9_000, 10_000, 4, 2)["survival_theory"] == pytest.approx((15 / 16) ** 2)


def cross_table(shift=0.0, survival=0.8):
    exp = [dict(kind="exponent", slope=a, width=d, mu_fractional=-0.1, mu_fractional_bound=1e-14,
                lambda_lyapunov=-0.1 + 1e-13, mc=-0.1 + shift + 0.001, mc_stderr=0.002, z=(shift + 0.001) / 0.002,
                s2_fractional=0.2, s2_mc=0.21, s2_mc_stderr=0.01, depth=10, networks=300)
           for a in (0.1, 1.0) for d in (2, 8)]
    relu = [dict(kind="relu_conditional", mc=-0.2, mu_fractional=-0.2, mc_stderr=0.01, survival_z=(survival - 0.8) / 0.01,
                 depth=10, networks=2000)]
    return pd.DataFrame(exp + relu)


def test_cross_claims_both_ways():
    p = dict(z_tolerance=4.0, slopes=[0.1, 1.0], widths=[2, 8], relu_widths=[2], relu_depth=10, s2_widths=[1, 2],
             s_limit_bound=10.0)
    rows = [check_row(r, "reproduced") for r in C.cross_claims(cross_table(), p)]
    assert len(rows) == 6 and all(r["paper"] == "cross" and r["target"] == "cross_lyapunov" for r in rows)
    strict = {**p, "s_limit_bound": 1e-6}  # |sigma_bar_a(s, d) / sigma_lyapunov - 1| / s is O(1), not below 1e-6
    bad = {r["claim_id"]: r["verdict"] for r in C.cross_claims(cross_table(shift=0.02, survival=0.7), strict)}
    assert bad == {"mu_fractional_equals_lambda_lyapunov": "reproduced", "mu_lambda_vs_monte_carlo": "deviates",
                   "clt_variance_vs_monte_carlo": "reproduced", "relu_conditional_mu0": "deviates",
                   "lyapunov_init_is_s_to_zero_limit": "deviates", "s2_recovers_kaiming_lecun_he": "reproduced"}


def test_theory_inputs_of_the_claims():
    from initlab.theory import fractional as F

    # s = 2: sigma_bar^2 I_a(2) = 1 per layer, and E||x||^4 ratio of a Kaiming ReLU layer is (d + 2)/d * ... > 1
    assert F.moment_ratio(0.0, 2.0, 8, F.sigma_bar(0.0, 2.0, 8)) == pytest.approx(1.0)
    assert F.moment_ratio(0.1, 1.0, 16, F.sigma_bar(0.1, 1.0, 16)) == pytest.approx(1.0, rel=1e-8)
    assert F.moment_ratio(0.0, 4.0, 8, F.sigma_bar(0.0, 2.0, 8)) > 1.0
    # the extrapolated 1/d^2 coefficient tends to the delta-method one, and beats the raw value at d2
    limit, error = F.second_order_coefficient_extrapolated(0.0, 1.0, 256, 1024)
    exact = F.second_order_coefficient(0.0, 1.0)
    assert abs(limit - exact) < abs(F.second_order_coefficient_exact(0.0, 1.0, 1024) - exact)
    assert abs(limit - exact) < 1e-3 and error < 1e-3


def test_table_critical_theory_claims_both_ways():
    from initlab.theory import fractional as F

    p = dict(slopes=[0.0, 0.3, 1.0], moments=[0.5, 1.0, 2.0], widths=[2, 8], asymptotic_widths=[64, 1024],
             expansion_error_factor=10.0, small_a_tolerance_a4=10.0)
    table = F.critical_table(p["slopes"], p["moments"], p["widths"])
    rows = {r["claim_id"]: check_row(r, "reproduced") for r in C.table_critical_theory_claims(table, p)}
    assert set(rows) == {"s2_recovers_he", "corollary4_accuracy", "corollary10_linear_exact",
                         "corollary10_linear_expansion", "corollary10_small_a_0.3", "theorem7_series_vs_integral"}
    assert rows["s2_recovers_he"]["kind"] == "consistency" and rows["corollary4_accuracy"]["kind"] == "claim"
    broken = table.copy()
    broken.loc[broken["s"] == 2.0, "sigma_bar_sq"] *= 1.001
    strict = {**p, "expansion_error_factor": 0.01, "small_a_tolerance_a4": 1e-9}
    bad = {r["claim_id"]: r["verdict"] for r in C.table_critical_theory_claims(broken, strict)}
    assert bad["s2_recovers_he"] == bad["corollary4_accuracy"] == bad["corollary10_small_a_0.3"] == "deviates"
    assert bad["corollary10_linear_expansion"] == "deviates"


def distribution_results(shift_theory=0.0, seed=8, n=4000):
    """Synthetic Figure 2/4 results: Kaiming N(0, 1) and a second init N(1, 1) whose sigma ratio
    predicts a mean shift of 1 at depth 10 (plus ``shift_theory``'s error in its theory mean)."""
    rng = np.random.default_rng(seed)
    out = {}
    for label, mean, sigma in (("Kaiming", 0.0, 1.0), ("ours", 1.0, math.exp(0.1))):
        x = rng.normal(mean, 1.0, n)
        theory = mean + (shift_theory if label == "ours" else 0.0)
        out[label] = dict(sigma=sigma, samples=x, mean=theory, var=1.0, mu=0.1, lyapunov=0.1,
                          stats=moments(x, theory, 1.0))
    return out


FIG_P = {"width": 8, "depth": 10, "z_tolerance": 4.0, "dkw_alpha": 1e-3, "moment": 1.0}


def test_fig02_and_fig04_claims_both_ways():
    good = distribution_results()
    edges = np.linspace(-4.0, 5.0, 31)
    rows = C.fig02_claims(good, edges, FIG_P)
    assert [r["claim_id"] for r in rows] == ["theorem5_mean_kaiming", "theorem5_variance_kaiming", "theorem5_mean_s1",
                                            "theorem5_variance_s1", "fig02_stochastic_dominance"]
    for r in rows:
        assert check_row(r, "reproduced")["target"] == "fig02"
    bad = C.fig02_claims(distribution_results(shift_theory=0.5), edges, FIG_P)
    check_row(bad[2], "deviates")  # the second init's mean against a wrong theory mean
    rows = C.fig04_claims(0.01, good, FIG_P)
    assert rows[-1]["claim_id"] == "fig04_stochastic_dominance_a0.01" and {r["target"] for r in rows} == {"fig04"}
    for r in rows:
        check_row(r, "reproduced")
    swapped = {"Kaiming": good["ours"], "ours": good["Kaiming"]}  # the second init now lies to the left
    check_row(C.fig04_claims(0.01, swapped, FIG_P)[-1], "deviates")


def test_moment_preservation_claims_and_remark13_claim():
    rng = np.random.default_rng(9)
    steps = rng.lognormal(-0.02, 0.2, (4000, 5))
    rho = float(np.exp(2 * 0.2**2))
    cases = [dict(slope=a, s=1.0, width=8, sigma_bar=0.5, kaiming_moment=2.0,
                  summary=C.moment_preservation_summary(np.cumprod(steps * factor, axis=1), rho))
             for a, factor in ((0.0, 1.0), (0.5, 1.05))]
    p = {"mc_depth": 5, "mc_networks": 4000, "z_tolerance": 4.0, "dropout_keep": 0.5, "dropout_s": 1.0,
         "dropout_burn_in": 4, "dropout_residual_fraction": 0.25}
    kept, grown = C.moment_preservation_claims(cases, p)
    assert kept["claim_id"] == "moment_preserved_a0_s1_d8" and check_row(kept, "reproduced")
    check_row(grown, "deviates")
    small = C.remark13_claim(dict(widths=[16, 64], residuals=[1.6, 0.1], ses=[0.1, 0.1]), p)
    assert small["claim_id"] == "remark13_dropout_threshold" and check_row(small, "reproduced")
    check_row(C.remark13_claim(dict(widths=[16, 64], residuals=[1.6, 0.9], ses=[0.1, 0.1]), p), "deviates")
