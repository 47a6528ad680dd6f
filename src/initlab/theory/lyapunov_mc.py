"""Monte Carlo drivers of the lyapunov paper's limit-theorem figures (Lemma C.21, Appendix E):
plain arrays in, plain arrays out, so that the workflow scripts stay thin and the claims and plots
(``initlab.claims.lyapunov``, ``initlab.plot.lyapunov``) can be tested on synthetic inputs."""

from __future__ import annotations

import math

import numpy as np
import torch

from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.theory import lyapunov as L


def uniform_weights(low: float, high: float):
    """i.i.d. U(low, high) entries (positive when low >= 0, almost surely)."""

    def sample(gen, shape, device, dtype):
        return low + (high - low) * torch.rand(shape, generator=gen, device=device, dtype=dtype)

    return sample


def relu_survival(width: int, depth: int, n_networks: int, generator, device="cpu") -> np.ndarray:
    """Number of ReLU networks (He-scaled Gaussian weights, start e_1) with x_k != 0, k = 0..depth."""
    x0 = torch.zeros(1, width, dtype=torch.float64)
    x0[0, 0] = 1.0
    log_norm = simulate_log_norms(width, depth, n_networks, gaussian_weights(math.sqrt(2.0 / width)),
                                  leaky_relu(0.0), x0, generator=generator, device=device).log_norm[:, 0, :]
    return np.isfinite(log_norm.cpu().numpy()).sum(axis=0)


START_NAMES = ("positive cone", "negative cone", "mixed signs")


def positive_entry_rates(width: int, slope: float, low: float, high: float, depth: int, n_networks: int,
                         generator, device="cpu") -> np.ndarray:
    """log(||x_k|| / ||x_0||) / k, k = 1..depth, shape (networks, 3, depth), for the starts
    ``START_NAMES`` (1/sqrt(d) (1, ..., 1), its negative, (e_1 - e_2)/sqrt(2)) on the same weights."""
    ones = torch.ones(width, dtype=torch.float64) / math.sqrt(width)
    mixed = torch.zeros(width, dtype=torch.float64)
    mixed[0], mixed[1] = 1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)
    x0 = torch.stack([ones, -ones, mixed])
    log_norm = simulate_log_norms(width, depth, n_networks, uniform_weights(low, high), leaky_relu(slope), x0,
                                  generator=generator, device=device).log_norm.cpu().numpy()
    return (log_norm[:, :, 1:] - log_norm[:, :, :1]) / np.arange(1, depth + 1)


def tanh_log_norms(width: int, depth: int, n_networks: int, sigma_multiples, generator, device="cpu"):
    """log||x_k||, k = 0..depth, for tanh networks at sigma = m sigma_c (sigma_c = exp(-J(d)), where
    the linearised network has exponent 0) and for the linear reference network (a = 1) at sigma_c.
    Returns sigma_c and {label: (multiple, array (networks, depth + 1))}; the reference is 'linear'."""
    sigma_c = math.exp(-L.half_e_log_g(width))
    x0 = torch.ones(1, width, dtype=torch.float64) / math.sqrt(width)
    runs = {}
    for m in sigma_multiples:
        runs[f"tanh, sigma={m:g} sigma_c"] = (float(m), simulate_log_norms(
            width, depth, n_networks, gaussian_weights(m * sigma_c), torch.tanh, x0, positively_homogeneous=False,
            generator=generator, device=device, dtype=torch.float64).log_norm[:, 0, :].cpu().numpy())
    runs["linear"] = (1.0, simulate_log_norms(width, depth, n_networks, gaussian_weights(sigma_c), leaky_relu(1.0), x0,
                                              generator=generator, device=device).log_norm[:, 0, :].cpu().numpy())
    return sigma_c, runs
