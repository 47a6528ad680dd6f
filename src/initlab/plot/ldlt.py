"""ldlt paper (001) theory figures: fig01-fig03 (|Monte Carlo - truncated series| vs sigma^2) and
fig04/fig05 (Var[y] vs normalised input variance).  The HIGGS figures are in ``ldlt_sweeps``.

Error bars of fig01-fig03 are +-1 standard deviation of Var[y | W0] over the W0 draws, as in the
paper.  On a log axis a lower whisker at or below zero cannot be drawn; it is drawn down to the
axis floor and ends in a downward triangle (never clipped to look shorter than it is)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import cm

from initlab import plot
from initlab.claims.ldlt import mp_scale
from initlab.theory import ldlt as theory

DODGE_DECADES = 0.012  # horizontal offset between orders (log10 units), so whiskers do not overlap
FLOOR_MARGIN = 1.6  # the axis ends this factor below the floor markers, so they show in full
WHISKER_ALPHA = 0.45  # whiskers lighter than the curves: the s.d. is the same for every order K


def log_whiskers(value, spread):
    """(lower, upper, open_below) of value +- spread for a log axis: lower is the length of the
    drawable lower whisker (value - spread when positive, else 0) and open_below marks points whose
    lower end is <= 0 (drawn to the axis floor with a marker instead)."""
    value, spread = np.asarray(value, dtype=float), np.asarray(spread, dtype=float)
    open_below = value - spread <= 0
    lower = np.where(open_below, 0.0, spread)
    return lower, spread, open_below


def axis_floor(values) -> float:
    """A log-axis floor a factor 3 below the smallest positive value."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return float(positive.min() / 3.0) if positive.size else 1e-12


def series_error_figure(frame: pd.DataFrame, figure: str, alpha: float, gamma: float, model: str):
    """fig01-fig03: one panel per size, one curve per truncation order K, bars = 1 s.d."""
    sizes, orders = sorted(frame.n.unique()), sorted(frame.order.unique())
    ncols = min(3, len(sizes))
    fig, axes = plot.subplots(math.ceil(len(sizes) / ncols), ncols, squeeze=False)
    colours = cm.viridis(np.linspace(0.0, 0.9, len(orders)))
    for ax, n in zip(axes.flat, sizes):
        sub = frame[frame.n == n]
        floor = axis_floor(np.concatenate([sub.abs_error, (sub.abs_error - sub.var_mc_sd), sub.var_mc_stderr]))
        for i, (colour, order) in enumerate(zip(colours, orders)):
            rows = sub[sub.order == order].sort_values("sigma2")
            x = rows.sigma2.to_numpy() * 10 ** (DODGE_DECADES * (i - (len(orders) - 1) / 2))
            err = rows.abs_error.to_numpy()
            lower, upper, below = log_whiskers(err, rows.var_mc_sd.to_numpy())
            bars = ax.errorbar(x, err, yerr=[lower, upper], color=colour, marker="o", ms=2.5, lw=1.0,
                               elinewidth=0.7, capsize=1.5, label=f"K={order}")
            for artist in bars.lines[1] + bars.lines[2]:
                artist.set_alpha(WHISKER_ALPHA)
            ax.vlines(x[below], floor, err[below], color=colour, lw=0.7, alpha=WHISKER_ALPHA)
            ax.plot(x[below], np.full(below.sum(), floor), ls="none", marker="v", ms=3.5, color=colour,
                    zorder=5)
        first = sub[sub.order == orders[0]].sort_values("sigma2")
        ax.plot(first.sigma2, first.var_mc_stderr, color="grey", ls=":", lw=1.4, label="MC s.e. of the mean")
        ax.axvline(sub.series_radius_sigma2.iloc[0], color="black", ls="--", lw=0.8, label=r"$\alpha/(2\sqrt{n})^2$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor / FLOOR_MARGIN)
        ax.set_title(f"$n = m = {n}$")
        ax.set_xlabel(r"$\sigma^2$")
        ax.set_ylabel(r"$|\mathrm{Var}_{MC}[y] - \mathrm{Var}_K[y]|$")
    for ax in list(axes.flat)[len(sizes):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(axes.flat[0].plot([], [], ls="none", marker="v", ms=4, color="grey")[0])
    labels.append("lower whisker reaches $\\leq 0$")
    fig.legend(handles, labels, loc="outside lower center", ncol=6, fontsize=8)
    samples = int(frame.samples.iloc[0])
    fig.suptitle(f"ldlt Fig. {int(figure[-2:])}: |Monte Carlo - truncated series| of Var[y], "
                 rf"$\alpha={alpha:g}, \gamma={gamma:g}$; {samples} samples per point ({model}), independent $W_0$ "
                 "at every $\\sigma^2$\nbars: $\\pm$1 s.d. of Var[y|$W_0$] over the draws (as in the paper), "
                 "$\\blacktriangledown$ = lower end $\\leq 0$; dotted: s.e. of the mean", fontsize=10)
    return fig


def variance_scaling_figure(frame: pd.DataFrame, breaks: dict, figure: str, p: dict):
    """fig04/fig05: Var[y] vs c (Monte Carlo +-1 s.e., series K, Marchenko-Pastur limit) and the
    finite-n deviation from the limit."""
    scaling = p["scaling"]
    xlabel = r"$c = n\,\sigma^2$" if scaling == "n" else r"$c = \sqrt{n}\,\sigma$"
    fig, (ax, ax_dev) = plot.subplots(1, 2, figsize=(2 * plot.PANEL_WIDTH, 1.5 * plot.PANEL_HEIGHT))
    grid = np.sort(frame.c.unique())
    fine = np.geomspace(grid[0], grid[-1], 400)
    ax.plot(fine, theory.mp_variance_limit(mp_scale(fine, scaling), p["alpha"], p["gamma"]), color="black",
            lw=2.0, label="Marchenko-Pastur limit")
    for colour, n in zip(plot.PALETTE, sorted(frame.n.unique())):
        sub = frame[frame.n == n].sort_values("c")
        broke = "" if math.isnan(breaks[n]) else f", series breaks at $c={breaks[n]:.2g}$"
        ax.errorbar(sub.c, sub.var_mc, yerr=sub.var_mc_stderr, color=colour, marker="o", ms=3, ls="none",
                    label=f"MC $n={n}${broke}")
        ok = sub[~sub.series_broken]
        ax.plot(sub.c, sub.var_series.where(sub.var_series.between(-0.5, 1.5)), color=colour, ls="--", lw=1.0,
                alpha=0.6)
        ax.plot(ok.c, ok.var_series, color=colour, ls="-", lw=1.0)
        if not math.isnan(breaks[n]):
            ax.axvline(breaks[n], color=colour, ls=":", lw=0.9)
        ax_dev.errorbar(sub.c, sub.var_mc - sub.var_mp_limit, yerr=sub.var_mc_stderr, color=colour, marker="o",
                        ms=3, lw=1.0, label=f"$n={n}$")
    if scaling == "sqrt_n":  # the paper's two stated values (abstract, Sec. IV-F)
        ax.plot([p["paper_scale_kaiming"], p["paper_scale_large"]], [p["paper_var_kaiming"], p["paper_var_large"]],
                ls="none", marker="*", ms=12, color="black", mfc="none", label="paper's stated values")
    ax.plot([], [], color="grey", ls="-", label=f"series $K={p['series_order']}$ (valid)")
    ax.plot([], [], color="grey", ls="--", label="series (broken)")
    ax.plot([], [], color="grey", ls=":", label="first broken $c$ (per $n$)")
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05 * p["gamma"] ** 2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$\mathrm{Var}[y]$")
    ax.set_title("Output variance")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    ax_dev.set_xscale("log")
    ax_dev.axhline(0.0, color="black", lw=0.8)
    ax_dev.set_xlabel(xlabel)
    ax_dev.set_ylabel(r"$\mathrm{Var}_{MC}[y] - \mathrm{Var}_{MP}[y]$")
    ax_dev.set_title("Finite-$n$ deviation from the limit")
    ax_dev.legend(fontsize=8)
    what = r"$\sigma^2 = c/n$" if scaling == "n" else r"$\sigma = c/\sqrt{n}$"
    fig.suptitle(f"ldlt Fig. {int(figure[-2:])}: Var[y] vs normalised input variance, {what}, "
                 rf"$W_0 \in \mathbb{{R}}^{{n\times n}}$, $\alpha={p['alpha']:g}, \gamma={p['gamma']:g}$"
                 "\nbars = $\\pm$1 s.e. of the mean (s.d. in the CSV); independent $W_0$ at every $c$")
    return fig
