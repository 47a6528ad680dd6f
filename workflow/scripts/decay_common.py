"""Shared table and figure helpers of the decay deep-net scripts (decay_forward.py, decay_backward.py)."""

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from scipy import stats

from initlab import plot


def histogram_frame(layer_stats, theory_var):
    """Tidy histogram rows (one per layer and bin) with the N(0, theory) density beside the measured one."""
    rows = []
    for layer, (s, var_th) in enumerate(zip(layer_stats, theory_var), start=1):
        edges, counts = s["hist_edges"], s["hist_counts"]
        width = edges[1] - edges[0]
        centres = 0.5 * (edges[1:] + edges[:-1])
        density = counts / (s["count"] * width)
        theory = stats.norm.pdf(centres, scale=math.sqrt(var_th))
        rows += [dict(layer=layer, bin_left=lo, bin_right=hi, count=int(c), density=dens, theory_density=t)
                 for lo, hi, c, dens, t in zip(edges[:-1], edges[1:], counts, density, theory)]
    return pd.DataFrame(rows)


def plot_distributions(frame, symbol, title, theory_label):
    """One small panel per layer: measured histogram density and the theory Gaussian."""
    layers = sorted(frame["layer"].unique())
    ncols = 5
    nrows = math.ceil(len(layers) / ncols)
    fig, axes = plot.subplots(nrows, ncols, figsize=(2.9 * ncols, 2.3 * nrows), layout=None)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.84, wspace=0.3, hspace=0.6)
    axes = np.atleast_1d(axes).ravel()
    for ax, layer in zip(axes, layers):
        sub = frame[frame["layer"] == layer]
        edges = np.append(sub["bin_left"].to_numpy(), sub["bin_right"].to_numpy()[-1])
        ax.stairs(sub["density"].to_numpy(), edges, fill=True, alpha=0.55, label="simulation")
        centres = 0.5 * (sub["bin_left"] + sub["bin_right"])
        ax.plot(centres, sub["theory_density"], "k--", lw=1.0, label=theory_label)
        ax.set_title(f"layer $l={layer}$", fontsize=9, pad=8)
        # few ticks: text layout dominates the cost of a 15-panel figure
        ax.xaxis.set_major_locator(MaxNLocator(3, symmetric=True))
        ax.yaxis.set_major_locator(MaxNLocator(2))
        ax.ticklabel_format(axis="both", style="sci", scilimits=(-2, 3))
        ax.tick_params(labelsize=7)
        ax.xaxis.get_offset_text().set_fontsize(7)
        ax.yaxis.get_offset_text().set_fontsize(7)
    for ax in axes[len(layers):]:
        ax.set_visible(False)
    fig.supxlabel(symbol + " (each panel on its own scale)", fontsize=10)
    fig.supylabel("density", fontsize=10)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, 1.6), ncol=2)
    fig.suptitle(title)
    return fig


def decay_rate(variances):
    """Geometric-mean ratio of successive variances and its standard error (spread of the log
    ratios over layers, which are independent draws of weights)."""
    logs = np.diff(np.log(np.asarray(variances, dtype=float)))
    rate = float(np.exp(logs.mean()))
    se_log = float(logs.std(ddof=1) / math.sqrt(len(logs))) if len(logs) > 1 else float("nan")
    return rate, se_log, logs
