"""Monte Carlo of the lyapunov paper's limit theorems for log||x_k|| (Theorems 3.3 and 3.4).

LLN: log||x_k|| / k -> lambda almost surely.  CLT: (log||x_k|| - k lambda) / sqrt(k) -> N(0, s^2);
s^2 has no closed form, so it is estimated from the same Monte Carlo, and the normality of the limit is
measured (skewness, excess kurtosis, Kolmogorov-Smirnov distance) rather than assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from initlab.nn.random_nets import gaussian_weights, leaky_relu, orthogonal_weights, simulate_log_norms
from initlab.theory import lyapunov

WEIGHT_KINDS = ("gaussian", "orthogonal")


@dataclass
class LimitTheoremRun:
    weights: str
    slope: float
    width: int
    scale: float                 # sigma_he (Gaussian) or eta_he (orthogonal)
    lambda_theory: float         # Theorem 4.1 / 4.2 by quadrature
    log_growth: np.ndarray       # (networks, depth + 1): log||x_k|| - log||x_0||
    lambda_mc: float             # log_growth[:, -1].mean() / depth
    lambda_mc_stderr: float
    clt_variance: float          # Var[(log||x_K|| - K lambda) / sqrt(K)]
    clt_skewness: float
    clt_excess_kurtosis: float
    ks_statistic: float          # KS distance of the standardised CLT variable from N(0, 1)
    ks_pvalue: float

    @property
    def depth(self) -> int:
        return self.log_growth.shape[1] - 1

    def clt_variable(self) -> np.ndarray:
        return (self.log_growth[:, -1] - self.depth * self.lambda_theory) / math.sqrt(self.depth)

    def lln_curve(self) -> dict[str, np.ndarray]:
        """Per layer k: mean over networks of log||x_k|| / k, its standard error, and the 10 % and
        90 % quantiles over networks (the band that must shrink onto lambda for the LLN)."""
        k = np.arange(1, self.depth + 1)
        per_k = self.log_growth[:, 1:] / k
        q10, q90 = np.quantile(per_k, [0.1, 0.9], axis=0)
        return {"k": k, "mean": per_k.mean(axis=0),
                "stderr": per_k.std(axis=0, ddof=1) / math.sqrt(per_k.shape[0]), "q10": q10, "q90": q90}


def run_limit_theorems(weights: str, slope: float, width: int, depth: int, n_networks: int,
                       generator: torch.Generator, device: torch.device | str = "cpu") -> LimitTheoremRun:
    """He-scaled Gaussian (sigma_he) or standard scaled-orthogonal (eta_he) weights, one random unit
    input per network, fresh weights in every layer."""
    if weights == "gaussian":
        scale = lyapunov.sigma_he(slope, width)
        sampler = gaussian_weights(scale)
        lam = lyapunov.lambda_gauss(scale, slope, width)
    elif weights == "orthogonal":
        scale = lyapunov.eta_he(slope)
        sampler = orthogonal_weights(scale)
        lam = lyapunov.lambda_orth(scale, slope, width)
    else:
        raise ValueError(f"weights must be one of {WEIGHT_KINDS}, got {weights!r}")
    x0 = torch.randn((n_networks, 1, width), generator=generator, device=device, dtype=torch.float64)
    paths = simulate_log_norms(width, depth, n_networks, sampler, leaky_relu(slope), x0,
                               generator=generator, device=device, dtype=torch.float64)
    log_norm = paths.log_norm[:, 0, :].cpu().numpy()
    growth = log_norm - log_norm[:, :1]
    final = growth[:, -1]
    clt = (final - depth * lam) / math.sqrt(depth)
    standardised = (clt - clt.mean()) / clt.std(ddof=1)
    ks = stats.kstest(standardised, "norm")
    return LimitTheoremRun(
        weights=weights, slope=slope, width=width, scale=scale, lambda_theory=lam, log_growth=growth,
        lambda_mc=float(final.mean() / depth),
        lambda_mc_stderr=float(final.std(ddof=1) / math.sqrt(n_networks) / depth),
        clt_variance=float(clt.var(ddof=1)),
        clt_skewness=float(stats.skew(clt)),
        clt_excess_kurtosis=float(stats.kurtosis(clt)),
        ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue),
    )
