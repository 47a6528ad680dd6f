"""Exact Wishart trace moments E tr(S^k) = sigma^(2k) sum_{a,b} C^(k)_{a,b} n^a m^b (ldlt paper, Sec. IV-E).

S = W0 W0^T with W0 in R^{m x n}, iid N(0, sigma^2) entries, so S ~ Wishart_m(n, sigma^2 I).
C^(k)_{a,b} multiplies n^a m^b: `a` counts the column-index (range n) classes and `b` the row-index
(range m) classes that a Wick pairing induces (formulas.md).  Since tr((W W^T)^k) = tr((W^T W)^k)
the table is symmetric, C_{a,b} = C_{b,a}, so the (n, m) roles cannot be confused.

Two exact methods:

* ``wick_coefficients_bruteforce`` — the paper's method: sum over all (2k-1)!! perfect matchings
  of the 2k Gaussian factors (Isserlis/Wick), counting index classes per matching.  Only for k <= 8.
* ``wick_coefficients`` — James' zonal-polynomial route of Sec. IV-A..C (eqs. 4-8), made explicit
  with closed forms from Jack-polynomial theory at alpha = 2 (zonal polynomials are Jack
  polynomials J^(2) up to normalisation; Macdonald, *Symmetric Functions and Hall Polynomials*,
  2nd ed., Ch. VI.10):

      p_k = sum_{|lam|=k} k alpha theta_lam / j_lam  J_lam             (power sum in the Jack basis)
      theta_lam = prod_{s in lam, s != (1,1)} (alpha a'(s) - l'(s))    (coefficient of p_k in J_lam)
      j_lam = prod_{s in lam} (alpha a(s) + l(s) + 1)(alpha a(s) + l(s) + alpha)   (<J_lam, J_lam>)
      E J_lam(S) = 2^k (n/2)_lam J_lam(sigma^2 I_m)                    (James, eq. 4)
      2^k (n/2)_lam = prod_s (n - l'(s) + 2 a'(s)),   J_lam(I_m) = prod_s (m - l'(s) + 2 a'(s))

  with a, l the arm and leg of a cell and a', l' its co-arm (column - 1) and co-leg (row - 1).
  Hence  E tr(S^k) / sigma^(2k) = sum_lam (2 k theta_lam / j_lam) P_lam(n) P_lam(m),
  P_lam(x) = prod_s (x - l'(s) + 2 a'(s)).  The sum runs over the p(k) partitions of k (627 at
  k = 20) instead of (2k-1)!! matchings; everything is exact integer/rational arithmetic and the
  result is checked to be integral.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Iterator

import numpy as np

Coefficients = dict[tuple[int, int], int]  # (n_power, m_power) -> exact integer coefficient


def _check_order(k: int, k_max: int | None = None) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"moment order k must be an integer >= 1, got {k!r}")
    if k_max is not None and k > k_max:
        raise ValueError(f"moment order k = {k} is too large for brute-force enumeration "
                         f"((2k-1)!! = {math.prod(range(1, 2 * k, 2))} matchings); use k <= {k_max} "
                         "or the exact Jack-polynomial method wick_coefficients(k)")


def partitions(k: int, largest: int | None = None) -> Iterator[tuple[int, ...]]:
    """All integer partitions of k as non-increasing tuples."""
    largest = k if largest is None else largest
    if k == 0:
        yield ()
        return
    for first in range(min(k, largest), 0, -1):
        for rest in partitions(k - first, first):
            yield (first, *rest)


def _conjugate(lam: tuple[int, ...]) -> list[int]:
    return [sum(1 for part in lam if part > j) for j in range(lam[0])] if lam else []


def _poly_from_roots(shifts: list[int]) -> list[int]:
    """Integer coefficients (constant term first) of prod_i (x + shifts[i])."""
    coeffs = [1]
    for c in shifts:
        nxt = [0] * (len(coeffs) + 1)
        for power, value in enumerate(coeffs):
            nxt[power] += c * value
            nxt[power + 1] += value
        coeffs = nxt
    return coeffs


def _jack_terms(lam: tuple[int, ...], alpha: int = 2) -> tuple[Fraction, list[int]]:
    """(weight k alpha theta/j, content polynomial P_lam) of one partition; weight 0 if theta = 0."""
    k = sum(lam)
    conj = _conjugate(lam)
    theta, j_norm, shifts = 1, 1, []
    for i, row in enumerate(lam):          # i = l'(s) (0-based row)
        for j in range(row):               # j = a'(s) (0-based column)
            arm, leg = row - j - 1, conj[j] - i - 1
            if (i, j) != (0, 0):
                theta *= alpha * j - i
            j_norm *= (alpha * arm + leg + 1) * (alpha * arm + leg + alpha)
            shifts.append(alpha * j - i)
    return Fraction(k * alpha * theta, j_norm), _poly_from_roots(shifts)


@lru_cache(maxsize=None)
def _wick_coefficients_cached(k: int) -> tuple[tuple[tuple[int, int], int], ...]:
    weights, polys = [], []
    for lam in partitions(k):
        weight, poly = _jack_terms(lam)
        if weight != 0:
            weights.append(weight)
            polys.append(poly)
    # Exact integer arithmetic: scale every weight to a common denominator, then one object-dtype
    # matrix product  C = P^T diag(w) P  (P: partitions x (k+1) integer content polynomials).
    denominator = math.lcm(*(w.denominator for w in weights))
    scaled = np.array([w.numerator * (denominator // w.denominator) for w in weights], dtype=object)
    poly_matrix = np.array(polys, dtype=object)
    total = poly_matrix.T.dot(poly_matrix * scaled[:, None])
    table = []
    for a in range(k + 1):
        for b in range(k + 1):
            value = total[a, b]
            if value == 0:
                continue
            quotient, remainder = divmod(int(value), denominator)
            if remainder:
                raise ArithmeticError(f"non-integer Wick coefficient at k={k}, (a, b)=({a}, {b}): "
                                      f"{value}/{denominator}; the Jack-polynomial formula is broken")
            table.append(((a, b), quotient))
    return tuple(table)


def wick_coefficients(k: int) -> Coefficients:
    """Exact C^(k)_{a,b} (keys (n_power, m_power)) via the zonal/Jack-polynomial closed forms."""
    _check_order(k)
    return dict(_wick_coefficients_cached(int(k)))


def perfect_matchings(size: int) -> Iterator[tuple[tuple[int, int], ...]]:
    """All perfect matchings of {0, ..., size-1} ((size-1)!! of them)."""
    if size % 2:
        raise ValueError(f"perfect matchings need an even number of points, got {size}")

    def rec(free: tuple[int, ...]):
        if not free:
            yield ()
            return
        first = free[0]
        for idx in range(1, len(free)):
            rest = free[1:idx] + free[idx + 1:]
            for tail in rec(rest):
                yield ((first, free[idx]), *tail)

    yield from rec(tuple(range(size)))


def wick_coefficients_bruteforce(k: int) -> Coefficients:
    """The paper's Sec. IV-E enumeration: every perfect matching of the 2k factors of
    tr(S^k) = sum prod_t W[i_t, j_t] W[i_{t+1}, j_t] contributes n^(#column classes) m^(#row classes).
    Vectorised over matchings with numpy label propagation; k <= 8 (2,027,025 matchings)."""
    _check_order(k, k_max=8)
    # factor 2t is W[i_t, j_t], factor 2t+1 is W[i_{t+1}, j_t] (i_k := i_0)
    positions = np.arange(2 * k)
    col_of = positions // 2
    row_of = np.where(positions % 2 == 0, positions // 2, (positions // 2 + 1) % k)
    matchings = np.array(list(perfect_matchings(2 * k)), dtype=np.int64)  # (M, k, 2)
    count = matchings.shape[0]
    rows = np.tile(np.arange(k), (count, 1))
    cols = np.tile(np.arange(k), (count, 1))
    every = np.arange(count)
    for pair in range(k):  # a matched pair forces equal row indices and equal column indices
        p, q = matchings[:, pair, 0], matchings[:, pair, 1]
        rows = _merge(rows, rows[every, row_of[p]], rows[every, row_of[q]])
        cols = _merge(cols, cols[every, col_of[p]], cols[every, col_of[q]])
    n_classes, m_classes = _count_distinct(cols), _count_distinct(rows)
    table: Coefficients = {}
    keys, counts = np.unique(np.stack([n_classes, m_classes], axis=1), axis=0, return_counts=True)
    for (a, b), c in zip(keys.tolist(), counts.tolist()):
        table[(a, b)] = int(c)
    return table


def _merge(labels: np.ndarray, keep: np.ndarray, drop: np.ndarray) -> np.ndarray:
    return np.where(labels == drop[:, None], keep[:, None], labels)


def _count_distinct(labels: np.ndarray) -> np.ndarray:
    ordered = np.sort(labels, axis=1)
    return 1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)


def order_rows(k: int) -> list[dict[str, int]]:
    """Tidy rows (k, n_power, m_power, coefficient) of one order k, highest n power first."""
    items = sorted(wick_coefficients(k).items(), key=lambda item: (-item[0][0], item[0][1]))
    return [{"k": k, "n_power": a, "m_power": b, "coefficient": c} for (a, b), c in items]


def wick_table(k_max: int) -> list[dict[str, int]]:
    """Tidy rows (k, n_power, m_power, coefficient) for k = 1..k_max, exact Python ints."""
    _check_order(k_max)
    return [row for k in range(1, k_max + 1) for row in order_rows(k)]


def read_table_csv(path) -> dict[int, Coefficients]:
    """table_wick.csv -> {k: {(n_power, m_power): coefficient}}, parsed as exact Python ints."""
    import csv

    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        expected = ["k", "n_power", "m_power", "coefficient"]
        if reader.fieldnames != expected:
            raise ValueError(f"{path}: columns {reader.fieldnames}, expected {expected}")
        return coefficients_from_rows(reader)


def coefficients_from_rows(rows) -> dict[int, Coefficients]:
    """Inverse of ``wick_table`` (e.g. from the table_wick CSV, read with integer columns)."""
    table: dict[int, Coefficients] = {}
    for row in rows:
        table.setdefault(int(row["k"]), {})[(int(row["n_power"]), int(row["m_power"]))] = int(row["coefficient"])
    return table


def trace_moment(coefficients: Coefficients, n: int, m: int, sigma2: Fraction | int = 1) -> Fraction:
    """E tr(S^k) = sigma^(2k) sum C_{a,b} n^a m^b, exact for rational sigma2 (k from the total degree)."""
    k = max(a + b for a, b in coefficients) - 1
    return Fraction(sigma2) ** k * sum(c * n ** a * m ** b for (a, b), c in coefficients.items())


def polynomial_from_expression(expression: str) -> Coefficients:
    """Exact coefficients {(n_power, m_power): int} of an integer polynomial in n and m written in
    Python syntax (e.g. the paper's eq. (11), "n*m*(m + 1 + n)"); only + - * ** and integers."""
    import ast

    def add(p, q, sign=1):
        out = dict(p)
        for key, value in q.items():
            out[key] = out.get(key, 0) + sign * value
        return {key: value for key, value in out.items() if value}

    def mul(p, q):
        out: Coefficients = {}
        for (a1, b1), v1 in p.items():
            for (a2, b2), v2 in q.items():
                out[(a1 + a2, b1 + b2)] = out.get((a1 + a2, b1 + b2), 0) + v1 * v2
        return {key: value for key, value in out.items() if value}

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name) and node.id in ("n", "m"):
            return {(1, 0): 1} if node.id == "n" else {(0, 1): 1}
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return {(0, 0): node.value} if node.value else {}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = walk(node.operand)
            return {k: -v for k, v in inner.items()} if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            left = walk(node.left)
            if isinstance(node.op, ast.Pow):
                if not (isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)
                        and node.right.value >= 0):
                    raise ValueError(f"only non-negative integer powers are allowed in {expression!r}")
                out = {(0, 0): 1}
                for _ in range(node.right.value):
                    out = mul(out, left)
                return out
            right = walk(node.right)
            if isinstance(node.op, ast.Add):
                return add(left, right)
            if isinstance(node.op, ast.Sub):
                return add(left, right, -1)
            if isinstance(node.op, ast.Mult):
                return mul(left, right)
        raise ValueError(f"unsupported term {ast.dump(node)} in polynomial {expression!r}; use n, m, integers, "
                         "+, -, * and ** only")

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"polynomial {expression!r} is not valid Python syntax: {err}") from err
    return walk(tree)
