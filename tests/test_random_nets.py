"""The batched random-network simulator and the LLN/CLT Monte Carlo against the formulas."""

import math

import numpy as np
import torch

from initlab.nn.limit_theorems import run_limit_theorems
from initlab.nn.random_nets import gaussian_weights, leaky_relu, orthogonal_weights, simulate_log_norms


def test_orthogonal_sampler_is_orthogonal_and_unbiased():
    gen = torch.Generator().manual_seed(0)
    q = orthogonal_weights(1.0)(gen, (20000, 3, 3), torch.device("cpu"), torch.float64)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(q @ q.transpose(-1, -2), eye.expand_as(q), atol=1e-12)
    # Haar: every entry has mean 0 and variance 1/d; without the sign fix diag(R) > 0 biases the diagonal
    mean = q.mean(dim=0)
    assert torch.all(mean.abs() < 5 * math.sqrt(1 / 3 / 20000))
    assert torch.allclose(q.pow(2).mean(dim=0), torch.full((3, 3), 1 / 3, dtype=torch.float64), atol=0.02)


def test_simulator_matches_a_plain_loop():
    gen_a = torch.Generator().manual_seed(3)
    x0 = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    paths = simulate_log_norms(5, 6, 3, gaussian_weights(0.7), leaky_relu(0.2), x0, generator=gen_a,
                               chunk_networks=2)
    # the same weights, drawn in the same order, applied without renormalisation
    gen_b = torch.Generator().manual_seed(3)
    for start, count in ((0, 2), (2, 1)):
        weights = [0.7 * torch.randn((count, 5, 5), generator=gen_b, dtype=torch.float64) for _ in range(6)]
        state = x0.T.expand(count, 5, 4)
        for layer, w in enumerate(weights, start=1):
            state = torch.nn.functional.leaky_relu(w @ state, 0.2)
            expected = torch.linalg.vector_norm(state, dim=1).log()
            assert torch.allclose(paths.log_norm[start:start + count, :, layer], expected, atol=1e-10)


def test_relu_death_gives_minus_infinity_not_nan():
    x0 = torch.ones(1, 1, dtype=torch.float64)
    paths = simulate_log_norms(1, 40, 50, gaussian_weights(1.0), leaky_relu(0.0), x0,
                               generator=torch.Generator().manual_seed(0))
    final = paths.log_norm[:, 0, -1]
    assert not torch.isnan(final).any()
    assert torch.isinf(final).any()  # width 1 ReLU dies with probability 1/2 per layer


def test_monte_carlo_exponent_agrees_with_quadrature():
    gen = torch.Generator().manual_seed(7)
    for weights in ("gaussian", "orthogonal"):
        run = run_limit_theorems(weights, 0.1, 3, 60, 1500, gen)
        z = (run.lambda_mc - run.lambda_theory) / run.lambda_mc_stderr
        assert abs(z) < 4.5, (weights, run.lambda_mc, run.lambda_theory)
        assert run.lambda_theory < 0


def test_clt_variance_scales_like_a_sum_of_iid_increments_for_gaussian_weights():
    # Gaussian weights: log-norm increments are i.i.d. (rotation invariance), so the CLT variance
    # equals the one-layer variance of log(sigma ||phi(g)||), computed here independently in numpy
    gen = torch.Generator().manual_seed(11)
    run = run_limit_theorems("gaussian", 0.1, 2, 40, 4000, gen)
    rng = np.random.default_rng(0)
    g = rng.standard_normal((1_000_000, 2))
    one_layer = 0.5 * np.log(np.sum(np.where(g > 0, g, 0.1 * g) ** 2, axis=1))
    # sampling error of a variance estimate: ~ sqrt(2/n) relative for near-Gaussian data
    np.testing.assert_allclose(run.clt_variance, one_layer.var(), rtol=0.12)
