"""Claim rules of the ldlt theory jobs (initlab.claims.ldlt) and the Monte Carlo statistics they use
(initlab.stats.montecarlo): every rule says reproduced on synthetic inputs built to satisfy the claim
and deviates on inputs built against it; ledger fields follow the contract (numeric uncertainty,
paper_value only for printed numbers)."""

import math
import numbers

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from initlab.claims import ldlt as cl
from initlab.jobs import KINDS, VERDICTS
from initlab.stats import montecarlo as mc
from initlab.theory import ldlt as theory
from initlab.theory import wick


def check_fields(claim):
    assert claim["verdict"] in VERDICTS
    assert claim.get("kind", "claim") in KINDS
    assert isinstance(claim["uncertainty"], numbers.Real) and math.isfinite(claim["uncertainty"])
    assert claim["target"]


# ---- stats.montecarlo -----------------------------------------------------------------------------
def test_column_summary_matches_numpy():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(400, 3))
    s = mc.column_summary(x)
    np.testing.assert_allclose(s["mean"], x.mean(0))
    np.testing.assert_allclose(s["sd"], x.std(0, ddof=1))
    np.testing.assert_allclose(s["se"], x.std(0, ddof=1) / 20.0)
    with pytest.raises(ValueError):
        mc.column_summary(np.ones((1, 2)))


def test_independent_sweep_points_are_independent():
    """Same sampler, distinct seeds: the per-point means are uncorrelated (common random numbers
    would make them identical here)."""
    def sample(point, seed):
        return point + np.random.default_rng(seed).normal(size=50)

    frame = mc.independent_sweep(sample, [0.0] * 200, list(range(200)))
    assert frame["mean"].nunique() == 200
    z = frame["mean"] / frame["se"]
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.25
    with pytest.raises(ValueError):
        mc.independent_sweep(sample, [0.0, 1.0], [3, 3])


def test_bonferroni_z():
    assert mc.bonferroni_z(0.05, 1) == pytest.approx(norm.isf(0.025))
    assert mc.bonferroni_z(0.01, 100) == pytest.approx(norm.isf(0.01 / 200))
    assert mc.bonferroni_z(0.01, 100) > mc.bonferroni_z(0.01, 10)
    with pytest.raises(ValueError):
        mc.bonferroni_z(1.5, 3)


# ---- fig01-fig03 ----------------------------------------------------------------------------------
def synthetic_series_frame(shift_z=0.0, at_n=5, seed=0):
    """A fig01-like table whose Monte Carlo means are the series + N(0, se) noise (+ shift_z s.e. at
    the smallest sigma^2 of size at_n)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (2, 5):
        for j, s2 in enumerate(np.geomspace(1e-4, 1e-1, 8)):
            se = 1e-6 * (1 + j)
            noise = rng.normal() * se + (shift_z * se if (n == at_n and j == 0) else 0.0)
            for order in (1, 10):
                series = n * s2 - (0 if order == 10 else n * n * s2 ** 2)
                truth = n * s2
                rows.append({"n": n, "sigma2": s2, "order": order, "samples": 1000, "var_mc": truth + noise,
                             "var_series": series, "var_mc_stderr": se, "var_mc_sd": se * 30,
                             "abs_error": abs(truth + noise - series), "z": (truth + noise - series) / se,
                             "series_radius_sigma2": 1 / (2 * math.sqrt(n)) ** 2})
    return pd.DataFrame(rows)


def test_series_agreement_reproduced_on_pure_noise():
    claim = cl.series_agreement_claim(synthetic_series_frame(), "fig01", 1e-2, 0.01)
    check_fields(claim)
    assert claim["verdict"] == "reproduced"
    assert claim["paper_value"] == "" and claim["uncertainty"] == 1.0 and claim["target"] == "fig01"
    assert claim["replicated_value"] < mc.bonferroni_z(0.01, 6)


def test_series_agreement_deviates_on_a_real_gap():
    claim = cl.series_agreement_claim(synthetic_series_frame(shift_z=12.0), "fig02", 1e-2, 0.01)
    check_fields(claim)
    assert claim["verdict"] == "deviates"
    assert claim["replicated_value"] > 10


def test_series_agreement_uses_only_small_sigma2():
    """A gap beyond the small-sigma^2 region (where the series is expected to fail) does not count."""
    frame = synthetic_series_frame()
    top = frame.order == 10
    big = top & (frame.sigma2 > 0.05)
    frame.loc[big, "z"] = 50.0
    assert cl.series_agreement_claim(frame, "fig01", 1e-2, 0.01)["verdict"] == "reproduced"
    with pytest.raises(ValueError):
        cl.series_agreement_claim(frame, "fig01", 1e-6, 0.01)


def test_series_error_table_independent_points_and_columns():
    coefficients = {k: wick.wick_coefficients(k) for k in range(1, 4)}
    s2 = np.array([1e-3, 1e-3, 2e-3])
    frame = cl.series_error_table(coefficients, [3], s2, [1, 3], 1.0, 1.0, 400, 7, "bidiagonal")
    for column in ("var_mc", "var_mc_stderr", "var_mc_sd", "z", "abs_error", "var_series"):
        assert column in frame
    top = frame[frame.order == 3]
    # two equal sigma^2 with independent draws: different means
    assert top.var_mc.iloc[0] != top.var_mc.iloc[1]
    np.testing.assert_allclose(top.var_mc_stderr, top.var_mc_sd / 20.0)
    assert (top.z.abs() < 5).all()


# ---- fig04 / fig05 --------------------------------------------------------------------------------
def extra_frame(values, ses=1e-4):
    return pd.DataFrame([{"n": n, "c": c, "mean": v, "se": ses} for (n, c), v in values.items()])


def test_paper_value_claim_both_ways():
    limit = float(theory.mp_variance_limit(1.0, 1.0, 1.0))
    at = extra_frame({(8, 1.0): limit + 1e-3, (32, 1.0): limit + 2e-4})
    good = cl.paper_value_claim(at, "x", 1.0, round(limit, 2), 1.0, 1.0, 3.0)
    check_fields(good)
    assert good["verdict"] == "reproduced"
    assert good["paper_value"] == round(limit, 2) and good["reference_value"] == pytest.approx(limit, abs=1e-5)
    assert good["replicated_value"] == pytest.approx(limit + 2e-4, abs=1e-5) and good["uncertainty"] == 1e-4
    bad = cl.paper_value_claim(at, "x", 1.0, round(limit + 0.05, 2), 1.0, 1.0, 3.0)
    assert bad["verdict"] == "deviates"


def test_rounding_half_last_digit():
    assert cl.rounding(0.41) == pytest.approx(0.005)
    assert cl.rounding(0.9) == pytest.approx(0.05)


def test_large_sigma_square_claim_both_ways():
    scales = [1e2, 1e4, 1e6]
    good = extra_frame({(2, 1e2): 0.9, (2, 1e4): 0.99, (2, 1e6): 0.999, (8, 1e2): 0.95, (8, 1e4): 0.995,
                        (8, 1e6): 0.9995})
    claim = cl.large_sigma_square_claim(good, scales, 1.0, 0.01, 3.0)
    check_fields(claim)
    assert claim["verdict"] == "reproduced" and claim["reference_value"] == 1.0 and claim["paper_value"] == ""
    assert claim["replicated_value"] == pytest.approx(0.999)
    far = extra_frame({(2, 1e2): 0.5, (2, 1e4): 0.6, (2, 1e6): 0.7})
    assert cl.large_sigma_square_claim(far, scales, 1.0, 0.01, 3.0)["verdict"] == "deviates"
    falling = extra_frame({(2, 1e2): 0.999, (2, 1e4): 0.99, (2, 1e6): 0.995})
    assert cl.large_sigma_square_claim(falling, scales, 1.0, 0.01, 3.0)["verdict"] == "deviates"


def test_large_sigma_wide_claim_both_ways():
    wide = pd.DataFrame([{"n": 2, "m": 4, "mean": 0.5, "se": 1e-4, "limit": 0.5}])
    claim = cl.large_sigma_wide_claim(wide, 1e6, 1.0, 0.01, 3.0)
    check_fields(claim)
    assert claim["verdict"] == "deviates"
    square_like = wide.assign(mean=0.998)
    assert cl.large_sigma_wide_claim(square_like, 1e6, 1.0, 0.01, 3.0)["verdict"] == "reproduced"


def test_variance_scaling_table_breaks_and_extra():
    coefficients = {k: wick.wick_coefficients(k) for k in range(1, 11)}
    frame, extra, breaks = cl.variance_scaling_table(coefficients, [4], [300], [1e-2, 3e-2, 30.0], [1e4], "n", 1.0, 1.0,
                                                     10, 3, "bidiagonal", 3.0, 0.01)
    assert list(extra.c) == [1e4] and "var_mc_sd" in frame
    assert not frame.series_broken.iloc[0] and frame.series_broken.iloc[-1]
    assert breaks[4] == 30.0
    with pytest.raises(ValueError):
        cl.variance_scaling_table(coefficients, [4, 8], [300], [1.0], [], "n", 1.0, 1.0, 10, 3, "bidiagonal", 3.0, 0.01)


# ---- lipschitz / table_wick -----------------------------------------------------------------------
def test_lipschitz_claims_both_ways():
    norms = {"inverse_sqrt": [0.5, 0.999999], "cholesky_upper": [1.0 + 1e-13], "cholesky_as_printed": [1.2, 0.3]}
    claims = {c["claim_id"]: c for c in cl.lipschitz_claims(norms, 1.0)}
    for c in claims.values():
        check_fields(c)
        assert c["reference_value"] == 1.0 and c["paper_value"] == ""
    assert claims["lemma_iii1_norm_bound"]["verdict"] == "reproduced"
    assert claims["lemma_iii2_norm_bound_corrected"]["verdict"] == "reproduced"
    assert claims["lemma_iii2_norm_bound_as_printed"]["verdict"] == "deviates"
    assert claims["lemma_iii2_norm_bound_as_printed"]["replicated_value"] == pytest.approx(1.2)


def test_wick_claims_both_ways():
    by_k = {k: wick.wick_coefficients(k) for k in range(1, 5)}
    printed = {1: ("n*m", wick.polynomial_from_expression("n*m")),
               2: ("n*m*(m + 1 + n)", wick.polynomial_from_expression("n*m*(m + 1 + n)"))}
    bruteforce = {k: wick.wick_coefficients_bruteforce(k) for k in range(1, 4)}
    claims = {c["claim_id"]: c for c in cl.wick_claims(by_k, printed, bruteforce, "t")}
    assert all(c["verdict"] == "reproduced" for c in claims.values())
    for c in claims.values():
        check_fields(c)
    assert claims["wick_tables_k_le_10"]["replicated_value"] == 3
    # a misprinted eq. (11) and a corrupted brute-force order both say deviates
    wrong = {2: ("n*m*(m + n)", wick.polynomial_from_expression("n*m*(m + n)"))}
    assert cl.wick_claims(by_k, wrong, bruteforce, "t")[0]["verdict"] == "deviates"
    corrupted = dict(bruteforce)
    corrupted[3] = {**bruteforce[3], (1, 1): 99}
    assert cl.wick_claims(by_k, printed, corrupted, "t")[-1]["verdict"] == "deviates"
