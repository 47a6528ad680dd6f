"""Monte Carlo drivers of the fractional paper's figures and tables (Figures 2 and 4, table_critical,
the cross-paper table): parameters in, arrays and tables out, so that the workflow scripts stay thin
and the claims and plots (``initlab.claims.fractional``, ``initlab.plot.fractional``) take plain data.
Each driver draws from the generator it is given, in a fixed order (the outputs are reproducible)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
import torch

from initlab.claims import fractional as C
from initlab.nn.fractional_sim import simulate_log_norms_gaussian
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.stats.distributions import gaussian_distribution_rows
from initlab.stats.moments import moments
from initlab.theory import fractional as F
from initlab.theory import lyapunov as L

DISTRIBUTION_COLUMNS = ["panel", "kind", "init", "r", "mc", "mc_stderr", "theory"]
CROSS_COLUMNS = ["kind", "slope", "width", "sigma_name", "sigma", "mu_fractional", "mu_fractional_bound",
                 "lambda_lyapunov", "mc", "mc_stderr", "z", "s2_fractional", "s2_mc", "s2_mc_stderr", "s2_z", "depth",
                 "networks", "survival", "survival_theory", "survival_z"]
SIGMA_NAMES = {"he": "he", "sigma_bar_s1": "sigma_bar_a(1,d)", "lyapunov": "sigma_lyapunov"}


def _quiet(message: str) -> None:
    """Default ``log``: drop progress messages."""


def first_axis_vector(width: int, norm: float, batch: bool = False) -> torch.Tensor:
    """x_0 = norm e_1 (float64), shape (width,) or (1, width) when ``batch``."""
    x0 = torch.zeros((1, width) if batch else width, dtype=torch.float64)
    x0.view(-1)[0] = norm
    return x0


# ---- Figures 2 and 4: R_k = log||x_k|| against the Gaussian of Theorems 5 / 11 ------------------------
def relu_distributions(p: dict, gen: torch.Generator, device, log: Callable[[str], None] = _quiet) -> dict:
    """Figure 2: R_k given x_k != 0 (ReLU) for Kaiming (sigma^2 = 2/d) and the paper's s ~ 1 init
    (sigma^2 = 2/d + c/d^2, c = ``paper_sigma_sq_correction``), each over ``n_networks`` networks with
    fresh Gaussian weights, with Theorem 5's mean and variance.  {label: {sigma, samples (alive),
    dead, mean, var, stats}}."""
    d, k, n = p["width"], p["depth"], p["n_networks"]
    x0 = first_axis_vector(d, p["x0_norm"])
    results = {}
    for label, var in {"Kaiming": 2.0 / d, r"$s\approx 1$": 2.0 / d + p["paper_sigma_sq_correction"] / d**2}.items():
        r_k = simulate_log_norms_gaussian(d, k, n, math.sqrt(var), 0.0, x0=x0, generator=gen,
                                          device=device)[:, k].cpu().numpy()
        alive = np.isfinite(r_k)  # condition on x_k != 0 (Theorem 5)
        mean, var_th = math.log(p["x0_norm"]) + k * F.mu_relu(math.sqrt(var), d), k * F.s2_relu(d)
        results[label] = dict(sigma=math.sqrt(var), samples=r_k[alive], dead=int((~alive).sum()), mean=mean,
                              var=var_th, stats=moments(r_k[alive], mean, var_th))
        log(f"{label}: sigma^2 = {var:.6f}, {alive.sum()} of {n} alive; mean {results[label]['stats']['mean']:.4f} "
            f"(theory {mean:.4f}), var {results[label]['stats']['var']:.4f} (theory {var_th:.4f})")
    return results


def slope_distributions(a: float, p: dict, gen: torch.Generator, device,
                        log: Callable[[str], None] = _quiet) -> dict:
    """Figure 4, one slope ``a``: R_k for Kaiming (sigma^2 = 2/((1 + a^2) d)) and sigma_bar_a(s, d)
    (s = ``moment``), with Theorem 11's mean log||x_0|| + k mu_a(sigma) and variance k s_a^2 (mu_a,
    s_a^2 from Theorem 7's series; mu_a beside the lyapunov paper's quadrature).  {label: {sigma,
    samples, mean, var, lyapunov, mu, stats}}."""
    d, k, n, s = p["width"], p["depth"], p["n_networks"], p["moment"]
    x0 = first_axis_vector(d, p["x0_norm"])
    series, results = F.exponent_series(a, d), {}
    for label, sigma in {"Kaiming": math.sqrt(2.0 / ((1.0 + a * a) * d)), f"$s={s:g}$": F.sigma_bar(a, s, d)}.items():
        r_k = simulate_log_norms_gaussian(d, k, n, sigma, a, x0=x0, generator=gen, device=device)[:, k].cpu().numpy()
        mu = math.log(sigma) + series.half_e_log_z
        mean, var = math.log(p["x0_norm"]) + k * mu, k * series.s2
        results[label] = dict(sigma=sigma, samples=r_k, mean=mean, var=var, lyapunov=L.lambda_gauss(sigma, a, d),
                              mu=mu, stats=moments(r_k, mean, var))
        log(f"a={a:g} {label}: sigma={sigma:.6f} mean {results[label]['stats']['mean']:.4f} (theory {mean:.4f}) "
            f"var {results[label]['stats']['var']:.4f} (theory {var:.4f})")
    return results


def distribution_table(panels: dict) -> pd.DataFrame:
    """The tidy pdf / cdf table of Figures 2 and 4: ``panels`` {panel: (results, edges, grid)}."""
    return pd.DataFrame([row for panel, (results, edges, grid) in panels.items() for label, r in results.items()
                         for row in gaussian_distribution_rows(r["samples"], r["mean"], r["var"], edges, grid,
                                                               panel=panel, init=label)],
                        columns=DISTRIBUTION_COLUMNS)


# ---- table_critical: moment preservation and Remark 13 ---------------------------------------------
def moment_preservation(p: dict, device, log: Callable[[str], None] = _quiet) -> list[dict]:
    """Theorems 1/7 (i): E||x_k||^s / ||x_0||^s for k = 1..``mc_depth`` at sigma = sigma_bar_a(s, d),
    full Gaussian weight matrices, per case of ``mc_rows`` (generator seeded ``mc_seed``).  Per case:
    slope, s, width, sigma_bar, summary (``C.moment_preservation_summary``) and the He/Kaiming
    moment (sigma_K / sigma_bar)^(s depth) for contrast."""
    gen = torch.Generator(device=device).manual_seed(p["mc_seed"])
    depth, n = p["mc_depth"], p["mc_networks"]
    cases = []
    for case in p["mc_rows"]:
        a, s, d = case["slope"], case["s"], case["width"]
        sb = F.sigma_bar(a, s, d)
        log_norm = simulate_log_norms(d, depth, n, gaussian_weights(sb), leaky_relu(a), first_axis_vector(d, 1.0, True),
                                      generator=gen, device=device, dtype=torch.float32).log_norm[:, 0, :].cpu().numpy()
        summary = C.moment_preservation_summary(np.exp(s * (log_norm[:, 1:] - log_norm[:, :1])),
                                                F.moment_ratio(a, 2 * s, d, sb))
        cases.append(dict(slope=a, s=s, width=d, sigma_bar=sb, summary=summary,
                          kaiming_moment=(math.sqrt(2.0 / ((1.0 + a * a) * d)) / sb) ** (s * depth)))
        log(f"moment MC a={a} s={s} d={d}: E||x_k||^s/||x_0||^s at k={depth}: {summary['mean'][-1]:.4f}")
    return cases


def dropout_residuals(p: dict, device, log: Callable[[str], None] = _quiet) -> dict:
    """Remark 13: the exact ReLU critical variance under dropout (keep ``dropout_keep``) by Monte Carlo
    (``C.dropout_critical``) at each of ``dropout_widths`` (generator seeded ``mc_seed`` + 1), as the
    residual coefficient d^2 (exact - formula) and its standard error.  {widths, residuals, ses}."""
    gen = torch.Generator(device=device).manual_seed(p["mc_seed"] + 1)
    q, s, burn_in = p["dropout_keep"], p["dropout_s"], p["dropout_burn_in"]
    widths, residuals, ses = sorted(p["dropout_widths"]), [], []
    for d in widths:
        log_norm = simulate_log_norms_gaussian(d, burn_in + p["dropout_layers"], p["dropout_networks"], 1.0, 0.0,
                                               keep=q, generator=gen, device=device).cpu().numpy()
        critical, critical_se = C.dropout_critical(log_norm, burn_in, s)
        formula = F.dropout_threshold_sq(s, d, q)
        residuals.append(d * d * (critical - formula))
        ses.append(d * d * critical_se)
        log(f"d={d}: MC {critical:.6f} +- {critical_se:.6f} vs Remark 13 {formula:.6f} (2q/d = {2 * q / d:.6f})")
    return dict(widths=widths, residuals=residuals, ses=ses)


# ---- the cross-paper table -----------------------------------------------------------------------
def log_norm_increments(width: int, depth: int, n: int, sigma: float, slope: float, gen, device) -> np.ndarray:
    """log||x_depth|| - log||x_0|| over ``n`` networks with full Gaussian weight matrices (float32)."""
    log_norm = simulate_log_norms(width, depth, n, gaussian_weights(sigma), leaky_relu(slope),
                                  first_axis_vector(width, 1.0, True), generator=gen, device=device,
                                  dtype=torch.float32).log_norm[:, 0, :].cpu().numpy()
    return log_norm[:, depth] - log_norm[:, 0]


def cross_table(p: dict, device, log: Callable[[str], None] = _quiet) -> pd.DataFrame:
    """The cross_lyapunov table: per (slope, width, sigma in He, sigma_bar_a(1, d), sigma_lyapunov) the
    fractional paper's mu_a and s_a^2, the lyapunov paper's lambda_gauss and their Monte Carlo
    (``C.exponent_row``); per ReLU width, Theorem 5's conditional mu_0 against Monte Carlo conditioned
    on survival, with the survival fraction (``C.survival_row``).  One generator seeded ``seed``."""
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    depth, n = p["depth"], p["n_networks"]
    rows = []
    for a in p["slopes"]:
        for d in p["widths"]:
            series = F.exponent_series(a, d)
            for name, sigma in {"he": L.sigma_he(a, d), "sigma_bar_s1": F.sigma_bar(a, 1.0, d),
                                "lyapunov": math.exp(-L.half_e_log_phi(a, d))}.items():
                mu = math.log(sigma) + series.half_e_log_z
                total = log_norm_increments(d, depth, n, sigma, a, gen, device)
                rows.append(dict(kind="exponent", slope=a, width=d, sigma_name=SIGMA_NAMES[name], sigma=sigma,
                                 mu_fractional=mu, mu_fractional_bound=series.half_e_log_z_bound,
                                 lambda_lyapunov=L.lambda_gauss(sigma, a, d), s2_fractional=series.s2,
                                 **C.exponent_row(moments(total), depth, mu, series.s2), depth=depth, networks=n))
            log(f"a={a:g} d={d}: mu_frac - lambda = {rows[-1]['mu_fractional'] - rows[-1]['lambda_lyapunov']:.2e}, "
                f"z = {rows[-1]['z']:.2f}")
    for d in p["relu_widths"]:  # ReLU: Theorem 5 conditions on x_k != 0 (pi_d(n) = C(d, n) / (2^d - 1))
        sigma, k = math.sqrt(2.0 / d), p["relu_depth"]
        total = log_norm_increments(d, k, p["relu_networks"], sigma, 0.0, gen, device)
        alive = np.isfinite(total)
        mu0, s2 = F.mu_relu(sigma, d), F.s2_relu(d)
        rows.append(dict(kind="relu_conditional", slope=0.0, width=d, sigma_name="kaiming", sigma=sigma,
                         mu_fractional=mu0, mu_fractional_bound=0.0, lambda_lyapunov=float("-inf"), s2_fractional=s2,
                         **C.exponent_row(moments(total[alive]), k, mu0, s2), depth=k, networks=total.size,
                         **C.survival_row(int(alive.sum()), total.size, d, k)))
        log(f"ReLU d={d}: {alive.sum()} of {total.size} alive at k={k} (theory {rows[-1]['survival_theory']:.4f}); "
            f"mu_0 MC {rows[-1]['mc']:.4f} vs {mu0:.4f}")
    return pd.DataFrame(rows)[CROSS_COLUMNS]
