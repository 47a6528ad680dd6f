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

from fractional_common import distribution_rows, dominance, mean_var_z, moment_claims, plot_pdf_cdf
from initlab import plot
from initlab.jobs import run_job
from initlab.nn.fractional_sim import simulate_log_norms_gaussian
from initlab.theory import fractional as F
from initlab.theory import lyapunov as L


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    d, k, n, s = p["width"], p["depth"], p["n_networks"], p["moment"]
    x0 = torch.zeros(d, dtype=torch.float64)
    x0[0] = p["x0_norm"]
    fig, axes = plot.subplots(len(p["slopes"]), 2, squeeze=False)
    rows = []
    started = time.time()
    for row, a in enumerate(p["slopes"]):
        series = F.exponent_series(a, d)
        inits = {"Kaiming": math.sqrt(2.0 / ((1.0 + a * a) * d)), f"$s={s:g}$": F.sigma_bar(a, s, d)}
        results = {}
        for label, sigma in inits.items():
            r_k = simulate_log_norms_gaussian(d, k, n, sigma, a, x0=x0, generator=gen, device=device)[:, k].cpu().numpy()
            mu = math.log(sigma) + series.half_e_log_z
            mean_th = math.log(p["x0_norm"]) + k * mu
            var_th = k * series.s2
            results[label] = dict(sigma=sigma, samples=r_k, mean=mean_th, var=var_th,
                                  lyapunov=L.lambda_gauss(sigma, a, d), mu=mu, stats=mean_var_z(r_k, mean_th, var_th))
            job.log(f"a={a:g} {label}: sigma={sigma:.6f} mean {results[label]['stats']['mean']:.4f} (theory {mean_th:.4f}) "
                    f"var {results[label]['stats']['var']:.4f} (theory {var_th:.4f})")
        everything = np.concatenate([r["samples"] for r in results.values()])
        lo, hi = np.quantile(everything, [0.0005, 0.9995])
        edges = np.linspace(lo, hi, p["bins"] + 1)
        grid = np.linspace(lo, hi, 200)
        ax_pdf, ax_cdf = axes[row]
        name = "linear" if a == 1.0 else f"Leaky ReLU $a={a:g}$"
        for (label, r), color in zip(results.items(), plot.PALETTE):
            plot_pdf_cdf(ax_pdf, ax_cdf, r["samples"], r["mean"], r["var"], edges, grid, label, color, "Theorem 11")
            rows += distribution_rows(f"a={a:g}", label, r["samples"], r["mean"], r["var"], edges, grid)
        ax_pdf.set_title(f"({'ac'[row] if row < 2 else '?'}) pdf of $R_{{k,a}}$, {name}")
        ax_cdf.set_title(f"({'bd'[row] if row < 2 else '?'}) cdf of $R_{{k,a}}$, {name}")
        ax_pdf.set_ylabel(r"$f_{k,a}(r)$")
        ax_cdf.set_ylabel(r"$P(R_{k,a}\leq r)$")
        for ax in (ax_pdf, ax_cdf):
            ax.set_xlabel(r"$r$")
            ax.legend(fontsize=7)
        claims(job, p, a, results)
    job.extra_meta["networks_per_init"] = n
    job.extra_meta["network_layers_per_s"] = round(2 * len(p["slopes"]) * n * k / (time.time() - started))
    fig.suptitle(f"$\\log\\|x_k\\|$ through $k={k}$ layers, $d={d}$: Kaiming vs "
                 f"$\\sigma=\\bar\\sigma_a({s:g},d)$ ({n} networks each)")
    job.save_figure("fig04", fig)
    job.write_csv("fig04", pd.DataFrame(rows))


def claims(job, p, a, results):
    z = p["z_tolerance"]
    d, k = p["width"], p["depth"]
    for label, r in results.items():
        st = r["stats"]
        moment_claims(
            job, "theorem11", f"a{a:g}_" + ("kaiming" if label == "Kaiming" else "sbar"),
            f"Theorem 11: E R_k = log||x_0|| + k mu_a(sigma), a = {a:g}, sigma = {r['sigma']:.6f} ({label.replace('$', '')}), "
            f"d = {d}, k = {k}; mu_a from Theorem 7's series ({r['mu']:.8f}; lyapunov quadrature {r['lyapunov']:.8f})",
            f"Theorem 11: Var R_k = k s_a^2 (s_a^2 = {r['var'] / k:.6f} from the second s-derivative of Theorem 7's "
            f"series), a = {a:g}, {label.replace('$', '')}, d = {d}, k = {k}", st, z)
    kaiming, ours = results["Kaiming"], [v for key, v in results.items() if key != "Kaiming"][0]
    lo = min(kaiming["samples"].min(), ours["samples"].min())
    hi = max(kaiming["samples"].max(), ours["samples"].max())
    dom = dominance(ours, kaiming, k, np.linspace(lo, hi, 4000))
    excess, band, shift, shift_theory, shift_se = (dom[key] for key in
                                                   ("excess", "band", "shift", "shift_theory", "shift_se"))
    ok = excess <= band and abs(shift - shift_theory) < z * shift_se and shift_theory > 0
    job.claim(
        f"fig04_stochastic_dominance_a{a:g}",
        f"Remark 12 / Figure 4: with sigma = sigma_bar_a(s, d) (s = {p['moment']:g}, a = {a:g}) the cdf of R_k lies to "
        "the right of Kaiming's: max_r (F_s - F_Kaiming) within the two-sample DKW band (alpha = 1e-3), mean shift "
        f"= k log(sigma_bar / sigma_K) (d = {d}, k = {k})",
        f"dominance; mean shift {shift_theory:.4f}",
        f"max (F_s - F_K) = {excess:.4f} (band {band:.4f}); mean shift {shift:.4f}",
        f"1 s.e. of the shift = {shift_se:.4f}", "reproduced" if ok else "deviates")


if __name__ == "__main__":
    run_job(main)
