"""Decay paper (000, Juston et al.): variance of AOL/SLL-normalised weights and deep ReLU nets.

Notation follows the paper: W is d x n (d = fan-out rows, n = fan-in columns), the normalised
weight is W T^(-1/2) with T = diag(sum_j |W^T W|_ij q_j / q_i) (eq. (2)), i.e. every column of W
is divided by the square root of its row sum of |W^T W|.  Everything here is pure numpy/scipy
and evaluated in float64 through log-gamma (eq. (37)), so it is valid for any n, d >= 1.

Bounds and approximations (direction as measured, see formulas.md):

* eq. (23)  E[w_bar^2] = 1/d: off-diagonal terms dropped; an exact upper bound on the
  transformed-weight variance because T_ii >= (W^T W)_ii.
* eq. (36)  approximation E[X/(X+Y+Z)] ~ E[X]/E[X+Y+Z] for Gaussian W.
* eq. (97)  Generalised-Normal "upper bound" (uses E|S_d| >= sqrt(d) E|X|).
* eq. (107) Cauchy-Schwarz bound, which makes the variance approximation *smaller*
  (the paper's section 5.9 calls it a lower bound but writes "<=").
* eqs. (108)-(110): eq. (97) at alpha = 1, 2, inf.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# ---- eq. (23): columns normalised without the off-diagonal terms ----------------------------


def bound_eq23(d):
    """E[w_bar^2] = 1/d (eq. (23)); w_bar^2 ~ Beta(1/2, (d-1)/2) (eq. (22))."""
    d = _check_positive(d, "d")
    return 1.0 / d


def beta_params_eq22(d):
    """Shape parameters (1/2, (d-1)/2) of the Beta law of w_bar^2 (eq. (22)), for d >= 2."""
    d = np.asarray(d, dtype=float)
    if np.any(d < 2):
        raise ValueError(f"eq. (22) needs d >= 2 (a Beta shape must be > 0); got d = {d}")
    return 0.5, (d - 1.0) / 2.0


# ---- eq. (34)-(36): Gaussian W --------------------------------------------------------------


def expected_abs_gaussian_product_sum(d, sigma=1.0):
    """E|sum_{k=1}^d a_k b_k| for iid N(0, sigma^2) a, b (eq. (34)):
    2 sigma^2 Gamma((d+1)/2) / (sqrt(pi) Gamma(d/2)), via log-gamma (eq. (37))."""
    d = _check_positive(d, "d")
    return 2.0 * sigma**2 * np.exp(special.gammaln((d + 1.0) / 2.0) - special.gammaln(d / 2.0)) / np.sqrt(np.pi)


def approx_eq36(n, d):
    """Var[w_hat] ~ 1 / (d + (n - 1) 2 Gamma((d+1)/2) / (sqrt(pi) Gamma(d/2))) (eq. (36))."""
    n = _check_positive(n, "n")
    d = _check_positive(d, "d")
    return 1.0 / (d + (n - 1.0) * expected_abs_gaussian_product_sum(d))


def layer_gain_eq38(n, d):
    """Per-layer variance factor r = (n/2) Var[w] with Var[w] from eq. (36) (eq. (38))."""
    return 0.5 * np.asarray(n, dtype=float) * approx_eq36(n, d)


def printed_eq39(n):
    """The paper's printed simplification of eq. (38) at d = 1: n / (2n + 2 - 4/pi) (eq. (39)).
    Eq. (38) itself gives n / (2 + 4 (n - 1)/pi) at d = 1 (-> pi/4, not 1/2); kept to show the gap."""
    n = _check_positive(n, "n")
    return n / (2.0 * n + 2.0 - 4.0 / np.pi)


def bias_variance_eq42(n, d):
    """Var[b] = 1 - r (eq. (42)): the bias variance that puts the fixed point of eq. (41) at 1."""
    return 1.0 - layer_gain_eq38(n, d)


def fixed_point_eq41(var_bias, gain):
    """lim_L Var[y_L] = Var[b] / (1 - r) (eq. (41), geometric series; needs r < 1)."""
    gain = np.asarray(gain, dtype=float)
    if np.any(gain >= 1):
        raise ValueError(f"eq. (41) needs a per-layer gain r < 1; got {gain}")
    return np.asarray(var_bias, dtype=float) / (1.0 - gain)


def forward_variance_eq14(depth, var_input, fan_in, var_weight, var_bias=0.0):
    """Var[y_l], l = 1..depth, for y_l = W_l T_l^(-1/2) x_l + b_l, x_{l+1} = ReLU(y_l) (eqs. (13)-(14)).

    The first layer sees the raw input (E[x_1^2] = var_input, zero mean), so
    Var[y_1] = n Var[w] var_input + Var[b]; later layers see ReLU outputs, E[x_l^2] = Var[y_{l-1}]/2
    (eq. (12)), so Var[y_l] = (n/2) Var[w] Var[y_{l-1}] + Var[b] (eq. (13)).
    ``var_weight`` and ``var_bias`` are scalars or one value per layer.
    """
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"depth must be >= 1; got {depth}")
    var_weight = np.broadcast_to(np.asarray(var_weight, dtype=float), (depth,))
    var_bias = np.broadcast_to(np.asarray(var_bias, dtype=float), (depth,))
    out = np.empty(depth)
    out[0] = fan_in * var_weight[0] * var_input + var_bias[0]
    for layer in range(1, depth):
        out[layer] = 0.5 * fan_in * var_weight[layer] * out[layer - 1] + var_bias[layer]
    return out


def backward_variance_eq45(depth, var_top, fan_out, var_weight):
    """Var[dE/dx_l] for l = depth..1 given Var[dE/dx_{depth+1}] = var_top (eqs. (43)-(45)).

    Returned in layer order l = 1..depth: each layer multiplies by (n_hat/2) Var[w] with
    n_hat = fan-out, the bias never enters (eq. (43)).
    """
    depth = int(depth)
    var_weight = np.broadcast_to(np.asarray(var_weight, dtype=float), (depth,))
    out = np.empty(depth)
    current = float(var_top)
    for layer in range(depth - 1, -1, -1):
        current = 0.5 * fan_out * var_weight[layer] * current
        out[layer] = current
    return out


# ---- section 5: Generalised Normal Distribution (GND) ---------------------------------------


def gnd_lambda(alpha, sigma=1.0):
    """Lambda = sqrt(Gamma(3/alpha) / Gamma(1/alpha)) / sigma (eq. (47)); alpha = inf gives 1/(sqrt(3) sigma)."""
    alpha = _check_alpha(alpha)
    if np.isinf(alpha):
        return 1.0 / (np.sqrt(3.0) * sigma)
    return np.exp(0.5 * (special.gammaln(3.0 / alpha) - special.gammaln(1.0 / alpha))) / sigma


def gnd_pdf(x, alpha, sigma=1.0):
    """GND density (eq. (46), mu = 0); alpha = inf is the uniform density on +-sqrt(3) sigma."""
    alpha = _check_alpha(alpha)
    x = np.asarray(x, dtype=float)
    lam = gnd_lambda(alpha, sigma)
    if np.isinf(alpha):
        return np.where(np.abs(x) <= 1.0 / lam, lam / 2.0, 0.0)
    log_norm = np.log(alpha * lam / 2.0) - special.gammaln(1.0 / alpha)
    return np.exp(log_norm - (lam * np.abs(x)) ** alpha)


def gnd_cdf(x, alpha, sigma=1.0):
    """GND CDF (eq. (48)): 1[x >= 0] - sign(x)/2 Q(1/alpha, (Lambda |x|)^alpha), written as
    piecewise: the same for x != 0, and 1/2 at x = 0 where eq. (48) as printed gives 1."""
    alpha = _check_alpha(alpha)
    x = np.asarray(x, dtype=float)
    lam = gnd_lambda(alpha, sigma)
    if np.isinf(alpha):
        return np.clip(0.5 + 0.5 * lam * x, 0.0, 1.0)
    q = special.gammaincc(1.0 / alpha, (lam * np.abs(x)) ** alpha)
    return np.where(x > 0, 1.0 - q / 2.0, np.where(x < 0, q / 2.0, 0.5))  # no cancellation in the left tail


# Q^{-1}(1/alpha, 1 - v) ~ (v Gamma(1 + 1/alpha))^alpha underflows float64 for v ~ 2^-52 once alpha > ~21.
MAX_FINITE_ALPHA = 20.0


def gnd_ppf(u, alpha, sigma=1.0):
    """Inverse CDF (eq. (50)): sign(u - 1/2) / Lambda * Q^{-1}(1/alpha, 1 - |2u - 1|)^(1/alpha).

    Q^{-1} is scipy's inverse regularised upper incomplete gamma (``gammainccinv``).  For
    alpha = inf the limit is (2u - 1) sqrt(3) sigma (uniform): Q^{-1}(a, 1 - v)^(1/a) -> v as a -> 0.
    """
    alpha = _check_alpha(alpha)
    u = np.asarray(u, dtype=float)
    if np.any((u <= 0) | (u >= 1)):
        raise ValueError("gnd_ppf needs probabilities strictly inside (0, 1)")
    if np.isfinite(alpha) and alpha > MAX_FINITE_ALPHA:
        raise ValueError(f"gnd_ppf: finite alpha > {MAX_FINITE_ALPHA} underflows Q^-1 (a Gamma(1/alpha) quantile "
                         f"~ v^alpha); got alpha = {alpha}; use alpha = inf for the uniform limit")
    lam = gnd_lambda(alpha, sigma)
    tail = 2.0 * np.minimum(u, 1.0 - u)  # = 1 - |2u - 1|, without cancellation near u = 0, 1
    if np.isinf(alpha):
        magnitude = 1.0 - tail
    else:
        magnitude = special.gammainccinv(1.0 / alpha, tail) ** (1.0 / alpha)
    return np.sign(u - 0.5) * magnitude / lam


def squared_gnd_moment(order, alpha, sigma=1.0):
    """E[w^(2 order)] = sigma^(2 k) Gamma(1/a)^(k-1) Gamma(3/a)^(-k) Gamma((2k+1)/a) (eq. (54))."""
    alpha = _check_alpha(alpha)
    k = float(order)
    if np.isinf(alpha):  # uniform on +-sqrt(3) sigma: E[w^(2k)] = 3^k sigma^(2k) / (2k + 1)
        return 3.0**k * sigma ** (2 * k) / (2 * k + 1)
    log_m = ((k - 1) * special.gammaln(1 / alpha) - k * special.gammaln(3 / alpha)
             + special.gammaln((2 * k + 1) / alpha))
    return sigma ** (2 * k) * np.exp(log_m)


def abs_product_coefficient(alpha):
    """E|w_a w_b| / sigma^2 = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) for iid GND(0, sigma, a) (eqs. (91), (94)).

    Equals 1/2 (Laplace), 2/pi (normal) and, in the limit alpha -> inf, 3/4 (uniform).
    """
    alpha = _check_alpha(alpha)
    if np.isinf(alpha):
        return 0.75
    return np.exp(2 * special.gammaln(2 / alpha) - special.gammaln(1 / alpha) - special.gammaln(3 / alpha))


def upper_eq97(n, d, alpha):
    """1 / (d + (n - 1) sqrt(d) Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))) (eq. (97))."""
    n = _check_positive(n, "n")
    d = _check_positive(d, "d")
    return 1.0 / (d + (n - 1.0) * np.sqrt(d) * abs_product_coefficient(alpha))


def lower_eq107(n, d):
    """1 / (d + (n - 1) sqrt(d)) (eq. (107), Cauchy-Schwarz; alpha-free)."""
    n = _check_positive(n, "n")
    d = _check_positive(d, "d")
    return 1.0 / (d + (n - 1.0) * np.sqrt(d))


# eqs. (108)-(110) as printed: the constant in front of (n - 1) sqrt(d) per shape.
_PRINTED_CONSTANTS = {1.0: 0.5, 2.0: 2.0 / np.pi, np.inf: 0.75}


def printed_bound_eq108_110(n, d, alpha):
    """Eqs. (108) (alpha = 1), (109) (alpha = 2), (110) (alpha = inf) with their printed constants;
    NaN for any other shape (the paper gives no printed special case)."""
    alpha = _check_alpha(alpha)
    if alpha not in _PRINTED_CONSTANTS:
        return np.nan
    n = _check_positive(n, "n")
    d = _check_positive(d, "d")
    return 1.0 / (d + _PRINTED_CONSTANTS[alpha] * (n - 1.0) * np.sqrt(d))


# ---- helpers --------------------------------------------------------------------------------


def _check_positive(value, name):
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must be a finite dimension >= 1; got {value!r}")
    return arr


def _check_alpha(alpha):
    alpha = float(alpha)
    if not alpha > 0:
        raise ValueError(f"GND shape alpha must be > 0 (or inf for uniform); got {alpha!r}")
    return alpha
