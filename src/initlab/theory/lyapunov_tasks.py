"""The two regression tasks of the lyapunov paper and their exact moments.

Both tasks draw fresh inputs every step:

1. polynomial regression: x ~ U(interval), target p(x) = sum_k c_k x^k (degree 5 in the paper);
2. score regression: x ~ U([lo, hi]^D), target s(x) = grad_x log rho(x) for a Gaussian mixture
   rho = sum_m w_m N(mu_m, Sigma_m) (three 2-D components in the paper), loss summed over the D
   output coordinates.

A network with constant output c has loss E||t(x) - c||^2, minimised at c = E t(x), where it equals
Var t = E||t - E t||^2: the "zero-signal" plateau.  ``polynomial_moments`` and ``score_moments``
give E t, E||t||^2 and Var t for the assumed task, so the assumption can be checked against the
plateau the paper reports.

Argument order follows scipy.special: the points first, then the task parameters.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial import legendre
from numpy.polynomial import polynomial as P
from scipy import linalg, special

#: Gauss-Legendre nodes per dimension used by ``score_moments``.  For equal-weight three-component
#: mixtures with isotropic standard deviation >= 0.5, means within radius 3 of the origin and boxes
#: up to [-5, 5]^2, doubling it changes the moments by < 1e-8 relative (tests/test_lyapunov_tasks.py).
#: Narrower components (sharper switches between responsibilities) or wider boxes need more.
DEFAULT_SCORE_ORDER = 512

_CHUNK = 1 << 16  # points per block in the quadrature (bounds the (points, components, D) temporaries)


# --------------------------------------------------------------------------------------------------
# polynomial task
# --------------------------------------------------------------------------------------------------

def _coefficients(coefficients) -> np.ndarray:
    c = np.asarray(coefficients, dtype=float)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"coefficients must be a non-empty 1-D sequence (got shape {c.shape})")
    if not np.all(np.isfinite(c)):
        raise ValueError("coefficients must be finite")
    return c


def _interval(interval, name: str = "interval") -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a pair (lo, hi) of numbers (got {interval!r})") from err
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must satisfy -inf < lo < hi < inf (got {(lo, hi)})")
    return lo, hi


def polynomial(x, coefficients) -> np.ndarray:
    """p(x) = sum_k coefficients[k] x^k (lowest degree first), elementwise in x."""
    return P.polyval(np.asarray(x, dtype=float), _coefficients(coefficients))


def _uniform_mean(c: np.ndarray, lo: float, hi: float) -> float:
    """E q(x) for x ~ U(lo, hi), by exact integration of the polynomial with coefficients c."""
    antiderivative = P.polyint(c)
    return float((P.polyval(hi, antiderivative) - P.polyval(lo, antiderivative)) / (hi - lo))


def polynomial_moments(coefficients, interval) -> dict[str, float]:
    """Exact E p, E p^2 and Var p for x ~ U(interval), by integrating p and p^2 in closed form.

    The variance is integrated as E (p - E p)^2 (the constant term shifted), not as E p^2 - (E p)^2,
    so it keeps its relative accuracy when the mean is large."""
    c = _coefficients(coefficients)
    lo, hi = _interval(interval)
    mean = _uniform_mean(c, lo, hi)
    second = _uniform_mean(P.polymul(c, c), lo, hi)
    centred = c.copy()
    centred[0] -= mean
    variance = _uniform_mean(P.polymul(centred, centred), lo, hi)
    return {"mean": mean, "second_moment": second, "variance": variance}


# --------------------------------------------------------------------------------------------------
# Gaussian-mixture score task
# --------------------------------------------------------------------------------------------------

def _mixture(weights, means, covariances) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (log weights (M,), means (M, D), Cholesky factors (M, D, D), lower)."""
    w = np.asarray(weights, dtype=float)
    mu = np.asarray(means, dtype=float)
    cov = np.asarray(covariances, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array (got shape {w.shape})")
    m = w.size
    if mu.ndim != 2 or mu.shape[0] != m or mu.shape[1] == 0:
        raise ValueError(f"means must have shape (M, D) = ({m}, D) with D >= 1 (got {mu.shape})")
    d = mu.shape[1]
    if cov.shape != (m, d, d):
        raise ValueError(f"covariances must have shape (M, D, D) = {(m, d, d)} (got {cov.shape})")
    for name, arr in (("weights", w), ("means", mu), ("covariances", cov)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if np.any(w < 0) or not math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-10):
        raise ValueError(f"weights must be non-negative and sum to 1 (got {w}, sum {w.sum()!r})")
    if not np.allclose(cov, np.swapaxes(cov, 1, 2), rtol=1e-12, atol=0):
        raise ValueError("covariances must be symmetric")
    chol = np.empty_like(cov)
    for k in range(m):
        try:
            chol[k] = np.linalg.cholesky(cov[k])
        except np.linalg.LinAlgError as err:
            raise ValueError(f"covariances[{k}] is not positive definite") from err
    with np.errstate(divide="ignore"):  # a zero weight is a component with log weight -inf
        log_w = np.log(w)
    return log_w, mu, chol


def _points(x, d: int) -> tuple[np.ndarray, tuple[int, ...]]:
    x = np.asarray(x, dtype=float)
    if x.ndim == 0 or x.shape[-1] != d:
        raise ValueError(f"x must have shape (..., D) with D = {d} (got {x.shape})")
    return x.reshape(-1, d), x.shape[:-1]


def _log_joint_and_whitened(flat, log_w, mu, chol):
    """log(w_m N_m(x)) of shape (N, M) and the whitened residuals L_m^{-1}(x - mu_m), (M, D, N)."""
    n, d = flat.shape
    m = log_w.size
    log_joint = np.empty((n, m))
    white = np.empty((m, d, n))
    for k in range(m):
        white[k] = linalg.solve_triangular(chol[k], (flat - mu[k]).T, lower=True)
        log_det_half = np.log(np.diagonal(chol[k])).sum()
        log_joint[:, k] = (log_w[k] - 0.5 * np.einsum("dn,dn->n", white[k], white[k])
                           - log_det_half - 0.5 * d * math.log(2.0 * math.pi))
    return log_joint, white


def mixture_log_density(x, weights, means, covariances) -> np.ndarray:
    """log rho(x) for rho = sum_m weights[m] N(means[m], covariances[m]); x of shape (..., D).

    Returns shape x.shape[:-1].  The sum over components is a logsumexp, so far from all means the
    result stays finite (a plain sum of pdfs underflows to 0 and gives -inf)."""
    log_w, mu, chol = _mixture(weights, means, covariances)
    flat, batch = _points(x, mu.shape[1])
    log_joint, _ = _log_joint_and_whitened(flat, log_w, mu, chol)
    return special.logsumexp(log_joint, axis=1).reshape(batch)


def _score_flat(flat, log_w, mu, chol) -> np.ndarray:
    """Scores (N, D) at points (N, D) of a validated mixture."""
    log_joint, white = _log_joint_and_whitened(flat, log_w, mu, chol)
    resp = np.exp(log_joint - special.logsumexp(log_joint, axis=1, keepdims=True))  # (N, M)
    score = np.zeros((mu.shape[1], flat.shape[0]))
    for k in range(log_w.size):
        # Sigma^{-1} (x - mu) = L^{-T} (L^{-1} (x - mu))
        precision_residual = linalg.solve_triangular(chol[k], white[k], lower=True, trans="T")
        score -= resp[:, k] * precision_residual
    return score.T


def mixture_score(x, weights, means, covariances) -> np.ndarray:
    """s(x) = grad_x log rho(x) = sum_m r_m(x) (-Sigma_m^{-1} (x - mu_m)), shape (..., D).

    The responsibilities r_m = w_m N_m(x) / rho(x) are a softmax of the log joints (by logsumexp),
    so they stay exact far from the means, where every N_m(x) underflows."""
    log_w, mu, chol = _mixture(weights, means, covariances)
    flat, batch = _points(x, mu.shape[1])
    return _score_flat(flat, log_w, mu, chol).reshape(batch + (mu.shape[1],))


@functools.lru_cache(maxsize=8)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1], cached (leggauss is O(order^3): an eigensolve)."""
    nodes, weights = legendre.leggauss(order)
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def score_moments(box, weights, means, covariances, order: int = DEFAULT_SCORE_ORDER) -> dict:
    """Moments of the mixture score for x ~ U([lo, hi]^D), box = (lo, hi).

    Returns ``mean`` (the vector E s, shape (D,)), ``second_moment`` = E||s||^2 and ``variance`` =
    E||s - E s||^2 (the constant-output plateau of the score-regression MSE summed over outputs),
    by tensor-product Gauss-Legendre quadrature with ``order`` nodes per dimension (order^D points).
    The score is analytic, so the error falls geometrically in ``order``; check a new regime by
    doubling it."""
    lo, hi = _interval(box, "box")
    order = int(order)
    if order < 1:
        raise ValueError(f"order must be >= 1 (got {order})")
    log_w, mu, chol = _mixture(weights, means, covariances)
    d = mu.shape[1]
    nodes, node_weights = _gauss_legendre(order)
    nodes = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    node_weights = 0.5 * node_weights  # uniform density on the box: weights of each axis sum to 1
    grids = np.meshgrid(*([nodes] * d), indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=-1)
    weight = np.ones(order**d)
    for g in np.meshgrid(*([node_weights] * d), indexing="ij"):
        weight *= g.ravel()
    scores = np.empty_like(points)
    for start in range(0, points.shape[0], _CHUNK):
        block = slice(start, start + _CHUNK)
        scores[block] = _score_flat(points[block], log_w, mu, chol)
    mean = weight @ scores
    second = float(weight @ np.einsum("nd,nd->n", scores, scores))
    centred = scores - mean
    variance = float(weight @ np.einsum("nd,nd->n", centred, centred))
    return {"mean": mean, "second_moment": second, "variance": variance}
