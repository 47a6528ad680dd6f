"""fractional Figure 2: pdf and cdf of R_k = log||x_k|| given x_k != 0 for ReLU networks (d = 64,
k = 100): Kaiming (sigma^2 = 2/d) vs the paper's s ~ 1 initialisation (sigma^2 = 2/d + 5/(2 d^2)).
Monte Carlo over independent networks (fresh Gaussian weights per layer, one input each) against the
Gaussian of Theorem 5, N(log||x_0|| + k mu_0(sigma), k s_0^2)."""

import math
import time

import numpy as np
import pandas as pd
import torch

from initlab import plot
from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.nn.fractional_sim import simulate_log_norms_gaussian
from initlab.plot.fractional import distribution_row
from initlab.stats.distributions import common_support, gaussian_distribution_rows
from initlab.stats.moments import moments
from initlab.theory import fractional as F

COLUMNS = ["panel", "kind", "init", "r", "mc", "mc_stderr", "theory"]


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    d, k, n, z = p["width"], p["depth"], p["n_networks"], p["z_tolerance"]
    x0 = torch.zeros(d, dtype=torch.float64)
    x0[0] = p["x0_norm"]
    results, started = {}, time.time()
    for label, var in {"Kaiming": 2.0 / d, r"$s\approx 1$": 2.0 / d + p["paper_sigma_sq_correction"] / d**2}.items():
        r_k = simulate_log_norms_gaussian(d, k, n, math.sqrt(var), 0.0, x0=x0, generator=gen, device=device)[:, k].cpu().numpy()
        alive = np.isfinite(r_k)  # condition on x_k != 0 (Theorem 5)
        mean, var_th = math.log(p["x0_norm"]) + k * F.mu_relu(math.sqrt(var), d), k * F.s2_relu(d)
        results[label] = dict(sigma=math.sqrt(var), samples=r_k[alive], dead=int((~alive).sum()), mean=mean, var=var_th,
                              stats=moments(r_k[alive], mean, var_th))
        job.log(f"{label}: sigma^2 = {var:.6f}, {alive.sum()} of {n} alive; mean {results[label]['stats']['mean']:.4f} "
                f"(theory {mean:.4f}), var {results[label]['stats']['var']:.4f} (theory {var_th:.4f})")
    job.extra_meta.update(networks_per_init=n, network_layers_per_s=round(len(results) * n * k / (time.time() - started)),
                          networks_with_x_k_zero=sum(r["dead"] for r in results.values()))
    edges, grid = common_support([r["samples"] for r in results.values()], p["bins"])
    fig, (ax_pdf, ax_cdf) = plot.subplots(1, 2)
    distribution_row(ax_pdf, ax_cdf, results, edges, grid, "Theorem 5", f"pdf of $R_{{k,0}}$, $k={k}$, $d={d}$",
                     "cdf of $R_{k,0}$", r"$f_k(r)$", r"$P(R_{k,0} \leq r)$")
    fig.suptitle(f"ReLU: $\\log\\|x_k\\|$ given $x_k\\neq 0$, Kaiming vs "
                 f"$\\sigma^2=2/d+{p['paper_sigma_sq_correction']:g}/d^2$ ({n} networks each)")
    job.save_figure("fig02", fig)
    job.write_csv("fig02", pd.DataFrame([row for label, r in results.items() for row in gaussian_distribution_rows(
        r["samples"], r["mean"], r["var"], edges, grid, panel="relu", init=label)], columns=COLUMNS))

    for label, r in results.items():
        name = label.replace("$", "")
        for row in C.moment_claims(
                "theorem5", "kaiming" if label == "Kaiming" else "s1",
                f"Theorem 5: E[R_k | x_k != 0] = log||x_0|| + k mu_0(sigma), eq. (3.5); {name} (sigma^2 = "
                f"{r['sigma'] ** 2:.6f}), d = {d}, k = {k}, {r['stats']['n']} independent networks",
                f"Theorem 5: Var[R_k | x_k != 0] = k s_0^2 ({name}, d = {d}, k = {k})", r["stats"], z, target="fig02"):
            job.claim(**row)
    dom = C.dominance_stats(results[r"$s\approx 1$"], results["Kaiming"], k, np.linspace(edges[0], edges[-1], 2000),
                            p["dkw_alpha"])
    job.claim(**C.dominance_claim(
        "fig02_stochastic_dominance",
        "Remark 6 / Figure 2: the cdf of R_k with sigma^2 = 2/d + 5/(2 d^2) lies to the right of Kaiming's "
        "(first-order stochastic dominance): max_r (F_s(r) - F_Kaiming(r)) must stay within the two-sample DKW band "
        f"(alpha = {p['dkw_alpha']:g}), and the mean shift must equal k log(sigma_s / sigma_K) (d = {d}, k = {k})",
        **dom, z_tolerance=z, target="fig02"))


if __name__ == "__main__":
    run_job(main)
