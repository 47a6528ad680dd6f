"""Figures of the decay paper: deep-net simulations (Figures 2-8) and Covertype training (9-11): per-layer histograms against the
theory Gaussian, and per-layer variances on a log axis with a residual panel underneath
(simulation / theory - 1 per layer with error bars and the practical tolerance band), so that
per-layer gaps of a few percent are visible even when the variances span 25 decades."""

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from scipy import stats

from initlab import plot
from initlab.theory import decay


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


def plot_distributions(frame, symbol, title, theory_label, var_mc, var_theory):
    """One small panel per layer: measured histogram density and the theory Gaussian.  Each panel is
    on its own x scale, so each prints its layer's simulated variance ``var_mc`` and the theory
    ``var_theory`` (per layer, same net as the histograms): the decay over layers is read there."""
    layers = sorted(frame["layer"].unique())
    ncols = 5
    nrows = math.ceil(len(layers) / ncols)
    fig, axes = plot.subplots(nrows, ncols, figsize=(2.9 * ncols, 2.3 * nrows), layout=None)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.84, wspace=0.3, hspace=0.6)
    axes = np.atleast_1d(axes).ravel()
    for ax, layer, v_mc, v_th in zip(axes, layers, var_mc, var_theory):
        sub = frame[frame["layer"] == layer]
        edges = np.append(sub["bin_left"].to_numpy(), sub["bin_right"].to_numpy()[-1])
        ax.stairs(sub["density"].to_numpy(), edges, fill=True, alpha=0.55, label="simulation")
        centres = 0.5 * (sub["bin_left"] + sub["bin_right"])
        ax.plot(centres, sub["theory_density"], "k--", lw=1.0, label=theory_label)
        ax.set_title(f"layer $l={layer}$", fontsize=9, pad=8)
        ax.text(0.02, 0.97, f"sim {v_mc:.2e}\ntheory {v_th:.2e}", transform=ax.transAxes, ha="left", va="top",
                fontsize=6.5, family="monospace")
        # few ticks: text layout dominates the cost of a 15-panel figure
        ax.xaxis.set_major_locator(MaxNLocator(3, symmetric=True))
        ax.yaxis.set_major_locator(MaxNLocator(2))
        ax.ticklabel_format(axis="both", style="sci", scilimits=(-2, 3))
        ax.tick_params(labelsize=7)
        ax.xaxis.get_offset_text().set_fontsize(7)
        ax.yaxis.get_offset_text().set_fontsize(7)
    for ax in axes[len(layers):]:
        ax.set_visible(False)
    fig.supxlabel(symbol + " (each panel on its own scale; in each panel: the variance, simulated and theory)",
                  fontsize=10)
    fig.supylabel("density", fontsize=10)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, 1.6), ncol=2)
    fig.suptitle(title)
    return fig


def variance_figure(layers, series, theory, residuals, title, ylabel, *, log=True, tolerance=None,
                    hline=None, ylim=None):
    """Variance per layer (top) and relative residual per layer (bottom, same x axis).

    ``series``: list of (label, values, marker) of measured curves; ``theory``: list of (label,
    values, linestyle) of reference curves; ``residuals``: list of (label, table, marker) with
    ``table`` a frame with columns gap, ci_lo, ci_hi and optional status (initlab.stats.compare);
    points whose status is 'deviates' are drawn filled in red outline.  ``tolerance`` draws the
    practical tolerance band; ``hline`` = (value, label) a horizontal reference line on top."""
    fig, (ax, res) = plot.subplots(2, 1, figsize=(5.8, 5.6), sharex=True, height_ratios=[3, 2])
    layers = np.asarray(layers)
    for label, values, marker in series:
        ax.plot(layers, values, marker, label=label, ms=5, mfc="none" if marker == "o" else None)
    for label, values, style in theory:
        ax.plot(layers, values, style, color="k" if style == ":" else None, lw=1.2, label=label)
    if hline is not None:
        ax.axhline(hline[0], color="0.5", lw=0.8, ls="--", label=hline[1])
    if log:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    if tolerance is not None:
        res.axhspan(-tolerance, tolerance, color="0.88", lw=0, label=f"tolerance $\\pm${tolerance:.0%}")
    res.axhline(0.0, color="k", lw=0.8)
    offsets = np.linspace(-0.12, 0.12, len(residuals)) if len(residuals) > 1 else [0.0]
    for (label, table, marker), dx in zip(residuals, offsets):
        gap = np.asarray(table["gap"], dtype=float)
        err = np.vstack([gap - np.asarray(table["ci_lo"]), np.asarray(table["ci_hi"]) - gap])
        line = res.errorbar(layers + dx, gap, yerr=err, fmt=marker, ms=4, capsize=2, lw=0.9,
                            mfc="none" if marker == "o" else None, label=label)
        if "status" in table:
            bad = np.asarray(table["status"]) == "deviates"
            if bad.any():
                res.plot(layers[bad] + dx, gap[bad], "s", ms=9, mfc="none", mec="#D00000", mew=1.2,
                         label="deviates (Holm)" if dx == offsets[0] else None, color=line[0].get_color())
    res.set_xlabel("layer $l$")
    res.set_ylabel("simulation / theory $-$ 1")
    res.yaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    res.legend(fontsize=7, ncol=2)
    res.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def layer_frame(layer_stats, var_replicates, theory, table, theory_column, **extra):
    """The per-layer CSV of a variance figure: net 1's statistics (var_mc, mean_mc, samples,
    fraction_in_hist_range), the theory column, ``extra`` columns, and the per-layer judgement over
    the independent nets (replicates, var_mc_mean, rel_gap, rel_gap_se, rel_gap_ci_lo/hi,
    p_deviates_holm, p_equivalent, layer_status; initlab.stats.compare)."""
    var_replicates = np.atleast_2d(var_replicates)
    frame = pd.DataFrame({"layer": np.arange(1, len(theory) + 1), "var_mc": [s["var"] for s in layer_stats],
                          "mean_mc": [s["mean"] for s in layer_stats], theory_column: theory})
    for key, values in extra.items():
        frame[key] = values
    frame["samples"] = [s["count"] for s in layer_stats]
    if "fraction_in_range" in layer_stats[0]:
        frame["fraction_in_hist_range"] = [s["fraction_in_range"] for s in layer_stats]
    frame["replicates"] = var_replicates.shape[0]
    frame["var_mc_mean"] = var_replicates.mean(axis=0)
    frame["rel_gap"], frame["rel_gap_se"] = table["gap"].to_numpy(), table["se"].to_numpy()
    frame["rel_gap_ci_lo"], frame["rel_gap_ci_hi"] = table["ci_lo"].to_numpy(), table["ci_hi"].to_numpy()
    frame["p_deviates_holm"], frame["p_equivalent"] = table["p_deviates_holm"].to_numpy(), table["p_equivalent"].to_numpy()
    frame["layer_status"] = table["status"].to_numpy()
    return frame


def forward_outputs(run, mode, label, var, theory, table, p, var_b, gain):
    """Figures 2-5, one bias mode: (per-layer CSV frame of the variance figure, histogram frame,
    distributions figure, variance figure) from net 1's ``run`` (initlab.nn.deep_variance), the
    replicates x layers variances ``var``, eq. (14) ``theory`` and the per-layer claim ``table``."""
    n, depth, alpha = p["width"], p["depth"], p["family_alpha"]
    realized = decay.forward_variance_eq14(depth, 1.0, n, np.asarray(run["var_weight"]), run["var_bias"][mode])
    frame = layer_frame(run["forward"][mode], var, theory, table, "var_theory_eq14", var_theory_realized=realized,
                        var_weight_realized=run["var_weight"], var_bias_realized=run["var_bias"][mode])
    hist = histogram_frame(run["forward"][mode], theory)
    fig_dist = plot_distributions(hist, r"$y_l$", f"Forward layer outputs $y_l$, {label} (width {n}, "
                                  f"{p['n_inputs']:,} inputs)", r"$\mathcal{N}(0, \mathrm{Var}[y_l])$, eq. (14)",
                                  frame["var_mc"], theory)
    fp = float(decay.fixed_point_eq41(var_b, gain))
    fig_var = variance_figure(
        frame["layer"], [(f"simulation, mean of {p['replicates']} nets", frame["var_mc_mean"], "o")],
        [("eq. (14) with eq. (36) Var[w]", theory, "-"), ("eq. (14) with realised Var[w], Var[b] (net 1)", realized, ":")],
        [(f"mean of {p['replicates']} nets, {1 - alpha:.0%} CI", table, "o")],
        f"Forward variance, {label}\nwidth {n}, $r = (n/2)\\mathrm{{Var}}[w] = {gain:.4g}$ (eq. (38))",
        r"$\mathrm{Var}[y_l]$", log=mode == "zero", tolerance=p["layer_tolerance_rel"],
        hline=None if mode == "zero" else (fp, "fixed point, eq. (41)"),
        ylim=None if mode == "zero" else (0, 1.3 * max(frame["var_mc_mean"].max(), theory.max())))
    return frame, hist, fig_dist, fig_var


def backward_outputs(run, var, theory, tables, p, modes):
    """Figures 6-8 from net 1's ``run``, the {mode: replicates x layers} gradient variances ``var``,
    eq. (45) ``theory`` and the per-layer claim ``tables`` per mode; ``modes``: {mode: (distributions
    figure, label, marker)}.  Returns (fig06 frame, fig06 figure, {distributions figure: (histogram
    frame, figure)})."""
    n, depth, alpha, top = p["width"], p["depth"], p["family_alpha"], p["upstream_grad_var"]
    gain = float(decay.layer_gain_eq38(n, n))
    realized = decay.backward_variance_eq45(depth, top, n, np.asarray(run["var_weight"]))
    frames, residuals, distributions = [], [], {}
    for mode, (fig_dist, label, marker) in modes.items():
        frame = layer_frame(run["backward"][mode], var[mode], theory, tables[mode], "var_theory_eq45",
                            var_theory_realized=realized)
        frame.insert(0, "bias", mode)
        frames.append(frame)
        residuals.append((f"{label}, {1 - alpha:.0%} CI", tables[mode], marker))
        hist = histogram_frame(run["backward"][mode], theory)
        distributions[fig_dist] = (hist, plot_distributions(
            hist, r"$\Delta x_l$", f"Backward gradients $\\Delta x_l = \\partial E/\\partial x_l$, {label} "
            f"(width {n}, {p['n_inputs']:,} inputs)", r"$\mathcal{N}(0, \mathrm{Var}[\Delta x_l])$, eq. (45)",
            frame["var_mc"], theory))
    fig = variance_figure(
        np.arange(1, depth + 1),
        [(f"simulation, {label} (mean of {p['replicates']} nets)", var[m].mean(axis=0), marker)
         for m, (_, label, marker) in modes.items()],
        [("eq. (45) with eq. (36) Var[w]", theory, "-"), ("eq. (45) with realised Var[w] (net 1)", realized, ":")],
        residuals, f"Backward gradient variance, width {n}\n$\\mathrm{{Var}}[\\Delta x_{{{depth + 1}}}] = {top:g}$, "
        f"$r = {gain:.4g}$ per layer (eq. (45))", r"$\mathrm{Var}[\Delta x_l]$", tolerance=p["layer_tolerance_rel"])
    return pd.concat(frames, ignore_index=True), fig, distributions


# ---- section 6: Covertype (Figures 9-11) ----
GREEN = "#009E73"
BIAS_STYLE = {"zero": ("#0072B2", "AOL, bias 0"), "set": ("#D55E00", "AOL, bias set"),
              "default": (GREEN, "plain ReLU net (PyTorch init)")}


def label_log_y(ax):
    """Plain-number labels on a log y axis, dense enough that a range within one decade (a loss
    falling from 1.4 to 0.7) still has several labelled ticks, above 1 too: the narrower the range,
    the more steps per decade.  Call after the data are drawn (it reads the axis range)."""
    lo, hi = ax.get_ylim()  # get_ylim applies pending autoscaling
    ratio = hi / lo
    subs = ((1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9) if ratio < 3 else (1, 1.2, 1.5, 2, 3, 4, 5, 7) if ratio < 10
            else (1, 2, 5))
    ax.yaxis.set_major_locator(LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _variant(p):
    bias = {"eq42": "eq. (42)", "uniform_fan_in": r"U($\pm 1/\sqrt{n}$)"}[p["bias_set_init"]]
    logits = "ReLU on logits" if p["relu_on_logits"] else "no ReLU on logits"
    return f"bias set = {bias}, {logits}, {p['seeds']} seeds"


def fig09(metrics, p):
    aol = metrics[metrics["model"] == "aol"]
    depths = sorted(aol["depth"].unique())
    colours = dict(zip(depths, plot.PALETTE))
    fig, axes = plot.subplots(1, 2, sharey=True)
    for ax, bias in zip(axes, ("zero", "set")):
        sub = aol[(aol["bias"] == bias) & (aol["epoch"] >= 1)]
        for (depth, seed), run in sub.groupby(["depth", "seed"]):
            ax.plot(run["epoch"], run["train_loss"], color=colours[depth], lw=0.9, alpha=0.7,
                    label=f"$n$ = {depth}" if seed == sub["seed"].min() else None)
        ax.set_title(f"AOL/SLL nets, bias {'0' if bias == 'zero' else 'set'}")
        ax.set_xlabel("epoch")
        ax.legend(title="internal layers")
    axes[0].set_ylabel("training loss (cross-entropy)")
    axes[0].set_yscale("log")
    label_log_y(axes[0])
    fig.suptitle(f"Fig. 9: Covertype training loss of every run ({_variant(p)})", fontsize=10)
    return fig


def fig10(summary, p):
    depths = sorted(summary["depth"].unique())
    fig, axes = plot.subplots(1, len(depths), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, depth in zip(axes, depths):
        for bias, (colour, label) in BIAS_STYLE.items():
            s = summary[(summary["depth"] == depth) & (summary["bias"] == bias)]
            if s.empty:
                continue
            std = s["train_loss_std"].fillna(0)
            ax.plot(s["epoch"], s["train_loss_mean"], color=colour, label=label)
            ax.fill_between(s["epoch"], s["train_loss_mean"] - std, s["train_loss_mean"] + std,
                            color=colour, alpha=0.2, lw=0)
        ax.set_title(f"$n$ = {depth} internal layers")
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("training loss, mean $\\pm$ std")
    axes[0].set_yscale("log")
    label_log_y(axes[0])
    axes[0].legend()
    fig.suptitle(f"Fig. 10: Covertype, AOL/SLL vs plain feed-forward ({_variant(p)})", fontsize=10)
    return fig


def fig11(rates, p):
    depths = sorted(rates["depth"].unique())
    fig, axes = plot.subplots(1, 2, sharey=True)
    titles = {"paper": f"paper: > {p['success_rel_drop']:.0%} drop after epoch {p['success_from_epoch']}",
              "authors": f"authors' code: |L[{p['success_abs_index']}] - L[last]| > {p['success_abs_change']}"}
    width = 0.27
    for ax, rule in zip(axes, ("paper", "authors")):
        for k, (bias, (colour, label)) in enumerate(BIAS_STYLE.items()):
            r = rates[(rates["rule"] == rule) & (rates["bias"] == bias)].set_index("depth").reindex(depths)
            x = np.arange(len(depths)) + (k - 1) * width
            err = np.vstack([r["rate"] - r["rate_lo"], r["rate_hi"] - r["rate"]])
            ax.bar(x, r["rate"], width, color=colour, label=label, yerr=err, ecolor="0.3")
        ax.set_xticks(np.arange(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("internal layers $n$")
        ax.set_title(titles[rule], fontsize=10)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("training success rate (95% Wilson CI)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    fig.suptitle(f"Fig. 11: Covertype training success ({_variant(p)})", fontsize=10)
    return fig




def fig01(table, p):
    """Figure 1: Monte Carlo Var[w_hat] vs eq. (23) and eq. (36) (left), relative gap with +-2 s.e. (right)."""
    fig, (ax, ax_gap) = plot.subplots(1, 2)
    # error bars are below 1% of the value, invisible on this axis: the right panel shows them
    ax.plot(table["n"], table["var_mc"], "o", ms=3, mfc="none", mew=0.6,
            label=r"Monte Carlo $\mathrm{Var}[\hat w]$ (s.e.: right panel)", zorder=2)
    ax.plot(table["n"], table["bound_eq23"], "--", label=r"eq. (23): $1/d$ (upper bound)", zorder=3)
    ax.plot(table["n"], table["approx_eq36"], "-", lw=1.0, label="eq. (36)", zorder=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$n$  ($d = %d\,n$)" % p["d_over_n"])
    ax.set_ylabel(r"$\mathrm{Var}[(W T^{-1/2})_{ij}]$")
    ax.set_title("Transformed weight variance")
    # below the panels: inside, the three long entries cover the diagonal data wherever they sit
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    rel_se = table["var_mc_stderr"] / table["approx_eq36"]
    ax_gap.axhline(0, color="k", lw=0.8)
    ax_gap.fill_between(table["n"], -2 * rel_se, 2 * rel_se, color="0.8", label=r"$\pm 2$ s.e.")
    ax_gap.plot(table["n"], table["rel_gap_eq36"], ".", ms=3, label="MC / eq. (36) - 1")
    ax_gap.set_xscale("log")
    ax_gap.set_xlabel(r"$n$")
    ax_gap.set_ylabel("relative gap")
    ax_gap.set_title("Monte Carlo vs eq. (36)")
    ax_gap.legend(loc="lower left")  # small n: the band is narrow and the gaps positive
    fig.suptitle(f"AOL/SLL weights, Gaussian $W$; >= {int(table['samples'].min()):,} entries per $n$")
    return fig
