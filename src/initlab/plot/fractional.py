"""Figures 1-4 of the fractional paper (theory and Monte Carlo of R_k = log||x_k||)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import ticker
from scipy import stats

from initlab import plot
from initlab.stats.distributions import ecdf


def pdf_cdf(ax_pdf, ax_cdf, samples, mean: float, var: float, edges, grid, label: str, color: str,
            theory_label: str) -> None:
    """Monte Carlo histogram (pdf) and ecdf (cdf) of ``samples`` beside the Gaussian N(mean, var)."""
    x = np.asarray(samples)
    density, _ = np.histogram(x, bins=edges, density=True)
    ax_pdf.stairs(density, edges, color=color, fill=True, alpha=0.35, label=f"{label} (Monte Carlo)")
    fine = np.linspace(edges[0], edges[-1], 400)
    sd = math.sqrt(var)
    ax_pdf.plot(fine, stats.norm.pdf(fine, mean, sd), color=color, lw=1.4, ls="--", label=f"{label}: {theory_label}")
    ax_cdf.plot(grid, ecdf(x, grid), color=color, lw=3.5, alpha=0.45, label=f"{label} (Monte Carlo)")
    ax_cdf.plot(fine, stats.norm.cdf(fine, mean, sd), color=color, lw=1.2, ls="--", label=f"{label}: {theory_label}")


def distribution_row(ax_pdf, ax_cdf, results: dict, edges, grid, theory_label: str, pdf_title: str,
                     cdf_title: str, pdf_ylabel: str, cdf_ylabel: str) -> None:
    """One row of Figures 2/4: ``results`` {label: {samples, mean, var}} in palette order."""
    for (label, r), color in zip(results.items(), plot.PALETTE):
        pdf_cdf(ax_pdf, ax_cdf, r["samples"], r["mean"], r["var"], edges, grid, label, color, theory_label)
    ax_pdf.set_title(pdf_title)
    ax_cdf.set_title(cdf_title)
    ax_pdf.set_ylabel(pdf_ylabel)
    ax_cdf.set_ylabel(cdf_ylabel)
    for ax in (ax_pdf, ax_cdf):
        ax.set_xlabel(r"$r$")
        ax.legend(fontsize=7)


def fig02(results: dict, edges, grid, width: int, depth: int, n_networks: int, sigma_sq_correction: float):
    """Figure 2: pdf and cdf of R_k given x_k != 0 (ReLU), Kaiming vs the s ~ 1 init, against
    Theorem 5 (``results``: ``initlab.claims.fractional_mc.relu_distributions``)."""
    fig, (ax_pdf, ax_cdf) = plot.subplots(1, 2)
    distribution_row(ax_pdf, ax_cdf, results, edges, grid, "Theorem 5", f"pdf of $R_{{k,0}}$, $k={depth}$, $d={width}$",
                     "cdf of $R_{k,0}$", r"$f_k(r)$", r"$P(R_{k,0} \leq r)$")
    fig.suptitle(f"ReLU: $\\log\\|x_k\\|$ given $x_k\\neq 0$, Kaiming vs "
                 f"$\\sigma^2=2/d+{sigma_sq_correction:g}/d^2$ ({n_networks} networks each)")
    return fig


def fig04(panels: dict, width: int, depth: int, n_networks: int, moment: float):
    """Figure 4: one row per slope a of ``panels`` {a: (results, edges, grid)} (results:
    ``initlab.claims.fractional_mc.slope_distributions``): pdf and cdf of R_{k,a}, Kaiming vs
    sigma_bar_a(``moment``, d), against Theorem 11."""
    fig, axes = plot.subplots(len(panels), 2, squeeze=False)
    for i, (a, (results, edges, grid)) in enumerate(panels.items()):
        name = "linear" if a == 1.0 else f"Leaky ReLU $a={a:g}$"
        distribution_row(*axes[i], results, edges, grid, "Theorem 11", f"({'ac'[i] if i < 2 else '?'}) pdf of "
                         f"$R_{{k,a}}$, {name}", f"({'bd'[i] if i < 2 else '?'}) cdf of $R_{{k,a}}$, {name}",
                         r"$f_{k,a}(r)$", r"$P(R_{k,a}\leq r)$")
    fig.suptitle(f"$\\log\\|x_k\\|$ through $k={depth}$ layers, $d={width}$: Kaiming vs "
                 f"$\\sigma=\\bar\\sigma_a({moment:g},d)$ ({n_networks} networks each)")
    return fig


def fig01(table, width: int, depth: int):
    """Figure 1 from its tidy table (panel, s, width, x, y, y_corollary4): left, log(sigma_bar_0^2 - 2/d)
    vs log d (hollow markers, every third width) with Corollary 4 (dashed, drawn on top: the two agree
    at large d, where solid lines would hide it); right, log10 moment growth at k = ``depth``."""
    fig, (left, right) = plot.subplots(1, 2)
    for s, g in table[table["panel"] == "left"].groupby("s", sort=False):
        line, = left.plot(g["x"], g["y"], ls="none", marker="o", ms=3.5, mfc="none", mew=0.8, markevery=3,
                          label=f"$s={s:g}$", zorder=2)
        left.plot(g["x"], g["y_corollary4"], color=line.get_color(), ls="--", lw=1.5, zorder=3)
    left.set_xlabel(r"$\log d$")
    left.set_ylabel(r"$\log(\bar\sigma_0^2(s,d) - 2/d)$")
    left.set_title("ReLU: exact (eq. 3.2, markers) vs Corollary 4 (dashed)")
    left.legend()
    for s, g in table[table["panel"] == "right"].groupby("s", sort=False):
        right.plot(g["x"], g["y"], label=fr"$\sigma=\bar\sigma_0({s:g},{width})$")
    right.axhline(0.0, color="k", lw=0.8)
    right.set_xlabel(r"moment order $\alpha$")
    right.set_ylabel(fr"$\log_{{10}}\, \mathbb{{E}}\|x_{{{depth}}}\|^\alpha / \|x_0\|^\alpha$")
    right.set_title(f"Moment growth at $k={depth}$, $d={width}$ (eq. 3.1)")
    right.legend()
    fig.suptitle(r"Fractional moment-preserving initialisation, ReLU: critical variance and moment growth")
    return fig


def plain_log_ticks(axis) -> None:
    """Log-axis ticks at 1, 2, 5 x 10^n labelled as plain numbers (0.2, 0.5, 1, 2, ...), no minor
    labels: matplotlib's default labels minor ticks as crowded 2 x 10^-1 text, or not at all."""
    axis.set_major_locator(ticker.LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def fig03(table):
    """Figure 3 from its tidy table (panel, s, width, sigma_bar): sigma_bar_0 vs d and vs s."""
    fig, (left, right) = plot.subplots(1, 2)
    for s, g in table[table["panel"] == "vs_d"].groupby("s", sort=False):
        left.plot(g["width"], g["sigma_bar"], label=f"$s={s:g}$")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("width $d$")
    left.set_ylabel(r"$\bar\sigma_0(s,d)$")
    left.set_title(r"(a) $\bar\sigma_0(s,d)$ vs $d$")
    left.legend()
    for d, g in table[table["panel"] == "vs_s"].groupby("width", sort=False):
        right.plot(g["s"], g["sigma_bar"], label=f"$d={d}$")
    right.set_yscale("log")
    for ax in (left, right):
        plain_log_ticks(ax.yaxis)
    plain_log_ticks(left.xaxis)
    right.set_xlabel("moment order $s$")
    right.set_ylabel(r"$\bar\sigma_0(s,d)$")
    right.set_title(r"(b) $\bar\sigma_0(s,d)$ vs $s$")
    right.legend()
    fig.suptitle("Critical standard deviation for ReLU (eq. 3.2)")
    return fig
