"""fractional Figure 4: pdf and cdf of R_{k,a} = log||x_k|| for linear (a = 1) and Leaky ReLU (a = 0.01)
networks, Kaiming (sigma^2 = 2/((1 + a^2) d)) vs sigma = sigma_bar_a(s, d) (s = 1). Monte Carlo over
independent networks against the Gaussian of Theorem 11: mean log||x_0|| + k mu_a(sigma), variance k s_a^2,
with mu_a and s_a^2 from the s-derivatives of Theorem 7's series at s = 0 (the appendix formulas (I.11),
(I.12) are not in our copy); mu_a is cross-checked against the lyapunov paper's quadrature."""

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
from initlab.theory import lyapunov as L

COLUMNS = ["panel", "kind", "init", "r", "mc", "mc_stderr", "theory"]


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    d, k, n, s, z = p["width"], p["depth"], p["n_networks"], p["moment"], p["z_tolerance"]
    x0 = torch.zeros(d, dtype=torch.float64)
    x0[0] = p["x0_norm"]
    fig, axes = plot.subplots(len(p["slopes"]), 2, squeeze=False)
    rows, started = [], time.time()
    for i, a in enumerate(p["slopes"]):
        series, results = F.exponent_series(a, d), {}
        for label, sigma in {"Kaiming": math.sqrt(2.0 / ((1.0 + a * a) * d)), f"$s={s:g}$": F.sigma_bar(a, s, d)}.items():
            r_k = simulate_log_norms_gaussian(d, k, n, sigma, a, x0=x0, generator=gen, device=device)[:, k].cpu().numpy()
            mu = math.log(sigma) + series.half_e_log_z
            mean, var = math.log(p["x0_norm"]) + k * mu, k * series.s2
            results[label] = dict(sigma=sigma, samples=r_k, mean=mean, var=var, lyapunov=L.lambda_gauss(sigma, a, d),
                                  mu=mu, stats=moments(r_k, mean, var))
            job.log(f"a={a:g} {label}: sigma={sigma:.6f} mean {results[label]['stats']['mean']:.4f} (theory {mean:.4f}) "
                    f"var {results[label]['stats']['var']:.4f} (theory {var:.4f})")
        edges, grid = common_support([r["samples"] for r in results.values()], p["bins"])
        name = "linear" if a == 1.0 else f"Leaky ReLU $a={a:g}$"
        distribution_row(*axes[i], results, edges, grid, "Theorem 11", f"({'ac'[i] if i < 2 else '?'}) pdf of $R_{{k,a}}$, "
                         f"{name}", f"({'bd'[i] if i < 2 else '?'}) cdf of $R_{{k,a}}$, {name}", r"$f_{k,a}(r)$",
                         r"$P(R_{k,a}\leq r)$")
        rows += [row for label, r in results.items() for row in gaussian_distribution_rows(
            r["samples"], r["mean"], r["var"], edges, grid, panel=f"a={a:g}", init=label)]
        claims(job, p, a, results)
    job.extra_meta.update(networks_per_init=n,
                          network_layers_per_s=round(2 * len(p["slopes"]) * n * k / (time.time() - started)))
    fig.suptitle(f"$\\log\\|x_k\\|$ through $k={k}$ layers, $d={d}$: Kaiming vs "
                 f"$\\sigma=\\bar\\sigma_a({s:g},d)$ ({n} networks each)")
    job.save_figure("fig04", fig)
    job.write_csv("fig04", pd.DataFrame(rows, columns=COLUMNS))


def claims(job, p, a, results):
    d, k, z = p["width"], p["depth"], p["z_tolerance"]
    for label, r in results.items():
        name = label.replace("$", "")
        for row in C.moment_claims(
            "theorem11", f"a{a:g}_" + ("kaiming" if label == "Kaiming" else "sbar"),
            f"Theorem 11: E R_k = log||x_0|| + k mu_a(sigma), a = {a:g}, sigma = {r['sigma']:.6f} ({name}), d = {d}, "
            f"k = {k}; mu_a from Theorem 7's series ({r['mu']:.8f}; lyapunov quadrature {r['lyapunov']:.8f})",
            f"Theorem 11: Var R_k = k s_a^2 (s_a^2 = {r['var'] / k:.6f} from the second s-derivative of Theorem 7's "
            f"series), a = {a:g}, {name}, d = {d}, k = {k}", r["stats"], z, target="fig04"):
            job.claim(**row)
    kaiming, ours = results["Kaiming"], [v for key, v in results.items() if key != "Kaiming"][0]
    everything = np.concatenate([kaiming["samples"], ours["samples"]])
    dom = C.dominance_stats(ours, kaiming, k, np.linspace(everything.min(), everything.max(), 4000), p["dkw_alpha"])
    job.claim(**C.dominance_claim(
        f"fig04_stochastic_dominance_a{a:g}",
        f"Remark 12 / Figure 4: with sigma = sigma_bar_a(s, d) (s = {p['moment']:g}, a = {a:g}) the cdf of R_k lies to "
        f"the right of Kaiming's: max_r (F_s - F_Kaiming) within the two-sample DKW band (alpha = {p['dkw_alpha']:g}), "
        f"mean shift = k log(sigma_bar / sigma_K) (d = {d}, k = {k})", **dom, z_tolerance=z, target="fig04"))


if __name__ == "__main__":
    run_job(main)
