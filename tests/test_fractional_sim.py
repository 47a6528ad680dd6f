"""The fast one-input Gaussian-network sampler (initlab.nn.fractional_sim) against the full-matrix
simulator and against the moment formulas of the fractional paper."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from initlab.nn.fractional_sim import simulate_log_norms_gaussian
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.theory import fractional as F


def test_same_law_as_full_weight_matrices():
    d, depth, n, sigma, a = 6, 8, 6000, 0.5, 0.2
    fast = simulate_log_norms_gaussian(d, depth, n, sigma, a, generator=torch.Generator().manual_seed(1))[:, depth]
    x0 = torch.zeros(1, d, dtype=torch.float64)
    x0[0, 0] = 1.0
    full = simulate_log_norms(d, depth, n, gaussian_weights(sigma), leaky_relu(a), x0,
                              generator=torch.Generator().manual_seed(2)).log_norm[:, 0, depth]
    fast, full = fast.numpy(), full.numpy()
    assert stats.ks_2samp(fast, full).pvalue > 1e-3
    se = math.sqrt(fast.var() / n + full.var() / n)
    assert abs(fast.mean() - full.mean()) < 4.5 * se


def test_reproducible_and_keep_one_is_no_dropout():
    args = (5, 6, 100, 0.7, 0.1)
    a = simulate_log_norms_gaussian(*args, generator=torch.Generator().manual_seed(3))
    b = simulate_log_norms_gaussian(*args, generator=torch.Generator().manual_seed(3), keep=1.0)
    assert torch.equal(a, b)
    assert a.shape == (100, 7) and a.dtype == torch.float64


def test_relu_dead_states_stay_dead():
    out = simulate_log_norms_gaussian(1, 30, 2000, 1.0, 0.0, generator=torch.Generator().manual_seed(4))
    dead = torch.isinf(out)
    # once x_k = 0 it stays 0; with d = 1 each layer kills with probability 1/2
    assert torch.all(dead[:, :-1] <= dead[:, 1:])
    frac_alive = (~dead[:, 10]).double().mean().item()
    assert abs(frac_alive - 0.5**10) < 4.5 * math.sqrt(0.5**10 / 2000) + 1e-3


@pytest.mark.parametrize("a,s,d", [(0.0, 1.0, 16), (0.1, 0.5, 8)])
def test_sigma_bar_preserves_moment_and_kaiming_does_not(a, s, d):
    depth, n = 15, 200_000
    sb = F.sigma_bar(a, s, d)
    out = simulate_log_norms_gaussian(d, depth, n, sb, a, generator=torch.Generator().manual_seed(5)).numpy()
    moment = np.exp(s * (out[:, depth] - out[:, 0]))
    rho = sb ** (2 * s) * (F.i0(2 * s, d) if a == 0 else F.ia_integral(a, 2 * s, d))
    se = math.sqrt((rho**depth - 1.0) / n)  # exact s.e. from E||x_k||^(2s) (eq. (3.1))
    assert abs(moment.mean() - 1.0) < 4.5 * se
    kaiming = (math.sqrt(2.0 / ((1 + a * a) * d)) / sb) ** (s * depth)  # what He/Kaiming would give
    assert abs(kaiming - 1.0) > 10 * se


def test_dropout_threshold_by_monte_carlo():
    # Remark 13 at d = 64, q = 0.5: the exact critical variance from the per-layer growth of ||x||^s is
    # much closer to the formula than to the first-order 2q/d
    d, q, s = 64, 0.5, 1.0
    out = simulate_log_norms_gaussian(d, 30, 20_000, 1.0, 0.0, keep=q, generator=torch.Generator().manual_seed(6)).numpy()
    with np.errstate(invalid="ignore"):
        ratio = np.exp(s * (out[:, 11:] - out[:, 10:-1]))
    critical = np.nanmean(ratio) ** (-2.0 / s)
    formula = F.dropout_threshold_sq(s, d, q)
    assert abs(critical - formula) < 0.3 * abs(critical - 2 * q / d)


@pytest.mark.parametrize("kwargs,match", [
    (dict(width=0), "width"), (dict(sigma=0.0), "sigma"), (dict(slope=2.0), "slope"), (dict(keep=0.0), "keep"),
])
def test_bad_input(kwargs, match):
    args = dict(width=4, depth=3, n_networks=5, sigma=1.0, slope=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_log_norms_gaussian(**args)
