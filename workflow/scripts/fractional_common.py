"""Shared helpers of the fractional scripts: Monte Carlo summaries with standard errors, the pdf/cdf
panels of R_k = log||x_k|| and the claims of Figures 2 and 4."""

import math

import numpy as np
from scipy import stats


def mean_var_z(samples, mean_theory, var_theory):
    """z-scores of the sample mean and variance against theory (variance s.e. from the 4th moment)."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.size
    mean, var = x.mean(), x.var(ddof=1)
    se_mean = math.sqrt(var / n)
    m4 = np.mean((x - mean) ** 4)
    se_var = math.sqrt(max(m4 - var**2, 0.0) / n)
    return {"n": n, "mean": mean, "mean_se": se_mean, "mean_theory": mean_theory,
            "mean_z": (mean - mean_theory) / se_mean, "var": var, "var_se": se_var,
            "var_theory": var_theory, "var_z": (var - var_theory) / se_var}


def dkw_epsilon(n1, n2, alpha=1e-3):
    """Two-sample Dvoretzky-Kiefer-Wolfowitz band: sup |F1 - F2| of two samples of the same law
    exceeds this with probability at most ~alpha."""
    return math.sqrt(0.5 * math.log(2.0 / alpha) * (1.0 / n1 + 1.0 / n2))


def ecdf(samples, grid):
    x = np.sort(np.asarray(samples))
    return np.searchsorted(x, grid, side="right") / x.size


def distribution_rows(panel, label, samples, mean_theory, var_theory, edges, grid):
    """Tidy rows: histogram density (with binomial s.e.) and ecdf, each beside the theory Gaussian."""
    x = np.asarray(samples)
    counts, _ = np.histogram(x, bins=edges)
    width = edges[1] - edges[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    sd = math.sqrt(var_theory)
    rows = [dict(panel=panel, kind="pdf", init=label, r=c, mc=k / (x.size * width),
                 mc_stderr=math.sqrt(k * (1 - k / x.size)) / (x.size * width),
                 theory=stats.norm.pdf(c, mean_theory, sd)) for c, k in zip(centres, counts)]
    f = ecdf(x, grid)
    rows += [dict(panel=panel, kind="cdf", init=label, r=g, mc=v, mc_stderr=math.sqrt(v * (1 - v) / x.size),
                  theory=stats.norm.cdf(g, mean_theory, sd)) for g, v in zip(grid, f)]
    return rows


def plot_pdf_cdf(ax_pdf, ax_cdf, samples, mean_theory, var_theory, edges, grid, label, color, theory_label):
    x = np.asarray(samples)
    density, _ = np.histogram(x, bins=edges, density=True)
    ax_pdf.stairs(density, edges, color=color, fill=True, alpha=0.35, label=f"{label} (Monte Carlo)")
    fine = np.linspace(edges[0], edges[-1], 400)
    ax_pdf.plot(fine, stats.norm.pdf(fine, mean_theory, math.sqrt(var_theory)), color=color, lw=1.4,
                ls="--", label=f"{label}: {theory_label}")
    ax_cdf.plot(grid, ecdf(x, grid), color=color, lw=3.5, alpha=0.45, label=f"{label} (Monte Carlo)")
    ax_cdf.plot(fine, stats.norm.cdf(fine, mean_theory, math.sqrt(var_theory)), color=color, lw=1.2, ls="--",
                label=f"{label}: {theory_label}")


def moment_claims(job, claim_prefix, tag, mean_description, var_description, st, z_tolerance):
    """Ledger rows for the mean and the variance of R_k against the theorem's values."""
    for moment, description in (("mean", mean_description), ("var", var_description)):
        z = st[f"{moment}_z"]
        job.claim(f"{claim_prefix}_{'mean' if moment == 'mean' else 'variance'}_{tag}", description,
                  f"{st[f'{moment}_theory']:.4f}", f"{st[moment]:.4f}",
                  f"1 s.e. = {st[f'{moment}_se']:.4f} (z = {z:.2f})",
                  "reproduced" if abs(z) < z_tolerance else "deviates")


def dominance(ours, kaiming, depth, grid):
    """First-order stochastic dominance of ``ours`` over Kaiming on ``grid``: the largest excess of
    F_ours over F_Kaiming with its two-sample DKW band, and the measured vs predicted mean shift
    k log(sigma_ours / sigma_Kaiming) with the shift's standard error."""
    return {
        "excess": float(np.max(ecdf(ours["samples"], grid) - ecdf(kaiming["samples"], grid))),
        "band": dkw_epsilon(ours["samples"].size, kaiming["samples"].size),
        "shift": ours["stats"]["mean"] - kaiming["stats"]["mean"],
        "shift_theory": depth * math.log(ours["sigma"] / kaiming["sigma"]),
        "shift_se": math.hypot(ours["stats"]["mean_se"], kaiming["stats"]["mean_se"]),
    }
