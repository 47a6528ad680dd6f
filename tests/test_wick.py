"""Exact Wishart trace moments (initlab.theory.wick) against independent computations: the paper's
brute-force perfect-matching enumeration, closed-form special cases, a combinatorial identity, the
planar (Narayana) leading order, and Monte Carlo."""

import math
from fractions import Fraction

import numpy as np
import pytest

from initlab.theory import wick


def double_factorial_odd(k):
    return math.prod(range(1, 2 * k, 2))


@pytest.mark.parametrize("k", range(1, 8))
def test_jack_method_equals_bruteforce_enumeration(k):
    assert wick.wick_coefficients(k) == wick.wick_coefficients_bruteforce(k)


def test_bruteforce_counts_every_matching():
    for k in range(1, 6):
        assert sum(wick.wick_coefficients_bruteforce(k).values()) == double_factorial_odd(k)
        assert sum(1 for _ in wick.perfect_matchings(2 * k)) == double_factorial_odd(k)


@pytest.mark.parametrize("k", [1, 2, 5, 10, 17, 25])
def test_structure_integers_symmetry_and_matching_count(k):
    table = wick.wick_coefficients(k)
    # every matching gives one monomial: the coefficients sum to (2k-1)!!
    assert sum(table.values()) == double_factorial_odd(k)
    for (a, b), c in table.items():
        assert type(c) is int and c > 0
        assert 1 <= a <= k and 1 <= b <= k and a + b <= k + 1  # Euler-characteristic bound
        assert table[(b, a)] == c  # tr((W W^T)^k) = tr((W^T W)^k)


@pytest.mark.parametrize("k", [1, 3, 6, 10, 20, 30])
def test_single_row_is_chi_square_moment(k):
    """m = 1: S = sum_j w_j^2 ~ sigma^2 chi^2_n, E[(chi^2_n)^k] = n (n+2) ... (n+2k-2) for every n, so the
    polynomial sum_a (sum_b C_{a,b}) n^a must equal that product identically."""
    table = wick.wick_coefficients(k)
    collapsed = {}
    for (a, _), c in table.items():
        collapsed[(a, 0)] = collapsed.get((a, 0), 0) + c
    expected = wick.polynomial_from_expression("*".join(f"(n + {2 * i})" for i in range(k)))
    assert collapsed == expected


@pytest.mark.parametrize("k", [1, 4, 10, 22])
def test_planar_order_is_narayana(k):
    """Top total degree a + b = k + 1 (planar matchings): the Marchenko-Pastur moments, Narayana numbers
    N(k, a) = C(k, a) C(k, a-1) / k."""
    table = wick.wick_coefficients(k)
    for a in range(1, k + 1):
        assert table[(a, k + 1 - a)] == math.comb(k, a) * math.comb(k, a - 1) // k


def test_monte_carlo_trace_moments():
    """E tr(S^k) from the table vs Monte Carlo for random (n, m, sigma), within 4 standard errors."""
    rng = np.random.default_rng(1234)
    for _ in range(3):
        n, m = (int(v) for v in rng.integers(1, 7, size=2))
        sigma = float(rng.uniform(0.5, 1.5))
        w = sigma * rng.standard_normal((40000, m, n))
        eig = np.linalg.eigvalsh(w @ np.swapaxes(w, 1, 2))
        for k in range(1, 5):
            samples = (eig ** k).sum(axis=1)
            se = samples.std(ddof=1) / math.sqrt(samples.size)
            exact = float(wick.trace_moment(wick.wick_coefficients(k), n, m, Fraction(sigma * sigma)))
            assert abs(samples.mean() - exact) <= 4 * se, (n, m, sigma, k, samples.mean(), exact, se)


def test_table_rows_round_trip_exactly_through_csv(tmp_path):
    import pandas as pd

    rows = wick.wick_table(28)  # coefficients beyond int64 by k = 28
    assert max(r["coefficient"] for r in rows) > 2 ** 63
    path = tmp_path / "table_wick.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    back = wick.read_table_csv(path)
    assert back == {k: wick.wick_coefficients(k) for k in range(1, 29)}
    assert [r["k"] for r in rows] == sorted(r["k"] for r in rows)


def test_polynomial_parser():
    assert wick.polynomial_from_expression("n*m*(m + 1 + n)") == {(1, 1): 1, (1, 2): 1, (2, 1): 1}
    assert wick.polynomial_from_expression("(n - m)**2 + 2*n*m") == {(2, 0): 1, (0, 2): 1}
    assert wick.polynomial_from_expression("n - n") == {}
    with pytest.raises(ValueError, match="unsupported"):
        wick.polynomial_from_expression("n / m")
    with pytest.raises(ValueError, match="unsupported"):
        wick.polynomial_from_expression("__import__('os')")
    with pytest.raises(ValueError, match="syntax"):
        wick.polynomial_from_expression("n *")


def test_bad_orders_fail_clearly():
    with pytest.raises(ValueError, match="integer >= 1"):
        wick.wick_coefficients(0)
    with pytest.raises(ValueError, match="brute-force"):
        wick.wick_coefficients_bruteforce(9)
    with pytest.raises(ValueError, match="even"):
        next(wick.perfect_matchings(3))
