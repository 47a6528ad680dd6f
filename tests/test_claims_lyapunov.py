"""Claim rules of the lyapunov theory outputs (initlab.claims.lyapunov), the CLT statistics they use
(initlab.stats.clt) and the CLT variance reference (initlab.theory.lyapunov): each rule on synthetic
inputs where it must say reproduced and where it must say deviates."""

import math

import numpy as np
import pandas as pd
import pytest

from initlab.claims import lyapunov as C
from initlab.stats import clt
from initlab.stats.moments import variance_se
from initlab.theory import lyapunov

REQUIRED = {"claim_id", "description", "paper_value", "replicated_value", "uncertainty", "verdict", "target",
            "reference_value", "kind"}


def check(claim, verdict, kind="claim"):
    assert set(claim) == REQUIRED
    assert claim["verdict"] == verdict, claim["description"]
    assert claim["kind"] == kind
    assert isinstance(claim["uncertainty"], float) and math.isfinite(claim["uncertainty"])
    assert claim["paper_value"] == ""  # the paper prints no number for these (Table 1 is withheld)
    return claim


# ---- stats.clt ---------------------------------------------------------------------------------
def test_split_halves_partition():
    a, b = clt.split_halves(101, 3)
    assert len(a) == 50 and len(b) == 51
    assert sorted(np.r_[a, b].tolist()) == list(range(101))


def test_anderson_darling_asymptotic_critical_values():
    # tabulated asymptotic critical values of A^2 for a fully specified law: 5 % 2.492, 1 % 3.857
    assert clt.ad_inf_cdf(2.492) == pytest.approx(0.95, abs=1e-3)
    assert clt.ad_inf_cdf(3.857) == pytest.approx(0.99, abs=1e-3)


def test_anderson_darling_level_and_power():
    rng = np.random.default_rng(0)
    p = np.array([clt.anderson_darling_normal(rng.standard_normal(200))[1] for _ in range(400)])
    assert 0.02 < np.mean(p < 0.05) < 0.09
    assert clt.anderson_darling_normal(1.3 * rng.standard_normal(1000))[1] < 1e-4


def _walk(rng, n, k, lam, step_sd=1.0, offset=0.0, skew=False):
    steps = rng.exponential(step_sd, (n, k)) - step_sd if skew else rng.normal(0.0, step_sd, (n, k))
    return (steps + lam).sum(axis=1) + offset


def test_clt_split_test_not_automatic():
    rng = np.random.default_rng(1)
    fit, test = clt.split_halves(4000, 0)
    good = clt.clt_split_test(_walk(rng, 4000, 50, -0.2), 50, 50 * -0.2, fit, test)
    assert abs(good["mean_z"]) < 4 and abs(good["var_z"]) < 4 and good["ks_p"] > 1e-3
    assert good["s2_fit"] == pytest.approx(1.0, rel=0.1)
    # a wrong centre (lambda off by 0.05) is seen, unlike with sample-mean standardisation
    bad = clt.clt_split_test(_walk(rng, 4000, 50, -0.2), 50, 50 * -0.25, fit, test)
    assert bad["mean_z"] > 10 and bad["ks_p"] < 1e-6
    assert bad["offset"] == pytest.approx(2.5, abs=0.2)
    # a test half with another variance than the fit half is seen
    sums = _walk(rng, 4000, 50, 0.0)
    sums[test] *= 1.3
    assert clt.clt_split_test(sums, 50, 0.0, fit, test)["var_z"] > 4


def test_skewness_se_matches_normal_theory():
    x = np.random.default_rng(2).standard_normal(2000)
    assert clt.skewness_se(x) == pytest.approx(math.sqrt(6 / 2000), rel=0.2)


# ---- theory: CLT variance reference ------------------------------------------------------------
@pytest.mark.parametrize("slope,width", [(0.1, 2), (0.01, 3), (0.3, 8)])
def test_clt_variance_formulas_match_monte_carlo(slope, width):
    rng = np.random.default_rng(width)
    g = rng.standard_normal((300_000, width))
    phi = np.where(g > 0, g, slope * g)
    log_gauss = np.log(np.linalg.norm(phi, axis=1))
    log_orth = log_gauss - np.log(np.linalg.norm(g, axis=1))
    for formula, sample in ((lyapunov.clt_variance_gauss, log_gauss), (lyapunov.clt_variance_orth, log_orth)):
        assert abs(formula(slope, width) - sample.var()) < 5 * variance_se(sample)


def test_clt_variance_linear_and_width_one():
    # a = 1: phi = id, Var log ||g|| = psi'(d/2) / 4, and the direction factor is constant (orth: 0)
    from scipy import special
    assert lyapunov.clt_variance_gauss(1.0, 5) == pytest.approx(0.25 * special.polygamma(1, 2.5), abs=1e-10)
    assert lyapunov.clt_variance_orth(1.0, 5) == pytest.approx(0.0, abs=1e-12)
    # d = 1 orthogonal: ||phi(+-1)|| in {1, a} with prob 1/2: Var = (log a)^2 / 4
    assert lyapunov.clt_variance_orth(0.1, 1) == pytest.approx(math.log(0.1) ** 2 / 4, rel=1e-10)


# ---- tables ------------------------------------------------------------------------------------
def _table(lambda_of):
    rows = [dict(slope=a, width=d, lambda_he=lambda_of(a, d), lambda_orth=0.6 * lambda_of(a, d))
            for a in (0.1, 0.01) for d in (1, 2, 4, 8, 16, 256, 512, 1024)]
    return pd.DataFrame(rows)


def test_quadrature_crosscheck():
    check(C.quadrature_crosscheck([0.1, 0.2], [0.1 + 1e-13, 0.2], 1e-9), "reproduced", "consistency")
    check(C.quadrature_crosscheck([0.1, 0.2], [0.1 + 1e-6, 0.2], 1e-9), "deviates", "consistency")


@pytest.mark.parametrize("column", ["lambda_he", "lambda_orth"])
def test_sign_low_width(column):
    check(C.sign_low_width(_table(lambda a, d: -1.2 / d), column, 8, 1e-12), "reproduced")
    # a positive exponent at d = 8 for one slope
    check(C.sign_low_width(_table(lambda a, d: 0.01 if (d == 8 and a == 0.1) else -1.2 / d), column, 8, 1e-12),
          "deviates")
    # below zero by less than the quadrature error
    check(C.sign_low_width(_table(lambda a, d: -1e-10), column, 8, 1e-9), "deviates")


@pytest.mark.parametrize("column", ["lambda_he", "lambda_orth"])
def test_zero_infinite_width(column):
    check(C.zero_infinite_width(_table(lambda a, d: -1.2 / d - 0.3 / d**2), column, 0.05, 1e-12), "reproduced")
    # O(1/sqrt(d)): tends to 0, but d*lambda grows by sqrt(2) per doubling of d
    check(C.zero_infinite_width(_table(lambda a, d: -1.2 / math.sqrt(d)), column, 0.05, 1e-12), "deviates")
    # tends to a non-zero constant
    check(C.zero_infinite_width(_table(lambda a, d: -0.01 - 1.2 / d), column, 0.05, 1e-12), "deviates")


def test_table_claims_on_the_real_table():
    table = lyapunov.lookup_table([0.1, 0.01], [1, 2, 4, 8, 256, 512, 1024])
    for column in ("lambda_he", "lambda_orth"):
        check(C.sign_low_width(table, column, 8, 1e-12), "reproduced")
        check(C.zero_infinite_width(table, column, 0.05, 1e-12), "reproduced")


# ---- Figure 1 ----------------------------------------------------------------------------------
def _cases(values):
    return [dict(weights="gaussian", slope=0.1, width=2, **v) for v in values]


def test_lln_exponent():
    ok = _cases([dict(lambda_mc=-0.80, lambda_mc_se=0.01, lambda_theory=-0.82)])
    claim = check(C.lln_exponent(ok, 4.0, 100), "reproduced")
    assert claim["reference_value"] == -0.82 and claim["replicated_value"] == -0.80
    bad = _cases([dict(lambda_mc=-0.80, lambda_mc_se=0.01, lambda_theory=-0.82),
                  dict(lambda_mc=-0.70, lambda_mc_se=0.01, lambda_theory=-0.82)])
    claim = check(C.lln_exponent(bad, 4.0, 100), "deviates")
    assert claim["replicated_value"] == -0.70  # the row reports the worst case (largest |z|)


def _tests(sums_list, k, centres):
    fit, test = clt.split_halves(len(sums_list[0]), 0)
    return _cases([clt.clt_split_test(s, k, c, fit, test) for s, c in zip(sums_list, centres)])


def test_clt_gaussian():
    rng = np.random.default_rng(3)
    k = 60
    good = _tests([_walk(rng, 3000, k, -0.1), _walk(rng, 3000, k, -0.5, 2.0)], k, [-0.1 * k, -0.5 * k])
    claim = check(C.clt_gaussian(good, 0.01, 4.0, k), "reproduced")
    assert claim["reference_value"] == 1.0
    # a wrong centring (lambda off, or an O(sqrt(k)) bias) is a deviation: no sample-mean standardisation
    off = _tests([_walk(rng, 3000, k, -0.1), _walk(rng, 3000, k, -0.5, 2.0, offset=3.0)], k, [-0.1 * k, -0.5 * k])
    check(C.clt_gaussian(off, 0.01, 4.0, k), "deviates")
    # a skewed (non-Gaussian) limit at few steps
    skewed = _tests([_walk(rng, 6000, 1, 0.0, skew=True)], 1, [0.0])
    check(C.clt_gaussian(skewed, 0.01, 4.0, 1), "deviates")


def test_clt_variance():
    ok = _cases([dict(s2_mc=1.02, s2_mc_se=0.03, s2_theory=1.0)])
    check(C.clt_variance(ok, 4.0, 100), "reproduced")
    bad = _cases([dict(s2_mc=1.02, s2_mc_se=0.03, s2_theory=1.0), dict(s2_mc=1.3, s2_mc_se=0.03, s2_theory=1.0)])
    claim = check(C.clt_variance(bad, 4.0, 100), "deviates")
    assert claim["replicated_value"] == 1.3  # the row reports the worst case (largest |z|)


# ---- Lemma C.21 --------------------------------------------------------------------------------
def test_relu_survival():
    rng = np.random.default_rng(4)
    widths, n, depth = [2, 3], 5000, 20

    def alive(q):
        # one Markov chain per network: each layer kills it with probability q(d)
        return np.stack([(rng.random((n, depth)) >= q(d)).cumprod(axis=1).sum(axis=0) for d in widths])

    good = np.c_[np.full(2, n), alive(lambda d: 2.0**-d)]
    claim = check(C.relu_survival(widths, good, n, 0.01), "reproduced")
    assert claim["target"] == "fig_lln_fail"
    bad = np.c_[np.full(2, n), alive(lambda d: 1.5 * 2.0**-d)]
    check(C.relu_survival(widths, bad, n, 0.01), "deviates")


def test_positive_cones_is_consistency():
    rng = np.random.default_rng(5)
    pos = rng.normal(-1.0, 0.1, (100, 30))
    check(C.positive_cones(pos, pos + math.log(0.1), 0.1, 1e-9), "reproduced", "consistency")
    check(C.positive_cones(pos, pos + math.log(0.1) + 1e-3, 0.1, 1e-9), "deviates", "consistency")


def test_mixed_start():
    rng = np.random.default_rng(6)
    lam_plus, lam_minus = 0.5, 0.5 + math.log(0.1)

    def rates(final_mixed):
        # networks x starts (positive, negative, mixed) x layers; only the final layer is read
        out = np.zeros((final_mixed.size, 3, 2))
        out[:, 0, -1] = lam_plus + rng.normal(0, 0.01, final_mixed.size)
        out[:, 1, -1] = lam_minus
        out[:, 2, -1] = final_mixed
        return out

    mixed = np.where(rng.random(1000) < 0.3, lam_minus, lam_plus) + rng.normal(0, 0.05, 1000)
    claim = check(C.mixed_start(rates(mixed), 0.1, 4.0, 100), "reproduced")
    assert claim["replicated_value"] == pytest.approx(0.3, abs=0.05)
    check(C.mixed_start(rates(lam_plus + rng.normal(0, 0.05, 1000)), 0.1, 4.0, 100), "deviates")


# ---- Appendix E --------------------------------------------------------------------------------
def test_tanh_skewness():
    rng = np.random.default_rng(7)
    linear = rng.standard_normal(3000)
    check(C.tanh_skewness(-np.abs(rng.standard_normal(3000)), linear, 4.0, 100), "reproduced")
    check(C.tanh_skewness(rng.standard_normal(3000), linear, 4.0, 100), "deviates")


def test_tanh_degenerate():
    rng = np.random.default_rng(8)
    n, depth = 3000, 200
    walk = np.cumsum(rng.normal(0, 0.5, (n, depth + 1)), axis=1)          # CLT: Var/k constant
    bounded = rng.normal(0, 0.5, (n, depth + 1))                          # stationary: Var/k -> 0
    claim = check(C.tanh_degenerate(bounded, 20, 2.0, 4.0), "reproduced")
    assert claim["replicated_value"] == pytest.approx(0.1, abs=0.02)
    check(C.tanh_degenerate(walk, 20, 2.0, 4.0), "deviates")
