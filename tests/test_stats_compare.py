"""initlab.stats.compare: Holm, per-point judgement with tolerance, verdicts, binomial intervals."""
import numpy as np
import pytest
from scipy import stats

from initlab.stats import compare


def test_holm_matches_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 with running max
    np.testing.assert_allclose(compare.holm(p), [0.03, 0.06, 0.06, 0.02])
    assert compare.holm([]).size == 0
    assert compare.holm([0.9, 0.8]).max() <= 1.0


def test_benjamini_hochberg_is_scipy():
    p = np.array([0.01, 0.02, 0.2, 0.5])
    np.testing.assert_allclose(compare.benjamini_hochberg(p), stats.false_discovery_control(p))


def test_compare_points_statuses_and_verdicts():
    # within tolerance, precise -> equivalent; large precise gap -> deviates; imprecise -> inconclusive
    t = compare.compare_points([0.01, 0.5, 0.02], [0.01, 0.01, 0.3], tol=0.1, alpha=0.05)
    assert list(t["status"]) == ["equivalent", "deviates", "inconclusive"]
    assert compare.summary_verdict(t) == "deviates"
    assert compare.summary_verdict(t.iloc[[0]]) == "reproduced"
    assert compare.summary_verdict(t.iloc[[0, 2]]) == "not-run"


def test_tiny_significant_bias_is_not_a_deviation():
    # 2 % bias measured at 40 s.e.: significant, but inside a 10 % tolerance
    t = compare.compare_points([0.02] * 5, [0.0005] * 5, tol=0.1)
    assert compare.summary_verdict(t) == "reproduced"
    assert (np.abs(t["z"]) > 30).all()


def test_holm_makes_single_borderline_layer_pass():
    # one of 15 layers just beyond tol at p ~ 0.02 uncorrected: Holm (x15) keeps it, no deviation
    gaps = [0.0] * 14 + [0.1 + 2.05 * 0.01]
    t = compare.compare_points(gaps, [0.01] * 15, tol=0.1, alpha=0.05)
    assert t["p_deviates"].iloc[-1] < 0.05 < t["p_deviates_holm"].iloc[-1]
    assert "deviates" not in set(t["status"])


def test_student_t_is_wider_than_normal():
    normal = compare.compare_points([0.0], [0.01], tol=0.1)
    t3 = compare.compare_points([0.0], [0.01], tol=0.1, df=3)
    assert t3["ci_hi"].iloc[0] > normal["ci_hi"].iloc[0]
    assert t3["p_equivalent"].iloc[0] > normal["p_equivalent"].iloc[0]


def test_compare_points_rejects_bad_input():
    with pytest.raises(ValueError):
        compare.compare_points([0.1], [0.0], tol=0.1)
    with pytest.raises(ValueError):
        compare.compare_points([0.1, 0.2], [0.1], tol=0.1)


def test_replicate_gaps():
    measured = np.array([[1.1, 2.0], [0.9, 2.0], [1.0, 2.0]])
    gap, se, df = compare.replicate_gaps(measured, np.array([1.0, 1.0]))
    np.testing.assert_allclose(gap, [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(se, [0.1 / np.sqrt(3), 0.0], atol=1e-15)
    assert df == 2
    with pytest.raises(ValueError):
        compare.replicate_gaps(measured[:1], np.array([1.0, 1.0]))


def test_binomial_intervals():
    lo, hi = compare.binomial_interval(4, 4)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.5101, abs=1e-3)  # Wilson 4/4
    lo_cp, hi_cp = compare.binomial_interval(4, 4, method="exact")
    assert lo_cp == pytest.approx(0.025 ** 0.25, rel=1e-6)  # Clopper-Pearson lower bound (alpha/2)^(1/n)
    assert compare.interval_separates(0.6, 0.9, 0.5)
    assert not compare.interval_separates(0.4, 0.9, 0.5)


def test_worst_case_picks_largest_abs_z_and_judges_all():
    assert compare.worst_case([0.5, -2.5, 1.0], z_tol=3.0) == (1, "reproduced")
    assert compare.worst_case([0.5, -3.5, 1.0], z_tol=3.0) == (1, "deviates")
    assert compare.worst_case([2.0, -2.0], z_tol=3.0) == (0, "reproduced")  # first on ties
    assert compare.worst_case([3.0], z_tol=3.0) == (0, "deviates")  # the bound is strict


def test_worst_case_nan_is_the_worst_and_fails():
    assert compare.worst_case([1.0, np.nan, 5.0], z_tol=3.0) == (1, "deviates")
    with pytest.raises(ValueError):
        compare.worst_case([], z_tol=3.0)
