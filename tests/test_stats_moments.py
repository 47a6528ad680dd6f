"""initlab.stats.moments: the standard errors against their closed forms and against the spread of
repeated estimates; z-scores that flag a wrong theory value."""

import math

import numpy as np

from initlab.stats.moments import moments, variance_se


def test_variance_se_matches_the_normal_closed_form():
    x = np.random.default_rng(1).normal(0.0, 3.0, size=200_000)
    assert abs(variance_se(x) / (9.0 * math.sqrt(2.0 / x.size)) - 1) < 0.02


def test_standard_errors_match_the_spread_of_repeated_estimates():
    rng = np.random.default_rng(2)
    draws = rng.exponential(2.0, size=(2000, 400))  # skewed: the fourth moment matters
    variances = draws.var(axis=1, ddof=1)
    predicted = np.mean([variance_se(row) for row in draws])
    assert abs(predicted / variances.std() - 1) < 0.1
    assert abs(np.mean([moments(row)["mean_se"] for row in draws]) / draws.mean(axis=1).std() - 1) < 0.05


def test_z_scores_flag_a_wrong_theory_and_pass_the_right_one():
    x = np.random.default_rng(3).normal(1.0, 2.0, size=50_000)
    right = moments(x, mean_theory=1.0, var_theory=4.0)
    wrong = moments(x, mean_theory=1.05, var_theory=4.2)
    assert abs(right["mean_z"]) < 4 and abs(right["var_z"]) < 4
    assert abs(wrong["mean_z"]) > 4 and abs(wrong["var_z"]) > 4
