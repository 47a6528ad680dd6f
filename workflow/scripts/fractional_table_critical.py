"""fractional table_critical: sigma_bar_a(s, d) by eq. (3.2) (a = 0) and Theorem 7's series (a > 0),
with the expansions of Corollaries 4 and 10; Monte Carlo confirmation (full Gaussian weight matrices)
that sigma_bar preserves E||x_k||^s over many layers; Remark 13's dropout threshold by Monte Carlo."""

import math

import numpy as np
import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.nn.fractional_sim import simulate_log_norms_gaussian
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.theory import fractional as F


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    table = F.critical_table(p["slopes"], p["moments"], p["widths"])
    job.write_csv("table_critical", table)
    job.log(f"table_critical: {len(table)} rows; max truncation bound {table['truncation_bound'].max():.1e}")
    for row in C.table_critical_theory_claims(table, p):
        job.claim(**row)
    moment_preservation(job, p, device)
    dropout(job, p, device)
    job.extra_meta["moment_mc_networks"] = p["mc_networks"]


def moment_preservation(job, p, device):
    gen = torch.Generator(device=device).manual_seed(p["mc_seed"])
    depth, n = p["mc_depth"], p["mc_networks"]
    for row in p["mc_rows"]:
        a, s, d = row["slope"], row["s"], row["width"]
        sb = F.sigma_bar(a, s, d)
        x0 = torch.zeros(1, d, dtype=torch.float64)
        x0[0, 0] = 1.0
        log_norm = simulate_log_norms(d, depth, n, gaussian_weights(sb), leaky_relu(a), x0, generator=gen,
                                      device=device, dtype=torch.float32).log_norm[:, 0, :].cpu().numpy()
        summary = C.moment_preservation_summary(np.exp(s * (log_norm[:, 1:] - log_norm[:, :1])), F.moment_ratio(a, 2 * s, d, sb))
        kaiming_moment = (math.sqrt(2.0 / ((1.0 + a * a) * d)) / sb) ** (s * depth)
        job.claim(**C.moment_preserved_claim(
            f"moment_preserved_a{a:g}_s{s:g}_d{d}",
            f"Theorems 1/7 (i): with sigma = sigma_bar_a(s, d) = {sb:.6f} (a={a:g}, s={s:g}, d={d}) E||x_k||^s = ||x_0||^s "
            f"for every k; Monte Carlo of E||x_k||^s/||x_0||^s, {n} networks with full Gaussian weight matrices, k = "
            f"1..{depth}. For contrast, He/Kaiming sigma would give E||x_{depth}||^s = {kaiming_moment:.3f}",
            summary, p["z_tolerance"]))
        job.log(f"moment MC a={a} s={s} d={d}: E||x_k||^s/||x_0||^s at k={depth}: {summary['mean'][-1]:.4f}")


def dropout(job, p, device):
    gen = torch.Generator(device=device).manual_seed(p["mc_seed"] + 1)
    q, s, burn_in = p["dropout_keep"], p["dropout_s"], p["dropout_burn_in"]
    widths, residuals, ses = sorted(p["dropout_widths"]), [], []
    for d in widths:
        log_norm = simulate_log_norms_gaussian(d, burn_in + p["dropout_layers"], p["dropout_networks"], 1.0, 0.0, keep=q,
                                               generator=gen, device=device).cpu().numpy()
        critical, critical_se = C.dropout_critical(log_norm, burn_in, s)
        formula = F.dropout_threshold_sq(s, d, q)
        residuals.append(d * d * (critical - formula))
        ses.append(d * d * critical_se)
        job.log(f"d={d}: MC {critical:.6f} +- {critical_se:.6f} vs Remark 13 {formula:.6f} (2q/d = {2 * q / d:.6f})")
    job.claim(**C.dropout_claim(
        "remark13_dropout_threshold",
        f"Remark 13: with dropout (keep q = {q:g}) the ReLU critical variance is 2q/d + (2 - s)(6 - q)/(2 d^2) + "
        f"o(1/d^2) (s = {s:g}). Monte Carlo of the exact critical variance (per-layer growth of ||x||^s averaged over "
        f"the stationary direction after {burn_in} layers; the size-biased direction law differs at O(1/d^3))",
        widths, residuals, ses, (2.0 - s) * (6.0 - q) / 2.0, p["dropout_residual_fraction"]))


if __name__ == "__main__":
    run_job(main)
