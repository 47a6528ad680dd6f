"""Lyapunov paper Figure 1: law of large numbers and central limit theorem for log||x_k||
(Theorems 3.3/3.4), Monte Carlo with Gaussian (He) and orthogonal (standard scaled) weights."""

import math

import numpy as np
import pandas as pd
import torch
from scipy import stats

from initlab import plot
from initlab.jobs import run_job
from initlab.nn.limit_theorems import WEIGHT_KINDS, run_limit_theorems

TITLES = {"gaussian": r"Gaussian, $\sigma_{\mathrm{He}}$", "orthogonal": r"orthogonal, $\eta_{\mathrm{He}}$"}


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    generator = torch.Generator(device=device).manual_seed(p["seed"])
    runs = []
    for weights in WEIGHT_KINDS:
        for slope in p["slopes"]:
            for width in p["widths"]:
                runs.append(run_limit_theorems(weights, slope, width, p["depth"], p["n_networks"],
                                               generator, device))
                job.log(f"{weights} a={slope} d={width}: lambda mc {runs[-1].lambda_mc:.5f} "
                        f"+- {runs[-1].lambda_mc_stderr:.5f}, theory {runs[-1].lambda_theory:.5f}")

    fig, axes = plot.subplots(2, 2, sharex="col")
    rows = []
    grid = np.linspace(-4, 4, 161)
    for r in runs:
        row = WEIGHT_KINDS.index(r.weights)
        label = f"d={r.width}, a={r.slope:g}"
        lln = r.lln_curve()
        line, = axes[row, 0].plot(lln["k"], lln["mean"], label=label)
        axes[row, 0].fill_between(lln["k"], lln["q10"], lln["q90"], color=line.get_color(), alpha=0.15, lw=0)
        axes[row, 0].axhline(r.lambda_theory, color=line.get_color(), ls="--", lw=1)
        rows += [dict(panel="lln", weights=r.weights, slope=r.slope, width=r.width, x=int(k), y_mc=m,
                      y_mc_stderr=s, y_q10=lo, y_q90=hi, y_theory=r.lambda_theory)
                 for k, m, s, lo, hi in zip(lln["k"], lln["mean"], lln["stderr"], lln["q10"], lln["q90"])]
        clt = r.clt_variable()
        standardised = (clt - clt.mean()) / clt.std(ddof=1)
        density, edges = np.histogram(standardised, bins=30, range=(-4, 4), density=True)
        centres = 0.5 * (edges[1:] + edges[:-1])
        axes[row, 1].stairs(density, edges, color=line.get_color(), label=label)
        rows += [dict(panel="clt", weights=r.weights, slope=r.slope, width=r.width, x=c, y_mc=dens,
                      y_mc_stderr=math.sqrt(dens / (len(clt) * (edges[1] - edges[0]))),
                      y_theory=stats.norm.pdf(c)) for c, dens in zip(centres, density)]
    for row, weights in enumerate(WEIGHT_KINDS):
        axes[row, 0].set_ylabel(r"$\frac{1}{k}\,\log\|x_k\| / \|x_0\|$")
        axes[row, 0].set_xscale("log")
        axes[row, 0].set_title(f"LLN, {TITLES[weights]}\nmean, 10-90% band; dashed: $\\lambda$ (Thm 4.{row + 1})")
        axes[row, 1].plot(grid, stats.norm.pdf(grid), "k--", lw=1.2, label=r"$\mathcal{N}(0,1)$")
        axes[row, 1].set_ylabel("density")
        axes[row, 1].set_title(f"CLT at $k={p['depth']}$, {TITLES[weights]}")
        axes[row, 0].legend(ncol=2, loc="lower right")
        axes[row, 1].legend(ncol=1)
    axes[1, 0].set_xlabel("layer $k$")
    axes[1, 1].set_xlabel(r"$(\log\|x_k\| - k\lambda)\,/\,(\hat s\sqrt{k})$")
    fig.suptitle(f"Limit theorems for deep Leaky ReLU networks ({p['n_networks']} networks per curve)")
    job.save_figure("fig01", fig)
    job.write_csv("fig01", pd.DataFrame(rows))

    z_scores = [(r.lambda_mc - r.lambda_theory) / r.lambda_mc_stderr for r in runs]
    worst = int(np.argmax(np.abs(z_scores)))
    job.claim(
        "lln_exponent_formula",
        "Law of large numbers: log||x_k||/k -> lambda with lambda from Theorems 4.1/4.2 (Gaussian He and "
        f"scaled-orthogonal weights; widths {p['widths']}, slopes {p['slopes']}, depth {p['depth']}); "
        f"Monte Carlo exponent vs formula, worst case {runs[worst].weights} d={runs[worst].width} "
        f"a={runs[worst].slope:g}",
        "lambda (Theorems 4.1/4.2)",
        f"MC {runs[worst].lambda_mc:.5f} vs formula {runs[worst].lambda_theory:.5f} "
        f"(max |z| = {abs(z_scores[worst]):.2f} over {len(runs)} cases)",
        f"1 s.e. = {runs[worst].lambda_mc_stderr:.5f}",
        "reproduced" if max(np.abs(z_scores)) < p["z_tolerance"] else "deviates",
    )
    min_p = min(r.ks_pvalue for r in runs)
    threshold = 0.01 / len(runs)  # Bonferroni over the cases
    job.claim(
        "clt_gaussian_limit",
        "Central limit theorem: (log||x_k|| - k lambda)/sqrt(k) is asymptotically Gaussian (Theorem 3.4); "
        f"Kolmogorov-Smirnov test of the standardised variable at k={p['depth']} against N(0,1), "
        f"{len(runs)} cases, Bonferroni level 0.01 (parameters estimated, so the test is conservative)",
        "Gaussian limit",
        f"min KS p-value {min_p:.3g}; max |skewness| {max(abs(r.clt_skewness) for r in runs):.3f}; "
        f"CLT variances s^2: " + ", ".join(f"{r.weights[0]} d={r.width} a={r.slope:g}: {r.clt_variance:.4f}"
                                            for r in runs),
        f"{p['n_networks']} networks per case",
        "reproduced" if min_p > threshold else "deviates",
    )
    job.extra_meta["monte_carlo"] = {"networks_per_case": p["n_networks"], "depth": p["depth"],
                                     "cases": len(runs)}


if __name__ == "__main__":
    run_job(main)
